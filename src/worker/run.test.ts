import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadClassifier, saveClassifier } from '../engine/checkpoint';
import { loadTokenizer } from '../engine/tokenizer';
import { initBackend } from '../engine/backend';
import { shared } from '../engine/testing';
import { capStratified, checkRunConfig, runInWorker, type WorkerDeps } from './run';
import type { FromWorker, RunConfig } from '../protocol';

// WASM when its binaries are built (dist/), else the (slower) plain CPU backend.
before(async () => { await initBackend('wasm').catch(() => tf.setBackend('cpu')); });

const { path: tiny, skip: noTiny } = shared('models', 'distilbert-tiny-random');
const config: RunConfig = {
  problem: 'problem1', key: 'k', label: 'l', model: tiny, maxLen: 16, learningRate: 1e-3, batchSize: 4, epochs: 2,
  evalBatchSize: 8, subsetFrac: 0.25, seed: 42, data: 'mem', patience: 2, limitTrain: 8, limitEval: 4, saveModel: true, backend: 'cpu',
};
const texts = (n: number, off: number) => ({
  texts: Array.from({ length: n }, (_, i) => (i % 2 ? 'a wonderful, great film' : 'a terrible, boring movie') + ` number ${i + off}`),
  labels: Array.from({ length: n }, (_, i) => i % 2),
});
const deps: WorkerDeps = {
  initBackend: async () => ({ backend: 'cpu', device: 'CPU (test)', threads: 1, reason: 'test', versions: {} }),
  loadSplits: async () => ({ train: texts(12, 0), val: texts(6, 100), test: texts(6, 200), info: { train: 12, val: 6, test: 6, labelCounts: { train: [6, 6], val: [3, 3], test: [3, 3] }, source: 'mem' } }),
  loadTokenizer, loadClassifier, saveClassifier,
};

test('caps keep the split order and each class\'s share', () => {
  assert.deepEqual(capStratified([0, 0, 0, 1, 0, 1, 1, 1], 4), [0, 1, 3, 5]);
  assert.deepEqual(capStratified([1, 1, 1, 0], 2), [0, 1]); // shares 0.5 and 1.5: the remainder goes to the larger class
  assert.equal(capStratified([0, 1, 0, 1, 1], 3).length, 3);
});

test('config received over IPC is checked', () => {
  assert.equal(checkRunConfig(config), undefined);
  assert.match(checkRunConfig({ ...config, batchSize: 0 })!, /batch size/);
  assert.match(checkRunConfig({ ...config, subsetFrac: 1.5 })!, /SUBSET_FRAC/);
});

test('a run in the worker: started, progress, epochEnd, evaluation, finished; caps; saved model', { skip: noTiny }, async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'worker-'));
  const got: FromWorker[] = [];
  await runInWorker({ runId: 'r1', runDir, config }, (m) => got.push(m), new AbortController().signal, deps);
  const types = got.map((m) => m.type);
  assert.equal(types.at(-1), 'finished', JSON.stringify(got.filter((m) => m.type === 'failed')));
  const started = got.find((m) => m.type === 'started');
  assert.ok(started && started.type === 'started');
  assert.deepEqual([started.split.train, started.split.val, started.split.test], [8, 4, 4]);
  assert.equal(types.filter((t) => t === 'epochEnd').length, 2);
  assert.ok(types.includes('evaluation') && types.includes('progress'));
  const fin = got.at(-1)!;
  assert.ok(fin.type === 'finished');
  assert.equal(fin.modelDir, 'model');
  assert.deepEqual(readdirSync(join(runDir, 'model')).sort().slice(0, 2), ['config.json', 'model.safetensors']);
  const evaluation = got.find((m) => m.type === 'evaluation');
  assert.ok(evaluation?.type === 'evaluation');
  assert.equal(evaluation.metrics.confusion.flat().reduce((a, b) => a + b), 4);
});

test('a bad data source is a failed run with a readable reason; cancel is reported', async () => {
  const got: FromWorker[] = [];
  const failing = { ...deps, loadSplits: async () => { throw new Error('/nowhere: no such data folder'); } };
  await runInWorker({ runId: 'r2', runDir: tmpdir(), config }, (m) => got.push(m), new AbortController().signal, failing);
  assert.deepEqual(got.at(-1), { type: 'failed', reason: '/nowhere: no such data folder', stage: 'setup' });
  const ac = new AbortController();
  ac.abort();
  const got2: FromWorker[] = [];
  await runInWorker({ runId: 'r3', runDir: tmpdir(), config }, (m) => got2.push(m), ac.signal, deps);
  assert.deepEqual(got2.at(-1), { type: 'cancelled' });
});

/** deps whose model runs out of memory above `above` examples per training batch, with `message`, on `backend`. */
function oomDeps(backend: 'wasm' | 'cpu', above: number, message: string): WorkerDeps {
  return {
    ...deps,
    initBackend: async () => ({ backend, device: 'test', threads: 1, reason: 'test', versions: {} }),
    loadClassifier: async (source, opts) => {
      const loaded = await loadClassifier(source, opts);
      const apply = loaded.model.apply.bind(loaded.model);
      loaded.model.apply = (batch, training, seed) => {
        if (training && batch.inputIds.shape[0] > above) throw new Error(message);
        return apply(batch, training, seed);
      };
      return loaded;
    },
  };
}

test('out of memory: the worker asks the runner for a fresh process with half the batch (the one OOM path)', { skip: noTiny }, async () => {
  const got: FromWorker[] = [];
  await runInWorker({ runId: 'r4', runDir: tmpdir(), config: { ...config, saveModel: false } }, (m) => got.push(m), new AbortController().signal,
    oomDeps('wasm', 2, 'memory access out of bounds'));
  assert.deepEqual(got.at(-1), { type: 'outOfMemory', batchSize: 4, nextBatchSize: 2, reason: 'memory access out of bounds' });
  assert.ok(!got.some((m) => m.type === 'finished' || m.type === 'failed'));

  // The fresh process is started with that batch: it trains with it and finishes.
  const got2: FromWorker[] = [];
  await runInWorker({ runId: 'r4', runDir: tmpdir(), config: { ...config, saveModel: false }, batchSize: 2 }, (m) => got2.push(m), new AbortController().signal,
    oomDeps('wasm', 2, 'memory access out of bounds'));
  assert.equal(got2.at(-1)?.type, 'finished', JSON.stringify(got2.filter((m) => m.type === 'failed')));
  const fin = got2.at(-1)!;
  assert.deepEqual(fin, { type: 'finished' });
  const steps = got2.find((m) => m.type === 'progress' && m.phase === 'train');
  assert.equal(steps?.type === 'progress' && steps.steps, 4, '8 training examples in batches of 2');

  // A batch larger than the requested one is refused.
  const got3: FromWorker[] = [];
  await runInWorker({ runId: 'r4', runDir: tmpdir(), config, batchSize: 8 }, (m) => got3.push(m), new AbortController().signal, deps);
  const last = got3.at(-1);
  assert.ok(last?.type === 'failed' && /batch size after out-of-memory/.test(last.reason), JSON.stringify(last));
});

test('out of memory on the CPU backend goes the same way (no in-process retry)', { skip: noTiny }, async () => {
  const got: FromWorker[] = [];
  await runInWorker({ runId: 'r5', runDir: tmpdir(), config: { ...config, saveModel: false } }, (m) => got.push(m), new AbortController().signal,
    oomDeps('cpu', 1, 'Out of memory: failed to allocate'));
  assert.deepEqual(got.at(-1), { type: 'outOfMemory', batchSize: 4, nextBatchSize: 2, reason: 'Out of memory: failed to allocate' });
});
