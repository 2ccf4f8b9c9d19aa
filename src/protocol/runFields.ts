// The one definition of what a valid run value is (MAX_LEN, LR, BATCH, SUBSET_FRAC, EPOCHS, …) and how a
// run config is labelled. Used by the spec's validation, the CLI's flags and the run planner; the worker,
// the tree view and the settings can adopt it (pure: imports only protocol types, no vscode, no fs).
import { BACKEND_PREFERENCES, PRECISIONS, type RunConfig } from './index';

/** Fields of a run config that a problem may set, sweep, carry over or a user may edit. */
export type RunField = 'maxLen' | 'learningRate' | 'batchSize' | 'subsetFrac' | 'model';
export const RUN_FIELDS: readonly RunField[] = ['maxLen', 'learningRate', 'batchSize', 'subsetFrac', 'model'];

/** Values of the run fields, e.g. an edited config or one run of a spec. */
export type RunValues = Partial<{ maxLen: number; learningRate: number; batchSize: number; subsetFrac: number; model: string }>;

/** Numeric fields of a run config and the setting that feeds them. */
export type NumericField = 'maxLen' | 'learningRate' | 'batchSize' | 'subsetFrac' | 'epochs' | 'evalBatchSize' | 'seed' | 'patience' | 'limitTrain' | 'limitEval';

/** The homework's names for the fields (as in the notebook). */
export const FIELD_NAMES: Record<NumericField | 'model', string> = {
  maxLen: 'MAX_LEN', learningRate: 'LR', batchSize: 'BATCH', subsetFrac: 'SUBSET_FRAC', epochs: 'EPOCHS', evalBatchSize: 'EVAL_BATCH',
  seed: 'SEED', patience: 'patience', limitTrain: 'limitTrain', limitEval: 'limitEval', model: 'MODEL',
};

const int = (min: number) => (x: number) => Number.isInteger(x) && x >= min;
const RULES: Record<NumericField, { ok: (x: number) => boolean; what: string }> = {
  maxLen: { ok: int(2), what: 'an integer of at least 2 ([CLS] and [SEP])' },
  learningRate: { ok: (x) => x > 0 && x < 1, what: 'a number in (0, 1), e.g. 2e-5' },
  batchSize: { ok: int(1), what: 'an integer of at least 1' },
  subsetFrac: { ok: (x) => x > 0 && x <= 1, what: 'a fraction in (0, 1]' },
  epochs: { ok: int(1), what: 'an integer of at least 1' },
  evalBatchSize: { ok: int(1), what: 'an integer of at least 1' },
  seed: { ok: int(0), what: 'an integer of at least 0' },
  patience: { ok: int(0), what: 'an integer of at least 0' },
  limitTrain: { ok: int(1), what: 'an integer of at least 1' },
  limitEval: { ok: int(1), what: 'an integer of at least 1' },
};

/** What a valid value of `field` is, e.g. "an integer of at least 1" (for messages). */
export function fieldRule(field: NumericField | 'model'): string {
  return field === 'model' ? 'a non-empty string' : RULES[field].what;
}

/** An error message ("BATCH must be an integer of at least 1"), or undefined when `value` is valid for `field`. */
export function checkRunField(field: string, value: unknown): string | undefined {
  if (field === 'model') return typeof value === 'string' && value.trim().length > 0 ? undefined : 'MODEL must be a non-empty string';
  const rule = RULES[field as NumericField];
  if (!rule) return `unknown run field "${field}" (expected one of ${Object.keys(RULES).join(', ')}, model)`;
  const name = FIELD_NAMES[field as NumericField];
  return typeof value === 'number' && Number.isFinite(value) && rule.ok(value) ? undefined : `${name} must be ${rule.what}`;
}

/** Text typed by a user (a CLI flag, an input box) -> a value of `field`, or an error message. */
export function parseRunField(field: NumericField, text: string): { value: number } | { error: string } {
  const t = text.trim();
  // Number('') is 0 and Number('0x10') is 16: only plain decimal notation counts.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return { error: `${FIELD_NAMES[field]} must be a number (got "${text}")` };
  const v = Number(t);
  const bad = checkRunField(field, v);
  return bad ? { error: `${bad} (got "${text}")` } : { value: v };
}

/** The first problem of a whole run config, or undefined when it is valid. */
export function checkRunConfig(c: RunConfig): string | undefined {
  if (typeof c !== 'object' || c === null) return 'the config is not an object';
  if (typeof c.problem !== 'string' || typeof c.key !== 'string') return 'the config lacks problem/key';
  if (typeof c.model !== 'string' || !c.model) return 'the config lacks a model';
  if (typeof c.data !== 'string' || !c.data) return 'the config lacks a data source';
  if (c.backend !== undefined && !BACKEND_PREFERENCES.includes(c.backend)) return `backend must be one of ${BACKEND_PREFERENCES.join(', ')}, got ${String(c.backend)}`;
  if (c.precision !== undefined && !PRECISIONS.includes(c.precision)) return `precision must be one of ${PRECISIONS.join(', ')}, got ${String(c.precision)}`;
  // The interpreter is spawned (without a shell): an absolute path or a bare command name found on PATH.
  // (No node:path here: the webview imports this folder too.)
  if (c.python !== undefined && !(typeof c.python === 'string' && /^[^\0\r\n]+$/.test(c.python) && (/^([\\/]|[A-Za-z]:[\\/])/.test(c.python) || !/[\\/]/.test(c.python)))) {
    return `python must be an absolute path or a command name, got ${JSON.stringify(c.python)}`;
  }
  for (const f of Object.keys(RULES) as NumericField[]) {
    if ((f === 'limitTrain' || f === 'limitEval') && c[f] === undefined) continue;
    const bad = checkRunField(f, c[f]);
    if (bad) return `${bad}, got ${String(c[f])}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Labels

function fmtNum(x: number): string {
  return String(Number(x.toPrecision(6)));
}

/** A model's short name: the last part of a path or Hub id, e.g. "distilbert-tiny-random". */
export function modelTag(model: string): string {
  return (model.replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? '').replace(/[^A-Za-z0-9._-]+/g, '_') || 'model';
}

/** A learning rate as the notebook prints it: 2e-5 -> "2.0e-05". */
export function lrLabel(lr: number): string {
  return lr.toExponential(1).replace(/e([+-])(\d)$/, 'e$10$2');
}

/**
 * The one label of a run config: "MAX_LEN=128, LR=2.0e-05, BATCH=32[, SUBSET_FRAC=0.5][, MODEL=bert-base-uncased]"
 * (style 'summary': the notebook's printout, "LEN=128 LR=2.0e-05 BATCH=32 FRAC=0.5 MODEL=…").
 */
export function configLabel(
  c: Pick<RunConfig, 'maxLen' | 'learningRate' | 'batchSize' | 'subsetFrac' | 'model'>,
  show: { subsetFrac?: boolean; model?: boolean; style?: 'label' | 'summary' } = {},
): string {
  const summary = show.style === 'summary';
  const parts = [`${summary ? 'LEN' : 'MAX_LEN'}=${c.maxLen}`, `LR=${lrLabel(c.learningRate)}`, `BATCH=${c.batchSize}`];
  if (show.subsetFrac) parts.push(`${summary ? 'FRAC' : 'SUBSET_FRAC'}=${fmtNum(c.subsetFrac)}`);
  if (show.model) parts.push(`MODEL=${modelTag(c.model)}`);
  return parts.join(summary ? ' ' : ', ');
}

/** The stable key of a config within its problem, from the values that make it distinct. */
export function configKey(c: RunConfig): string {
  return [`len${c.maxLen}`, `lr${fmtNum(c.learningRate)}`, `b${c.batchSize}`, `f${fmtNum(c.subsetFrac)}`, modelTag(c.model),
    `e${c.epochs}`, `s${c.seed}`, ...(c.limitTrain !== undefined || c.limitEval !== undefined ? [`n${c.limitTrain ?? 'all'}x${c.limitEval ?? 'all'}`] : [])].join('-');
}

/**
 * Everything about a config that changes its result (not its label, key, backend choice, cache or Python):
 * two runs with the same fingerprint are the same experiment, so a finished one is not run again.
 */
export function resultFingerprint(c: RunConfig): string {
  return JSON.stringify([
    c.problem, c.data, c.model, c.tokenizer ?? null, c.maxLen, c.learningRate, c.batchSize, c.epochs, c.evalBatchSize,
    c.subsetFrac, c.seed, c.patience, c.limitTrain ?? null, c.limitEval ?? null, c.precision ?? 'auto',
  ]);
}
