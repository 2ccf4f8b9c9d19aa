// The one seed hashing of the engine: mixes a run seed with small integers (epoch, step, micro-batch)
// into a 31-bit seed, so that every stream (shuffle order, dropout masks) is distinct and reproducible.

/** murmur3-style finaliser over `parts`, starting from `seed ^ salt`; a 31-bit result. */
export function hashSeed(salt: number, seed: number, ...parts: number[]): number {
  let h = (seed ^ salt) >>> 0;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h & 0x7fffffff;
}

/** Mixes a run seed with an epoch/step number into a 31-bit seed (distinct streams per epoch/step). */
export function mixSeed(seed: number, ...parts: number[]): number {
  return hashSeed(0x9e3779b9, seed, ...parts);
}

/** The dropout seed of micro-batch `k` (k ≥ 1) of a step whose seed is `seed`. */
export function microBatchSeed(seed: number, k: number): number {
  return hashSeed(0x5bd1e995, seed, k);
}
