// Run records as read back from disk (or from a message): the one validation of their shape, and the one
// best-run selection. Pure (imports only protocol types): the history, the CLI, the extension and the
// results webview can all use it.
import { isValidRunId, type RunConfig, type RunRecord, type RunStatus } from './index';

const STATUSES: ReadonlySet<RunStatus> = new Set(['queued', 'running', 'finished', 'failed', 'cancelled', 'interrupted']);

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

const CONFIG_NUMBERS = ['maxLen', 'learningRate', 'batchSize', 'epochs', 'evalBatchSize', 'subsetFrac', 'seed', 'patience'] as const;
const METRIC_NUMBERS = ['testAccuracy', 'testF1', 'valAccuracyAtMinValLoss', 'bestEpoch', 'trainSeconds', 'totalSeconds', 'stepsPerSecond', 'examplesPerSecond'] as const;
const EPOCH_NUMBERS = ['epoch', 'trainLoss', 'trainAccuracy', 'valLoss', 'valAccuracy', 'seconds'] as const;

/**
 * The first problem of a run record's shape ("metrics.testAccuracy is missing"), or undefined when every
 * field the CLI, the tree and the results page read is there with the right type. `id`: the folder it
 * was read from (a record must carry its folder's id).
 */
export function recordProblem(r: unknown, id?: string): string | undefined {
  if (!isObj(r)) return 'not a JSON object';
  if (!isValidRunId(r.id)) return `id ${JSON.stringify(r.id)} is not a valid run id`;
  if (id !== undefined && r.id !== id) return `id "${r.id}" does not match its folder "${id}"`;
  if (!STATUSES.has(r.status as RunStatus)) return `unknown status ${JSON.stringify(r.status)}`;
  if (!isStr(r.createdAt)) return 'createdAt is missing';
  for (const k of ['startedAt', 'endedAt', 'sweepId', 'error'] as const) if (r[k] !== undefined && !isStr(r[k])) return `${k} is not a string`;
  const c = r.config;
  if (!isObj(c)) return 'config is missing';
  for (const k of ['problem', 'key', 'label', 'model', 'data'] as const) if (!isStr(c[k])) return `config.${k} is missing`;
  for (const k of CONFIG_NUMBERS) if (!isNum(c[k])) return `config.${k} is missing or not a number`;
  for (const k of ['limitTrain', 'limitEval'] as const) if (c[k] !== undefined && !isNum(c[k])) return `config.${k} is not a number`;
  if (!Array.isArray(r.history)) return 'history is missing';
  for (const [i, e] of r.history.entries()) {
    if (!isObj(e)) return `history[${i}] is not an object`;
    for (const k of EPOCH_NUMBERS) if (!isNum(e[k])) return `history[${i}].${k} is missing or not a number`;
  }
  if (r.metrics !== undefined) {
    const m = r.metrics;
    if (!isObj(m)) return 'metrics is not an object';
    for (const k of METRIC_NUMBERS) if (!isNum(m[k])) return `metrics.${k} is missing or not a number`;
    if (!Array.isArray(m.confusion) || !m.confusion.every((row) => Array.isArray(row) && row.every(isNum))) return 'metrics.confusion is not a matrix of numbers';
  }
  if (r.oomRetries !== undefined && !(Array.isArray(r.oomRetries) && r.oomRetries.every(isNum))) return 'oomRetries is not a list of numbers';
  if (r.pid !== undefined && !isNum(r.pid)) return 'pid is not a number';
  if (r.split !== undefined && !(isObj(r.split) && isNum(r.split.train) && isNum(r.split.val) && isNum(r.split.test))) return 'split is incomplete';
  if (r.engine !== undefined && !(isObj(r.engine) && isStr(r.engine.backend) && isStr(r.engine.device))) return 'engine is incomplete';
  return undefined;
}

/** Type guard over recordProblem(). */
export function isRunRecord(r: unknown, id?: string): r is RunRecord {
  return recordProblem(r, id) === undefined;
}

// ---------------------------------------------------------------------------------------------
// Best run

/** The graded value of a run: validation accuracy at the epoch of minimum validation loss. */
export const gradedValue = (r: RunRecord): number => r.metrics!.valAccuracyAtMinValLoss;

/** The rule that breaks a tie of equal graded values, said the same way everywhere. */
export const TIE_RULE = 'the earlier run wins (as the notebook\'s max() keeps the first of equal values)';

export interface BestRun {
  run: RunRecord;
  /** Other finished runs with exactly the same graded value (empty: no tie). */
  tiedWith: RunRecord[];
  /** When tiedWith is not empty: how the tie was broken, e.g. "tie at 0.5000 with run …: the earlier run wins (…)". */
  tie?: string;
}

/**
 * The one best-run selection: among finished runs of `problems` (optionally only within a context or one
 * model), the highest graded value; equal values go to the earliest run (createdAt, then id), as the
 * notebook's `max(results, key=…)` keeps the first of a sweep. Says whether there was a tie.
 */
export function selectBest(
  runs: readonly RunRecord[], problems: readonly string[],
  filter: { context?: string; model?: string; contextOf?: (c: RunConfig) => string } = {},
): BestRun | undefined {
  const eligible = runs
    .filter((r) => r.status === 'finished' && r.metrics && problems.includes(r.config.problem)
      && (filter.context === undefined || filter.contextOf?.(r.config) === filter.context)
      && (filter.model === undefined || r.config.model === filter.model))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  let best: RunRecord | undefined;
  for (const r of eligible) if (!best || gradedValue(r) > gradedValue(best)) best = r;
  if (!best) return undefined;
  const tiedWith = eligible.filter((r) => r !== best && gradedValue(r) === gradedValue(best!));
  const tie = tiedWith.length
    ? `tie at ${gradedValue(best).toFixed(4)} ${tiedWith.length === 1 ? `between ${best.config.label} and ${tiedWith[0].config.label}` : `among ${tiedWith.length + 1} runs`}: ${TIE_RULE}`
    : undefined;
  return { run: best, tiedWith, ...(tie ? { tie } : {}) };
}
