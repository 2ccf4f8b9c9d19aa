// Deep validation of what the host posts: the page draws only data of the expected shape.
import { isToWebview, isValidRunId, type ResultsState, type ToWebview } from '../../src/protocol/index.js';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number';
const isStr = (v: unknown): v is string => typeof v === 'string';
const STATUSES = new Set(['queued', 'running', 'finished', 'failed', 'cancelled', 'interrupted']);

function isRun(r: unknown): boolean {
  if (!isObj(r) || !isValidRunId(r.id) || !isStr(r.status) || !STATUSES.has(r.status) || !isStr(r.createdAt)) return false;
  const c = r.config;
  if (!isObj(c) || !isStr(c.problem) || !isStr(c.key) || !isStr(c.label) || !isStr(c.model)) return false;
  if (![c.maxLen, c.learningRate, c.batchSize, c.epochs, c.subsetFrac].every(isNum)) return false;
  if (!Array.isArray(r.history) || !r.history.every((e) => isObj(e) && [e.epoch, e.trainLoss, e.trainAccuracy, e.valLoss, e.valAccuracy, e.seconds].every(isNum))) return false;
  if (r.metrics !== undefined) {
    const m = r.metrics;
    if (!isObj(m) || ![m.testAccuracy, m.testF1, m.valAccuracyAtMinValLoss, m.trainSeconds, m.totalSeconds].every(isNum)) return false;
    if (!Array.isArray(m.confusion) || !m.confusion.every((row) => Array.isArray(row) && row.every(isNum))) return false;
  }
  if (r.split !== undefined && (!isObj(r.split) || (r.split.labelNames !== undefined && !(Array.isArray(r.split.labelNames) && r.split.labelNames.every(isStr))))) return false;
  return true;
}

export function isResultsState(s: unknown): s is ResultsState {
  if (!isObj(s) || !Array.isArray(s.runs) || !s.runs.every(isRun)) return false;
  if (!isObj(s.liveLoss) || !Object.entries(s.liveLoss).every(([k, v]) => isValidRunId(k) && Array.isArray(v) && v.every((p) => Array.isArray(p) && p.length === 2 && isNum(p[0]) && isNum(p[1])))) return false;
  if (!isObj(s.progress) || !Object.values(s.progress).every((p) => isObj(p) && [p.epoch, p.epochs, p.step, p.steps, p.loss, p.etaSeconds].every(isNum) && isStr(p.phase))) return false;
  const optStr = (v: unknown) => v === undefined || isStr(v);
  if (!Array.isArray(s.answers) || !s.answers.every((a) => isObj(a) && isStr(a.variable) && isStr(a.problem) && (a.value === null || isNum(a.value)) && isStr(a.description)
    && optStr(a.caveat) && optStr(a.tie) && optStr(a.note))) return false;
  if (!Array.isArray(s.problems) || !s.problems.every((p) => isObj(p) && isStr(p.id) && isStr(p.title))) return false;
  return typeof s.notebookAvailable === 'boolean';
}

/** A message from the host, fully checked; undefined when it is not one. */
export function parseToWebview(m: unknown): ToWebview | undefined {
  if (!isToWebview(m)) return undefined;
  switch (m.type) {
    case 'state': return isResultsState(m.state) ? m : undefined;
    case 'focusRun': return isValidRunId(m.runId) ? m : undefined;
    case 'insertResult': return isStr(m.variable) && typeof m.ok === 'boolean' && isStr(m.message) ? m : undefined;
  }
}
