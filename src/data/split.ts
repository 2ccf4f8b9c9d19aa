// Hugging Face `datasets`' seeded `Dataset.train_test_split` (tag 5.0.1, unchanged in behaviour since
// 2.3.0): the size arithmetic, `np.random.default_rng(seed)`, and for stratified splits
// `stratified_shuffle_split_generate_indices` + `approximate_mode` from datasets/utils/stratify.py
// (sklearn's StratifiedShuffleSplit). Reproduces the Python indices exactly; errors carry the same
// messages as datasets' ValueErrors.
import { defaultRng, type Generator } from './pcg64';

export interface TrainTestSplitOptions {
  /** A fraction in (0, 1) (a Python float) or a count ≥ 1 (a Python int). */
  testSize?: number;
  /** A fraction in (0, 1) (a Python float) or a count ≥ 1 (a Python int). */
  trainSize?: number;
  seed: number;
  /** Stratify by the labels (datasets' `stratify_by_column="label"`). */
  stratify: boolean;
}

export interface SplitIndices {
  /** Row positions (into `labels`) of the train split, in datasets' order. */
  train: number[];
  test: number[];
}

/** Python semantics from JS numbers: integral values are ints (counts), others floats (fractions). */
const isInt = (v: number): boolean => Number.isInteger(v);

/** n_train and n_test as `Dataset.train_test_split` computes them (float64 products, ceil/floor). */
export function splitSizes(n: number, testSize?: number, trainSize?: number): { nTrain: number; nTest: number } {
  if (testSize === undefined && trainSize === undefined) testSize = 0.25;
  const bad = (v: number | undefined) => v !== undefined && (isInt(v) ? v >= n || v <= 0 : v <= 0 || v >= 1);
  if (bad(testSize)) {
    throw new Error(`test_size=${testSize} should be either positive and smaller than the number of samples ${n} or a float in the (0, 1) range`);
  }
  if (bad(trainSize)) {
    throw new Error(`train_size=${trainSize} should be either positive and smaller than the number of samples ${n} or a float in the (0, 1) range`);
  }
  if (testSize !== undefined && trainSize !== undefined && !isInt(testSize) && !isInt(trainSize) && trainSize + testSize > 1) {
    throw new Error(`The sum of test_size and train_size = ${trainSize + testSize}, should be in the (0, 1) range. Reduce test_size and/or train_size.`);
  }
  let nTest = testSize === undefined ? undefined : isInt(testSize) ? testSize : Math.ceil(testSize * n);
  let nTrain = trainSize === undefined ? undefined : isInt(trainSize) ? trainSize : Math.floor(trainSize * n);
  if (nTrain === undefined) nTrain = n - nTest!;
  else if (nTest === undefined) nTest = n - nTrain;
  if (nTrain + nTest! > n) {
    throw new Error(`The sum of train_size and test_size = ${nTrain + nTest!}, should be smaller than the number of samples ${n}. Reduce test_size and/or train_size.`);
  }
  if (nTrain === 0) {
    throw new Error(`With n_samples=${n}, test_size=${testSize ?? 'None'} and train_size=${trainSize ?? 'None'}, the resulting train set will be empty. Adjust any of the aforementioned parameters.`);
  }
  return { nTrain, nTest: nTest! };
}

/** `Dataset.train_test_split(test_size, train_size, seed=seed, stratify_by_column=... if stratify)`. */
export function trainTestSplit(labels: ArrayLike<number>, opts: TrainTestSplitOptions): SplitIndices {
  const n = labels.length;
  const { nTrain, nTest } = splitSizes(n, opts.testSize, opts.trainSize);
  const rng = defaultRng(opts.seed);
  if (!opts.stratify) {
    const perm = rng.permutation(n);
    return { test: perm.slice(0, nTest), train: perm.slice(nTest, nTest + nTrain) };
  }
  try {
    return stratifiedShuffleSplit(labels, nTrain, nTest, rng);
  } catch (err) {
    if ((err as Error).message === 'Minimum class count error') {
      throw new Error('The least populated class in label column has only 1 member, which is too few. The minimum number of groups for any class cannot be less than 2.');
    }
    throw err;
  }
}

/** The first split of `stratified_shuffle_split_generate_indices(y, n_train, n_test, rng)`. */
export function stratifiedShuffleSplit(y: ArrayLike<number>, nTrain: number, nTest: number, rng: Generator): SplitIndices {
  // np.unique(y, return_inverse=True): classes in sorted order; class_indices via a stable sort.
  const classes = [...new Set(Array.from(y))].sort((a, b) => a - b);
  const classOf = new Map(classes.map((c, i) => [c, i]));
  const classIndices: number[][] = classes.map(() => []);
  for (let i = 0; i < y.length; i++) classIndices[classOf.get(y[i]!)!]!.push(i);
  const classCounts = classIndices.map((c) => c.length);
  const nClasses = classes.length;
  // A loop, not Math.min(...classCounts): no spread of an array whose length the data decides.
  let fewest = Infinity;
  for (const c of classCounts) if (c < fewest) fewest = c;
  if (fewest < 2) throw new Error('Minimum class count error');
  if (nTrain < nClasses) throw new Error(`The train_size = ${nTrain} should be greater or equal to the number of classes = ${nClasses}`);
  if (nTest < nClasses) throw new Error(`The test_size = ${nTest} should be greater or equal to the number of classes = ${nClasses}`);

  const nI = approximateMode(classCounts, nTrain, rng);
  const remaining = classCounts.map((c, i) => c - nI[i]!);
  const tI = approximateMode(remaining, nTest, rng);
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < nClasses; i++) {
    const perm = rng.permutation(classCounts[i]!);
    const idx = classIndices[i]!;
    for (let k = 0; k < nI[i]!; k++) train.push(idx[perm[k]!]!);
    for (let k = nI[i]!; k < nI[i]! + tI[i]!; k++) test.push(idx[perm[k]!]!);
  }
  return { train: rng.permutation(train), test: rng.permutation(test) };
}

/**
 * sklearn's approximate_mode: floor(n_draws * count / total) per class, then the draws left over go to
 * the classes with the largest remainders, ties broken by `rng.choice(inds, add_now, replace=False)`.
 */
export function approximateMode(classCounts: number[], nDraws: number, rng: Generator): number[] {
  const total = classCounts.reduce((a, b) => a + b, 0);
  // Python: n_draws * class_counts (int64) / class_counts.sum() (true division in float64).
  const continuous = classCounts.map((c) => (nDraws * c) / total);
  const floored = continuous.map(Math.floor);
  let needToAdd = Math.trunc(nDraws - floored.reduce((a, b) => a + b, 0));
  if (needToAdd > 0) {
    const remainder = continuous.map((c, i) => c - floored[i]!);
    const values = [...new Set(remainder)].sort((a, b) => b - a);
    for (const value of values) {
      const inds = remainder.flatMap((r, i) => (r === value ? [i] : []));
      const addNow = Math.min(inds.length, needToAdd);
      for (const i of rng.choice(inds, addNow)) floored[i]!++;
      needToAdd -= addNow;
      if (needToAdd === 0) break;
    }
  }
  return floored;
}
