// The real runner, the real worker (dist/worker.js) and the PyTorch engine together: an out-of-memory
// injected in Python goes through the one OOM path (fresh processes at half the batch), and a cancel
// ends the run and its Python process quickly. Needs `npm run build`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Runner } from '../experiments/runner';
import { shared } from '../engine/testing';

const worker = resolve(__dirname, '..', '..', 'dist', 'worker.js');
const PY = '/usr/bin/python3';
const hasTorch = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const model = shared('models', 'distilbert-tiny-random');
const data = shared('data', 'imdb');
const skip = !existsSync(worker) ? `${worker} absent (npm run build)` : !hasTorch ? `${PY} with torch is not available` : model.skip || data.skip;
const settings = { data: data.path, model: model.path, quick: true, backend: 'torch-cpu' as const, python: PY, epochs: 1 };

test('torch OOM through the runner: fresh workers at half the batch until it fits', { skip, timeout: 300_000 }, async () => {
  const runner = new Runner({ workspace: mkdtempSync(join(tmpdir(), 'torch-runner-')), workerPath: worker, env: { ...process.env, BERT_LAB_TORCH_INJECT_OOM_ABOVE: '8' } });
  const config = runner.planProblem('problem1', settings)[0];
  assert.equal(config.batchSize, 32);
  const [rec] = await runner.runProblem('problem1', settings, { only: [config.key] });
  assert.equal(rec.status, 'finished', rec.error);
  assert.deepEqual(rec.oomRetries, [16, 8]);
  assert.equal(rec.engine?.engine, 'pytorch');
});

test('cancel through the runner stops the run and its Python process within a couple of seconds', { skip, timeout: 300_000 }, async () => {
  const runner = new Runner({ workspace: mkdtempSync(join(tmpdir(), 'torch-runner-')), workerPath: worker, env: process.env, cancelGraceSeconds: 10 });
  const big = { ...settings, quick: false, limitTrain: 2000, limitEval: 32, epochs: 3 };
  const config = runner.planProblem('problem1', big)[0];
  assert.equal(config.maxLen, 128);
  let cancelledAt = 0;
  runner.on('message', (_id: string, m: { type: string; phase?: string }) => {
    if (!cancelledAt && m.type === 'progress' && m.phase === 'train') { cancelledAt = performance.now(); runner.cancel(); }
  });
  const [rec] = await runner.runProblem('problem1', big, { only: [config.key] });
  const ms = performance.now() - cancelledAt;
  assert.ok(cancelledAt > 0, 'training started');
  assert.equal(rec.status, 'cancelled', rec.error);
  assert.ok(ms < 2000, `cancelled after ${ms.toFixed(0)} ms`);
  // No bert_lab_torch process of this test is left (the worker's child exits when its stdin closes).
  await new Promise((r) => setTimeout(r, 500));
  const left = execFileSync('ps', ['-eo', 'pid,ppid,args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('-m bert_lab_torch') && !l.includes('--probe'));
  const ours = left.filter((l) => { const ppid = Number(l.trim().split(/\s+/)[1]); return ppid === process.pid || ppid === 1; });
  assert.deepEqual(ours, [], 'orphaned python processes');
});
