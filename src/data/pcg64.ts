// numpy's `np.random.default_rng(seed)`: SeedSequence -> PCG64 (XSL-RR 128/64) -> Generator, with
// the Generator methods Hugging Face `datasets` uses for train_test_split (permutation, shuffle,
// choice without replacement) and `integers`. Bit-exact with numpy 1.17 … 2.x
// (see ../shared/splits/README.md). 128-bit state arithmetic uses BigInt: a 64-bit draw costs
// one 128-bit multiply-add, and permutation(50000) needs only 25,000 of them.

const MASK32 = 0xffffffffn;
const MASK64 = 0xffffffffffffffffn;
const MASK128 = (1n << 128n) - 1n;
const PCG_MULT = 0x2360ed051fc65da44385df649fccf645n;

// SeedSequence constants (numpy/random/bit_generator.pyx).
const INIT_A = 0x43b0d7e5;
const MULT_A = 0x931e8875;
const INIT_B = 0x8b51f9dd;
const MULT_B = 0x58f38ded;
const MIX_MULT_L = 0xca01f9dd;
const MIX_MULT_R = 0x4973f715;
const XSHIFT = 16;
const POOL_SIZE = 4;

/** numpy.random.SeedSequence for a non-negative integer entropy and no spawn key. */
export class SeedSequence {
  readonly pool: Uint32Array;

  constructor(readonly entropy: number | bigint) {
    let e = BigInt(entropy);
    if (e < 0n) throw new Error(`seed must be a non-negative integer, got ${entropy}`);
    // _coerce_to_uint32_array: little-endian 32-bit words of the integer (0 -> [0]).
    const words: number[] = [];
    do {
      words.push(Number(e & MASK32));
      e >>= 32n;
    } while (e > 0n);
    this.pool = mixEntropy(words);
  }

  /** generate_state(n, uint32). */
  generateState32(nWords: number): Uint32Array {
    const out = new Uint32Array(nWords);
    let hashConst = INIT_B;
    for (let i = 0; i < nWords; i++) {
      let v = (this.pool[i % POOL_SIZE]! ^ hashConst) >>> 0;
      hashConst = Math.imul(hashConst, MULT_B) >>> 0;
      v = Math.imul(v, hashConst) >>> 0;
      v = (v ^ (v >>> XSHIFT)) >>> 0;
      out[i] = v;
    }
    return out;
  }

  /** generate_state(n, uint64): pairs of 32-bit words, low word first. */
  generateState64(nWords: number): bigint[] {
    const w = this.generateState32(2 * nWords);
    return Array.from({ length: nWords }, (_, i) => (BigInt(w[2 * i + 1]!) << 32n) | BigInt(w[2 * i]!));
  }
}

function mixEntropy(entropy: number[]): Uint32Array {
  const mixer = new Uint32Array(POOL_SIZE);
  let hashConst = INIT_A;
  const hashmix = (value: number): number => {
    value = (value ^ hashConst) >>> 0;
    hashConst = Math.imul(hashConst, MULT_A) >>> 0;
    value = Math.imul(value, hashConst) >>> 0;
    return (value ^ (value >>> XSHIFT)) >>> 0;
  };
  const mix = (x: number, y: number): number => {
    let r = (Math.imul(MIX_MULT_L, x) - Math.imul(MIX_MULT_R, y)) >>> 0;
    r = (r ^ (r >>> XSHIFT)) >>> 0;
    return r;
  };
  for (let i = 0; i < POOL_SIZE; i++) mixer[i] = hashmix(i < entropy.length ? entropy[i]! : 0);
  for (let src = 0; src < POOL_SIZE; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) {
      if (src !== dst) mixer[dst] = mix(mixer[dst]!, hashmix(mixer[src]!));
    }
  }
  for (let src = POOL_SIZE; src < entropy.length; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) mixer[dst] = mix(mixer[dst]!, hashmix(entropy[src]!));
  }
  return mixer;
}

export interface PCG64State {
  state: bigint;
  inc: bigint;
  hasUint32: boolean;
  uinteger: number;
}

/** numpy.random.PCG64 (XSL-RR 128/64; not PCG64DXSM). */
export class PCG64 {
  private s: bigint;
  private inc: bigint;
  // The 32-bit buffer: a 64-bit draw serves two next_uint32 calls, low half first.
  private hasUint32 = false;
  private uinteger = 0;

  constructor(seed: number | bigint | SeedSequence) {
    const ss = seed instanceof SeedSequence ? seed : new SeedSequence(seed);
    const [s0, s1, i0, i1] = ss.generateState64(4) as [bigint, bigint, bigint, bigint];
    // pcg64_set_seed: PCG_128BIT_CONSTANT(high = v[0], low = v[1]); then pcg_setseq_128_srandom_r.
    const initstate = (s0 << 64n) | s1;
    const initseq = (i0 << 64n) | i1;
    this.inc = ((initseq << 1n) | 1n) & MASK128;
    this.s = 0n;
    this.step();
    this.s = (this.s + initstate) & MASK128;
    this.step();
  }

  get state(): PCG64State {
    return { state: this.s, inc: this.inc, hasUint32: this.hasUint32, uinteger: this.uinteger };
  }

  private step(): void {
    this.s = (this.s * PCG_MULT + this.inc) & MASK128;
  }

  /** next_uint64 as a BigInt (random_raw). */
  nextUint64(): bigint {
    this.step();
    const x = ((this.s >> 64n) ^ this.s) & MASK64;
    const rot = Number(this.s >> 122n);
    return ((x >> BigInt(rot)) | (x << BigInt((64 - rot) & 63))) & MASK64;
  }

  nextUint32(): number {
    if (this.hasUint32) {
      this.hasUint32 = false;
      return this.uinteger;
    }
    const v = this.nextUint64();
    this.hasUint32 = true;
    this.uinteger = Number(v >> 32n);
    return Number(v & MASK32);
  }
}

/** numpy.random.Generator over PCG64: the methods `datasets` needs, same streams as numpy. */
export class Generator {
  constructor(readonly bitGenerator: PCG64) {}

  /** Masked rejection sampling in [0, max] (random_interval), for max < 2^32. */
  private randomInterval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let v: number;
    do v = (this.bitGenerator.nextUint32() & mask) >>> 0;
    while (v > max);
    return v;
  }

  /** Lemire's bounded integer in [0, rng] (random_bounded_uint64 with use_masked = false), rng < 2^32. */
  private bounded(rng: number): number {
    if (rng === 0) return 0;
    if (rng > 0xffffffff) throw new Error('bounded: ranges beyond 2^32 are not supported');
    if (rng === 0xffffffff) return this.bitGenerator.nextUint32();
    const rngExcl = rng + 1;
    // m = u32 * rngExcl is < 2^64: split into high/low 32-bit parts exactly with BigInt-free math.
    let [hi, lo] = mul32(this.bitGenerator.nextUint32(), rngExcl);
    if (lo < rngExcl) {
      const threshold = (0x100000000 - rngExcl) % rngExcl; // (UINT32_MAX - rng) % rng_excl
      while (lo < threshold) [hi, lo] = mul32(this.bitGenerator.nextUint32(), rngExcl);
    }
    return hi;
  }

  /** In-place Fisher–Yates as numpy's shuffle of a 1-d array. */
  shuffle<T>(arr: T[] | Int32Array | Float64Array | Uint32Array): void {
    for (let i = arr.length - 1; i >= 1; i--) {
      const j = this.randomInterval(i);
      const t = arr[i]!;
      arr[i] = arr[j]!;
      arr[j] = t;
    }
  }

  /** permutation(n): a shuffled arange(n); permutation(array): a shuffled copy. */
  permutation(n: number): number[];
  permutation<T>(a: readonly T[]): T[];
  permutation<T>(x: number | readonly T[]): Array<number | T> {
    if (typeof x === 'number') {
      if (!Number.isInteger(x) || x < 0) throw new Error(`permutation: n must be a non-negative integer, got ${x}`);
      const arr = Array.from({ length: x }, (_, i) => i);
      this.shuffle(arr);
      return arr;
    }
    const arr = [...x];
    this.shuffle(arr);
    return arr;
  }

  /** _shuffle_int(n, first): Fisher–Yates down to `first` with Lemire bounds. */
  private shuffleInt(data: number[], n: number, first: number): void {
    for (let i = n - 1; i >= first; i--) {
      const j = this.bounded(i);
      const t = data[j]!;
      data[j] = data[i]!;
      data[i] = t;
    }
  }

  /** choice(a, size, replace=False) (shuffle=True, p=None); `a` an int (= arange(a)) or an array. */
  choice(a: number, size: number): number[];
  choice<T>(a: readonly T[], size: number): T[];
  choice<T>(a: number | readonly T[], size: number): Array<number | T> {
    const pop = typeof a === 'number' ? a : a.length;
    if (typeof a === 'number' && (!Number.isInteger(a) || a <= 0)) throw new Error('a must be a positive integer unless no samples are taken');
    if (!Number.isInteger(size) || size < 0) throw new Error('negative dimensions are not allowed');
    if (size > pop) throw new Error("Cannot take a larger sample than population when 'replace=False'");
    let idx: number[];
    if (pop > 10000 && size > Math.floor(pop / 50)) {
      // Tail shuffle: the last `size` entries of a partially shuffled arange(pop).
      const all = Array.from({ length: pop }, (_, i) => i);
      this.shuffleInt(all, pop, Math.max(pop - size, 1));
      idx = all.slice(pop - size);
    } else {
      // Floyd's algorithm; a set replaces numpy's open-addressing hash set (same membership answers).
      idx = new Array<number>(size);
      const seen = new Set<number>();
      for (let j = pop - size; j < pop; j++) {
        const v = this.bounded(j);
        const pick = seen.has(v) ? j : v;
        seen.add(pick);
        idx[j - pop + size] = pick;
      }
      this.shuffleInt(idx, size, 1);
    }
    return typeof a === 'number' ? idx : idx.map((i) => a[i]!);
  }

  /** integers(low, high, size) for the default int64 dtype with high - low ≤ 2^32. */
  integers(low: number, high: number, size: number): number[] {
    if (!(high > low)) throw new Error('high <= low');
    const rng = high - 1 - low;
    return Array.from({ length: size }, () => low + this.bounded(rng));
  }
}

/** a * b for 32-bit unsigned a, b as [high 32 bits, low 32 bits], exact. */
function mul32(a: number, b: number): [number, number] {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const lo1 = aLo * b; // < 2^48, exact
  const hi1 = aHi * b; // < 2^48, exact; counts 2^16 units
  // total = hi1 * 2^16 + lo1
  const low = (lo1 + (hi1 % 0x10000) * 0x10000) % 0x100000000;
  const high = Math.floor((lo1 + (hi1 % 0x10000) * 0x10000) / 0x100000000) + Math.floor(hi1 / 0x10000);
  return [high, low];
}

/** np.random.default_rng(seed). */
export function defaultRng(seed: number | bigint): Generator {
  return new Generator(new PCG64(seed));
}
