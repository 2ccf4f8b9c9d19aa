// The homework as data: problems, each problem's runs, which results carry over between problems,
// and the graded answers. The built-in spec is Homework 9 (`../shared/homework`); a user can give
// another spec file in the same JSON shape (validated with errors naming the file, JSON path and problem).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BackendPreference, Precision, RunConfig, RunRecord } from '../protocol';
import { toHubModelId } from '../data/presets';
import { RUN_FIELDS, checkRunField, configKey, configLabel, modelTag, type RunField, type RunValues } from '../protocol/runFields';
import { selectBest, type BestRun } from '../protocol/records';

export { RUN_FIELDS, lrLabel, modelTag, configLabel, type RunField, type RunValues } from '../protocol/runFields';
export type { BestRun } from '../protocol/records';

export interface ProblemSpec {
  id: string;
  title: string;
  /** Explicit runs (each sets some fields). */
  runs?: RunValues[];
  /** A grid: the cartesian product of these values (combined with every explicit run, if any). */
  grid?: Partial<Record<RunField, Array<number | string>>>;
  /** Take `fields` from the best finished run of the problems `from` (best = highest answer metric). */
  carryOver?: { from: string[]; fields: RunField[] };
}

export interface AnswerSpec {
  /** Notebook variable, e.g. "a1a". */
  variable: string;
  problem: string;
  /** Only "valAccuracyAtMinValLoss" (the homework's graded quantity) for now; the best run maximises it. */
  metric: 'valAccuracyAtMinValLoss';
  description: string;
}

export interface HomeworkSpec {
  id: string;
  title: string;
  /** Notebook settings; a user's settings override them. */
  settings: { seed: number; epochs: number; evalBatch: number; subsetFrac: number; patience: number; maxLen: number; learningRate: number; batchSize: number };
  problems: ProblemSpec[];
  answers: AnswerSpec[];
}

/** What a user chooses for a sweep (the extension's settings and the CLI's flags). */
export interface Settings {
  data: string;
  model: string;
  compareModel: string;
  quick: boolean;
  backend: BackendPreference;
  /** PyTorch engine: training precision ('auto': fp32 on CPU, mixed_float16 on CUDA) and Python interpreter. */
  precision?: Precision;
  python?: string;
  cacheDir?: string;
  seed: number;
  epochs: number;
  evalBatch: number;
  subsetFrac: number;
  saveModels: boolean;
  /** Caps on examples per split (applied after the split); `quick` sets them when absent. */
  limitTrain?: number;
  limitEval?: number;
}

export const DEFAULT_SETTINGS: Settings = {
  data: 'hub:stanfordnlp/imdb',
  model: 'distilbert-base-uncased',
  compareModel: 'bert-base-uncased',
  quick: false,
  backend: 'auto',
  seed: 42,
  epochs: 3,
  evalBatch: 64,
  subsetFrac: 0.25,
  saveModels: false,
};

/**
 * `--quick`: the same job, small enough for a first try on a CPU (Problem 1's six runs of a tiny model
 * in about 1-2 minutes on WASM): each split capped (train 64, validation 32, test 32 examples, taken
 * from the start of the notebook's split) and MAX_LEN divided by 8 (128/256/512 -> 16/32/64, keeping
 * the sweep's shape). Epochs, learning rates, batch sizes, seed and early stopping stay as they are.
 * The caps keep each class's share. Because the caps apply after the split, Problem 2's fractions
 * change which examples are drawn in quick mode, not how many.
 */
export const QUICK = { limitTrain: 64, limitEval: 32, maxLenDivisor: 8, minMaxLen: 16 } as const;

// ---------------------------------------------------------------------------------------------
// Models: Keras-Hub preset names map to Hub ids through src/data/presets.ts (the one copy of that map).

/** A model as the user wrote it -> a Hub id or an absolute local folder. */
export function resolveModel(model: string, cwd = process.cwd()): string {
  const m = model.trim();
  if (toHubModelId(m) !== m) return toHubModelId(m);
  if (m.startsWith('hf:')) return m.slice(3);
  if (isLocalPath(m)) return resolve(cwd, m);
  return m;
}

/** A data source as the user wrote it -> "hub:..." or an absolute local path. */
export function resolveData(data: string, cwd = process.cwd()): string {
  const d = data.trim();
  return d.startsWith('hub:') ? d : resolve(cwd, d);
}

function isLocalPath(s: string): boolean {
  return s.startsWith('.') || s.startsWith('/') || s.startsWith('~') || /^[A-Za-z]:[\\/]/.test(s) || s.split('/').length > 2;
}

// ---------------------------------------------------------------------------------------------
// The built-in spec: Homework 9

export const HOMEWORK9: HomeworkSpec = {
  id: 'homework9',
  title: 'Homework 9: Text Classification with Fine-Tuned BERT',
  settings: { seed: 42, epochs: 3, evalBatch: 64, subsetFrac: 0.25, patience: 2, maxLen: 128, learningRate: 1e-5, batchSize: 32 },
  problems: [
    {
      id: 'problem1',
      title: 'Problem 1 — Mini sweep: context length × learning rate (6 runs)',
      runs: [
        { maxLen: 128, learningRate: 2e-5, batchSize: 32 },
        { maxLen: 128, learningRate: 1e-5, batchSize: 32 },
        { maxLen: 256, learningRate: 1e-5, batchSize: 16 },
        { maxLen: 256, learningRate: 7.5e-6, batchSize: 16 },
        { maxLen: 512, learningRate: 7.5e-6, batchSize: 8 },
        { maxLen: 512, learningRate: 5e-6, batchSize: 8 },
      ],
    },
    {
      id: 'problem2',
      title: 'Problem 2 — How much data is enough?',
      carryOver: { from: ['problem1'], fields: ['maxLen', 'learningRate', 'batchSize'] },
      grid: { subsetFrac: [0.25, 0.5, 0.75, 1.0] },
    },
    {
      id: 'problem3',
      title: 'Problem 3 — Model swap: speed vs. accuracy',
      carryOver: { from: ['problem1', 'problem2'], fields: ['maxLen', 'learningRate', 'batchSize', 'subsetFrac'] },
      grid: { model: ['$model', '$compareModel'] },
    },
  ],
  answers: [
    { variable: 'a1a', problem: 'problem1', metric: 'valAccuracyAtMinValLoss', description: 'Validation accuracy at the epoch of minimum validation loss of the best configuration of Problem 1' },
    { variable: 'a2a', problem: 'problem2', metric: 'valAccuracyAtMinValLoss', description: 'Validation accuracy at the epoch of minimum validation loss of the best configuration of Problem 2' },
    { variable: 'a3a', problem: 'problem3', metric: 'valAccuracyAtMinValLoss', description: 'Validation accuracy at the epoch of minimum validation loss of the best model of Problem 3' },
  ],
};

// ---------------------------------------------------------------------------------------------
// Validation

export class SpecError extends Error {}

/** Checks a parsed spec; errors read "<file>: <json path>: <problem> (problem <id>)". */
export function validateSpec(raw: unknown, file = '<built-in spec>'): HomeworkSpec {
  const fail = (path: string, msg: string, problem?: string): never => {
    throw new SpecError(`${file}: ${path}: ${msg}${problem ? ` (problem "${problem}")` : ''}`);
  };
  const obj = (v: unknown, path: string, p?: string): Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(path, 'must be an object', p);
  const str = (v: unknown, path: string, p?: string): string => (typeof v === 'string' && v.length > 0 ? v : fail(path, 'must be a non-empty string', p));
  const num = (v: unknown, path: string, ok: (x: number) => boolean, what: string, p?: string): number =>
    typeof v === 'number' && Number.isFinite(v) && ok(v) ? v : fail(path, `must be ${what}`, p);
  const posInt = (x: number) => Number.isInteger(x) && x >= 1;
  const frac = (x: number) => x > 0 && x <= 1;
  const checkField = (field: string, v: unknown, path: string, p: string): number | string => {
    if (!RUN_FIELDS.includes(field as RunField)) return fail(path, `unknown run field "${field}" (expected one of ${RUN_FIELDS.join(', ')})`, p);
    const bad = checkRunField(field, v);
    return bad ? fail(path, bad, p) : (v as number | string);
  };

  const root = obj(raw, '$');
  const id = str(root.id, '$.id');
  const title = str(root.title, '$.title');
  const s = obj(root.settings, '$.settings');
  const settings: HomeworkSpec['settings'] = {
    seed: num(s.seed, '$.settings.seed', (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0'),
    epochs: num(s.epochs, '$.settings.epochs', posInt, 'an integer >= 1'),
    evalBatch: num(s.evalBatch, '$.settings.evalBatch', posInt, 'an integer >= 1'),
    subsetFrac: num(s.subsetFrac, '$.settings.subsetFrac', frac, 'a fraction in (0, 1]'),
    patience: num(s.patience, '$.settings.patience', (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0'),
    maxLen: num(s.maxLen, '$.settings.maxLen', (x) => posInt(x) && x >= 2, 'an integer >= 2'),
    learningRate: num(s.learningRate, '$.settings.learningRate', (x) => x > 0 && x < 1, 'a number in (0, 1)'),
    batchSize: num(s.batchSize, '$.settings.batchSize', posInt, 'an integer >= 1'),
  };
  if (!Array.isArray(root.problems) || root.problems.length === 0) fail('$.problems', 'must be a non-empty array');
  const problems: ProblemSpec[] = [];
  const seen = new Set<string>();
  (root.problems as unknown[]).forEach((rp, i) => {
    const path = `$.problems[${i}]`;
    const p = obj(rp, path);
    const pid = str(p.id, `${path}.id`);
    if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(pid)) fail(`${path}.id`, 'must be letters, digits, _ or - (starting with a letter)', pid);
    if (seen.has(pid) || pid === 'all' || pid === 'single') fail(`${path}.id`, `duplicate or reserved problem id`, pid);
    const problem: ProblemSpec = { id: pid, title: str(p.title, `${path}.title`, pid) };
    if (p.runs !== undefined) {
      if (!Array.isArray(p.runs) || p.runs.length === 0) fail(`${path}.runs`, 'must be a non-empty array', pid);
      problem.runs = (p.runs as unknown[]).map((r, j) => {
        const ro = obj(r, `${path}.runs[${j}]`, pid);
        const out: Record<string, number | string> = {};
        for (const [k, v] of Object.entries(ro)) out[k] = checkField(k, v, `${path}.runs[${j}].${k}`, pid);
        return out as RunValues;
      });
    }
    if (p.grid !== undefined) {
      const g = obj(p.grid, `${path}.grid`, pid);
      const grid: ProblemSpec['grid'] = {};
      for (const [k, vals] of Object.entries(g)) {
        if (!Array.isArray(vals) || vals.length === 0) fail(`${path}.grid.${k}`, 'must be a non-empty array', pid);
        grid[k as RunField] = (vals as unknown[]).map((v, j) => checkField(k, v, `${path}.grid.${k}[${j}]`, pid));
      }
      problem.grid = grid;
    }
    if (!problem.runs && !problem.grid) fail(path, 'needs "runs" or "grid"', pid);
    if (p.carryOver !== undefined) {
      const c = obj(p.carryOver, `${path}.carryOver`, pid);
      if (!Array.isArray(c.from) || c.from.length === 0) fail(`${path}.carryOver.from`, 'must be a non-empty array of earlier problem ids', pid);
      const from = (c.from as unknown[]).map((f, j) => {
        const fid = str(f, `${path}.carryOver.from[${j}]`, pid);
        if (!seen.has(fid)) fail(`${path}.carryOver.from[${j}]`, `"${fid}" is not an earlier problem`, pid);
        return fid;
      });
      if (!Array.isArray(c.fields) || c.fields.length === 0) fail(`${path}.carryOver.fields`, 'must be a non-empty array', pid);
      const fields = (c.fields as unknown[]).map((f, j) => {
        const fs = str(f, `${path}.carryOver.fields[${j}]`, pid);
        if (!RUN_FIELDS.includes(fs as RunField)) fail(`${path}.carryOver.fields[${j}]`, `unknown run field "${fs}"`, pid);
        return fs as RunField;
      });
      problem.carryOver = { from, fields };
    }
    seen.add(pid);
    problems.push(problem);
  });
  if (!Array.isArray(root.answers)) fail('$.answers', 'must be an array');
  const vars = new Set<string>();
  const answers = (root.answers as unknown[]).map((ra, i) => {
    const path = `$.answers[${i}]`;
    const a = obj(ra, path);
    const variable = str(a.variable, `${path}.variable`);
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(variable) || vars.has(variable)) fail(`${path}.variable`, 'must be a unique Python identifier');
    vars.add(variable);
    const problem = str(a.problem, `${path}.problem`);
    if (!seen.has(problem)) fail(`${path}.problem`, `unknown problem "${problem}"`);
    if (a.metric !== 'valAccuracyAtMinValLoss') fail(`${path}.metric`, 'must be "valAccuracyAtMinValLoss"', problem);
    return { variable, problem, metric: 'valAccuracyAtMinValLoss' as const, description: str(a.description, `${path}.description`, problem) };
  });
  return { id, title, settings, problems, answers };
}

export function loadSpecFile(file: string): HomeworkSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SpecError(`${file}: cannot read: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SpecError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  return validateSpec(raw, file);
}

// Validated once at load: the built-in spec goes through the same checks as a user's file.
validateSpec(HOMEWORK9);

// ---------------------------------------------------------------------------------------------
// Planning: a problem's run configs for given settings (carry-over resolved from history)

/** The setup a result belongs to: runs compare (and carry over) only within one context. */
export function contextKey(c: RunConfig): string {
  return JSON.stringify([c.data, c.seed, c.epochs, c.patience, c.limitTrain ?? null, c.limitEval ?? null]);
}

/**
 * The best finished run of the given problems (highest graded metric), within a context and for one model
 * when given; says whether equal values tied and which rule broke the tie (records.ts: the one selection).
 */
export function bestRun(runs: readonly RunRecord[], problems: readonly string[], context?: string, model?: string): BestRun | undefined {
  return selectBest(runs, problems, { context, model, contextOf: contextKey });
}

/** What planProblem may be asked beyond the settings. */
export interface PlanOptions {
  /** Edited values per planned config key: the config runs with them (a new key and an "(edited)" label). */
  overrides?: Record<string, RunValues>;
  /** Planned config keys to keep (the others are left out); undefined: all. */
  only?: readonly string[];
}

/** Every run config of a problem. Throws when a carried-over result is missing ("run problem1 first"). */
export function planProblem(spec: HomeworkSpec, problemId: string, user: Partial<Settings>, history: readonly RunRecord[], cwd = process.cwd(), opts: PlanOptions = {}): RunConfig[] {
  const problem = spec.problems.find((p) => p.id === problemId);
  if (!problem) throw new SpecError(`unknown problem "${problemId}" (spec ${spec.id} has: ${spec.problems.map((p) => p.id).join(', ')})`);
  const s: Settings = {
    ...DEFAULT_SETTINGS,
    seed: spec.settings.seed, epochs: spec.settings.epochs, evalBatch: spec.settings.evalBatch, subsetFrac: spec.settings.subsetFrac,
    ...Object.fromEntries(Object.entries(user).filter(([, v]) => v !== undefined)),
  };
  const data = resolveData(s.data, cwd);
  const baseModel = resolveModel(s.model, cwd);
  const limitTrain = s.limitTrain ?? (s.quick ? QUICK.limitTrain : undefined);
  const limitEval = s.limitEval ?? (s.quick ? QUICK.limitEval : undefined);
  const modelValue = (v: string) => resolveModel(v === '$model' ? s.model : v === '$compareModel' ? s.compareModel : v, cwd);

  // The values every run starts from: the notebook's settings, then what carries over.
  const base: Required<RunValues> = {
    maxLen: spec.settings.maxLen, learningRate: spec.settings.learningRate, batchSize: spec.settings.batchSize,
    subsetFrac: s.subsetFrac, model: baseModel,
  };
  const quickLen = (n: number) => (s.quick ? Math.max(QUICK.minMaxLen, Math.round(n / QUICK.maxLenDivisor)) : n);
  const template = (v: Required<RunValues>): RunConfig => ({
    problem: problem.id, key: '', label: '', model: v.model,
    maxLen: quickLen(v.maxLen), learningRate: v.learningRate, batchSize: v.batchSize,
    epochs: s.epochs, evalBatchSize: s.evalBatch, subsetFrac: v.subsetFrac, seed: s.seed, data,
    patience: spec.settings.patience,
    ...(limitTrain !== undefined ? { limitTrain } : {}), ...(limitEval !== undefined ? { limitEval } : {}),
    ...(s.saveModels ? { saveModel: true } : {}), backend: s.backend, ...(s.cacheDir ? { cacheDir: s.cacheDir } : {}),
    ...(s.precision && s.precision !== 'auto' ? { precision: s.precision } : {}), ...(s.python ? { python: s.python } : {}),
  });

  if (problem.carryOver) {
    const ctx = contextKey(template(base));
    // The model stays the user's base model unless it is itself carried over.
    const best = bestRun(history, problem.carryOver.from, ctx, problem.carryOver.fields.includes('model') ? undefined : baseModel)?.run;
    if (!best) {
      throw new SpecError(`${problem.id} uses the best configuration of ${problem.carryOver.from.join(' and ')}: run ${problem.carryOver.from[0]} first `
        + `(no finished run there with data ${data}, model ${baseModel}${s.quick ? ', --quick' : ''})`);
    }
    for (const f of problem.carryOver.fields) {
      // A run that needed a smaller batch after running out of memory carries that batch over.
      if (f === 'batchSize') base.batchSize = best.oomRetries?.length ? best.oomRetries[best.oomRetries.length - 1] : best.config.batchSize;
      else if (f === 'maxLen') base.maxLen = s.quick ? best.config.maxLen * QUICK.maxLenDivisor : best.config.maxLen;
      else (base as Record<string, unknown>)[f] = best.config[f];
    }
  }

  const explicit: RunValues[] = problem.runs ?? [{}];
  const gridFields = Object.keys(problem.grid ?? {}) as RunField[];
  let combos: RunValues[] = explicit;
  for (const f of gridFields) {
    combos = combos.flatMap((c) => problem.grid![f]!.map((v) => ({ ...c, [f]: f === 'model' ? v : v })));
  }
  const varied = new Set<RunField>([...explicit.flatMap((r) => Object.keys(r) as RunField[]), ...gridFields]);
  const show = { subsetFrac: varied.has('subsetFrac') || Boolean(problem.carryOver?.fields.includes('subsetFrac')), model: varied.has('model') };
  const configs = combos.map((c) => {
    const v: Required<RunValues> = { ...base, ...c } as Required<RunValues>;
    if (c.model !== undefined) v.model = modelValue(c.model);
    const cfg = template(v);
    cfg.key = configKey(cfg);
    cfg.label = configLabel(cfg, show);
    return cfg;
  });
  // Duplicate configs (e.g. a grid value equal to a carried-over one) run once.
  const seenKeys = new Set<string>();
  const planned = configs.filter((c) => (seenKeys.has(c.key) ? false : (seenKeys.add(c.key), true)));
  for (const k of [...Object.keys(opts.overrides ?? {}), ...(opts.only ?? [])]) {
    if (!seenKeys.has(k)) throw new SpecError(`${problem.id} has no run config "${k}" (it has: ${planned.map((c) => c.key).join(', ')})`);
  }
  return planned
    .filter((c) => !opts.only || opts.only.includes(c.key))
    .map((c) => applyRunValues(c, opts.overrides?.[c.key], show, cwd));
}

/**
 * A planned config with edited values (validated: a clear error names the config and the field). The
 * result has its own key and an "(edited)" label, so it never passes for the planned config.
 */
export function applyRunValues(c: RunConfig, values: RunValues | undefined, show: { subsetFrac?: boolean; model?: boolean }, cwd = process.cwd()): RunConfig {
  if (!values) return c;
  const out: RunConfig = { ...c };
  for (const [f, v] of Object.entries(values)) {
    if (v === undefined) continue;
    if (!RUN_FIELDS.includes(f as RunField)) throw new SpecError(`edited values of ${c.problem} ${c.label}: unknown run field "${f}" (expected one of ${RUN_FIELDS.join(', ')})`);
    const bad = checkRunField(f, v);
    if (bad) throw new SpecError(`edited values of ${c.problem} ${c.label}: ${bad}, not ${JSON.stringify(v)}`);
    if (f === 'model') out.model = resolveModel(v as string, cwd);
    else (out as unknown as Record<string, number>)[f] = v as number;
  }
  const changed = RUN_FIELDS.filter((f) => out[f] !== c[f]);
  if (!changed.length) return c;
  // "<planned key>-edited-<what changed>": the planned config it came from stays readable (the sidebar
  // shows an edited run under its planned config).
  const what = changed.map((f) => (f === 'model' ? `model${modelTag(out.model)}` : `${f}${out[f]}`)).join('-');
  out.key = `${c.key}-edited-${what}`;
  out.label = `${configLabel(out, { subsetFrac: show.subsetFrac || out.subsetFrac !== c.subsetFrac, model: show.model || out.model !== c.model })} (edited)`;
  return out;
}
