// The pure parts of the split UI: labels, the quick flag, the fill
// decision's question, the log (each line once), typed command arguments, and the one sweep path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyRunValues } from '../experiments/spec';
import { EventEmitter } from 'node:events';
import type { AnswerValue, FromWorker, RunConfig, RunRecord } from '../protocol';
import { decideFill } from '../notebook/fillDecision';
import { RunLog } from '../common/logging';
import { formatDuration, quickTag, shortLabel, shortLr } from './labels';
import { problemRefOf, runIdOf, runScopeOf } from './commandArgs';
import { plannedBase, runThroughRunner, valuesDiff } from './sweepPlan';
import { filledButtonText } from './notebookText';

const cfg = (extra: Partial<RunConfig> = {}): RunConfig => ({
  problem: 'problem1', key: 'len128-lr2e-05', label: 'MAX_LEN=128, LR=2.0e-5, BATCH=32', model: 'distilbert-base-uncased', maxLen: 128, learningRate: 2e-5,
  batchSize: 32, epochs: 3, evalBatchSize: 64, subsetFrac: 0.25, seed: 42, data: 'd', patience: 2, ...extra,
});
let n = 0;
const rec = (status: RunRecord['status'], extra: Partial<RunRecord> = {}, c: Partial<RunConfig> = {}): RunRecord => {
  n++;
  return { id: `r${n}`, sweepId: 's1', config: cfg(c), status, createdAt: `2026-01-01T00:00:${String(n).padStart(2, '0')}Z`, history: [], ...extra };
};

test('labels: short (what differs), LR as written, h:mm:ss durations', () => {
  const sib = [cfg(), cfg({ maxLen: 256, learningRate: 1e-5 })];
  assert.equal(shortLabel(cfg({ maxLen: 256, learningRate: 1e-5 }), sib), 'MAX_LEN 256, LR 1e-5');
  assert.equal(shortLabel(cfg({ subsetFrac: 0.5 }), [cfg({ subsetFrac: 0.25 })]), 'SUBSET_FRAC 0.5');
  assert.equal(shortLabel(cfg({ model: '/m/bert-base-uncased' }), [cfg()]), 'bert-base-uncased');
  assert.equal(shortLabel(cfg()), 'MAX_LEN 128, LR 2e-5', 'a lone run: MAX_LEN and LR');
  // The homework's Problem 1: BATCH follows MAX_LEN (32/16/8), so it is left to the tooltip.
  const p1 = [cfg(), cfg({ learningRate: 1e-5 }), cfg({ maxLen: 256, batchSize: 16 }), cfg({ maxLen: 256, batchSize: 16, learningRate: 1e-5 })];
  assert.equal(shortLabel(p1[2], p1), 'MAX_LEN 256, LR 2e-5');
  assert.equal(shortLabel(cfg({ batchSize: 8 }), [cfg()]), 'BATCH 8', 'BATCH alone varies: shown');
  assert.equal(shortLabel(cfg({ label: 'MAX_LEN=64, LR=2.0e-5, BATCH=32 (edited)', maxLen: 64 }), sib), 'MAX_LEN 64, LR 2e-5 (edited)');
  assert.deepEqual([shortLr(2e-5), shortLr(7.5e-6), shortLr(1e-4)], ['2e-5', '7.5e-6', '1e-4']);
  assert.deepEqual([formatDuration(65), formatDuration(3700), formatDuration(undefined)], ['0:01:05', '1:01:40', '']);
});

test('quick flag: capped splits and tiny models are named', () => {
  assert.equal(quickTag(cfg({ limitTrain: 64 })), 'quick');
  assert.equal(quickTag(cfg({ model: '/shared/models/distilbert-tiny-random' })), 'tiny model');
  assert.equal(quickTag(cfg({ limitTrain: 64, limitEval: 32, model: 'x/distilbert-tiny-random' })), 'quick · tiny model');
  assert.equal(quickTag(cfg()), '');
});

test('fill decision in VS Code: a quick result, or a value that is not the placeholder, asks first', () => {
  const src = { variable: 'a1a', value: 0.5, caveat: 'quick run with distilbert-tiny-random' };
  const d = decideFill('0.9144', src);
  assert.equal(d.kind, 'confirm');
  assert.equal(d.kind === 'confirm' && d.question, 'a1a is 0.9144 in the notebook; replace it with 0.5000 from a quick run with distilbert-tiny-random?');
  assert.equal(decideFill('0.0', { variable: 'a1a', value: 0.9144 }).kind, 'write');
  assert.equal(decideFill('0.9144', { variable: 'a1a', value: 0.9144 }).kind, 'unchanged');
  assert.equal(filledButtonText('a1a', 0.9144), '✓ a1a = 0.9144 (current)');
});

test('log: each worker line once, tagged with its run', () => {
  const lines: string[] = [];
  const sink = { info: (l: string) => lines.push(`I ${l}`), warn: (l: string) => lines.push(`W ${l}`), error: (l: string) => lines.push(`E ${l}`) };
  const runner = new EventEmitter();
  new RunLog(sink).attach(runner as never);
  // The runner's order: the message event, then its relay as a plain line.
  const m: FromWorker = { type: 'log', level: 'info', message: 'reading train.jsonl.gz' };
  runner.emit('message', 'r1', m); runner.emit('log', '[info] reading train.jsonl.gz');
  runner.emit('message', 'r1', { type: 'outOfMemory', batchSize: 32, nextBatchSize: 16, reason: 'OOM' } satisfies FromWorker);
  runner.emit('log', 'out of memory at batch size 32: retrying with 16 in a fresh training process (OOM)');
  runner.emit('log', 'training process started (pid 7) for run r1');
  runner.emit('message', 'r1', { type: 'progress', epoch: 1, epochs: 3, step: 1, steps: 2, loss: 1, accuracy: 0, examplesPerSecond: 1, etaSeconds: 1, phase: 'train' } satisfies FromWorker);
  runner.emit('log', '[info] reading train.jsonl.gz'); // a second, unrelated line with the same text is kept
  assert.deepEqual(lines, ['I [r1] reading train.jsonl.gz', 'W [r1] out of memory at batch 32: retrying with 16', 'I training process started (pid 7) for run r1', 'I [info] reading train.jsonl.gz']);
});

test('typed command arguments: a run id or its tree node; a problem reference or its node', () => {
  const node = { id: 'run:r1', label: 'x', ref: { runId: 'r1', problemId: 'problem1', sweepId: 's' } };
  assert.equal(runIdOf('r7'), 'r7');
  assert.equal(runIdOf(node), 'r1');
  assert.equal(runIdOf(undefined), undefined);
  assert.deepEqual(runScopeOf({ id: 'sweep:x', label: 'Sweep', ref: { problemId: 'problem1', sweepId: 's' } }), { sweepId: 's' });
  assert.deepEqual(problemRefOf({ problemId: 'problem2', configKey: 'k', field: 'maxLen' }), { problemId: 'problem2', configKey: 'k', field: 'maxLen' });
  assert.deepEqual(problemRefOf({ id: 'config:problem1:k', label: 'c', ref: { problemId: 'problem1', configKey: 'k' } }), { problemId: 'problem1', configKey: 'k', field: undefined });
  assert.equal(problemRefOf({ id: 'message', label: 'x' }), undefined);
});

test('one sweep path: edited values and single configs go to runProblem as overrides/only', async () => {
  const base = [cfg(), cfg({ key: 'len256', maxLen: 256 })];
  const edited = { ...base[1], maxLen: 300, key: 'len256-edited-maxLen300', label: 'MAX_LEN=300, LR=2.0e-5, BATCH=32 (edited)' };
  assert.equal(plannedBase(edited, base)?.key, 'len256');
  assert.deepEqual(valuesDiff(edited, base[1]), { maxLen: 300 });
  const calls: unknown[] = [];
  const runner = { runProblem: async (...a: unknown[]) => { calls.push(a); return []; } };
  await runThroughRunner(runner as never, 'problem1', { quick: true }, { only: ['len256'], overrides: { len256: { maxLen: 300 } }, force: true });
  assert.deepEqual(calls, [['problem1', { quick: true }, { only: ['len256'], overrides: { len256: { maxLen: 300 } }, force: true }]]);
  // The runner's own edited config (spec.applyRunValues) maps back to its planned config.
  const real = applyRunValues(base[1], { maxLen: 300 }, {});
  assert.equal(real.key, 'len256-edited-maxLen300');
  assert.equal(plannedBase(real, base)?.key, 'len256');
});
