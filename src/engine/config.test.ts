import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, readConfig, toConfigJson } from './config';
import { shared } from './testing';

const hfDistil = shared('hf', 'distilbert-base-uncased', 'config.json');
const hfBert = shared('hf', 'bert-base-uncased', 'config.json');

test('distilbert-base-uncased config: sizes, dropouts, eps hard-coded', { skip: hfDistil.skip }, () => {
  const c = readConfig(hfDistil.path);
  assert.equal(c.modelType, 'distilbert');
  assert.deepEqual([c.numLayers, c.hiddenSize, c.numHeads, c.intermediateSize, c.maxPositions, c.vocabSize], [6, 768, 12, 3072, 512, 30522]);
  assert.deepEqual([c.hiddenDropout, c.attentionDropout, c.classifierDropout], [0.1, 0.1, 0.2]);
  assert.equal(c.layerNormEps, 1e-12);
  assert.equal(c.numLabels, 2);
  assert.equal(c.typeVocabSize, 0);
});

test('bert-base-uncased config: classifier dropout falls back to hidden_dropout_prob', { skip: hfBert.skip }, () => {
  const c = readConfig(hfBert.path, 3);
  assert.equal(c.modelType, 'bert');
  assert.deepEqual([c.numLayers, c.hiddenSize, c.numHeads, c.intermediateSize, c.typeVocabSize], [12, 768, 12, 3072, 2]);
  assert.equal(c.classifierDropout, 0.1);
  assert.equal(c.numLabels, 3);
  assert.deepEqual(c.id2label, ['LABEL_0', 'LABEL_1', 'LABEL_2']);
});

test('num_labels from id2label; classifier_dropout honoured', () => {
  const c = parseConfig({ model_type: 'bert', hidden_size: 8, num_attention_heads: 2, classifier_dropout: 0.3, id2label: { 0: 'neg', 1: 'neutral', 2: 'pos' } });
  assert.equal(c.numLabels, 3);
  assert.deepEqual(c.id2label, ['neg', 'neutral', 'pos']);
  assert.equal(c.classifierDropout, 0.3);
  const j = toConfigJson(c);
  assert.deepEqual(j.id2label, { 0: 'neg', 1: 'neutral', 2: 'pos' });
  assert.deepEqual(j.label2id, { neg: 0, neutral: 1, pos: 2 });
  assert.deepEqual(j.architectures, ['BertForSequenceClassification']);
  assert.equal(parseConfig(j).numLabels, 3);
});

test('bad configs are one-line errors naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  const f = join(dir, 'config.json');
  writeFileSync(f, JSON.stringify({ model_type: 'gpt2' }));
  assert.throws(() => readConfig(f), (e: Error) => e.message.startsWith(f) && /gpt2/.test(e.message));
  writeFileSync(f, '{not json');
  assert.throws(() => readConfig(f), (e: Error) => e.message.startsWith(f) && /invalid JSON/.test(e.message));
  writeFileSync(f, JSON.stringify({ model_type: 'bert', num_labels: 1 }));
  assert.throws(() => readConfig(f), /num_labels/);
  writeFileSync(f, JSON.stringify({ model_type: 'bert', hidden_size: 10, num_attention_heads: 3 }));
  assert.throws(() => readConfig(f), /multiple of the number of heads/);
  writeFileSync(f, JSON.stringify({ model_type: 'distilbert', activation: 'relu' }));
  assert.throws(() => readConfig(f), /activation/);
  assert.throws(() => readConfig(join(dir, 'nope.json')), /nope\.json: cannot read/);
});
