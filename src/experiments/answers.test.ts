// The one definition of the graded answers (CLI, extension and results page): best run, caveat, tie rule,
// and no answer after a latest sweep whose runs all failed with other data or another model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunConfig, RunRecord } from '../protocol';
import { config, metrics } from '../cli/testing';
import { computeAnswers, latestSweep } from './answers';

let n = 0;
const rec = (status: RunRecord['status'], sweepId: string, patch: Partial<RunConfig> = {}, value?: number): RunRecord => {
  n++;
  const at = `2026-01-01T00:00:${String(n).padStart(2, '0')}Z`;
  return {
    id: `r${n}`, sweepId, config: config('problem1', `k${n}`, `MAX_LEN=${100 + n}`, patch), status, createdAt: at, endedAt: at,
    history: [], ...(value !== undefined ? { metrics: metrics(value) } : {}),
  };
};
const a1a = (runs: RunRecord[]) => computeAnswers(runs).find((a) => a.variable === 'a1a')!;

test('the best run, its caveat and the tie rule', () => {
  const quick = { limitTrain: 64, limitEval: 32, model: '/m/distilbert-tiny-random' };
  const runs = [rec('finished', 's1', quick, 0.5), rec('finished', 's1', quick, 0.5), rec('finished', 's1', quick, 0.25)];
  const a = a1a(runs);
  assert.equal(a.value, 0.5);
  assert.equal(a.runId, runs[0].id, 'equal values: the earlier run');
  assert.equal(a.caveat, 'quick run with distilbert-tiny-random');
  assert.match(a.tie!, /^tie at 0\.5000 between MAX_LEN=\d+ and MAX_LEN=\d+: the earlier run wins/);
  assert.equal(a1a([]).value, null);
  assert.match(a1a([]).note!, /no finished run of problem1/);
});

test('a latest sweep whose runs all failed (other data, or another model) shows no answer', () => {
  const good = rec('finished', 'old', {}, 0.9);
  const otherData = [rec('failed', 'new', { data: '/other' }), rec('failed', 'new', { data: '/other' })];
  assert.deepEqual(latestSweep([good, ...otherData], 'problem1').map((r) => r.id), otherData.map((r) => r.id));
  const a = a1a([good, ...otherData]);
  assert.equal(a.value, null);
  assert.equal(a.runId, undefined);
  assert.match(a.note!, /the latest sweep of problem1: all 2 runs failed/);
  // Same data, another model: the older model's value would pass for this one's.
  assert.equal(a1a([good, rec('failed', 'new2', { model: '/other-model' })]).value, null);
  // A failed re-run with the same setup and model says nothing against the answer.
  assert.equal(a1a([good, rec('failed', 'again', good.config)]).value, 0.9);
  // A newer sweep that finished a run: its own setup's answer.
  const fresh = rec('finished', 'new3', { data: '/other' }, 0.7);
  assert.equal(a1a([good, rec('failed', 'new3', { data: '/other' }), fresh]).value, 0.7);
});
