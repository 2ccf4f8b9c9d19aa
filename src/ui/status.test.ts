// Status bar and progress notification texts; the walkthrough's completion keys (pure parts, no VS Code).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProgressMessage, RunConfig, RunRecord } from '../protocol';
import { HOMEWORK9 } from '../experiments/spec';
import { progressNotificationText, sweepView, trainingStatusText } from './statusText';
import { ANSWERS_FILLED_KEY, finishedKey, HOMEWORK_OPEN_KEY, isWalkthroughTab, WALKTHROUGH_OPEN_KEY, walkthroughContext } from './walkthrough';

const progress = (extra: Partial<ProgressMessage> = {}): ProgressMessage => ({
  type: 'progress', epoch: 2, epochs: 3, step: 4, steps: 10, loss: 0.5, accuracy: 0.8, examplesPerSecond: 30, etaSeconds: 65, phase: 'train', ...extra,
});

const cfg = (extra: Partial<RunConfig> = {}): RunConfig => ({
  problem: 'problem1', key: 'k', label: 'MAX_LEN=256, LR=1.0e-5, BATCH=16', model: 'distilbert-base-uncased', maxLen: 256, learningRate: 1e-5,
  batchSize: 16, epochs: 3, evalBatchSize: 64, subsetFrac: 0.25, seed: 42, data: 'd', patience: 2, ...extra,
});
const rec = (id: string, status: RunRecord['status'], extra: Partial<RunRecord> = {}, c: Partial<RunConfig> = {}): RunRecord => ({
  id, sweepId: 'sw', config: cfg({ key: id, ...c }), status, createdAt: `2026-01-01T00:00:0${id.slice(-1)}Z`, history: [], ...extra,
});

test('one progress story: status bar and notification show the same run, phase and sweep ETA', () => {
  const t0 = Date.parse('2026-01-01T00:10:00Z');
  const done = rec('r1', 'finished', { metrics: { totalSeconds: 600 } as RunRecord['metrics'] }, { maxLen: 128, learningRate: 2e-5 });
  const now = rec('r2', 'running', { startedAt: '2026-01-01T00:10:00Z' });
  const queued = [rec('r3', 'queued', {}, { maxLen: 512 }), rec('r4', 'queued', {}, { maxLen: 512, learningRate: 2e-5 })];
  const all = [done, now, ...queued];
  // Between runs (no progress yet): "loading", not "starting…"; ETA = this run (mean 600 s) + 2 queued × 600 s.
  const v0 = sweepView(all, now, undefined, t0);
  assert.equal(progressNotificationText(v0), 'run 2 of 4 — MAX_LEN 256, LR 1e-5: loading · sweep ETA 0:30:00 — [Show Log](command:bertLab.showLog)');
  assert.equal(trainingStatusText(v0), '$(sync~spin) BERT Lab: run 2 of 4 · loading · sweep ETA 0:30:00');
  // Training: this run's ETA plus the queued runs at the finished runs' mean time.
  const v1 = sweepView(all, now, progress({ etaSeconds: 65 }), t0 + 30_000);
  assert.equal(v1.sweepEta, 65 + 2 * 600);
  assert.equal(trainingStatusText(v1), '$(sync~spin) BERT Lab: run 2 of 4 · epoch 2/3 · sweep ETA 0:21:05');
  assert.ok(progressNotificationText(v1).startsWith('run 2 of 4 — MAX_LEN 256, LR 1e-5: epoch 2/3 · step 4/10 · sweep ETA 0:21:05'));
  for (const phase of ['validate', 'test', 'tokenize', 'load'] as const) {
    const v = sweepView(all, now, progress({ phase }), t0);
    assert.ok(trainingStatusText(v).includes(` · ${v.phase}`) && progressNotificationText(v).includes(`: ${v.phase}`), phase);
  }
  assert.equal(progressNotificationText(undefined), 'preparing the sweep — [Show Log](command:bertLab.showLog)');
});

test('a quick or tiny-model sweep says so in the status bar and the notification', () => {
  const r = rec('r1', 'running', {}, { limitTrain: 64, limitEval: 32, model: '/m/distilbert-tiny-random' });
  const v = sweepView([r], r, progress(), 0);
  assert.equal(v.tag, 'quick · tiny model');
  assert.ok(trainingStatusText(v).endsWith(' · quick · tiny model'));
  assert.ok(progressNotificationText(v).includes('(quick · tiny model)'));
  assert.equal(sweepView([rec('r2', 'running')], rec('r2', 'running'), undefined, 0).tag, '');
});

test('walkthrough: a problem\'s step completes once it has a finished run, however it was started', () => {
  const run = (problem: string, status: RunRecord['status']) => ({ config: { problem }, status }) as RunRecord;
  const ids = HOMEWORK9.problems.map((p) => p.id);
  assert.deepEqual(walkthroughContext([], ids), { 'bertLab.finished.problem1': false, 'bertLab.finished.problem2': false, 'bertLab.finished.problem3': false });
  assert.deepEqual(walkthroughContext([run('problem1', 'finished'), run('problem2', 'failed'), run('problem3', 'running')], ids),
    { 'bertLab.finished.problem1': true, 'bertLab.finished.problem2': false, 'bertLab.finished.problem3': false });
});

test('the walkthrough\'s onContext events name keys the extension sets', () => {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
  const set = new Set([HOMEWORK_OPEN_KEY, ANSWERS_FILLED_KEY, ...HOMEWORK9.problems.map((p) => finishedKey(p.id))]);
  const steps = pkg.contributes.walkthroughs[0].steps as Array<{ id: string; completionEvents: string[] }>;
  const exprs = steps.flatMap((s) => s.completionEvents.filter((e) => e.startsWith('onContext:')).map((e) => e.slice('onContext:'.length)));
  // Each is "<state key> && bertLab.walkthroughOpen" (see WALKTHROUGH_OPEN_KEY).
  assert.ok(exprs.every((e) => e.endsWith(` && ${WALKTHROUGH_OPEN_KEY}`)), exprs.join(', '));
  const keys = exprs.map((e) => e.split(' && ')[0]);
  assert.ok(keys.length >= 5, `onContext events: ${keys.join(', ')}`);
  for (const k of keys) assert.ok(set.has(k), `${k} is never set`);
  const byStep = Object.fromEntries(steps.map((s) => [s.id, s.completionEvents]));
  for (const n of [1, 2, 3]) assert.ok(byStep[`runProblem${n}`].includes(`onContext:${finishedKey(`problem${n}`)} && ${WALKTHROUGH_OPEN_KEY}`), `runProblem${n}`);
  // The notebook's own buttons complete the fill step too.
  assert.ok(byStep.fillAnswers.includes('onCommand:bertLab.notebook.fillAnswer'));
});

test('walkthrough tabs are recognised by their title', () => {
  assert.ok(isWalkthroughTab('Walkthrough: BERT Lab'));
  assert.ok(isWalkthroughTab('Welcome'));
  assert.ok(!isWalkthroughTab('Homework_09.ipynb'));
  assert.ok(!isWalkthroughTab('BERT Lab Results'));
});
