import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { EncodedBatch, SequenceClassifier } from './api';
import { loadClassifier } from './checkpoint';
import { shared } from './testing';
import { CancelledError, EarlyStopping, OutOfMemoryError, epochOrder, isOutOfMemoryError, type TrainData, type TrainOptions } from './train';
import { KerasAdam } from './adam';
import { disposeBatch, makeBatch, trainAndEvaluate } from './tfjsEngine';
import type { ProgressMessage } from '../protocol';

before(async () => { await tf.setBackend('cpu'); });

/**
 * A small stand-in classifier with the SequenceClassifier contract: masked mean of token embeddings,
 * dropout (training only, seeded), dense layer. It respects the attention mask, as BERT does.
 */
function fakeClassifier(vocab = 20, dim = 8, seed = 1, failAbove?: number): SequenceClassifier {
  const vars = new Map<string, tf.Variable>();
  // tidy: the initial values handed to tf.variable would otherwise stay allocated
  tf.tidy(() => { for (const [k, v] of [
    ['embeddings.weight', tf.variable(tf.randomNormal([vocab, dim], 0, 0.1, 'float32', seed), true, `fake${seed}.emb.${Math.random()}`)],
    ['classifier.weight', tf.variable(tf.randomNormal([2, dim], 0, 0.1, 'float32', seed + 1), true, `fake${seed}.cls.${Math.random()}`)],
    ['classifier.bias', tf.variable(tf.zeros([2]), true, `fake${seed}.bias.${Math.random()}`)],
  ] as Array<[string, tf.Variable]>) vars.set(k, v); });
  return {
    config: {} as SequenceClassifier['config'],
    variables: vars,
    apply(batch: EncodedBatch, training: boolean, dropoutSeed?: number) {
      if (failAbove !== undefined && batch.inputIds.shape[0] > failAbove) throw new Error('Out of memory: failed to allocate');
      return tf.tidy(() => {
        // One-hot matmul instead of gather: the fake's gradient then needs no UnsortedSegmentSum.
        const onehot = tf.cast(tf.oneHot(batch.inputIds, vocab), 'float32'); // [b, L, V]
        const emb = tf.reshape(tf.matMul(tf.reshape(onehot, [-1, vocab]), vars.get('embeddings.weight')!), [batch.inputIds.shape[0], batch.inputIds.shape[1], dim]);
        const mask = tf.expandDims(tf.cast(batch.attentionMask, 'float32'), -1);
        let pooled = tf.div(tf.sum(tf.mul(emb, mask), 1), tf.sum(mask, 1)) as tf.Tensor2D;
        if (training) pooled = tf.dropout(pooled, 0.1, undefined, dropoutSeed) as tf.Tensor2D;
        return tf.add(tf.matMul(pooled, vars.get('classifier.weight')!, false, true), vars.get('classifier.bias')!) as tf.Tensor2D;
      });
    },
    snapshot() {
      return new Map([...vars].map(([k, v]) => [k, tf.clone(v)]));
    },
    restore(s: Map<string, tf.Tensor>) {
      for (const [k, v] of vars) v.assign(s.get(k)!);
    },
    dispose() {
      for (const v of vars.values()) v.dispose();
    },
  };
}

/** Label 1 iff token 3 occurs; random lengths 3..12 (so that batches really have different lengths). */
function synthetic(n: number, seed: number) {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const inputIds: number[][] = [], labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const len = 3 + Math.floor(rand() * 10);
    const label = i % 2;
    const ids = [1];
    for (let k = 1; k < len - 1; k++) ids.push(4 + Math.floor(rand() * 15));
    if (label) ids[1 + Math.floor(rand() * (len - 2))] = 3;
    ids.push(2);
    inputIds.push(ids); labels.push(label);
  }
  return { inputIds, labels };
}

const data: TrainData = { train: synthetic(256, 1), val: synthetic(32, 2), test: synthetic(40, 3), padId: 0 };
const opts: TrainOptions = { learningRate: 0.1, batchSize: 16, epochs: 3, evalBatchSize: 64, patience: 2, seed: 42 };

test('Adam matches the Keras 3 update rule (epsilon outside the bias correction)', () => {
  const x = tf.variable(tf.tensor1d([1, -2, 0.5]), true, 'adam.x');
  const adam = new KerasAdam(new Map([['x', x]]), 0.1);
  const g = [0.3, -0.001, 2];
  let m = [0, 0, 0], v = [0, 0, 0];
  const ref = [1, -2, 0.5];
  for (let t = 1; t <= 3; t++) {
    const gt = tf.tensor1d(g);
    adam.apply({ x: gt });
    gt.dispose();
    // Keras raises the float32 betas to the power t.
    const alpha = (0.1 * Math.sqrt(1 - Math.fround(0.999) ** t)) / (1 - Math.fround(0.9) ** t);
    for (let i = 0; i < 3; i++) {
      m[i] += (g[i] - m[i]) * 0.1;
      v[i] += (g[i] * g[i] - v[i]) * 0.001;
      ref[i] -= (m[i] * alpha) / (Math.sqrt(v[i]) + 1e-7);
    }
  }
  const got = x.dataSync();
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(got[i] - ref[i]) < 1e-6, `x[${i}] = ${got[i]}, Keras gives ${ref[i]}`);
  adam.dispose(); x.dispose();
});

test('EarlyStopping follows Keras 3: strict improvement, stop after `patience` epochs without one', () => {
  const run = (losses: number[], patience: number) => {
    const es = new EarlyStopping(patience);
    const out: string[] = [];
    for (let e = 1; e <= losses.length; e++) {
      const d = es.onEpochEnd(e, losses[e - 1]);
      out.push(d);
      if (d === 'stop') break;
    }
    return { out, best: es.bestEpoch };
  };
  // The notebook's first run: val_loss 0.3526, 0.3582, 0.3766 -> stops after epoch 3, best epoch 1.
  assert.deepEqual(run([0.3526, 0.3582, 0.3766], 2), { out: ['improved', 'continue', 'stop'], best: 1 });
  assert.deepEqual(run([0.5, 0.4, 0.45], 2), { out: ['improved', 'improved', 'continue'], best: 2 });
  assert.deepEqual(run([0.5, 0.5, 0.5, 0.1], 2), { out: ['improved', 'continue', 'stop'], best: 1 }); // equal is no improvement
  assert.deepEqual(run([0.5, 0.6], 0), { out: ['improved', 'stop'], best: 1 });
});

test('epoch order is a seeded permutation, different per epoch and per seed', () => {
  const a = epochOrder(50, 42, 1);
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(a, epochOrder(50, 42, 1));
  assert.notDeepEqual(a, epochOrder(50, 42, 2));
  assert.notDeepEqual(a, epochOrder(50, 43, 1));
});

test('trains, early-stops, evaluates; same seed -> identical numbers; no tensor leak', async () => {
  const before = tf.memory().numTensors;
  const runOnce = async () => {
    const model = fakeClassifier();
    const epochs: number[] = [];
    const r = await trainAndEvaluate(model, data, { ...opts, onEpochEnd: (m) => epochs.push(m.epoch) });
    model.dispose();
    return { r, epochs };
  };
  const { r: a, epochs } = await runOnce();
  const { r: b } = await runOnce();
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  assert.deepEqual(epochs, a.history.map((h) => h.epoch));
  const strip = (r: typeof a) => ({
    h: r.history.map(({ seconds: _s, ...rest }) => rest),
    m: { ...r.metrics, trainSeconds: 0, totalSeconds: 0, stepsPerSecond: 0, examplesPerSecond: 0 },
    p: r.testPredictions,
  });
  assert.deepEqual(strip(a), strip(b));
  assert.ok(a.metrics.testAccuracy >= 0.9, `learned the synthetic task: test accuracy ${a.metrics.testAccuracy}`);
  const cm = a.metrics.confusion;
  assert.equal(cm[0][0] + cm[0][1] + cm[1][0] + cm[1][1], data.test.labels.length);
  assert.equal(a.metrics.testAccuracy, (cm[0][0] + cm[1][1]) / data.test.labels.length);
  // The graded value is the val accuracy at the first epoch of minimum val loss.
  const losses = a.history.map((h) => h.valLoss);
  const best = losses.indexOf(Math.min(...losses));
  assert.equal(a.metrics.valAccuracyAtMinValLoss, a.history[best].valAccuracy);
  assert.equal(a.metrics.bestEpoch, best + 1);
  assert.ok(a.metrics.stepsPerSecond > 0 && a.metrics.examplesPerSecond > 0);

  const model = fakeClassifier();
  const c = await trainAndEvaluate(model, data, { ...opts, seed: 7 });
  model.dispose();
  assert.notDeepEqual(strip(c).h, strip(a).h, 'another seed shuffles differently');
});

test('best weights are restored: test metrics come from the weights of the best epoch', async () => {
  // With a huge learning rate the val loss gets worse after epoch 1; the test predictions must then equal
  // those of the epoch-1 weights, which we reproduce by training for one epoch only.
  const hot = { ...opts, learningRate: 3, epochs: 3 };
  const m1 = fakeClassifier(20, 8, 5);
  const r = await trainAndEvaluate(m1, data, hot);
  m1.dispose();
  const losses = r.history.map((h) => h.valLoss);
  const bestEpoch = losses.indexOf(Math.min(...losses)) + 1;
  const m2 = fakeClassifier(20, 8, 5);
  const r1 = await trainAndEvaluate(m2, data, { ...hot, epochs: bestEpoch });
  m2.dispose();
  assert.deepEqual(r.testPredictions, r1.testPredictions);
  assert.equal(r.metrics.bestEpoch, bestEpoch);
});

test('an out-of-memory while training is never retried in-process: OutOfMemoryError with the next batch', async () => {
  const before = tf.memory().numTensors;
  const model = fakeClassifier(20, 8, 1, 4);
  const err = await trainAndEvaluate(model, data, { ...opts, batchSize: 16, evalBatchSize: 4, epochs: 1 }).catch((e: unknown) => e);
  model.dispose();
  assert.ok(err instanceof OutOfMemoryError, String(err));
  assert.deepEqual([err.batchSize, err.nextBatchSize, err.reason], [16, 8, 'Out of memory: failed to allocate']);
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
});

test('an out-of-memory while evaluating fails plainly (halving the training batch would not help)', async () => {
  // Trains at batch 4 (fits), validates at the training batch (fits), then predicts the test split at
  // EVAL_BATCH 16, which the fake refuses.
  const model = fakeClassifier(20, 8, 1, 4);
  const err = await trainAndEvaluate(model, data, { ...opts, batchSize: 4, evalBatchSize: 16, epochs: 1 }).catch((e: unknown) => e);
  model.dispose();
  assert.ok(err instanceof Error && !(err instanceof OutOfMemoryError), String(err));
  assert.match((err as Error).message, /out of memory while evaluating at batch size 16/);
});

test('out-of-memory errors are recognised', () => {
  const wasmOob = new Error('memory access out of bounds');
  wasmOob.name = 'RuntimeError';
  assert.ok(isOutOfMemoryError(wasmOob) && isOutOfMemoryError(new Error('Aborted()')) && isOutOfMemoryError(new Error('Aborted(Cannot enlarge memory arrays)')));
  assert.ok(isOutOfMemoryError(new Error('CUDA out of memory. Tried to allocate 2.00 GiB')));
  assert.ok(!isOutOfMemoryError(new Error('shape mismatch')));
});

test('cancel between steps throws CancelledError and leaks nothing; progress is rate-limited', async () => {
  const before = tf.memory().numTensors;
  const model = fakeClassifier();
  const ac = new AbortController();
  const seen: ProgressMessage[] = [];
  await assert.rejects(
    trainAndEvaluate(model, data, { ...opts, batchSize: 4, signal: ac.signal, progressIntervalMs: 0, onProgress: (p) => { seen.push(p); if (seen.length === 3) ac.abort(); } }),
    CancelledError,
  );
  assert.equal(seen.length, 3);
  model.dispose();
  assert.equal(tf.memory().numTensors, before);

  const m2 = fakeClassifier();
  const slow: ProgressMessage[] = [];
  await trainAndEvaluate(m2, data, { ...opts, batchSize: 4, progressIntervalMs: 1e9, onProgress: (p) => slow.push(p) });
  m2.dispose();
  // With a huge interval only the first callback and each phase's last step get through.
  assert.ok(slow.length <= 1 + 3 * 2 + 1, `${slow.length} progress callbacks`);
});

// The test of record for dynamic padding: the real tiny DistilBERT and BERT (the fake classifier above is a
// masked mean by construction, so it could not fail). Padding to the batch's longest sequence must give the
// logits of padding to MAX_LEN, in inference and with the same dropout seed in training.
for (const name of ['distilbert-tiny-random', 'bert-tiny-random']) {
  const { path: dir, skip } = shared('models', name);
  test(`dynamic padding equals fixed padding to MAX_LEN on the tiny ${name}`, { skip }, async () => {
    const { model } = await loadClassifier(dir, { numLabels: 2, seed: 42 });
    const seqs = [[101, 2023, 3185, 2001, 2307, 102], [101, 6659, 102], [101, 1037, 2210, 2146, 2021, 2009, 2001, 2204, 102]];
    const dyn = makeBatch(seqs, 0), fixed = makeBatch(seqs, 0, 128);
    assert.equal(dyn.inputIds.shape[1], 9);
    const a = model.apply(dyn, false).arraySync(), b = model.apply(fixed, false).arraySync();
    for (let i = 0; i < a.length; i++) for (let j = 0; j < 2; j++) assert.ok(Math.abs(a[i][j] - b[i][j]) < 1e-5, `logit [${i},${j}]: ${a[i][j]} vs ${b[i][j]}`);
    // Not trivially equal: the three reviews get different logits.
    assert.ok(Math.abs(a[0][0] - a[1][0]) > 1e-6);
    disposeBatch(dyn); disposeBatch(fixed); model.dispose();
  });
}
