// What the results page draws, computed from the ResultsState (pure: no DOM, no chart.js), so that
// it can be tested without a browser. The page follows the spec: one chart per problem, its kind chosen
// by what varies between the problem's runs (MAX_LEN × LR bars, a data-fraction line, a model scatter).
import { selectBest } from '../../src/protocol/records.js';
import type { AnswerValue, ProgressMessage, ResultsState, RunConfig, RunRecord } from '../../src/protocol/index.js';
import { isQuickConfig, isTinyModel, resultCaveat } from '../../src/protocol/index.js';

/** Durations: h:mm:ss everywhere (as in the sidebar and status bar). */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${Math.floor(s / 3600)}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

export const fmt4 = (v: number | undefined | null) => (v === undefined || v === null || !Number.isFinite(v) ? '—' : v.toFixed(4));
export const fmtLr = (lr: number) => lr.toExponential(1);
export const modelName = (model: string) => model.replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? model;

/** "quick", "tiny model", "quick · tiny model" or '' (the same words as the sidebar). */
export function quickTag(c: RunConfig): string {
  return [isQuickConfig(c) ? 'quick' : '', isTinyModel(c.model) ? 'tiny model' : ''].filter(Boolean).join(' · ');
}

/** Finished runs of a problem, the latest per config key (a re-run replaces an older result). */
export function latestFinished(runs: readonly RunRecord[], problem: string): RunRecord[] {
  const byKey = new Map<string, RunRecord>();
  for (const r of runs) {
    if (r.config.problem !== problem || r.status !== 'finished' || !r.metrics) continue;
    const prev = byKey.get(r.config.key);
    if (!prev || (r.endedAt ?? r.createdAt) >= (prev.endedAt ?? prev.createdAt)) byKey.set(r.config.key, r);
  }
  return [...byKey.values()];
}

/** The best run by the homework's graded quantity: the one selection (src/protocol/records, ties: the earlier run). */
export function bestRun(runs: readonly RunRecord[]): RunRecord | undefined {
  return selectBest(runs, [...new Set(runs.map((r) => r.config.problem))])?.run;
}

function bestFor(problem: string, runs: RunRecord[], answers: readonly AnswerValue[]): RunRecord | undefined {
  // The graded answer names its run; an answer withheld (the latest sweep all failed): no best either.
  if (answers.some((x) => x.problem === problem && x.value === null && x.note)) return undefined;
  const a = answers.find((x) => x.problem === problem && x.runId);
  return runs.find((r) => r.id === a?.runId) ?? bestRun(runs);
}

export type ChartKind = 'grid' | 'fraction' | 'models' | 'configs';

/** Which chart shows a problem's runs: by what varies between them. */
export function chartKind(runs: readonly RunRecord[]): ChartKind {
  const varies = (f: (c: RunConfig) => unknown) => new Set(runs.map((r) => f(r.config))).size > 1;
  if (varies((c) => c.model)) return 'models';
  if (varies((c) => c.subsetFrac)) return 'fraction';
  if (varies((c) => c.maxLen) || varies((c) => c.learningRate)) return 'grid';
  return 'configs';
}

/** n colours, all different: the theme's chart colours first, then evenly spaced hues. */
export function seriesColors(n: number, theme: readonly string[]): string[] {
  const out: string[] = [];
  for (const c of theme) if (out.length < n && !out.includes(c)) out.push(c);
  for (let k = 0; out.length < n; k++) out.push(`hsl(${Math.round((k * 137.508 + 20) % 360)}, 65%, 55%)`);
  return out;
}

export interface GridChart {
  /** MAX_LEN values, ascending. */
  maxLens: number[];
  /** One dataset per learning rate: value per MAX_LEN (null where that pair was not run). */
  datasets: Array<{ learningRate: number; label: string; values: Array<number | null>; runIds: Array<string | null> }>;
  best?: { runId: string; maxLen: number; learningRate: number; batchSize: number; value: number };
}

export function gridChart(state: ResultsState, problem: string): GridChart {
  const runs = latestFinished(state.runs, problem);
  const maxLens = [...new Set(runs.map((r) => r.config.maxLen))].sort((a, b) => a - b);
  const lrs = [...new Set(runs.map((r) => r.config.learningRate))].sort((a, b) => b - a);
  const datasets = lrs.map((lr) => {
    const cells = maxLens.map((len) => runs.find((r) => r.config.maxLen === len && r.config.learningRate === lr));
    return {
      learningRate: lr, label: `LR=${fmtLr(lr)}`,
      values: cells.map((r) => r?.metrics?.valAccuracyAtMinValLoss ?? null),
      runIds: cells.map((r) => r?.id ?? null),
    };
  });
  const b = bestFor(problem, runs, state.answers);
  return {
    maxLens, datasets,
    best: b && { runId: b.id, maxLen: b.config.maxLen, learningRate: b.config.learningRate, batchSize: b.config.batchSize, value: b.metrics!.valAccuracyAtMinValLoss },
  };
}
export const problem1Chart = (state: ResultsState) => gridChart(state, 'problem1');

export interface Problem2Point { runId: string; subsetFrac: number; valAccuracy: number; testAccuracy: number; trainSeconds: number; trainExamples?: number }

export function fractionChart(state: ResultsState, problem: string): { points: Problem2Point[]; bestRunId?: string } {
  const runs = latestFinished(state.runs, problem);
  const points = runs.map((r) => ({
    runId: r.id, subsetFrac: r.config.subsetFrac, valAccuracy: r.metrics!.valAccuracyAtMinValLoss,
    testAccuracy: r.metrics!.testAccuracy, trainSeconds: r.metrics!.trainSeconds, trainExamples: r.split?.train,
  })).sort((a, b) => a.subsetFrac - b.subsetFrac);
  return { points, bestRunId: bestFor(problem, runs, state.answers)?.id };
}
export const problem2Chart = (state: ResultsState) => fractionChart(state, 'problem2');

export interface Problem3Point { runId: string; model: string; secondsPerEpoch: number; testAccuracy: number; testF1: number; valAccuracy: number }

export function modelsChart(state: ResultsState, problem: string): { points: Problem3Point[]; bestRunId?: string } {
  const runs = latestFinished(state.runs, problem);
  const points = runs.map((r) => {
    const epochs = r.history.length;
    const secondsPerEpoch = epochs ? r.history.reduce((s, e) => s + e.seconds, 0) / epochs : r.metrics!.trainSeconds;
    return { runId: r.id, model: modelName(r.config.model), secondsPerEpoch, testAccuracy: r.metrics!.testAccuracy, testF1: r.metrics!.testF1, valAccuracy: r.metrics!.valAccuracyAtMinValLoss };
  }).sort((a, b) => a.secondsPerEpoch - b.secondsPerEpoch);
  return { points, bestRunId: bestFor(problem, runs, state.answers)?.id };
}
export const problem3Chart = (state: ResultsState) => modelsChart(state, 'problem3');

/** A problem's runs as bars by label (a spec whose runs differ in something else). */
export function configsChart(state: ResultsState, problem: string): { labels: string[]; values: number[]; runIds: string[]; bestRunId?: string } {
  const runs = latestFinished(state.runs, problem).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  return { labels: runs.map((r) => r.config.label), values: runs.map((r) => r.metrics!.valAccuracyAtMinValLoss), runIds: runs.map((r) => r.id), bestRunId: bestFor(problem, runs, state.answers)?.id };
}

/** The caveat of a problem's shown results ("quick run with distilbert-tiny-random"), or undefined. */
export function problemCaveat(state: ResultsState, problem: string): string | undefined {
  for (const r of latestFinished(state.runs, problem)) { const c = resultCaveat(r.config); if (c) return c; }
  return undefined;
}

/** Runs whose learning curves can be shown (history or live loss), newest first, for the run picker. */
export function curveRuns(state: ResultsState): Array<{ runId: string; text: string }> {
  return state.runs.filter((r) => r.history.length > 0 || (state.liveLoss[r.id]?.length ?? 0) > 0 || r.status === 'running').reverse()
    .map((r) => ({ runId: r.id, text: `${r.config.problem} · ${r.config.label} · ${r.status}${quickTag(r.config) ? ` · ${quickTag(r.config)}` : ''}` }));
}

/** Which run the curves show: the one picked, else the running one, else the latest with history. */
export function liveRunId(state: ResultsState, focused?: string): string | undefined {
  if (focused && state.runs.some((r) => r.id === focused)) return focused;
  const running = state.runs.filter((r) => r.status === 'running');
  if (running.length) return running[running.length - 1].id;
  const withHistory = state.runs.filter((r) => r.history.length > 0);
  return withHistory.length ? withHistory[withHistory.length - 1].id : undefined;
}

export interface LiveChart {
  runId: string;
  label: string;
  /** x in epochs: step s of epoch e at e - 1 + s/steps (so epoch e's steps lead up to its end at x = e). */
  stepLoss: Array<{ x: number; y: number }>;
  trainLoss: Array<{ x: number; y: number }>;
  valLoss: Array<{ x: number; y: number }>;
  trainAccuracy: Array<{ x: number; y: number }>;
  valAccuracy: Array<{ x: number; y: number }>;
  epochs: number;
  /** Loss axis: from 0, so that noise of ±0.001 stays flat; top a little above the largest loss. */
  lossMax: number;
}

/** A loss axis top: 10% headroom, rounded up to a "nice" number; at least 0.1. */
export function lossAxisMax(values: readonly number[]): number {
  let max = 0.1;
  for (const v of values) if (Number.isFinite(v) && v * 1.1 > max) max = v * 1.1;
  const step = 10 ** Math.floor(Math.log10(max)) / 2;
  return Math.ceil(max / step) * step;
}

export function liveChart(state: ResultsState, focused?: string): LiveChart | undefined {
  const id = liveRunId(state, focused);
  const run = state.runs.find((r) => r.id === id);
  if (!run) return undefined;
  const stepLoss = (state.liveLoss[run.id] ?? []).map(([x, loss]) => ({ x, y: loss }));
  const at = (f: (e: RunRecord['history'][number]) => number) => run.history.map((e) => ({ x: e.epoch, y: f(e) }));
  const trainLoss = at((e) => e.trainLoss), valLoss = at((e) => e.valLoss);
  return {
    runId: run.id, label: `${run.config.problem} · ${run.config.label}`, stepLoss, trainLoss, valLoss,
    trainAccuracy: at((e) => e.trainAccuracy), valAccuracy: at((e) => e.valAccuracy),
    epochs: Math.max(run.config.epochs, run.history.length, 1), lossMax: lossAxisMax([...stepLoss, ...trainLoss, ...valLoss].map((p) => p.y)),
  };
}

export interface ProgressView { runId: string; text: string; fraction: number; eta: string }

/** "Run 2 of 6 · MAX_LEN=128, … · epoch 1/3 · step 40/274 · loss 0.4521" per running run, ETA apart. */
export function progressViews(state: ResultsState): ProgressView[] {
  return state.runs.filter((r) => r.status === 'running').map((r) => {
    const p: ProgressMessage | undefined = state.progress[r.id];
    const sweep = r.sweepId ? state.runs.filter((x) => x.sweepId === r.sweepId) : [r];
    const k = sweep.findIndex((x) => x.id === r.id) + 1;
    const parts = [`Run ${k} of ${sweep.length}`, r.config.label];
    let fraction = 0;
    if (p) {
      if (p.phase === 'train') {
        parts.push(`epoch ${p.epoch}/${p.epochs}`, `step ${p.step}/${p.steps}`, `loss ${p.loss.toFixed(4)}`);
        fraction = p.steps > 0 && p.epochs > 0 ? ((p.epoch - 1) + p.step / p.steps) / p.epochs : 0;
      } else {
        parts.push(p.phase === 'validate' ? `validating (epoch ${p.epoch}/${p.epochs})` : p.phase === 'test' ? 'testing' : p.phase === 'tokenize' ? 'tokenizing' : 'loading');
        fraction = p.epochs > 0 ? Math.min(1, (p.epoch - (p.phase === 'validate' ? 0 : 1)) / p.epochs) : 0;
      }
    } else parts.push('loading');
    const tag = quickTag(r.config);
    if (tag) parts.push(tag);
    const eta = p && p.etaSeconds > 0 ? formatDuration(p.etaSeconds) : '—';
    return { runId: r.id, text: parts.join(' · '), fraction: Math.max(0, Math.min(1, fraction)), eta };
  });
}

export interface TableRow {
  runId: string; problem: string; label: string; model: string; status: RunRecord['status'];
  valAccuracy: string; testAccuracy: string; testF1: string; elapsed: string; best: boolean; error?: string;
  /** "quick" / "tiny model" badge text, '' for a real run. */
  tag: string;
}

export function tableRows(state: ResultsState, now = Date.now()): TableRow[] {
  const bestIds = new Set(state.problems.map((p) => bestFor(p.id, latestFinished(state.runs, p.id), state.answers)?.id).filter(Boolean));
  return state.runs.map((r) => {
    // Only a running run's clock keeps going; an interrupted one has no end to measure to.
    const end = r.endedAt ? Date.parse(r.endedAt) : r.status === 'running' ? now : undefined;
    const elapsed = r.metrics?.totalSeconds ?? (r.startedAt && end !== undefined ? (end - Date.parse(r.startedAt)) / 1000 : undefined);
    return {
      runId: r.id, problem: r.config.problem, label: r.config.label, model: modelName(r.config.model), status: r.status,
      valAccuracy: fmt4(r.metrics?.valAccuracyAtMinValLoss), testAccuracy: fmt4(r.metrics?.testAccuracy), testF1: fmt4(r.metrics?.testMacroF1 ?? r.metrics?.testF1),
      elapsed: formatDuration(elapsed), best: bestIds.has(r.id), error: r.error, tag: quickTag(r.config),
    };
  });
}

/** Confusion matrix cells with their rate within the true class's row (what the colour shows). */
export function confusionCells(matrix: number[][]): Array<Array<{ count: number; intensity: number }>> {
  return matrix.map((row) => {
    const total = row.reduce((s, v) => s + v, 0);
    return row.map((count) => ({ count, intensity: total > 0 ? count / total : 0 }));
  });
}

export interface ConfusionView {
  /** Class names (split.labelNames; IMDB: neg/pos), K of them. */
  labels: string[];
  /** cells[true][pred]: count, row rate, "87.8%", and whether it is a correct prediction (diagonal). */
  cells: Array<Array<{ count: number; rate: number; pct: string; correct: boolean }>>;
}

export function confusionView(r: RunRecord): ConfusionView {
  const m = r.metrics?.confusion ?? [];
  const names = r.split?.labelNames;
  const labels = m.map((_, i) => names?.[i] ?? (m.length === 2 ? ['neg', 'pos'][i] : String(i)));
  const cells = confusionCells(m).map((row, i) => row.map((c, j) => ({ count: c.count, rate: c.intensity, pct: `${(c.intensity * 100).toFixed(1)}%`, correct: i === j })));
  return { labels, cells };
}
