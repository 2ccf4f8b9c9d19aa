import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOMEWORK9, QUICK, SpecError, loadSpecFile, planProblem, resolveModel, validateSpec } from './spec';
import type { RunConfig, RunRecord } from '../protocol';
import { KERAS_HUB_PRESETS, toHubModelId } from '../data/hub';

const settings = { data: '/data/imdb', model: '/models/distil', compareModel: '/models/bert' };

function finished(config: RunConfig, val: number, createdAt: string, oomRetries?: number[]): RunRecord {
  return {
    id: `r-${config.key}`, config, status: 'finished', createdAt, history: [], ...(oomRetries ? { oomRetries } : {}),
    metrics: { testAccuracy: 0.5, testF1: 0.5, confusion: [[1, 1], [1, 1]], valAccuracyAtMinValLoss: val, bestEpoch: 1, trainSeconds: 1, totalSeconds: 1, stepsPerSecond: 1, examplesPerSecond: 1 },
  };
}

test('Problem 1 is the notebook\'s six configurations with its settings', () => {
  const p1 = planProblem(HOMEWORK9, 'problem1', settings, []);
  assert.deepEqual(p1.map((c) => [c.maxLen, c.learningRate, c.batchSize]), [
    [128, 2e-5, 32], [128, 1e-5, 32], [256, 1e-5, 16], [256, 7.5e-6, 16], [512, 7.5e-6, 8], [512, 5e-6, 8],
  ]);
  for (const c of p1) {
    assert.equal(c.epochs, 3); assert.equal(c.seed, 42); assert.equal(c.evalBatchSize, 64); assert.equal(c.subsetFrac, 0.25);
    assert.equal(c.patience, 2); assert.equal(c.data, '/data/imdb'); assert.equal(c.model, '/models/distil');
    assert.equal(c.limitTrain, undefined);
  }
  assert.equal(p1[0].label, 'MAX_LEN=128, LR=2.0e-05, BATCH=32');
  assert.equal(new Set(p1.map((c) => c.key)).size, 6);
});

test('settings override the notebook defaults; --quick caps splits and scales MAX_LEN', () => {
  const [c] = planProblem(HOMEWORK9, 'problem1', { ...settings, seed: 7, epochs: 2, evalBatch: 32, subsetFrac: 0.5 }, []);
  assert.deepEqual([c.seed, c.epochs, c.evalBatchSize, c.subsetFrac], [7, 2, 32, 0.5]);
  const q = planProblem(HOMEWORK9, 'problem1', { ...settings, quick: true }, []);
  assert.deepEqual(q.map((x) => x.maxLen), [128, 128, 256, 256, 512, 512].map((n) => Math.max(QUICK.minMaxLen, n / QUICK.maxLenDivisor)));
  assert.ok(q.every((x) => x.limitTrain === QUICK.limitTrain && x.limitEval === QUICK.limitEval && x.epochs === 3));
  assert.ok(q.every((x) => /-n64x32$/.test(x.key)), 'quick runs have their own keys');
});

test('Problem 2 carries over the best MAX_LEN/LR/batch of Problem 1 (the batch after an OOM retry)', () => {
  assert.throws(() => planProblem(HOMEWORK9, 'problem2', settings, []), /run problem1 first/);
  const p1 = planProblem(HOMEWORK9, 'problem1', settings, []);
  const hist = [finished(p1[0], 0.84, '2026-01-01T00:00:01Z'), finished(p1[3], 0.90, '2026-01-01T00:00:02Z', [8]), finished(p1[4], 0.90, '2026-01-01T00:00:03Z')];
  const p2 = planProblem(HOMEWORK9, 'problem2', settings, hist);
  assert.deepEqual(p2.map((c) => c.subsetFrac), [0.25, 0.5, 0.75, 1.0]);
  // Ties go to the earlier run (p1[3]), whose batch was halved to 8.
  assert.ok(p2.every((c) => c.maxLen === 256 && c.learningRate === 7.5e-6 && c.batchSize === 8 && c.model === '/models/distil'));
  assert.match(p2[1].label, /SUBSET_FRAC=0.5/);
  // Runs of another data source or quick-ness do not carry over.
  assert.throws(() => planProblem(HOMEWORK9, 'problem2', { ...settings, data: '/other' }, hist), /run problem1 first/);
  assert.throws(() => planProblem(HOMEWORK9, 'problem2', { ...settings, quick: true }, hist), /run problem1 first/);
});

test('Problem 3 takes the best of Problems 1-2 incl. SUBSET_FRAC and swaps the model (Keras preset names map)', () => {
  const p1 = planProblem(HOMEWORK9, 'problem1', settings, []);
  const h1 = [finished(p1[5], 0.91, '2026-01-01T00:00:01Z')];
  const p2 = planProblem(HOMEWORK9, 'problem2', settings, h1);
  const h2 = [...h1, ...p2.map((c, i) => finished(c, [0.91, 0.92, 0.935, 0.934][i], `2026-01-01T00:00:0${i + 2}Z`))];
  const p3 = planProblem(HOMEWORK9, 'problem3', { ...settings, model: 'distil_bert_base_en_uncased', compareModel: 'bert_base_en_uncased' }, h2
    .map((r) => ({ ...r, config: { ...r.config, model: 'distilbert-base-uncased' } })));
  assert.deepEqual(p3.map((c) => c.model), ['distilbert-base-uncased', 'bert-base-uncased']);
  assert.ok(p3.every((c) => c.maxLen === 512 && c.learningRate === 5e-6 && c.batchSize === 8 && c.subsetFrac === 0.75));
  assert.match(p3[1].label, /MODEL=bert-base-uncased/);
});

test('Keras-Hub preset names and local paths resolve', () => {
  assert.equal(resolveModel('bert_base_en_uncased'), 'bert-base-uncased');
  // One preset map for the spec and the Hub downloads: every preset resolves as toHubModelId says.
  for (const [preset, id] of Object.entries(KERAS_HUB_PRESETS)) assert.equal(resolveModel(preset), toHubModelId(preset), id);
  assert.equal(resolveModel('bert_tiny_en_uncased'), 'google/bert_uncased_L-2_H-128_A-2');
  assert.equal(resolveModel('constructor'), 'constructor', 'no prototype keys');
  assert.equal(resolveModel('distilbert-base-uncased'), 'distilbert-base-uncased');
  assert.equal(resolveModel('./m', '/ws'), '/ws/m');
});

test('a user spec file is validated with file, JSON path and problem in the error', () => {
  assert.doesNotThrow(() => validateSpec(JSON.parse(JSON.stringify(HOMEWORK9))));
  const dir = mkdtempSync(join(tmpdir(), 'spec-'));
  const bad = JSON.parse(JSON.stringify(HOMEWORK9));
  bad.problems[0].runs[2].learningRate = -1;
  const f = join(dir, 'hw.json');
  writeFileSync(f, JSON.stringify(bad));
  assert.throws(() => loadSpecFile(f), (e: Error) => e instanceof SpecError && e.message === `${f}: $.problems[0].runs[2].learningRate: LR must be a number in (0, 1), e.g. 2e-5 (problem "problem1")`);
  const bad2 = JSON.parse(JSON.stringify(HOMEWORK9));
  bad2.problems[1].carryOver.from = ['problem9'];
  assert.throws(() => validateSpec(bad2, 'x.json'), /x\.json: \$\.problems\[1\]\.carryOver\.from\[0\]: "problem9" is not an earlier problem \(problem "problem2"\)/);
  writeFileSync(f, '{ nope');
  assert.throws(() => loadSpecFile(f), /hw\.json: not valid JSON/);
  assert.throws(() => planProblem(HOMEWORK9, 'problem7', settings, []), /unknown problem "problem7"/);
});
