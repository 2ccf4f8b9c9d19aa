// numpy's SeedSequence/PCG64/Generator against ../shared/splits/numpy_pcg64_reference.json (every entry).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRng, PCG64, SeedSequence, type Generator } from './pcg64';

const FILE = join(__dirname, '..', '..', '..', 'shared', 'splits', 'numpy_pcg64_reference.json');
const skip = existsSync(FILE) ? false : '../shared/splits/numpy_pcg64_reference.json missing';
type Ref = Record<string, unknown>;
const ref = (): Ref => JSON.parse(readFileSync(FILE, 'utf8')) as Ref;

interface State { state: string; inc: string; has_uint32: number; uinteger: number }
function assertState(g: Generator, s: State, what: string): void {
  const st = g.bitGenerator.state;
  assert.deepEqual(
    { state: st.state.toString(), inc: st.inc.toString(), has_uint32: st.hasUint32 ? 1 : 0, uinteger: st.uinteger },
    { state: s.state, inc: s.inc, has_uint32: s.has_uint32, uinteger: s.uinteger },
    `${what}: state after`,
  );
}

test('SeedSequence(42): pool and generate_state', { skip }, () => {
  const r = ref()['SeedSequence(42)'] as { pool_uint32: number[]; generate_state_4_uint64: string[]; generate_state_8_uint32: number[] };
  const ss = new SeedSequence(42);
  assert.deepEqual([...ss.pool], r.pool_uint32);
  assert.deepEqual(ss.generateState64(4).map(String), r.generate_state_4_uint64);
  assert.deepEqual([...ss.generateState32(8)], r.generate_state_8_uint32);
});

test('default_rng(seed): initial state and random_raw(20) for seeds 42, 0, 1, 12345', { skip }, () => {
  const r = ref();
  for (const seed of [42, 0, 1, 12345]) {
    const g = defaultRng(seed);
    assertState(g, r[`default_rng(${seed}).initial_state`] as State, `seed ${seed}`);
    const raw = Array.from({ length: 20 }, () => g.bitGenerator.nextUint64().toString());
    assert.deepEqual(raw, r[`default_rng(${seed}).random_raw(20)`], `seed ${seed} random_raw`);
    const hex = (r[`default_rng(${seed}).random_raw(20)_hex`] as string[]).map((h) => BigInt(h.startsWith('0x') ? h : `0x${h}`).toString());
    assert.deepEqual(raw, hex);
  }
  const g = new PCG64(42);
  const u32 = Array.from({ length: 20 }, () => g.nextUint32());
  assert.deepEqual(u32, r['default_rng(42).next_uint32_x20 (= integers(0,2**32,size=20,dtype=uint32))']);
});

test('permutation(n) with the state after, incl. n = 50000 (timed)', { skip }, () => {
  const r = ref();
  for (const [seed, n] of [[42, 10], [42, 50000], [0, 10], [42, 2], [42, 3], [42, 100], [42, 12500], [42, 25000]] as const) {
    const key = `default_rng(${seed}).permutation(${n})`;
    const g = defaultRng(seed);
    const t0 = performance.now();
    const p = g.permutation(n);
    const ms = performance.now() - t0;
    assert.deepEqual(p, r[key], key);
    assertState(g, r[`${key}.state_after`] as State, key);
    if (n === 50000) console.log(`# permutation(50000): ${ms.toFixed(1)} ms`);
  }
});

test('shuffle, permutation of an array, successive permutations', { skip }, () => {
  const r = ref();
  const a = Array.from({ length: 20 }, (_, i) => i);
  defaultRng(42).shuffle(a);
  assert.deepEqual(a, r['default_rng(42).shuffle(arange(20))']);
  assert.deepEqual(defaultRng(42).permutation([10, 20, 30, 40, 50]), r['default_rng(42).permutation([10,20,30,40,50])']);
  const g = defaultRng(42);
  const seq = [g.permutation(5), g.permutation(7), g.permutation(3)];
  assert.deepEqual(seq, r['default_rng(42): permutation(5), permutation(7), permutation(3) successive']);
  assertState(g, r['...state_after'] as State, 'successive');
});

test('choice(a, size, replace=False) and integers (Lemire)', { skip }, () => {
  const r = ref();
  const cases = r.choice_replace_false as Array<{ seed: number; a: number[]; size: number; result: number[]; state_after: State }>;
  assert.equal(cases.length, 14);
  for (const c of cases) {
    const g = defaultRng(Number(c.seed));
    assert.deepEqual(g.choice(c.a, c.size), c.result, `choice seed ${c.seed} a=${c.a.length} size=${c.size}`);
    assertState(g, c.state_after, `choice seed ${c.seed}`);
  }
  assert.deepEqual(defaultRng(42).integers(0, 10, 20), r['default_rng(42).integers(0,10,size=20)']);
  assert.deepEqual(defaultRng(42).integers(0, 1000, 20), r['default_rng(42).integers(0,1000,size=20)']);
});

// The large-population branch of choice (pop > 10000 and size > pop // 50: a tail shuffle) is not in
// the shared fixtures; check it against numpy itself where Python with numpy is installed.
// Debian's python3 (where numpy comes with python3-torch) before whatever python3 is first on PATH.
const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const py = spawnSync(PY, ['-c', 'import numpy'], { encoding: 'utf8' });
const noNumpy = py.status === 0 ? false : 'python3 with numpy not available';
test('choice tail-shuffle branch and larger Floyd cases match numpy', { skip: noNumpy }, () => {
  const cases: Array<[number, number, number]> = [[42, 20000, 5000], [7, 12000, 241], [42, 20000, 300], [3, 50000, 49999], [1, 9999, 9000]];
  const script = `import json,numpy as np\nout=[]\nfor s,p,k in ${JSON.stringify(cases)}:\n  g=np.random.default_rng(s); r=g.choice(p,size=k,replace=False).tolist(); out.append([r, int(g.integers(0,2**31))])\nprint(json.dumps(out))`;
  const res = spawnSync(PY, ['-c', script], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(res.status, 0, res.stderr);
  const expected = JSON.parse(res.stdout) as Array<[number[], number]>;
  cases.forEach(([s, p, k], i) => {
    const g = defaultRng(s);
    assert.deepEqual(g.choice(p, k), expected[i]![0], `choice(${p}, ${k}) seed ${s}`);
    assert.equal(g.integers(0, 2 ** 31, 1)[0], expected[i]![1], `stream after choice(${p}, ${k})`);
  });
});
