// Internal consistency of bert.ts / distilbert.ts beyond the two reference fixtures: other sizes,
// numbers of labels, batch sizes and sequence lengths. (No torch here to make new reference
// fixtures, so these check the gradient against finite differences, WASM against plain CPU,
// padding invariance and reproducible dropout.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { EncodedBatch, SequenceClassifier } from './api';
import { initBackend } from './backend';
import { randomClassifier } from './checkpoint';
import { type ModelConfig, makeConfig } from './config';
import { crossEntropy, dropout } from './layers';
import { hasZeroGradient, lossAndGradients } from './parity';

const CONFIGS: ModelConfig[] = [
  makeConfig('distilbert', { vocabSize: 60, hiddenSize: 24, numHeads: 3, numLayers: 3, intermediateSize: 40, maxPositions: 20, numLabels: 3, initializerRange: 0.2 }),
  makeConfig('bert', { vocabSize: 50, hiddenSize: 16, numHeads: 2, numLayers: 1, intermediateSize: 24, maxPositions: 16, typeVocabSize: 3, numLabels: 5, initializerRange: 0.2 }),
];

/** Random weights where every parameter matters (biases and LayerNorm weights perturbed, as the fixtures do). */
function model(c: ModelConfig, seed = 1): SequenceClassifier {
  const m = randomClassifier(c, seed);
  let i = 0;
  for (const [name, v] of m.variables) {
    if (/\.(bias|weight)$/.test(name) && v.rank === 1) tf.tidy(() => v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.1, 'float32', seed * 100 + ++i))));
  }
  return m;
}

/** A batch of `lengths.length` sequences, padded to `padTo`, tokens from a seeded generator. */
function batch(c: ModelConfig, lengths: number[], padTo: number, seed = 5): EncodedBatch {
  let s = seed;
  const rnd = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
  const ids = lengths.map((n) => Array.from({ length: padTo }, (_, j) => (j < n ? 1 + Math.floor(rnd() * (c.vocabSize - 1)) : 0)));
  const mask = lengths.map((n) => Array.from({ length: padTo }, (_, j) => (j < n ? 1 : 0)));
  const types = lengths.map((n) => Array.from({ length: padTo }, (_, j) => (j < n && j >= n / 2 ? Math.min(2, c.typeVocabSize - 1) : 0)));
  return {
    inputIds: tf.tensor2d(ids, undefined, 'int32'),
    attentionMask: tf.tensor2d(mask, undefined, 'int32'),
    tokenTypeIds: c.modelType === 'bert' ? tf.tensor2d(types, undefined, 'int32') : undefined,
  };
}

function dispose(b: EncodedBatch): void { tf.dispose([b.inputIds, b.attentionMask, ...(b.tokenTypeIds ? [b.tokenTypeIds] : [])]); }

async function gradsOn(backend: 'cpu' | 'wasm', c: ModelConfig): Promise<{ logits: number[]; loss: number; grads: Map<string, Float32Array> }> {
  await initBackend(backend);
  const m = model(c);
  const b = batch(c, [7, 3, 11, 1, 9], 11);
  const labels = tf.tensor1d([0, 1, 2, 1, 0].map((x) => x % c.numLabels), 'int32');
  const { logits, loss, grads } = lossAndGradients(m, b, labels);
  const out = { logits: [...logits.dataSync()], loss: loss.dataSync()[0], grads: new Map([...grads].map(([k, g]) => [k, g.dataSync() as Float32Array])) };
  tf.dispose([logits, loss, labels, ...grads.values()]);
  dispose(b); m.dispose();
  return out;
}

function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, r = 0;
  for (let i = 0; i < a.length; i++) { d += (a[i] - b[i]) ** 2; r += b[i] ** 2; }
  return Math.sqrt(d / Math.max(r, 1e-30));
}

for (const c of CONFIGS) {
  const label = `${c.modelType} (${c.numLayers} layers, hidden ${c.hiddenSize}, ${c.numHeads} heads, ${c.numLabels} labels)`;

  test(`${label}: WASM computes what plain CPU computes (logits, loss, every gradient)`, async () => {
    const cpu = await gradsOn('cpu', c);
    const wasm = await gradsOn('wasm', c);
    assert.ok(Math.max(...cpu.logits.map((x, i) => Math.abs(x - wasm.logits[i]))) < 1e-5);
    assert.ok(Math.abs(cpu.loss - wasm.loss) / cpu.loss < 1e-5);
    assert.equal(cpu.grads.size, wasm.grads.size);
    for (const [name, g] of cpu.grads) {
      const w = wasm.grads.get(name)!;
      if (hasZeroGradient(name)) assert.ok(Math.max(...w.map(Math.abs)) < 1e-6, name);
      else assert.ok(relL2(w, g) < 1e-4, `${name}: rel L2 ${relL2(w, g)}`);
    }
  });

  test(`${label}: every parameter's gradient matches central finite differences`, async () => {
    await initBackend('cpu');
    const m = model(c);
    const b = batch(c, [6, 2, 8], 8, 9);
    const labels = tf.tensor1d([1, 0, 2].map((x) => x % c.numLabels), 'int32');
    const lossOf = () => tf.tidy(() => crossEntropy(m.apply(b, false), labels).dataSync()[0]);
    const { logits, loss, grads } = lossAndGradients(m, b, labels);
    const h = 4e-3;
    let k = 0;
    for (const [name, v] of m.variables) {
      // Directional derivative along a random unit direction of this tensor: (L(θ+hd) − L(θ−hd)) / 2h ≈ g·d.
      const d = tf.tidy(() => { const r = tf.randomNormal(v.shape, 0, 1, 'float32', ++k); return tf.div(r, tf.norm(r)); });
      const dot = tf.tidy(() => tf.sum(tf.mul(grads.get(name)!, d)).dataSync()[0]);
      const orig = tf.clone(v);
      v.assign(tf.tidy(() => tf.add(orig, tf.mul(d, h))));
      const plus = lossOf();
      v.assign(tf.tidy(() => tf.sub(orig, tf.mul(d, h))));
      const minus = lossOf();
      v.assign(orig);
      tf.dispose([orig, d]);
      const fd = (plus - minus) / (2 * h);
      assert.ok(Math.abs(fd - dot) <= 5e-5 + 0.02 * Math.abs(dot), `${name}: finite difference ${fd} vs gradient ${dot}`);
    }
    tf.dispose([logits, loss, labels, ...grads.values()]);
    dispose(b); m.dispose();
  });

  test(`${label}: padding and batch composition do not change an example's logits`, async () => {
    await initBackend('wasm');
    const m = model(c);
    const alone = batch(c, [5], 5, 3);
    const padded = batch(c, [5, 9], 12, 3); // same first sequence (same generator), padded to 12, next to a longer one
    // The generator draws padTo values per row, so rebuild the first row of `padded` from `alone` explicitly.
    const ids = tf.tidy(() => tf.concat([tf.pad(alone.inputIds, [[0, 0], [0, 7]]), tf.slice(padded.inputIds, [1, 0], [1, 12])]) as tf.Tensor2D);
    const mixed: EncodedBatch = { inputIds: ids, attentionMask: padded.attentionMask, tokenTypeIds: c.modelType === 'bert' ? tf.tidy(() => tf.concat([tf.pad(alone.tokenTypeIds!, [[0, 0], [0, 7]]), tf.slice(padded.tokenTypeIds!, [1, 0], [1, 12])]) as tf.Tensor2D) : undefined };
    const [a, b] = tf.tidy(() => [m.apply(alone, false).arraySync()[0], m.apply(mixed, false).arraySync()[0]]);
    assert.equal(a.length, c.numLabels);
    assert.ok(Math.max(...a.map((x, i) => Math.abs(x - b[i]))) < 1e-5, `${a} vs ${b}`);
    dispose(alone); dispose(padded); tf.dispose([ids, ...(mixed.tokenTypeIds ? [mixed.tokenTypeIds] : [])]); m.dispose();
  });
}

test('dropout: only when training, reproducible from the seed', async () => {
  await initBackend('wasm');
  for (const type of ['distilbert', 'bert'] as const) {
    const c = makeConfig(type, { hiddenDropout: 0.1, attentionDropout: 0.1, classifierDropout: 0.2 });
    const m = randomClassifier(c, 2);
    const b = batch(c, [8, 5], 8);
    const run = (training: boolean, seed?: number) => tf.tidy(() => [...m.apply(b, training, seed).dataSync()]);
    assert.deepEqual(run(true, 11), run(true, 11));
    assert.notDeepEqual(run(true, 11), run(true, 12));
    assert.notDeepEqual(run(true, 11), run(false));
    assert.deepEqual(run(false), run(false, 11));
    dispose(b); m.dispose();
  }
});

test('sequences longer than max_position_embeddings are refused', async () => {
  await initBackend('cpu');
  const c = makeConfig('distilbert', { maxPositions: 8 });
  const m = randomClassifier(c);
  const b = batch(c, [9], 9);
  assert.throws(() => m.apply(b, false), /sequence length 9 exceeds max_position_embeddings 8/);
  dispose(b); m.dispose();
});

test('dropout layer: inverted scaling, and its gradient is the same mask', async () => {
  await initBackend('wasm');
  const x = tf.ones([64, 32]);
  const c = tf.randomNormal([64, 32], 0, 1, 'float32', 4);
  const y = dropout(x, 0.25, 9);
  const vals = y.dataSync();
  const kept = [...vals].filter((v) => v !== 0);
  assert.ok(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6));
  assert.ok(Math.abs(kept.length / vals.length - 0.75) < 0.05, `kept fraction ${kept.length / vals.length}`);
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(dropout(t, 0.25, 9), c)))(x);
  assert.deepEqual([...g.dataSync()], [...tf.mul(c, y).dataSync()]);
  tf.dispose([x, c, y, g]);
});
