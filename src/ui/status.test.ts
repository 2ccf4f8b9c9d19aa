// Status bar and progress notification texts; the walkthrough's completion keys (pure parts, no VS Code).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProgressMessage, RunRecord } from '../protocol';
import { HOMEWORK9 } from '../experiments/spec';
import { progressNotificationText, trainingStatusText } from './statusText';
import { ANSWERS_FILLED_KEY, finishedKey, HOMEWORK_NOTEBOOK_KEY, walkthroughContext } from './walkthrough';

const progress = (extra: Partial<ProgressMessage> = {}): ProgressMessage => ({
  type: 'progress', epoch: 2, epochs: 3, step: 4, steps: 10, loss: 0.5, accuracy: 0.8, examplesPerSecond: 30, etaSeconds: 65, phase: 'train', ...extra,
});

test('status bar while training: run k/n, epoch, ETA', () => {
  assert.equal(trainingStatusText(2, 6, progress()), '$(sync~spin) BERT Lab: run 2/6 · epoch 2/3 · ETA 1:05');
  assert.equal(trainingStatusText(6, 6, progress({ phase: 'test', etaSeconds: 0 })), '$(sync~spin) BERT Lab: run 6/6 · test');
  assert.equal(trainingStatusText(1, 1, undefined), '$(sync~spin) BERT Lab: run 1/1');
});

test('progress notification: run, label, epoch and step, ETA, and a link to the log', () => {
  assert.equal(progressNotificationText({ k: 3, n: 6, label: 'MAX_LEN=256, LR=1.0e-5, BATCH=16' }, progress({ etaSeconds: 3700 })),
    'run 3/6: MAX_LEN=256, LR=1.0e-5, BATCH=16 · epoch 2/3 · step 4/10 · ETA 1:01:40 — [Show Log](command:bertLab.showLog)');
  assert.equal(progressNotificationText(undefined, undefined), 'starting… — [Show Log](command:bertLab.showLog)');
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
  const set = new Set([HOMEWORK_NOTEBOOK_KEY, ANSWERS_FILLED_KEY, ...HOMEWORK9.problems.map((p) => finishedKey(p.id))]);
  const steps = pkg.contributes.walkthroughs[0].steps as Array<{ id: string; completionEvents: string[] }>;
  const keys = steps.flatMap((s) => s.completionEvents.filter((e) => e.startsWith('onContext:')).map((e) => e.slice('onContext:'.length)));
  assert.ok(keys.length >= 5, `onContext events: ${keys.join(', ')}`);
  for (const k of keys) assert.ok(set.has(k), `${k} is never set`);
  const byStep = Object.fromEntries(steps.map((s) => [s.id, s.completionEvents]));
  for (const n of [1, 2, 3]) assert.ok(byStep[`runProblem${n}`].includes(`onContext:${finishedKey(`problem${n}`)}`), `runProblem${n}`);
  // The notebook's own buttons complete the fill step too.
  assert.ok(byStep.fillAnswers.includes('onCommand:bertLab.notebook.fillAnswer'));
});
