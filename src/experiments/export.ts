// Export of the run history: JSON (the records as they are) and CSV (one row per run, the columns a
// spreadsheet needs; the per-epoch history as JSON in one column). Both say which results are quick or
// tiny-model results (`quick`, `caveat`), so a spreadsheet never passes them for the homework's numbers.
import { isQuickConfig, isTinyModel, resultCaveat, type RunRecord } from '../protocol';

/** Quick (capped splits) or tiny-model: not the homework's numbers. */
export const isQuickResult = (r: RunRecord): boolean => isQuickConfig(r.config) || isTinyModel(r.config.model);

export function toJson(runs: readonly RunRecord[]): string {
  return `${JSON.stringify(runs.map((r) => ({ ...r, quick: isQuickResult(r), caveat: resultCaveat(r.config) ?? null })), null, 2)}\n`;
}

export const CSV_COLUMNS = [
  'id', 'sweepId', 'problem', 'key', 'label', 'status', 'quick', 'caveat', 'model', 'data', 'maxLen', 'learningRate', 'batchSize',
  'batchSizeUsed', 'epochs', 'epochsRun', 'evalBatchSize', 'subsetFrac', 'seed', 'patience', 'limitTrain', 'limitEval',
  'trainExamples', 'valExamples', 'testExamples', 'backend', 'device', 'valAccuracyAtMinValLoss', 'bestEpoch',
  'testAccuracy', 'testF1', 'tn', 'fp', 'fn', 'tp', 'trainSeconds', 'totalSeconds', 'stepsPerSecond', 'examplesPerSecond',
  'createdAt', 'startedAt', 'endedAt', 'error', 'history',
] as const;

/** RFC 4180 quoting; a leading =, +, - or @ is prefixed with ' so spreadsheets never run it as a formula. */
export function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  let s = typeof v === 'string' ? v : typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : JSON.stringify(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(runs: readonly RunRecord[]): string {
  const rows = runs.map((r) => {
    const c = r.config, m = r.metrics, cm = m?.confusion;
    const row: Record<(typeof CSV_COLUMNS)[number], unknown> = {
      id: r.id, sweepId: r.sweepId, problem: c.problem, key: c.key, label: c.label, status: r.status,
      quick: isQuickResult(r) ? 'yes' : 'no', caveat: resultCaveat(c), model: c.model, data: c.data,
      maxLen: c.maxLen, learningRate: c.learningRate, batchSize: c.batchSize,
      batchSizeUsed: r.oomRetries?.length ? r.oomRetries[r.oomRetries.length - 1] : c.batchSize,
      epochs: c.epochs, epochsRun: r.history.length, evalBatchSize: c.evalBatchSize, subsetFrac: c.subsetFrac, seed: c.seed,
      patience: c.patience, limitTrain: c.limitTrain, limitEval: c.limitEval,
      trainExamples: r.split?.train, valExamples: r.split?.val, testExamples: r.split?.test,
      backend: r.engine?.backend, device: r.engine?.device,
      valAccuracyAtMinValLoss: m?.valAccuracyAtMinValLoss, bestEpoch: m?.bestEpoch, testAccuracy: m?.testAccuracy, testF1: m?.testF1,
      tn: cm?.[0]?.[0], fp: cm?.[0]?.[1], fn: cm?.[1]?.[0], tp: cm?.[1]?.[1],
      trainSeconds: m?.trainSeconds, totalSeconds: m?.totalSeconds, stepsPerSecond: m?.stepsPerSecond, examplesPerSecond: m?.examplesPerSecond,
      createdAt: r.createdAt, startedAt: r.startedAt, endedAt: r.endedAt, error: r.error,
      history: r.history.length ? r.history : undefined,
    };
    return CSV_COLUMNS.map((k) => csvCell(row[k])).join(',');
  });
  return `${[CSV_COLUMNS.join(','), ...rows].join('\r\n')}\r\n`;
}
