// One progress story for the status bar and the progress notification (pure, so tests check them):
// both show the same run position, the same phase and the same sweep ETA.
import type { ProgressMessage, RunRecord } from '../protocol';
import { formatDuration, quickTag, shortLabel } from './labels';

/** What the running sweep is doing now. */
export interface SweepView {
  /** 1-based position of the current run in its sweep, and the sweep's size. */
  k: number;
  n: number;
  /** Short label of the current run ("MAX_LEN 256, LR 1e-5"). */
  label: string;
  /** "loading", "tokenizing", "epoch 2/3", "validating", "testing". */
  phase: string;
  /** "step 40/274" while training. */
  step?: string;
  /** Seconds left for the whole sweep (estimate), when known. */
  sweepEta?: number;
  /** "quick", "tiny model" … when the results will not be the homework's numbers. */
  tag: string;
}

export function phaseText(p: ProgressMessage | undefined): string {
  if (!p) return 'loading';
  switch (p.phase) {
    case 'train': return `epoch ${p.epoch}/${p.epochs}`;
    case 'validate': return `validating (epoch ${p.epoch}/${p.epochs})`;
    case 'test': return 'testing';
    case 'tokenize': return 'tokenizing';
    case 'load': return 'loading';
  }
}

/**
 * Seconds left for the sweep: the current run's ETA, plus for each run still queued the mean time of
 * the sweep's finished runs (else the current run's projected total).
 */
export function sweepEta(sweep: readonly RunRecord[], current: RunRecord, p: ProgressMessage | undefined, now = Date.now()): number | undefined {
  const queued = sweep.filter((r) => r.status === 'queued').length;
  const done = sweep.map((r) => r.status === 'finished' ? r.metrics?.totalSeconds : undefined).filter((x): x is number => x !== undefined && x > 0);
  const elapsed = current.startedAt ? Math.max(0, (now - Date.parse(current.startedAt)) / 1000) : 0;
  const left = p && p.etaSeconds > 0 ? p.etaSeconds : undefined;
  const perRun = done.length ? done.reduce((a, b) => a + b, 0) / done.length : left !== undefined ? elapsed + left : undefined;
  if (left === undefined && (queued === 0 || perRun === undefined)) return undefined;
  if (left === undefined) return queued * perRun! + (perRun! > elapsed ? perRun! - elapsed : 0);
  return left + queued * (perRun ?? 0);
}

/** The view of the running run `r` within the runs `all` (its sweep are the runs with its sweepId). */
export function sweepView(all: readonly RunRecord[], r: RunRecord, p: ProgressMessage | undefined, now = Date.now()): SweepView {
  const sweep = r.sweepId ? all.filter((x) => x.sweepId === r.sweepId) : [r];
  const siblings = all.filter((x) => x.config.problem === r.config.problem).map((x) => x.config);
  return {
    k: sweep.findIndex((x) => x.id === r.id) + 1, n: sweep.length,
    label: shortLabel(r.config, siblings), phase: phaseText(p),
    ...(p?.phase === 'train' && p.steps > 0 ? { step: `step ${p.step}/${p.steps}` } : {}),
    sweepEta: sweepEta(sweep, r, p, now), tag: quickTag(r.config),
  };
}

const etaPart = (v: SweepView) => (v.sweepEta !== undefined ? [`sweep ETA ${formatDuration(v.sweepEta)}`] : []);

/** Status bar: "$(sync~spin) BERT Lab: run 3 of 6 · epoch 1/3 · sweep ETA 0:12:30 · quick". */
export function trainingStatusText(v: SweepView): string {
  return `$(sync~spin) BERT Lab: ${[`run ${v.k} of ${v.n}`, v.phase, ...etaPart(v), ...(v.tag ? [v.tag] : [])].join(' · ')}`;
}

/** Notification: "run 3 of 6 — MAX_LEN 256, LR 1e-5: epoch 1/3 · step 4/10 · sweep ETA 0:12:30 (quick) — [Show Log](…)". */
export function progressNotificationText(v: SweepView | undefined): string {
  const message = v
    ? `run ${v.k} of ${v.n} — ${v.label}: ${[v.phase, ...(v.step ? [v.step] : []), ...etaPart(v)].join(' · ')}${v.tag ? ` (${v.tag})` : ''}`
    : 'preparing the sweep';
  return `${message} — [Show Log](command:bertLab.showLog)`;
}
