import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadClassifier, saveClassifier, saveModelFolder } from '../engine/checkpoint';
import { startTorchFromModel } from '../engine/torch/engine';
import { selectEngine } from '../engine/torch/select';
import { loadTokenizer } from '../engine/tokenizer';
import { initBackend } from '../engine/backend';
import { shared } from '../engine/testing';
import { capStratified, loadLine, runInWorker, type WorkerDeps } from './run';
import { checkRunConfig } from '../protocol/runFields';
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
  assert.match(checkRunConfig({ ...config, batchSize: 0 })!, /BATCH/);
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

test('K classes come from the data: KxK confusion, macro F1, id2label of the saved model', { skip: existsSync(tiny) ? false : `${tiny} absent` }, async () => {
  const three = (n: number, off: number) => ({
    texts: Array.from({ length: n }, (_, i) => ['a terrible film', 'an average film', 'a great film'][i % 3] + ` number ${i + off}`),
    labels: Array.from({ length: n }, (_, i) => i % 3),
  });
  const k3: WorkerDeps = {
    ...deps,
    loadSplits: async () => ({ train: three(12, 0), val: three(6, 100), test: three(6, 200), info: { train: 12, val: 6, test: 6, labelNames: ['bad', 'meh', 'good'], labelCounts: { train: [4, 4, 4], val: [2, 2, 2], test: [2, 2, 2] }, source: 'mem' } }),
  };
  const runDir = mkdtempSync(join(tmpdir(), 'worker-k3-'));
  const got: FromWorker[] = [];
  await runInWorker({ runId: 'k3', runDir, config: { ...config, limitTrain: 9, limitEval: 6 } }, (m) => got.push(m), new AbortController().signal, k3);
  assert.equal(got.at(-1)?.type, 'finished', JSON.stringify(got.filter((m) => m.type === 'failed')));
  const started = got.find((m) => m.type === 'started');
  assert.ok(started?.type === 'started');
  assert.deepEqual(started.split.labelNames, ['bad', 'meh', 'good']);
  assert.deepEqual(started.split.labelCounts.train, [3, 3, 3]);
  const ev = got.find((m) => m.type === 'evaluation');
  assert.ok(ev?.type === 'evaluation');
  assert.equal(ev.metrics.confusion.length, 3);
  assert.ok(ev.metrics.confusion.every((r) => r.length === 3));
  assert.equal(typeof ev.metrics.testMacroF1, 'number');
  const saved = JSON.parse(readFileSync(join(runDir, 'model', 'config.json'), 'utf8'));
  assert.deepEqual(saved.id2label, { 0: 'bad', 1: 'meh', 2: 'good' });
  assert.deepEqual(saved.label2id, { bad: 0, meh: 1, good: 2 });
});

const hasTorch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const torchDeps = (env: NodeJS.ProcessEnv = {}): WorkerDeps => ({
  ...deps, saveModelFolder,
  initBackend: async () => { await tf.setBackend('cpu'); return { backend: 'cpu', device: 'CPU (test)', threads: 1, reason: 'test', versions: {} }; },
  selectEngine: (pref, python) => selectEngine(pref, python ?? '/usr/bin/python3'),
  startTorch: (o) => startTorchFromModel({ ...o, env }),
});

test('a run on the PyTorch engine: engine info, metrics, a saved model that TypeScript loads', { skip: !existsSync(tiny) ? `${tiny} absent` : hasTorch ? false : 'torch is not available', timeout: 120_000 }, async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'worker-torch-'));
  const got: FromWorker[] = [];
  await runInWorker({ runId: 't1', runDir, config: { ...config, backend: 'torch-cpu', python: '/usr/bin/python3' } }, (m) => got.push(m), new AbortController().signal, torchDeps());
  assert.equal(got.at(-1)?.type, 'finished', JSON.stringify(got.filter((m) => m.type === 'failed')));
  const started = got.find((m) => m.type === 'started');
  assert.ok(started?.type === 'started');
  assert.equal(started.engine.engine, 'pytorch');
  assert.equal(started.engine.backend, 'torch-cpu');
  assert.equal(started.engine.precision, 'fp32');
  assert.ok(started.engine.versions.torch);
  assert.equal(got.filter((m) => m.type === 'epochEnd').length, 2);
  const { model } = await loadClassifier(join(runDir, 'model'), {});
  model.dispose();
  assert.ok(!existsSync(join(runDir, '.torch')), 'the split files are removed');
});

test('PyTorch out of memory while training: the same outOfMemory message (the runner halves the batch)', { skip: !existsSync(tiny) ? `${tiny} absent` : hasTorch ? false : 'torch is not available', timeout: 120_000 }, async () => {
  const got: FromWorker[] = [];
  await runInWorker({ runId: 't2', runDir: mkdtempSync(join(tmpdir(), 'worker-torch-')), config: { ...config, backend: 'torch-cpu', saveModel: false } }, (m) => got.push(m), new AbortController().signal,
    torchDeps({ BERT_LAB_TORCH_INJECT_OOM: '1' }));
  const last = got.at(-1);
  assert.ok(last?.type === 'outOfMemory', JSON.stringify(last));
  assert.deepEqual([last.batchSize, last.nextBatchSize], [4, 2]);
  assert.match(last.reason, /CUDA out of memory/);
});

test('a forced torch backend that is missing is a setup failure with one clear line', async () => {
  const got: FromWorker[] = [];
  await runInWorker({ runId: 't3', runDir: tmpdir(), config: { ...config, backend: 'torch', python: '/nonexistent/python3' } }, (m) => got.push(m), new AbortController().signal, torchDeps());
  const last = got.at(-1);
  assert.ok(last?.type === 'failed' && last.stage === 'setup', JSON.stringify(last));
  assert.match(last.reason, /PyTorch engine not available \(\/nonexistent\/python3: not found\).*Install PyTorch Engine/);
});

test('precision reaches the PyTorch engine: bf16 on the CPU runs; mixed_float16 on the CPU is a setup failure', { skip: !existsSync(tiny) ? `${tiny} absent` : hasTorch ? false : 'torch is not available', timeout: 120_000 }, async () => {
  const got: FromWorker[] = [];
  await runInWorker({ runId: 't4', runDir: mkdtempSync(join(tmpdir(), 'worker-torch-')), config: { ...config, backend: 'torch-cpu', precision: 'bf16', saveModel: false, epochs: 1 } }, (m) => got.push(m), new AbortController().signal, torchDeps());
  assert.equal(got.at(-1)?.type, 'finished', JSON.stringify(got.filter((m) => m.type === 'failed')));
  const started = got.find((m) => m.type === 'started');
  assert.ok(started?.type === 'started' && started.engine.precision === 'bf16');
  const got2: FromWorker[] = [];
  await runInWorker({ runId: 't5', runDir: mkdtempSync(join(tmpdir(), 'worker-torch-')), config: { ...config, backend: 'torch-cpu', precision: 'mixed_float16' } }, (m) => got2.push(m), new AbortController().signal, torchDeps());
  const last = got2.at(-1);
  assert.ok(last?.type === 'failed' && last.stage === 'setup', JSON.stringify(last));
  assert.match(last.reason, /mixed_float16 needs a CUDA GPU/);
});

test('load log lines: downloads in MB, data reads in rows or files (never "0.0 of 0.0 MB")', () => {
  assert.equal(loadLine({ stage: 'download', file: 'train.parquet', loaded: 5e6, total: 2e7 }), 'downloading train.parquet: 5.0 of 20.0 MB');
  assert.equal(loadLine({ stage: 'read', file: 'train.jsonl.gz', loaded: 0 }), 'reading train.jsonl.gz');
  assert.equal(loadLine({ stage: 'read', file: 'train.jsonl.gz', loaded: 25000, total: 25000 }), 'read train.jsonl.gz: 25,000 rows');
  assert.equal(loadLine({ stage: 'read', file: 'train/neg', loaded: 0, total: 12500 }), 'reading train/neg: 12,500 files');
});
