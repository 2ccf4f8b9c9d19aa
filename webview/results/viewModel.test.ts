import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResultsState, RunRecord } from '../../src/protocol/index.js';
import {
  chartKind, confusionCells, confusionView, curveRuns, formatDuration, liveChart, lossAxisMax, problem1Chart, problem2Chart, problem3Chart, problemCaveat, progressViews,
  quickTag, seriesColors, tableRows,
} from './viewModel.js';
import { isResultsState, parseToWebview } from './validate.js';

let clock = 0;
function run(problem: string, over: Partial<RunRecord['config']>, valAcc: number | undefined, extra: Partial<RunRecord> = {}): RunRecord {
  clock++;
  const config = { problem, key: `${problem}-${JSON.stringify(over)}`, label: `L${clock}`, model: '/models/distilbert-tiny', maxLen: 128, learningRate: 2e-5, batchSize: 32, epochs: 3, evalBatchSize: 64, subsetFrac: 0.25, seed: 42, data: '/d', patience: 2, ...over };
  const t = `2026-01-01T00:00:${String(clock).padStart(2, '0')}Z`;
  return {
    id: `r${clock}`, sweepId: `${problem}-s`, config, status: valAcc === undefined ? 'running' : 'finished', createdAt: t, startedAt: t, endedAt: valAcc === undefined ? undefined : t,
    history: [{ epoch: 1, trainLoss: 0.6, trainAccuracy: 0.6, valLoss: 0.5, valAccuracy: 0.7, seconds: 10 }, { epoch: 2, trainLoss: 0.4, trainAccuracy: 0.8, valLoss: 0.45, valAccuracy: valAcc ?? 0.75, seconds: 20 }],
    metrics: valAcc === undefined ? undefined : { testAccuracy: valAcc - 0.01, testF1: valAcc - 0.02, confusion: [[40, 10], [5, 45]], valAccuracyAtMinValLoss: valAcc, bestEpoch: 2, trainSeconds: 30, totalSeconds: 35, stepsPerSecond: 1, examplesPerSecond: 10 },
    ...extra,
  };
}

function state(runs: RunRecord[], extra: Partial<ResultsState> = {}): ResultsState {
  return { runs, liveLoss: {}, progress: {}, answers: [], problems: [{ id: 'problem1', title: 'Problem 1' }], notebookAvailable: true, ...extra };
}

test('Problem 1: val accuracy by MAX_LEN x LR, best marked; a re-run replaces the older result', () => {
  const runs = [
    run('problem1', { maxLen: 128, learningRate: 2e-5 }, 0.8392), run('problem1', { maxLen: 128, learningRate: 1e-5 }, 0.8584),
    run('problem1', { maxLen: 256, learningRate: 1e-5, batchSize: 16 }, 0.90), run('problem1', { maxLen: 256, learningRate: 7.5e-6, batchSize: 16 }, 0.91),
    run('problem1', { maxLen: 512, learningRate: 7.5e-6, batchSize: 8 }, 0.9144), run('problem1', { maxLen: 512, learningRate: 5e-6, batchSize: 8 }, 0.9120),
  ];
  runs.push({ ...run('problem1', { maxLen: 128, learningRate: 2e-5 }, 0.85), config: runs[0].config }); // re-run of the first config
  const c = problem1Chart(state(runs));
  assert.deepEqual(c.maxLens, [128, 256, 512]);
  assert.deepEqual(c.datasets.map((d) => d.label), ['LR=2.0e-5', 'LR=1.0e-5', 'LR=7.5e-6', 'LR=5.0e-6']);
  assert.deepEqual(c.datasets[0].values, [0.85, null, null]);
  assert.deepEqual(c.datasets[2].values, [null, 0.91, 0.9144]);
  assert.equal(c.best?.runId, runs[4].id);
  assert.deepEqual([c.best?.maxLen, c.best?.learningRate, c.best?.batchSize], [512, 7.5e-6, 8]);
  // The graded answer's run wins when the host names it.
  assert.equal(problem1Chart(state(runs, { answers: [{ variable: 'a1a', problem: 'problem1', value: 0.91, runId: runs[3].id, description: '' }] })).best?.runId, runs[3].id);
  const rows = tableRows(state(runs));
  assert.equal(rows.filter((r) => r.best).length, 1);
  assert.equal(rows.find((r) => r.best)?.runId, runs[4].id);
  assert.equal(rows[0].valAccuracy, '0.8392');
  assert.equal(rows[0].elapsed, '0:00:35');
  const interrupted = { ...run('problem1', { maxLen: 64 }, undefined), status: 'interrupted' as const };
  assert.equal(tableRows(state([interrupted]), Date.parse('2026-01-01T01:00:00Z'))[0].elapsed, '—', 'an interrupted run has no elapsed time');
});

test('ties: the earliest run is best (as Python max keeps the first); no best when the answer is withheld', () => {
  const runs = [run('problem1', { maxLen: 128 }, 0.9), run('problem1', { maxLen: 256 }, 0.9)];
  assert.equal(problem1Chart(state(runs)).best?.runId, runs[0].id);
  const withheld = state(runs, { answers: [{ variable: 'a1a', problem: 'problem1', value: null, description: '', note: 'the latest sweep of problem1: all 6 runs failed' }] });
  assert.equal(problem1Chart(withheld).best, undefined);
  assert.equal(tableRows(withheld).filter((r) => r.best).length, 0);
});

test('Problem 2 and 3 series', () => {
  const p2 = [1.0, 0.25, 0.5].map((f) => run('problem2', { subsetFrac: f }, 0.9 + f / 100));
  const s2 = problem2Chart(state(p2));
  assert.deepEqual(s2.points.map((p) => p.subsetFrac), [0.25, 0.5, 1.0]);
  assert.equal(s2.bestRunId, p2[0].id);
  assert.equal(s2.points[0].trainSeconds, 30);
  const p3 = [run('problem3', { model: '/m/bert-tiny' }, 0.93), run('problem3', { model: 'distilbert-base-uncased' }, 0.92)];
  p3[0].history = p3[0].history.map((e) => ({ ...e, seconds: 40 }));
  const s3 = problem3Chart(state(p3));
  assert.deepEqual(s3.points.map((p) => [p.model, p.secondsPerEpoch]), [['distilbert-base-uncased', 15], ['bert-tiny', 40]]);
  assert.equal(s3.bestRunId, p3[0].id);
});

test('live chart follows the running run; progress text and fraction', () => {
  const done = run('problem1', {}, 0.9);
  const live = run('problem1', { maxLen: 256 }, undefined);
  const s = state([done, live], {
    liveLoss: { [live.id]: [[0.1, 0.7], [0.2, 0.65], [1.1, 0.5]] },
    progress: { [live.id]: { type: 'progress', epoch: 2, epochs: 3, step: 1, steps: 10, loss: 0.5, accuracy: 0.7, examplesPerSecond: 5, etaSeconds: 75, phase: 'train' } },
  });
  const c = liveChart(s)!;
  assert.equal(c.runId, live.id);
  assert.deepEqual(c.stepLoss.map((p) => p.x), [0.1, 0.2, 1.1]);
  assert.deepEqual(c.valLoss.map((p) => [p.x, p.y]), [[1, 0.5], [2, 0.45]]);
  const [pv] = progressViews(s);
  assert.equal(pv.text, 'Run 2 of 2 · L' + live.config.label.slice(1) + ' · epoch 2/3 · step 1/10 · loss 0.5000 · tiny model');
  assert.ok(Math.abs(pv.fraction - 1.1 / 3) < 1e-9);
  assert.equal(pv.eta, '0:01:15');
  // Nothing running: the focused run, else the latest with history.
  assert.equal(liveChart(state([done]), done.id)?.runId, done.id);
  assert.equal(liveChart(state([])), undefined);
});

test('confusion intensities per true class; durations', () => {
  assert.deepEqual(confusionCells([[1097, 153], [210, 1040]]).map((r) => r.map((c) => Number(c.intensity.toFixed(4)))), [[0.8776, 0.1224], [0.168, 0.832]]);
  assert.deepEqual(confusionCells([[0, 0]])[0].map((c) => c.intensity), [0, 0]);
  assert.equal(formatDuration(163), '0:02:43');
  assert.equal(formatDuration(3700), '1:01:40');
  assert.equal(formatDuration(undefined), '—');
});

test('messages from the host are validated on receipt', () => {
  const good = state([run('problem1', {}, 0.9)]);
  assert.ok(isResultsState(good));
  assert.ok(parseToWebview({ type: 'state', state: good }));
  assert.equal(parseToWebview({ type: 'state', state: { ...good, runs: [{ id: '../x' }] } }), undefined);
  assert.equal(parseToWebview({ type: 'state', state: { ...good, liveLoss: { r1: [[1, 'x']] } } }), undefined);
  assert.equal(parseToWebview({ type: 'state', state: { ...good, runs: [{ ...good.runs[0], status: 'exploded' }] } }), undefined);
  assert.equal(parseToWebview({ type: 'focusRun', runId: '../../etc' }), undefined);
  assert.ok(parseToWebview({ type: 'insertResult', variable: 'a1a', ok: true, message: 'done' }));
  assert.equal(parseToWebview({ type: 'insertResult', variable: 'a1a', ok: 'yes', message: 'done' }), undefined);
  assert.equal(parseToWebview({ type: 'eval', code: 'x' }), undefined);
  assert.equal(parseToWebview(null), undefined);
});

test('colours: one distinct colour per series, even past the theme\'s six', () => {
  const theme = ['#3794ff', '#d18616', '#b180d7', '#89d185', '#f14c4c', '#cca700'];
  for (const n of [1, 2, 4, 6, 9]) {
    const c = seriesColors(n, theme);
    assert.equal(c.length, n);
    assert.equal(new Set(c).size, n, `${n} series: ${c.join(' ')}`);
  }
  // A theme that maps two chart colours to the same value still gets distinct series.
  assert.equal(new Set(seriesColors(4, ['#888', '#888', '#888'])).size, 4);
});

test('each problem gets the chart of what varies between its runs (the page follows the spec)', () => {
  assert.equal(chartKind([run('p', { maxLen: 128 }, 0.8), run('p', { maxLen: 256 }, 0.8)]), 'grid');
  assert.equal(chartKind([run('p', { subsetFrac: 0.5 }, 0.8), run('p', { subsetFrac: 1 }, 0.8)]), 'fraction');
  assert.equal(chartKind([run('p', { model: 'a' }, 0.8), run('p', { model: 'b' }, 0.8)]), 'models');
  assert.equal(chartKind([run('p', { batchSize: 8 }, 0.8), run('p', { batchSize: 16 }, 0.8)]), 'configs');
});

test('learning curves: loss axis from 0 with headroom (noise stays flat); step loss kept after the run ends; the picker names runs', () => {
  assert.equal(lossAxisMax([0.6931, 0.6925, 0.6940]), 0.8);
  assert.equal(lossAxisMax([0.0012, 0.0011]), 0.1);
  assert.equal(lossAxisMax([2.3]), 3);
  const done = run('problem1', { maxLen: 256 }, 0.9);
  const s = state([done], { liveLoss: { [done.id]: [[0.5, 0.69], [1, 0.6], [2, 0.4]] } });
  const c = liveChart(s, done.id)!;
  assert.deepEqual(c.stepLoss.map((p) => p.x), [0.5, 1, 2], 'drawn without progress (the run has ended)');
  assert.equal(c.lossMax, 0.8);
  assert.equal(c.epochs, 3);
  assert.deepEqual(curveRuns(s).map((o) => o.text), [`problem1 · ${done.config.label} · finished · tiny model`]);
});

test('confusion matrix: class names from the data, row rates, K x K', () => {
  const r = run('problem1', {}, 0.9);
  r.metrics!.confusion = [[1097, 153], [210, 1040]];
  let v = confusionView(r);
  assert.deepEqual(v.labels, ['neg', 'pos'], 'IMDB (no labelNames in older records): neg/pos');
  assert.deepEqual(v.cells[0].map((c) => [c.count, c.pct, c.correct]), [[1097, '87.8%', true], [153, '12.2%', false]]);
  r.split = { train: 1, val: 1, test: 1, labelCounts: { train: [], val: [], test: [] }, source: 'x', labelNames: ['World', 'Sports', 'Business'] };
  r.metrics!.confusion = [[8, 1, 1], [0, 10, 0], [5, 0, 5]];
  v = confusionView(r);
  assert.deepEqual(v.labels, ['World', 'Sports', 'Business']);
  assert.deepEqual(v.cells[2].map((c) => c.rate), [0.5, 0, 0.5]);
  assert.deepEqual(v.cells.map((row) => row.map((c) => c.correct)), [[true, false, false], [false, true, false], [false, false, true]]);
});

test('quick and tiny-model results are marked in the table, the charts and the progress', () => {
  const quick = run('problem1', { limitTrain: 64, limitEval: 32, model: '/m/distilbert-tiny-random' }, 0.5);
  const real = run('problem1', { model: 'distilbert-base-uncased', maxLen: 256 }, 0.9);
  assert.equal(quickTag(quick.config), 'quick · tiny model');
  assert.equal(quickTag(real.config), '');
  const rows = tableRows(state([quick, real]));
  assert.deepEqual(rows.map((r) => r.tag), ['quick · tiny model', '']);
  assert.equal(problemCaveat(state([quick]), 'problem1'), 'quick run with distilbert-tiny-random');
  assert.equal(problemCaveat(state([real]), 'problem1'), undefined);
});
