import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TIE_RULE, isRunRecord, recordProblem, selectBest } from './records';
import { HOMEWORK9, bestRun, contextKey, planProblem } from '../experiments/spec';
import type { RunRecord } from './index';

const [c1, c2, c3] = planProblem(HOMEWORK9, 'problem1', { data: '/d', model: '/m' }, []);
const m = (v: number) => ({ testAccuracy: 0.8, testF1: 0.7, confusion: [[1, 0], [0, 1]], valAccuracyAtMinValLoss: v, bestEpoch: 1, trainSeconds: 1, totalSeconds: 2, stepsPerSecond: 3, examplesPerSecond: 4 });
const rec = (id: string, config = c1, v = 0.5, createdAt = '2026-01-01T00:00:00Z'): RunRecord => ({ id, config, status: 'finished', createdAt, history: [], metrics: m(v) });

test('selectBest: highest graded value; a tie is reported with the rule that broke it (the earlier run)', () => {
  const runs = [rec('b', c2, 0.9, '2026-01-01T00:00:02Z'), rec('a', c1, 0.9, '2026-01-01T00:00:01Z'), rec('c', c3, 0.8, '2026-01-01T00:00:03Z')];
  const best = selectBest(runs, ['problem1'])!;
  assert.equal(best.run.id, 'a');
  assert.deepEqual(best.tiedWith.map((r) => r.id), ['b']);
  assert.equal(best.tie, `tie at 0.9000 between ${c1.label} and ${c2.label}: ${TIE_RULE}`);
  assert.equal(selectBest([...runs, rec('d', c3, 0.9, '2026-01-01T00:00:04Z')], ['problem1'])!.tie, `tie at 0.9000 among 3 runs: ${TIE_RULE}`);
  const clear = selectBest([rec('a', c1, 0.9), rec('c', c3, 0.95, '2026-01-01T00:00:09Z')], ['problem1'])!;
  assert.equal(clear.run.id, 'c');
  assert.equal(clear.tie, undefined);
  assert.equal(selectBest([{ ...rec('x'), status: 'failed' }], ['problem1']), undefined);
  // spec.bestRun is the same selection within a context.
  const other = { ...c1, data: '/other' };
  assert.equal(bestRun([...runs, rec('o', other, 0.99)], ['problem1'], contextKey(c1))?.run.id, 'a');
});

test('recordProblem: the first missing or mistyped field, or undefined for a good record', () => {
  assert.equal(recordProblem(rec('a')), undefined);
  assert.ok(isRunRecord(rec('a'), 'a'));
  assert.equal(recordProblem(rec('a'), 'b'), 'id "a" does not match its folder "b"');
  assert.equal(recordProblem({ ...rec('a'), metrics: {} }), 'metrics.testAccuracy is missing or not a number');
  assert.equal(recordProblem({ ...rec('a'), metrics: { ...m(1), confusion: [[1, 'x']] } }), 'metrics.confusion is not a matrix of numbers');
  assert.equal(recordProblem({ ...rec('a'), status: 'done' }), 'unknown status "done"');
  assert.equal(recordProblem({ ...rec('a'), config: { ...c1, maxLen: '128' } }), 'config.maxLen is missing or not a number');
  assert.equal(recordProblem({ ...rec('a'), history: [{ epoch: 1, trainLoss: 1, trainAccuracy: 1, valLoss: 1, valAccuracy: null, seconds: 1 }] }), 'history[0].valAccuracy is missing or not a number');
  assert.equal(recordProblem(null), 'not a JSON object');
  assert.equal(recordProblem({ ...rec('a'), id: '../x' }), 'id "../x" is not a valid run id');
});
