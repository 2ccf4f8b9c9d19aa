import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideFill, isPlaceholder } from './fillDecision';
import { resultCaveat } from '../protocol';

test('placeholder + full run writes at once; the same value is unchanged', () => {
  assert.equal(isPlaceholder('0.0'), true);
  assert.equal(isPlaceholder('0.9144'), false);
  assert.deepEqual(decideFill('0.0', { variable: 'a1a', value: 0.91 }), { kind: 'write' });
  assert.equal(decideFill('0.9100', { variable: 'a1a', value: 0.91 }).kind, 'unchanged');
});

test('a non-placeholder value or a quick/tiny result asks first, saying why', () => {
  const caveat = resultCaveat({ model: '/x/models/distilbert-tiny-random', limitTrain: 64, limitEval: 32 });
  assert.equal(caveat, 'quick run with distilbert-tiny-random');
  const d = decideFill('0.9144', { variable: 'a1a', value: 0.5, caveat });
  assert.equal(d.kind, 'confirm');
  if (d.kind === 'confirm') {
    assert.equal(d.question, 'a1a is 0.9144 in the notebook; replace it with 0.5000 from a quick run with distilbert-tiny-random?');
    assert.equal(d.reasons.length, 2);
  }
  const q = decideFill('0.0', { variable: 'a2a', value: 0.5, caveat });
  assert.equal(q.kind, 'confirm');
  assert.equal(decideFill('0.9144', { variable: 'a1a', value: 0.93 }).kind, 'confirm');
});

test('caveats: full runs of real models have none', () => {
  assert.equal(resultCaveat({ model: 'distilbert-base-uncased' }), undefined);
  assert.equal(resultCaveat({ model: 'distilbert-base-uncased', limitTrain: 64 }), 'quick run with model distilbert-base-uncased');
  assert.equal(resultCaveat({ model: '../shared/models/bert-tiny-random/' }), 'run with bert-tiny-random (a tiny test model)');
});
