// What the results page draws, computed from the ResultsState (pure: no DOM, no chart.js), so that
// it can be tested without a browser.
import type { AnswerValue, ProgressMessage, ResultsState, RunRecord } from '../../src/protocol/index.js';

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

export const fmt4 = (v: number | undefined | null) => (v === undefined || v === null || !Number.isFinite(v) ? '—' : v.toFixed(4));
export const fmtLr = (lr: number) => lr.toExponential(1).replace('e-', 'e-');

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

/** The best run by the homework's graded quantity (ties: the earlier run, as Python's max keeps the first). */
export function bestRun(runs: readonly RunRecord[]): RunRecord | undefined {
  let best: RunRecord | undefined;
  for (const r of [...runs].sort((a, b) => a.createdAt.localeCompare(b.createdAt))) {
    if (r.metrics && (!best || r.metrics.valAccuracyAtMinValLoss > best.metrics!.valAccuracyAtMinValLoss)) best = r;
  }
  return best;
}

function bestFor(problem: string, runs: RunRecord[], answers: readonly AnswerValue[]): RunRecord | undefined {
  // The graded answer names its run; fall back to our own pick when there is no answer yet.
  const a = answers.find((x) => x.problem === problem && x.runId);
  return runs.find((r) => r.id === a?.runId) ?? bestRun(runs);
}

export interface Problem1Chart {
  /** MAX_LEN values, ascending. */
  maxLens: number[];
  /** One dataset per learning rate: value per MAX_LEN (null where that pair was not run). */
  datasets: Array<{ learningRate: number; label: string; values: Array<number | null>; runIds: Array<string | null> }>;
  best?: { runId: string; maxLen: number; learningRate: number; batchSize: number; value: number };
}

export function problem1Chart(state: ResultsState): Problem1Chart {
  const runs = latestFinished(state.runs, 'problem1');
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
  const b = bestFor('problem1', runs, state.answers);
  return {
    maxLens, datasets,
    best: b && { runId: b.id, maxLen: b.config.maxLen, learningRate: b.config.learningRate, batchSize: b.config.batchSize, value: b.metrics!.valAccuracyAtMinValLoss },
  };
}

export interface Problem2Point { runId: string; subsetFrac: number; valAccuracy: number; testAccuracy: number; trainSeconds: number; trainExamples?: number }

export function problem2Chart(state: ResultsState): { points: Problem2Point[]; bestRunId?: string } {
  const runs = latestFinished(state.runs, 'problem2');
  const points = runs.map((r) => ({
    runId: r.id, subsetFrac: r.config.subsetFrac, valAccuracy: r.metrics!.valAccuracyAtMinValLoss,
    testAccuracy: r.metrics!.testAccuracy, trainSeconds: r.metrics!.trainSeconds, trainExamples: r.split?.train,
  })).sort((a, b) => a.subsetFrac - b.subsetFrac);
  return { points, bestRunId: bestFor('problem2', runs, state.answers)?.id };
}

export interface Problem3Point { runId: string; model: string; secondsPerEpoch: number; testAccuracy: number; testF1: number; valAccuracy: number }

export const modelName = (model: string) => model.replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? model;

export function problem3Chart(state: ResultsState): { points: Problem3Point[]; bestRunId?: string } {
  const runs = latestFinished(state.runs, 'problem3');
  const points = runs.map((r) => {
    const epochs = r.history.length;
    const secondsPerEpoch = epochs ? r.history.reduce((s, e) => s + e.seconds, 0) / epochs : r.metrics!.trainSeconds;
    return { runId: r.id, model: modelName(r.config.model), secondsPerEpoch, testAccuracy: r.metrics!.testAccuracy, testF1: r.metrics!.testF1, valAccuracy: r.metrics!.valAccuracyAtMinValLoss };
  }).sort((a, b) => a.secondsPerEpoch - b.secondsPerEpoch);
  return { points, bestRunId: bestFor('problem3', runs, state.answers)?.id };
}

/** Which run the live chart follows: the running one, else the one asked for, else the latest. */
export function liveRunId(state: ResultsState, focused?: string): string | undefined {
  const running = state.runs.filter((r) => r.status === 'running');
  if (running.length) return running[running.length - 1].id;
  if (focused && state.runs.some((r) => r.id === focused)) return focused;
  const withHistory = state.runs.filter((r) => r.history.length > 0);
  return withHistory.length ? withHistory[withHistory.length - 1].id : undefined;
}

export interface LiveChart {
  runId: string;
  label: string;
  /** x in epochs (fractional within an epoch), training loss of the running mean at that step. */
  stepLoss: Array<{ x: number; y: number }>;
  trainLoss: Array<{ x: number; y: number }>;
  valLoss: Array<{ x: number; y: number }>;
  trainAccuracy: Array<{ x: number; y: number }>;
  valAccuracy: Array<{ x: number; y: number }>;
  epochs: number;
}

export function liveChart(state: ResultsState, focused?: string): LiveChart | undefined {
  const id = liveRunId(state, focused);
  const run = state.runs.find((r) => r.id === id);
  if (!run) return undefined;
  const progress = state.progress[run.id];
  const steps = progress?.steps ?? 0;
  const stepLoss = steps > 0 ? (state.liveLoss[run.id] ?? []).map(([step, loss]) => ({ x: step / steps, y: loss })) : [];
  const at = (f: (e: RunRecord['history'][number]) => number) => run.history.map((e) => ({ x: e.epoch, y: f(e) }));
  return {
    runId: run.id, label: run.config.label, stepLoss,
    trainLoss: at((e) => e.trainLoss), valLoss: at((e) => e.valLoss),
    trainAccuracy: at((e) => e.trainAccuracy), valAccuracy: at((e) => e.valAccuracy),
    epochs: run.config.epochs,
  };
}

export interface ProgressView { runId: string; text: string; fraction: number; eta: string }

/** "Run 2/6 · MAX_LEN=128, … · epoch 1/3 · step 40/274 · loss 0.4521 · ETA 00:03:10" per running run. */
export function progressViews(state: ResultsState): ProgressView[] {
  return state.runs.filter((r) => r.status === 'running').map((r) => {
    const p: ProgressMessage | undefined = state.progress[r.id];
    const sweep = r.sweepId ? state.runs.filter((x) => x.sweepId === r.sweepId) : [r];
    const k = sweep.findIndex((x) => x.id === r.id) + 1;
    const parts = [`Run ${k}/${sweep.length}`, r.config.label];
    let fraction = 0;
    if (p) {
      if (p.phase === 'train') {
        parts.push(`epoch ${p.epoch}/${p.epochs}`, `step ${p.step}/${p.steps}`, `loss ${p.loss.toFixed(4)}`);
        fraction = p.steps > 0 && p.epochs > 0 ? ((p.epoch - 1) + p.step / p.steps) / p.epochs : 0;
      } else {
        parts.push(p.phase === 'validate' ? `validating (epoch ${p.epoch}/${p.epochs})` : p.phase === 'test' ? 'testing' : p.phase === 'tokenize' ? 'tokenizing' : 'loading');
        fraction = p.epochs > 0 ? Math.min(1, (p.epoch - (p.phase === 'validate' ? 0 : 1)) / p.epochs) : 0;
      }
    } else parts.push('starting');
    const eta = p && p.etaSeconds > 0 ? formatDuration(p.etaSeconds) : '—';
    return { runId: r.id, text: parts.join(' · '), fraction: Math.max(0, Math.min(1, fraction)), eta };
  });
}

export interface TableRow {
  runId: string; problem: string; label: string; model: string; status: RunRecord['status'];
  valAccuracy: string; testAccuracy: string; testF1: string; elapsed: string; best: boolean; error?: string;
}

export function tableRows(state: ResultsState, now = Date.now()): TableRow[] {
  const bestIds = new Set([problem1Chart(state).best?.runId, problem2Chart(state).bestRunId, problem3Chart(state).bestRunId].filter(Boolean));
  return state.runs.map((r) => {
    // Only a running run's clock keeps going; an interrupted one has no end to measure to.
    const end = r.endedAt ? Date.parse(r.endedAt) : r.status === 'running' ? now : undefined;
    const elapsed = r.metrics?.totalSeconds ?? (r.startedAt && end !== undefined ? (end - Date.parse(r.startedAt)) / 1000 : undefined);
    return {
      runId: r.id, problem: r.config.problem, label: r.config.label, model: modelName(r.config.model), status: r.status,
      valAccuracy: fmt4(r.metrics?.valAccuracyAtMinValLoss), testAccuracy: fmt4(r.metrics?.testAccuracy), testF1: fmt4(r.metrics?.testF1),
      elapsed: formatDuration(elapsed), best: bestIds.has(r.id), error: r.error,
    };
  });
}

/** Confusion matrix cells with an intensity in [0, 1] relative to each true class's row. */
export function confusionCells(matrix: number[][]): Array<Array<{ count: number; intensity: number }>> {
  return matrix.map((row) => {
    const total = row.reduce((s, v) => s + v, 0);
    return row.map((count) => ({ count, intensity: total > 0 ? count / total : 0 }));
  });
}
