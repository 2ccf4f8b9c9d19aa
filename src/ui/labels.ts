// How a run is named on every surface of the extension (tree, status bar, notification, results page):
// one short label, one caveat for quick/tiny results, one duration format. Pure (no vscode import).
import type { RunConfig, RunRecord } from '../protocol';
import { isQuickConfig, isTinyModel, resultCaveat } from '../protocol';
import { lrLabel } from '../experiments/spec';

/** Durations: always h:mm:ss ("0:01:05"); per-epoch figures use seconds() instead. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
}

/** Per-epoch figures: "12.3 s". */
export function formatSeconds(seconds: number): string {
  return `${seconds.toFixed(1)} s`;
}

/** A learning rate as a student writes it: 2e-5, 1e-5, 3.5e-5. */
export function shortLr(lr: number): string {
  return lrLabel(lr).replace(/\.0e/, 'e').replace(/e([+-])0(\d)$/, 'e$1$2');
}

const modelBase = (model: string) => model.replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? model;

type Field = 'maxLen' | 'learningRate' | 'batchSize' | 'subsetFrac' | 'model';
const FIELD_TEXT: Record<Field, (c: RunConfig) => string> = {
  maxLen: (c) => `MAX_LEN ${c.maxLen}`,
  learningRate: (c) => `LR ${shortLr(c.learningRate)}`,
  batchSize: (c) => `BATCH ${c.batchSize}`,
  subsetFrac: (c) => `SUBSET_FRAC ${c.subsetFrac}`,
  model: (c) => modelBase(c.model),
};

/**
 * A short label naming what differs between the runs of a problem ("MAX_LEN 256, LR 1e-5";
 * "SUBSET_FRAC 0.5"; "bert-base-uncased"); `siblings` are the other configs of the same problem.
 * With nothing varying (one run), MAX_LEN and LR.
 */
export function shortLabel(c: RunConfig, siblings: readonly RunConfig[] = []): string {
  let fields = (Object.keys(FIELD_TEXT) as Field[]).filter((f) => siblings.some((s) => s[f] !== c[f]));
  // BATCH that follows MAX_LEN (the homework's 32/16/8) says nothing more: the tooltip has it.
  if (fields.includes('batchSize') && fields.includes('maxLen')
    && [...siblings, c].every((s) => [...siblings, c].every((o) => o.maxLen !== s.maxLen || o.batchSize === s.batchSize))) fields = fields.filter((f) => f !== 'batchSize');
  const shown = fields.length ? fields : (['maxLen', 'learningRate'] as Field[]);
  const text = shown.map((f) => FIELD_TEXT[f](c)).join(', ');
  return c.label.endsWith('(edited)') ? `${text} (edited)` : text;
}

/** "quick" / "tiny model" / "quick · tiny model" for a result that is not the homework's number; '' otherwise. */
export function quickTag(c: RunConfig): string {
  return [isQuickConfig(c) ? 'quick' : '', isTinyModel(c.model) ? 'tiny model' : ''].filter(Boolean).join(' · ');
}

/** The full caveat sentence for a run (resultCaveat), or undefined. */
export function runCaveat(r: Pick<RunRecord, 'config'>): string | undefined {
  return resultCaveat(r.config);
}
