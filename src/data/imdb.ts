// The homework notebook's data pipeline:
//
//   all_ds = train + test (joined, train rows first)
//   pool   = all_ds.train_test_split(train_size=SUBSET_FRAC, seed=SEED, stratify)["train"]  if 0 < F < 1
//   s1     = pool.train_test_split(test_size=0.20, seed=SEED, stratify)     -> test = s1["test"]
//   s2     = s1["train"].train_test_split(test_size=0.125, seed=SEED, stratify)
//   train  = s2["train"], val = s2["test"]
//
// Indices are positions in the joined data. On the Hub's parquet files this selects the notebook's rows.
import type { SplitInfo } from '../protocol';
import { loadLabeledTexts, type DataProgress } from './sources';
import { trainTestSplit } from './split';

export interface SplitStep {
  /** The Python call this step reproduces. */
  call: string;
  nRows: number;
  nTrain: number;
  nTest: number;
  /** Positions relative to the data set being split (datasets' `train_local`/`test_local`). */
  train: number[];
  test: number[];
}

export interface NotebookSplit {
  indices: { train: number[]; val: number[]; test: number[] };
  /** The rows of the subset pool (all rows when F = 1). */
  pool: number[];
  steps: SplitStep[];
  info: Omit<SplitInfo, 'source'>;
}

export interface NotebookSplitOptions {
  /** Class names (index = class id); their number is K. Default: "0".."max label". */
  labelNames?: string[];
  /** The data source as the user named it, for errors ("data.jsonl: SUBSET_FRAC=0.25 of 9 rows: …"). */
  source?: string;
}

/** The notebook's three seeded stratified splits of `labels` (the joined data's labels). */
export function notebookSplit(labels: ArrayLike<number>, subsetFrac: number, seed: number, opts: NotebookSplitOptions = {}): NotebookSplit {
  const where = opts.source ? `${opts.source}: ` : '';
  if (!(subsetFrac > 0 && subsetFrac <= 1)) throw new Error(`${where}SUBSET_FRAC must be in (0, 1], got ${subsetFrac}`);
  const steps: SplitStep[] = [];
  const step = (rows: number[], call: string, size: { testSize?: number; trainSize?: number }) => {
    const sub = rows.map((r) => labels[r]!);
    let s;
    try {
      s = trainTestSplit(sub, { ...size, seed, stratify: true });
    } catch (err) {
      // datasets' own words, placed: which data, which of the notebook's three splits, how many rows.
      const what = size.trainSize !== undefined ? `the SUBSET_FRAC=${subsetFrac} subset` : `the ${size.testSize === 0.2 ? 'test' : 'validation'} split`;
      throw new Error(`${where}${what} of ${rows.length} rows: ${(err as Error).message}`);
    }
    steps.push({ call, nRows: rows.length, nTrain: s.train.length, nTest: s.test.length, train: s.train, test: s.test });
    return { train: s.train.map((i) => rows[i]!), test: s.test.map((i) => rows[i]!) };
  };
  const all = Array.from({ length: labels.length }, (_, i) => i);
  // Python floats: a fraction like 1/3 stays a float; the notebook skips the subset at F = 1.
  const pool = subsetFrac < 1
    ? step(all, `all.train_test_split(train_size=${subsetFrac}, seed=${seed}, stratify_by_column='label')`, { trainSize: subsetFrac }).train
    : all;
  const s1 = step(pool, `pool.train_test_split(test_size=0.2, seed=${seed}, stratify_by_column='label')`, { testSize: 0.2 });
  const s2 = step(s1.train, `train_val.train_test_split(test_size=0.125, seed=${seed}, stratify_by_column='label')`, { testSize: 0.125 });
  const indices = { train: s2.train, val: s2.test, test: s1.test };
  // A loop, not Math.max(...labels): spreading 150k+ values overflows the call stack.
  let maxLabel = -1;
  for (let i = 0; i < labels.length; i++) if (labels[i]! > maxLabel) maxLabel = labels[i]!;
  const labelNames = opts.labelNames ?? Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  const nClasses = labelNames.length;
  const counts = (idx: number[]) => {
    const c = new Array<number>(nClasses).fill(0);
    for (const i of idx) c[labels[i]!]!++;
    return c;
  };
  return {
    indices, pool, steps,
    info: {
      train: indices.train.length, val: indices.val.length, test: indices.test.length,
      labelNames,
      labelCounts: { train: counts(indices.train), val: counts(indices.val), test: counts(indices.test) },
    },
  };
}

/** Same shape as the worker's TextSplit (src/worker/run.ts). */
export interface TextSplit {
  texts: string[];
  labels: number[];
}

export interface LoadedSplits {
  train: TextSplit;
  val: TextSplit;
  test: TextSplit;
  indices: { train: number[]; val: number[]; test: number[] };
  info: SplitInfo;
  /** Rows of the joined data set and what was read. */
  total: number;
  description: string;
}

export interface LoadSplitsOptions {
  subsetFrac: number;
  seed: number;
  cacheDir?: string;
  textColumn?: string;
  labelColumn?: string;
  onProgress?: (p: DataProgress) => void;
}

/** Loads the data (cached in the process) and applies the notebook's split. */
export async function loadSplits(source: string, opts: LoadSplitsOptions): Promise<LoadedSplits> {
  const data = await loadLabeledTexts(source, opts);
  const s = notebookSplit(data.labels, opts.subsetFrac, opts.seed, { labelNames: data.labelNames, source });
  const pick = (idx: number[]): TextSplit => ({
    texts: idx.map((i) => data.texts[i]!),
    labels: idx.map((i) => data.labels[i]!),
  });
  return {
    train: pick(s.indices.train), val: pick(s.indices.val), test: pick(s.indices.test),
    indices: s.indices,
    info: { ...s.info, source },
    total: data.texts.length,
    description: data.description,
  };
}
