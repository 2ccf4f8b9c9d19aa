import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from './backend';
import { hubIdForPreset, loadClassifier, mapCheckpointNames, randomClassifier, saveClassifier } from './checkpoint';
import { makeConfig, readConfig } from './config';
import { readSafetensors, writeSafetensors } from './safetensors';
import { shared } from './testing';
import type { EncodedBatch } from './api';

before(async () => { await initBackend('cpu'); });

const distil = shared('models', 'distilbert-tiny-random');
const bert = shared('models', 'bert-tiny-random');

function batch(vocab: number, types = false): EncodedBatch {
  return tf.tidy(() => ({
    inputIds: tf.tensor2d([[101, 7, 8, 9, 102, 0], [101, 50, 102, 0, 0, 0]].map((r) => r.map((x) => x % vocab)), undefined, 'int32'),
    attentionMask: tf.tensor2d([[1, 1, 1, 1, 1, 0], [1, 1, 1, 0, 0, 0]], undefined, 'int32'),
    tokenTypeIds: types ? tf.zeros([2, 6], 'int32') as tf.Tensor2D : undefined,
  }));
}

test('distilbert-base-uncased layout: head initialised, masked-LM head unused', { skip: distil.skip }, async () => {
  const { model, report } = await loadClassifier(distil.path, { seed: 3 });
  assert.deepEqual(report.missing, ['pre_classifier.weight', 'pre_classifier.bias', 'classifier.weight', 'classifier.bias']);
  assert.deepEqual(report.unused.sort(), ['vocab_layer_norm.bias', 'vocab_layer_norm.weight', 'vocab_projector.bias', 'vocab_transform.bias', 'vocab_transform.weight']);
  const w = model.variables.get('classifier.weight')!;
  const std = tf.tidy(() => Math.sqrt(tf.moments(w).variance.dataSync()[0]));
  assert.ok(Math.abs(std - 0.02) < 0.005, `classifier.weight std ${std} ≈ initializer_range 0.02`);
  assert.equal(tf.tidy(() => tf.max(tf.abs(model.variables.get('classifier.bias')!)).dataSync()[0]), 0);
  // Loaded weights are the checkpoint's, bit for bit.
  const ref = readSafetensors(join(distil.path, 'model.safetensors')).tensors.get('distilbert.transformer.layer.1.ffn.lin2.weight')!;
  assert.deepEqual(model.variables.get('distilbert.transformer.layer.1.ffn.lin2.weight')!.dataSync(), ref.data);
  // Same seed, same head.
  const again = await loadClassifier(distil.path, { seed: 3 });
  assert.deepEqual(again.model.variables.get('classifier.weight')!.dataSync(), w.dataSync());
  model.dispose(); again.model.dispose();
});

test('bert-base-uncased layout: gamma/beta mapped, pre-training heads unused', { skip: bert.skip }, async () => {
  const { model, report } = await loadClassifier(bert.path, { numLabels: 3 });
  assert.deepEqual(report.missing, ['classifier.weight', 'classifier.bias']);
  assert.deepEqual(report.unused.sort(), ['cls.predictions.bias', 'cls.predictions.transform.LayerNorm.beta', 'cls.predictions.transform.LayerNorm.gamma',
    'cls.predictions.transform.dense.bias', 'cls.predictions.transform.dense.weight', 'cls.seq_relationship.bias', 'cls.seq_relationship.weight']);
  const gamma = readSafetensors(join(bert.path, 'model.safetensors')).tensors.get('bert.encoder.layer.0.output.LayerNorm.gamma')!;
  assert.deepEqual(model.variables.get('bert.encoder.layer.0.output.LayerNorm.weight')!.dataSync(), gamma.data);
  assert.deepEqual(model.variables.get('classifier.weight')!.shape, [3, 128]);
  const logits = tf.tidy(() => model.apply(batch(30522, true), false).arraySync());
  assert.equal(logits.length, 2); assert.equal(logits[0].length, 3);
  model.dispose();
});

test('a bare base-model checkpoint gets the prefix added (as transformers does)', () => {
  const c = makeConfig('distilbert');
  const { mapping, unused } = mapCheckpointNames(c, ['embeddings.word_embeddings.weight', 'transformer.layer.0.ffn.lin1.weight', 'junk']);
  assert.equal(mapping.get('distilbert.embeddings.word_embeddings.weight'), 'embeddings.word_embeddings.weight');
  assert.equal(mapping.get('distilbert.transformer.layer.0.ffn.lin1.weight'), 'transformer.layer.0.ffn.lin1.weight');
  assert.deepEqual(unused, ['junk']);
});

test('shape mismatch is an error naming the tensor and the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
  const c = makeConfig('bert');
  const m = randomClassifier(c, 1);
  await saveClassifier(m, dir);
  m.dispose();
  const f = join(dir, 'model.safetensors');
  const t = readSafetensors(f).tensors;
  t.set('bert.pooler.dense.bias', { shape: [31], data: new Float32Array(31) });
  writeSafetensors(f, t);
  await assert.rejects(loadClassifier(dir), (e: Error) => e.message.includes(f) && e.message.includes('"bert.pooler.dense.bias"') && e.message.includes('[31]'));
  // A different number of labels than the saved head is a mismatch too (transformers refuses it as well).
  const d2 = mkdtempSync(join(tmpdir(), 'ckpt-'));
  const m2 = randomClassifier(c, 1); await saveClassifier(m2, d2); m2.dispose();
  await assert.rejects(loadClassifier(d2, { numLabels: 4 }), /"classifier\.weight"/);
});

for (const type of ['distilbert', 'bert'] as const) {
  test(`${type}: save then load gives identical weights and logits; files as transformers expects`, async () => {
    const root = mkdtempSync(join(tmpdir(), 'save-'));
    const tok = mkdtempSync(join(tmpdir(), 'tok-'));
    writeFileSync(join(tok, 'vocab.txt'), '[PAD]\n');
    writeFileSync(join(tok, 'tokenizer.json'), '{}');
    const tensorsBefore = tf.memory().numTensors;
    const c = makeConfig(type, { numLabels: 3, id2label: ['neg', 'mid', 'pos'], hiddenDropout: 0.1, attentionDropout: 0.1, classifierDropout: 0.2 });
    const m = randomClassifier(c, 7);
    const dir = join(root, 'model');
    await saveClassifier(m, dir, { tokenizerDir: tok });
    assert.deepEqual(readdirSync(root), ['model'], 'no temporary folder left behind');
    assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'model.safetensors', 'tokenizer.json', 'vocab.txt']);
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.equal(cfg.model_type, type);
    assert.deepEqual(cfg.architectures, [type === 'bert' ? 'BertForSequenceClassification' : 'DistilBertForSequenceClassification']);
    assert.deepEqual(cfg.id2label, { 0: 'neg', 1: 'mid', 2: 'pos' });
    assert.deepEqual(cfg.label2id, { neg: 0, mid: 1, pos: 2 });
    for (const k of type === 'bert'
      ? ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'max_position_embeddings', 'type_vocab_size', 'hidden_dropout_prob', 'attention_probs_dropout_prob', 'layer_norm_eps', 'hidden_act', 'initializer_range', 'pad_token_id']
      : ['vocab_size', 'dim', 'n_layers', 'n_heads', 'hidden_dim', 'max_position_embeddings', 'dropout', 'attention_dropout', 'seq_classif_dropout', 'activation', 'initializer_range', 'pad_token_id']) {
      assert.ok(k in cfg, `config.json has ${k}`);
    }
    const st = readSafetensors(join(dir, 'model.safetensors'));
    assert.deepEqual(st.metadata, { format: 'pt' });
    assert.deepEqual([...st.tensors.keys()].sort(), [...m.variables.keys()].sort());
    for (const [name, v] of m.variables) assert.deepEqual(st.tensors.get(name)!.shape, v.shape, name);

    const { model: back, report } = await loadClassifier(dir);
    assert.deepEqual(report.missing, []); assert.deepEqual(report.unused, []);
    assert.deepEqual(back.config.id2label, ['neg', 'mid', 'pos']);
    assert.equal(back.config.classifierDropout, 0.2);
    const [a, b] = tf.tidy(() => [m.apply(batch(1000, true), false).arraySync(), back.apply(batch(1000, true), false).arraySync()]);
    assert.deepEqual(a, b);

    // Saving again over it replaces it atomically (the old folder is gone, nothing else left).
    await saveClassifier(back, dir);
    assert.deepEqual(readdirSync(root), ['model']);
    assert.ok(!existsSync(join(dir, 'vocab.txt')));
    m.dispose(); back.dispose();
    assert.equal(tf.memory().numTensors, tensorsBefore, 'loading, applying and disposing leak no tensor');
  });
}

test('a failed save leaves the earlier model intact', async () => {
  const root = mkdtempSync(join(tmpdir(), 'save-'));
  const dir = join(root, 'model');
  const m = randomClassifier(makeConfig('distilbert'), 1);
  await saveClassifier(m, dir);
  const before = readFileSync(join(dir, 'model.safetensors'));
  const broken = { ...m, config: m.config, variables: new Map([['x', { shape: [2], data: () => Promise.reject(new Error('boom')) }]]) } as never;
  await assert.rejects(saveClassifier(broken, dir));
  assert.deepEqual(readFileSync(join(dir, 'model.safetensors')), before);
  assert.deepEqual(readdirSync(root), ['model']);
  m.dispose();
});

test('Keras-Hub preset names map to Hub ids', () => {
  assert.equal(hubIdForPreset('distil_bert_base_en_uncased'), 'distilbert-base-uncased');
  assert.equal(hubIdForPreset('bert_base_en_uncased'), 'bert-base-uncased');
  assert.equal(hubIdForPreset('someone/model'), 'someone/model');
});

test('a missing local folder is a clear error, not a Hub request', async () => {
  await assert.rejects(loadClassifier('./no/such/folder'), /no\/such\/folder: model folder not found/);
});

test('a Hub id resolves through the Hugging Face cache (offline, pre-filled cache)', { skip: distil.skip }, async () => {
  // Build the cache layout the data helper's ensureHubFiles reads: models--org--name/{refs/main, snapshots/<rev>/...}.
  const cache = mkdtempSync(join(tmpdir(), 'hfcache-'));
  const repo = join(cache, 'models--distilbert-base-uncased');
  const rev = '0123456789abcdef0123456789abcdef01234567';
  cpSync(distil.path, join(repo, 'snapshots', rev), { recursive: true });
  mkdirSync(join(repo, 'refs'));
  writeFileSync(join(repo, 'refs', 'main'), rev);
  const prev = process.env.HF_HUB_OFFLINE;
  process.env.HF_HUB_OFFLINE = '1';
  try {
    const { model, dir, report } = await loadClassifier('distil_bert_base_en_uncased', { cacheDir: cache });
    assert.equal(dir, join(repo, 'snapshots', rev));
    assert.equal(report.missing.length, 4);
    assert.equal(readConfig(join(dir, 'config.json')).hiddenSize, 128);
    model.dispose();
  } finally {
    if (prev === undefined) delete process.env.HF_HUB_OFFLINE; else process.env.HF_HUB_OFFLINE = prev;
  }
});
