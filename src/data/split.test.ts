// datasets' train_test_split against every file of ../shared/splits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRng, type Generator } from './pcg64';
import { approximateMode, splitSizes, trainTestSplit } from './split';
import { notebookSplit } from './imdb';

const DIR = join(__dirname, '..', '..', '..', 'shared', 'splits');
const skip = existsSync(join(DIR, 'small_cases.json')) ? false : '../shared/splits missing';
const load = <T>(f: string): T => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as T;

interface RngCall { method: 'choice' | 'permutation'; args: unknown[]; kwargs: { size?: number }; result: number[]; state_after: { state: string; inc: string; has_uint32: number; uinteger: number } }
interface SmallCase {
  n: number; labels: number[]; seed: number; test_size?: number | null; train_size?: number | null;
  n_train?: number; n_test?: number; train?: number[]; test?: number[]; class_counts?: number[];
  rng_calls?: RngCall[]; nonstratified?: { train: number[]; test: number[]; permutation: number[] }; error?: string;
}
const opt = (v: number | null | undefined) => (v === null ? undefined : v);

test('small_cases.json: all 47 cases (stratified, non-stratified, every rng call and state, the 2 errors)', { skip }, () => {
  const cases = load<SmallCase[]>('small_cases.json');
  assert.equal(cases.length, 47);
  let errors = 0;
  for (const [k, c] of cases.entries()) {
    const what = `case ${k} (n=${c.n}, seed=${c.seed}, test=${c.test_size}, train=${c.train_size})`;
    const opts = { testSize: opt(c.test_size), trainSize: opt(c.train_size), seed: c.seed };
    if (c.error) {
      errors++;
      assert.throws(() => trainTestSplit(c.labels, { ...opts, stratify: true }), (e: Error) => e.message === c.error, what);
    } else {
      assert.deepEqual(splitSizes(c.n, opts.testSize, opts.trainSize), { nTrain: c.n_train, nTest: c.n_test }, what);
      const s = trainTestSplit(c.labels, { ...opts, stratify: true });
      assert.deepEqual(s, { train: c.train, test: c.test }, what);
      replayRngCalls(c.rng_calls!, c.seed, what);
    }
    if (c.nonstratified) {
      const ns = trainTestSplit(c.labels, { ...opts, stratify: false });
      assert.deepEqual(ns, { train: c.nonstratified.train, test: c.nonstratified.test }, `${what} non-stratified`);
      assert.deepEqual(defaultRng(c.seed).permutation(c.n), c.nonstratified.permutation);
    }
  }
  assert.equal(errors, 2);
});

/** Makes the same Generator calls in the same order and checks each result and the state after it. */
function replayRngCalls(calls: RngCall[], seed: number, what: string): void {
  const g: Generator = defaultRng(seed);
  for (const [i, call] of calls.entries()) {
    const got = call.method === 'choice'
      ? g.choice(call.args[0] as number[], call.kwargs.size!)
      : typeof call.args[0] === 'number' ? g.permutation(call.args[0]) : g.permutation(call.args[0] as number[]);
    assert.deepEqual(got, call.result, `${what}: rng call ${i} ${call.method}`);
    const st = g.bitGenerator.state;
    assert.deepEqual(
      [st.state.toString(), st.inc.toString(), st.hasUint32 ? 1 : 0, st.uinteger],
      [call.state_after.state, call.state_after.inc, call.state_after.has_uint32, call.state_after.uinteger],
      `${what}: state after rng call ${i}`,
    );
  }
}

test('the tie cases go through approximate_mode\'s random tie-break', { skip }, () => {
  const cases = load<SmallCase[]>('small_cases.json');
  const withChoice = cases.filter((c) => c.rng_calls?.some((r) => r.method === 'choice' && (r.args[0] as number[]).length > 1));
  assert.ok(withChoice.length >= 5, `${withChoice.length} cases break ties randomly`);
  // Directly: 3 balanced classes, 2 draws -> two of the three tied classes get one each.
  const g = defaultRng(0);
  const m = approximateMode([4, 4, 4], 2, g);
  assert.equal(m.reduce((a, b) => a + b), 2);
  assert.ok(m.every((v) => v === 0 || v === 1));
});

test('size_arithmetic.json: ceil/floor of float64 products', { skip }, () => {
  const rows = load<Array<{ n: number; test_size: number; n_test: number; n_train_if_only_test: number; train_size: number; n_train: number; n_test_if_only_train: number }>>('size_arithmetic.json');
  for (const r of rows) {
    assert.deepEqual(splitSizes(r.n, r.test_size, undefined), { nTest: r.n_test, nTrain: r.n_train_if_only_test }, `n=${r.n} test_size=${r.test_size}`);
    if (r.train_size < 1) {
      assert.deepEqual(splitSizes(r.n, undefined, r.train_size), { nTrain: r.n_train, nTest: r.n_test_if_only_train }, `n=${r.n} train_size=${r.train_size}`);
    }
  }
  assert.ok(rows.length > 10);
});

test('size errors have datasets\' messages', () => {
  assert.throws(() => splitSizes(10, 1.5), /test_size=1.5 should be either positive and smaller than the number of samples 10/);
  assert.throws(() => splitSizes(10, 10), /test_size=10 should be/);
  assert.throws(() => splitSizes(10, undefined, 0), /train_size=0 should be/);
  assert.throws(() => splitSizes(10, 0.6, 0.5), /The sum of test_size and train_size = 1.1, should be in the \(0, 1\) range/);
  assert.throws(() => splitSizes(10, 6, 5), /The sum of train_size and test_size = 11, should be smaller than the number of samples 10/);
  assert.throws(() => splitSizes(10, 0.99), /the resulting train set will be empty/);
  assert.throws(() => trainTestSplit([0, 0, 0, 1], { testSize: 0.5, seed: 0, stratify: true }), /least populated class in label column has only 1 member/);
  assert.deepEqual(splitSizes(100), { nTrain: 75, nTest: 25 });
});

test('nonstratified_n50000_test0.2_seed42.json', { skip }, () => {
  const f = load<{ n_train: number; n_test: number; train: number[]; test: number[] }>('nonstratified_n50000_test0.2_seed42.json');
  const s = trainTestSplit(new Int32Array(50000), { testSize: 0.2, seed: 42, stratify: false });
  assert.equal(s.train.length, f.n_train);
  assert.equal(s.test.length, f.n_test);
  assert.deepEqual(s, { train: f.train, test: f.test });
});

const imdbLabels = (): Int32Array => {
  const y = new Int32Array(50000);
  for (let i = 0; i < 50000; i++) y[i] = Math.floor(i / 12500) % 2; // [0]*12500+[1]*12500+[0]*12500+[1]*12500
  return y;
};

interface Pipeline {
  train: number[]; val: number[]; test: number[]; pool_indices: number[] | string;
  counts: Record<string, number>; label_counts: Record<string, number[]>;
  steps_local_indices: Array<{ n_rows: number; n_train: number; n_test: number; train_local: number[]; test_local: number[] }>;
}

for (const F of ['0.25', '0.5', '0.75', '1.0']) {
  test(`imdb_pipeline_F${F}.json: the notebook's three splits, every key`, { skip }, () => {
    const f = load<Pipeline>(`imdb_pipeline_F${F}.json`);
    const labels = imdbLabels();
    const s = notebookSplit(labels, Number(F), 42);
    assert.deepEqual(s.indices.train, f.train);
    assert.deepEqual(s.indices.val, f.val);
    assert.deepEqual(s.indices.test, f.test);
    // F = 1.0 has no subset step: the fixture writes the pool as the string "range(50000)".
    const pool = typeof f.pool_indices === 'string' && f.pool_indices === 'range(50000)' ? Array.from({ length: 50000 }, (_, i) => i) : f.pool_indices;
    assert.deepEqual(s.pool, pool);
    assert.equal(s.steps.length, f.steps_local_indices.length);
    s.steps.forEach((st, i) => {
      const e = f.steps_local_indices[i]!;
      assert.deepEqual(
        { nRows: st.nRows, nTrain: st.nTrain, nTest: st.nTest, train: st.train, test: st.test },
        { nRows: e.n_rows, nTrain: e.n_train, nTest: e.n_test, train: e.train_local, test: e.test_local },
        `step ${i}`,
      );
    });
    const count = (idx: number[]) => [0, 1].map((c) => idx.filter((i) => labels[i] === c).length);
    assert.deepEqual(
      { pool: s.pool.length, train: s.indices.train.length, val: s.indices.val.length, test: s.indices.test.length },
      f.counts,
    );
    assert.deepEqual(
      { pool: count(s.pool), train: count(s.indices.train), val: count(s.indices.val), test: count(s.indices.test) },
      f.label_counts,
    );
  });
}

test('summary.json: counts, label counts and first indices for every F', { skip }, () => {
  const sum = load<{ imdb_pipeline: Record<string, { counts: Record<string, number>; label_counts: Record<string, number[]>; first10: Record<string, number[]> }> }>('summary.json');
  const labels = imdbLabels();
  assert.deepEqual(Object.keys(sum.imdb_pipeline).sort(), ['0.25', '0.5', '0.75', '1.0']);
  for (const [F, e] of Object.entries(sum.imdb_pipeline)) {
    const s = notebookSplit(labels, Number(F), 42);
    for (const k of ['train', 'val', 'test'] as const) {
      assert.deepEqual(s.indices[k].slice(0, 10), e.first10[k], `F=${F} ${k}`);
      assert.equal(s.indices[k].length, e.counts[k]);
      assert.deepEqual(s.info.labelCounts[k], e.label_counts[k]);
    }
    assert.equal(s.pool.length, e.counts.pool);
  }
});
