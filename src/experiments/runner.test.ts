import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HistoryWriteError, Runner, WorkspaceBusyError, type SweepRunEvent } from './runner';
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

test('edited values run through the sweep path: sweep id, run k of n, only the chosen configs, "(edited)" label', async () => {
  const { runner, records } = setup('ok');
  const events: SweepRunEvent[] = [];
  runner.on('sweepRun', (e: SweepRunEvent) => events.push(e));
  const plan = runner.planProblem('problem1', settings);
  const [k0, k1] = [plan[0].key, plan[1].key];
  const out = await runner.runProblem('problem1', settings, { only: [k0, k1], overrides: { [k1]: { batchSize: 4, learningRate: 3e-5 } } });
  assert.equal(out.length, 2);
  assert.deepEqual(out.map((r) => r.status), ['finished', 'finished']);
  assert.equal(out[0].config.key, k0);
  assert.equal(out[1].config.label, 'MAX_LEN=128, LR=3.0e-05, BATCH=4 (edited)');
  assert.deepEqual([out[1].config.batchSize, out[1].config.learningRate, out[1].config.maxLen], [4, 3e-5, 128]);
  assert.notEqual(out[1].config.key, k1);
  assert.ok(out[0].sweepId && out[0].sweepId === out[1].sweepId, 'one sweep id');
  assert.deepEqual(events.map((e) => [e.index, e.total, e.runId]), [[1, 2, out[0].id], [2, 2, out[1].id]]);
  assert.ok(records.some((r) => r.id === out[1].id && r.status === 'queued'), 'queued, cancellable while the first runs');
  // The same edit again: finished already (matched by the whole config), nothing runs.
  const again = await runner.runProblem('problem1', settings, { only: [k1], overrides: { [k1]: { batchSize: 4, learningRate: 3e-5 } } });
  assert.deepEqual(again.map((r) => r.id), [out[1].id]);
  // Bad edits and unknown keys are clear errors before anything starts.
  await assert.rejects(runner.runProblem('problem1', settings, { overrides: { [k0]: { batchSize: 0 } } }), /edited values of problem1 MAX_LEN=128, LR=2\.0e-05, BATCH=32: BATCH must be an integer of at least 1, not 0/);
  await assert.rejects(runner.runProblem('problem1', settings, { only: ['nope'] }), /problem1 has no run config "nope"/);
});

test('finished runs are matched by the whole config: other data, eval batch or caps run again', async () => {
  const { runner } = setup('ok');
  const key = runner.planProblem('problem1', settings)[0].key;
  const first = await runner.runProblem('problem1', settings, { only: [key] });
  const same = await runner.runProblem('problem1', { ...settings }, { only: [key] });
  assert.equal(same[0].id, first[0].id, 'same experiment: reused');
  for (const change of [{ data: '/other' }, { evalBatch: 32 }, { limitTrain: 10 }, { precision: 'fp32' as const }]) {
    const s = { ...settings, ...change };
    const k = runner.planProblem('problem1', s)[0].key;
    const r = await runner.runProblem('problem1', s, { only: [k] });
    assert.notEqual(r[0].id, first[0].id, JSON.stringify(change));
    assert.equal(r[0].status, 'finished');
  }
  // A different backend or cache folder does not change the experiment: reused.
  const b = await runner.runProblem('problem1', { ...settings, backend: 'wasm', cacheDir: '/c' }, { only: [key] });
  assert.equal(b[0].id, first[0].id);
});

test('argsFor(): the runProblem arguments that run a recorded config again, exactly', async () => {
  const { runner } = setup('ok');
  const [rec] = await runner.runProblem('problem1', { ...settings, quick: true }, { only: [runner.planProblem('problem1', { ...settings, quick: true })[3].key] });
  const a = runner.argsFor(rec.config);
  const [again] = await runner.runProblem(a.problemId, a.settings, a.opts);
  assert.notEqual(again.id, rec.id, 'forced: a new run');
  for (const f of ['data', 'model', 'maxLen', 'learningRate', 'batchSize', 'epochs', 'evalBatchSize', 'subsetFrac', 'seed', 'patience', 'limitTrain', 'limitEval'] as const) {
    assert.equal(again.config[f], rec.config[f], f);
  }
});

test('a history write that fails during a run (injected ENOSPC): that run fails, the sweep stops with one error, nothing crashes', async () => {
  const { runner } = setup('ok');
  const save = runner.history.save.bind(runner.history);
  let epochs = 0;
  // The same code path as a full disk: RunHistory.save throws the atomic writer's one-line error.
  runner.history.save = (r: RunRecord) => {
    if (r.history.length > 0 && ++epochs === 1) throw Object.assign(new Error(`cannot write ${runner.history.runDir(r.id)}/run.json: no space left on the device`), { code: 'ENOSPC' });
    save(r);
  };
  const seen: RunRecord[] = [];
  runner.on('record', (r: RunRecord) => seen.push(r));
  await assert.rejects(runner.runProblem('problem1', settings), (e: Error) => {
    assert.ok(e instanceof HistoryWriteError);
    assert.match(e.message, /^cannot save the run history: cannot write .*run\.json: no space left on the device; run problem1 MAX_LEN=128, LR=2\.0e-05, BATCH=32 failed and the sweep stopped$/);
    return true;
  });
  assert.equal(runner.busy, false);
  const first = seen.filter((r) => r.config.key === runner.planProblem('problem1', settings)[0].key).pop()!;
  assert.equal(first.status, 'failed');
  // The other five never started and are not in the history; on disk only the failed run's last good state.
  const disk = runner.history.reload();
  assert.equal(disk.size, 1);
  assert.equal([...disk.values()][0].status, 'running', 'its last complete write (reads as interrupted once this process is gone)');
  // The next sweep runs normally.
  runner.history.save = save;
  const out = await runner.runProblem('problem1', settings);
  assert.deepEqual(out.map((r) => r.status), Array(6).fill('finished'));
});

test('the workspace lock: a second runner fails with a clear error or waits, and then skips what finished', async () => {
  const { runner, dir } = setup('slow');
  const other = new Runner({ workspace: dir, workerPath: join(dir, 'fake-worker.js'), env: { ...process.env, FAKE_MODE: 'ok' }, whenBusy: 'wait' });
  const failing = new Runner({ workspace: dir, workerPath: join(dir, 'fake-worker.js'), env: { ...process.env, FAKE_MODE: 'ok' } });
  const p = runner.runProblem('problem1', settings, { only: [runner.planProblem('problem1', settings)[0].key] });
  await new Promise((r) => runner.once('message', r));
  await assert.rejects(failing.runProblem('problem1', settings), (e: Error) => e instanceof WorkspaceBusyError && /in use by another BERT Lab sweep/.test(e.message));
  const waits: unknown[] = [];
  const otherRecords: RunRecord[] = [];
  other.on('waiting', (o) => waits.push(o));
  other.on('record', (r: RunRecord) => otherRecords.push(r));
  const q = other.runProblem('problem1', settings);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(waits.length, 1, 'told once that it waits');
  assert.equal(otherRecords.length, 0, 'nothing queued or ran while waiting');
  runner.cancel();
  await p;
  const out = await q;
  assert.deepEqual(out.map((r) => r.status), Array(6).fill('finished'));
  // A wait can be cancelled.
  const ac = new AbortController();
  const held = runner.runProblem('problem1', settings, { force: true, only: [runner.planProblem('problem1', settings)[0].key] });
  await new Promise((r) => runner.once('message', r));
  const w = other.runProblem('problem1', settings, { signal: ac.signal });
  setTimeout(() => ac.abort(), 100);
  assert.deepEqual(await w, []);
  // …and so can runner.cancel() (the extension's Cancel button).
  const w2 = other.runProblem('problem1', settings);
  setTimeout(() => other.cancel(), 100);
  assert.deepEqual(await w2, []);
  runner.cancel();
  await held;
});

test('a run folder that cannot be created stops the sweep before anything starts, with no queued run left behind', async () => {
  const { runner, records } = setup('ok');
  const newId = runner.history.newId.bind(runner.history);
  let n = 0;
  runner.history.newId = (p: string) => {
    if (++n === 3) throw new Error(`cannot write ${runner.history.root}/x: no space left on the device`);
    return newId(p);
  };
  await assert.rejects(runner.runProblem('problem1', settings), (e: Error) => e instanceof HistoryWriteError && /^cannot save the run history: cannot write .*: no space left on the device$/.test(e.message));
  assert.deepEqual(runner.history.list(), []);
  assert.ok(!records.some((r) => r.status === 'running'));
  assert.equal(runner.busy, false);
});
