import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runner } from './runner';
import type { FromWorker, RunRecord } from '../protocol';

// A stand-in training process speaking the protocol; FAKE_MODE picks its behaviour.
const FAKE_WORKER = `
const mode = process.env.FAKE_MODE;
process.on('disconnect', () => process.exit(0));
process.on('message', (m) => {
  if (m.type === 'cancel') {
    if (mode === 'hang') return;
    process.send({ type: 'cancelled' }, () => process.exit(0));
    return;
  }
  const c = m.config;
  const engine = { backend: 'cpu', device: 'fake', threads: 1, reason: 'test', versions: {} };
  const split = { train: 10, val: 2, test: 2, labelCounts: { train: [5, 5], val: [1, 1], test: [1, 1] }, source: c.data };
  if (mode === 'setup-fail') {
    process.send({ type: 'failed', reason: '/nowhere: no such data folder', stage: 'setup' }, () => process.exit(0));
    return;
  }
  if (mode === 'crash' || (mode === 'crash-second' && c.learningRate === 1e-5)) {
    // crash-second: a crash during training (after 'started'); crash: before it.
    if (mode === 'crash-second') process.send({ type: 'started', runId: m.runId, config: c, engine, split });
    setTimeout(() => { process.stderr.write('Error: boom in the engine\\n    at someFrame (x.js:1:1)\\n'); process.exit(3); }, 20);
    return;
  }
  // oom*: out of memory above OOM_ABOVE examples per batch, after which the backend is dead (WASM):
  // report it and exit, as the real worker does. oom-then-crash: an in-process retry, then a crash.
  const batch = m.batchSize ?? c.batchSize;
  if (mode === 'oom' && batch > Number(process.env.OOM_ABOVE)) {
    process.send({ type: 'started', runId: m.runId, config: c, engine: { ...engine, backend: 'wasm' }, split });
    process.send({ type: 'epochEnd', metrics: { epoch: 1, trainLoss: 1, trainAccuracy: 0.5, valLoss: 1, valAccuracy: 0.5, seconds: 0.1 } });
    if (batch === 1) { process.send({ type: 'failed', reason: 'RuntimeError: memory access out of bounds', stage: 'run' }, () => process.exit(0)); return; }
    process.send({ type: 'outOfMemory', batchSize: batch, nextBatchSize: Math.floor(batch / 2), reason: 'RuntimeError: memory access out of bounds' }, () => process.exit(0));
    return;
  }
  if (mode === 'oom-then-crash') {
    process.send({ type: 'started', runId: m.runId, config: c, engine, split });
    process.send({ type: 'log', level: 'info', message: 'about to crash' });
    setTimeout(() => { process.stderr.write('Error: boom in the engine\\n'); process.exit(3); }, 20);
    return;
  }
  if (mode === 'slow' || mode === 'hang') {
    setInterval(() => process.send({ type: 'progress', phase: 'train', epoch: 1, epochs: 1, step: 1, steps: 9, loss: 1, accuracy: 0, examplesPerSecond: 1, etaSeconds: 1 }), 20);
    return;
  }
  const v = c.learningRate * 1e4; // a deterministic "accuracy" per config
  const history = [1, 2].map((e) => ({ epoch: e, trainLoss: 1 / e, trainAccuracy: 0.5, valLoss: e === 1 ? 0.5 : 0.6, valAccuracy: e === 1 ? v : 0.1, seconds: 0.1 }));
  const metrics = { testAccuracy: 0.5, testF1: 0.5, confusion: [[1, 0], [1, 0]], valAccuracyAtMinValLoss: v, bestEpoch: 1, trainSeconds: 1, totalSeconds: 1, stepsPerSecond: 1, examplesPerSecond: 1 };
  process.send({ type: 'started', runId: m.runId, config: c, engine, split });
  for (const h of history) process.send({ type: 'epochEnd', metrics: h });
  process.send({ type: 'evaluation', metrics });
  process.send({ type: 'log', level: 'info', message: 'trained with batch ' + batch });
  process.send({ type: 'finished' }, () => process.exit(0));
});
`;

function setup(mode: string, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'runner-'));
  const worker = join(dir, 'fake-worker.js');
  writeFileSync(worker, FAKE_WORKER);
  const runner = new Runner({ workspace: dir, workerPath: worker, env: { ...process.env, FAKE_MODE: mode, ...env }, cancelGraceSeconds: 1 });
  const records: RunRecord[] = [];
  const messages: FromWorker[] = [];
  runner.on('record', (r: RunRecord) => records.push(r));
  runner.on('message', (_id: string, m: FromWorker) => messages.push(m));
  return { dir, runner, records, messages };
}
const settings = { data: '/d', model: '/m' };

test('runs a sweep in child processes, records it, and skips finished runs on a second call', async () => {
  const { runner, messages, records } = setup('ok');
  const first = await runner.runProblem('problem1', settings);
  assert.equal(first.length, 6);
  for (const r of first) assert.deepEqual([r.status, r.history.length, Boolean(r.metrics), r.engine?.device, r.split?.train], ["finished", 2, true, "fake", 10]);
  assert.ok(messages.some((m) => m.type === 'started') && messages.some((m) => m.type === 'finished'));
  assert.ok(records.some((r) => r.status === 'queued') && records.some((r) => r.status === 'running'));
  assert.equal(runner.history.list().length, 6);
  assert.equal(runner.busy, false);

  const second = await runner.runProblem('problem1', settings);
  assert.deepEqual(second.map((r) => r.id), first.map((r) => r.id), 'all skipped');
  assert.equal(runner.history.list().length, 6);
  // Problem 2 now carries over Problem 1's best (LR 2e-5 -> "accuracy" 0.2, the highest).
  const plan = runner.planProblem('problem2', settings);
  assert.ok(plan.every((c) => c.maxLen === 128 && c.learningRate === 2e-5 && c.batchSize === 32));
  const forced = await runner.runProblem('problem1', settings, { force: true });
  assert.equal(runner.history.list().length, 12);
  assert.notDeepEqual(forced.map((r) => r.id), first.map((r) => r.id));
});

test('a crashed child is a failed run with a readable reason; the sweep goes on', async () => {
  const { runner } = setup('crash-second');
  const out = await runner.runProblem('problem1', settings);
  const failed = out.filter((r) => r.status === 'failed');
  assert.equal(failed.length, 2); // the two configs with LR 1e-5
  assert.match(failed[0].error!, /exited with code 3: Error: boom in the engine/);
  assert.equal(failed[0].oomRetries, undefined, 'not taken for an out-of-memory');
  assert.equal(out.filter((r) => r.status === 'finished').length, 4);
});

test('a run whose data/model cannot be loaded is not repeated for the same data and model', async () => {
  const { runner } = setup('setup-fail');
  const out = await runner.runProblem('problem1', settings);
  assert.ok(out.every((r) => r.status === 'failed'));
  assert.match(out[0].error!, /no such data folder/);
  assert.equal(out[0].failureStage, 'setup');
  assert.match(out[5].error!, new RegExp(`^not started: ${out[0].config.label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} could not start with the same data and model: /nowhere`));
  // One failure in the history, not six: the others never started.
  assert.deepEqual(runner.history.reload().size, 1);
  assert.deepEqual(runner.history.list().map((r) => [r.status, r.failureStage]), [['failed', 'setup']]);
  assert.ok(out.slice(1).every((r) => r.startedAt === undefined && r.failureStage === 'setup'));
});

test('a child that dies before it reports "started" is not a data/model failure: the sweep goes on', async () => {
  const { runner, messages } = setup('crash');
  const out = await runner.runProblem('problem1', settings);
  assert.ok(out.every((r) => r.status === 'failed' && /boom in the engine/.test(r.error!)));
  assert.ok(out.every((r) => r.failureStage === undefined), 'a crash says nothing about the data or model');
  assert.equal(messages.length, 0, 'no child got as far as a message');
});

test('cancel stops the current child and marks the rest of the sweep cancelled', async () => {
  const { runner } = setup('slow');
  const ac = new AbortController();
  runner.once('message', () => setTimeout(() => ac.abort(), 50));
  const out = await runner.runProblem('problem1', settings, { signal: ac.signal });
  assert.deepEqual(out.map((r) => r.status), ['cancelled', 'cancelled', 'cancelled', 'cancelled', 'cancelled', 'cancelled']);
  assert.equal(out[1].error, 'cancelled before it started');
  // Runs that never started are not kept in the history: only the one that was cancelled while training.
  assert.deepEqual(runner.history.list().map((r) => [r.id, r.status]), [[out[0].id, 'cancelled']]);
  assert.deepEqual(runner.history.reload().size, 1, 'on disk too');
});

test('a child that ignores cancel is killed after the grace period', async () => {
  const { runner } = setup('hang');
  runner.once('message', () => setTimeout(() => runner.cancel(), 50));
  const t0 = Date.now();
  const [rec] = await runner.runProblem('problem1', settings, { only: [runner.planProblem('problem1', settings)[0].key] });
  assert.equal(rec.status, 'cancelled');
  assert.ok(Date.now() - t0 < 8000);
});

test('refuses a second sweep while busy', async () => {
  const { runner } = setup('slow');
  const p = runner.runProblem('problem1', settings);
  await assert.rejects(runner.runProblem('problem1', settings), /already in progress/);
  runner.cancel();
  await p;
});

test('cancelling a queued run skips only that run; the sweep goes on', async () => {
  const { runner, records } = setup('ok');
  let skipped: string | undefined;
  runner.on('record', (r: RunRecord) => {
    // While the first run trains, cancel the third (queued) one; a running run is not "queued".
    if (skipped || r.status !== 'running') return;
    const queued = records.filter((x) => x.status === 'queued');
    assert.equal(runner.cancelQueued(r.id), false, 'the running run is not queued');
    skipped = queued[2].id;
    assert.equal(runner.cancelQueued(skipped), true);
    assert.equal(runner.cancelQueued(skipped), false, 'already cancelled');
  });
  const out = await runner.runProblem('problem1', settings);
  assert.ok(skipped);
  assert.deepEqual(out.map((r) => r.status), ['finished', 'finished', 'cancelled', 'finished', 'finished', 'finished']);
  assert.equal(out[2].id, skipped);
  assert.equal(out[2].error, 'cancelled before it started');
  assert.equal(out[2].startedAt, undefined, 'never started');
  assert.equal(runner.history.get(skipped), undefined, 'a run that never started leaves the history');
  assert.equal(records.filter((r) => r.id === skipped && r.status === 'running').length, 0);
  assert.equal(runner.cancelQueued(out[3].id), false, 'nothing is queued after the sweep');
  // The skipped run is not finished, so the next sweep runs it (and only it).
  const again = await runner.runProblem('problem1', settings);
  assert.deepEqual(again.map((r) => r.status), Array(6).fill('finished'));
  assert.equal(runner.history.reload().size, 6);
});

test('out of memory in a child with a dead backend: the run goes on in fresh children with half the batch', async () => {
  const { runner, messages, records } = setup('oom', { OOM_ABOVE: '8' });
  const config = runner.planProblem('problem1', settings)[0];
  assert.equal(config.batchSize, 32);
  const [rec] = await runner.runProblem('problem1', settings, { only: [config.key] });
  assert.equal(rec.status, 'finished', rec.error);
  assert.deepEqual(rec.oomRetries, [16, 8]);
  assert.equal(rec.config.batchSize, 32, 'the requested batch stays in the config');
  assert.equal(rec.history.length, 2, 'only the last child\'s epochs');
  assert.equal(messages.filter((m) => m.type === 'started').length, 3, 'three children');
  // The third child really trained with batch 8 (the fake echoes the batch it was started with).
  const batches = messages.filter((m) => m.type === 'log' && /^trained with batch/.test(m.message));
  assert.deepEqual(batches.map((m) => m.type === 'log' && m.message), ['trained with batch 8']);
  // One record throughout: running until finished, never failed in between.
  assert.ok(records.every((r) => r.id === rec.id && r.status !== 'failed'));
  assert.deepEqual([...new Set(records.map((r) => r.status))], ['queued', 'running', 'finished']);
  const saved = runner.history.get(rec.id)!;
  assert.deepEqual([saved.status, saved.oomRetries, saved.config.batchSize], ['finished', [16, 8], 32]);
});

test('out of memory down to batch 1 is a failed run with every retry recorded', async () => {
  const { runner, messages } = setup('oom', { OOM_ABOVE: '0' });
  const key = runner.planProblem('problem1', settings)[0].key;
  const [rec] = await runner.runProblem('problem1', settings, { only: [key], overrides: { [key]: { batchSize: 8 } } });
  assert.equal(rec.status, 'failed');
  assert.match(rec.error!, /memory access out of bounds/);
  assert.deepEqual(rec.oomRetries, [4, 2, 1]);
  assert.equal(messages.filter((m) => m.type === 'started').length, 4);
});

test('a crash that is not an out-of-memory restart is a failed run, not retried', async () => {
  const { runner, messages } = setup('oom-then-crash');
  const [rec] = await runner.runProblem('problem1', settings, { only: [runner.planProblem('problem1', settings)[0].key] });
  assert.equal(rec.status, 'failed');
  assert.match(rec.error!, /exited with code 3: Error: boom in the engine/);
  assert.equal(rec.oomRetries, undefined);
  assert.equal(messages.filter((m) => m.type === 'started').length, 1, 'no fresh child');
});
