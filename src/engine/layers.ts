// Building blocks shared by bert.ts and distilbert.ts, written to match PyTorch's nn modules
// (nn.Linear with [out, in] weights, nn.LayerNorm, nn.Embedding with padding_idx, exact-erf GELU).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // the models are trained
import type { ModelConfig } from './config';

/** The function type tf.customGrad takes (its inputs are typed loosely there). */
type GradFunc = typeof tf.customGrad extends (f: infer F) => unknown ? F : never;

/**
 * Runs the body of a custom gradient in a tf.tidy and then frees `dy`.
 *
 * Memory: tfjs' backward pass (tape.ts `backpropagateGradients`) calls a custom gradient outside any
 * tidy and never frees the incoming gradients, so every temporary of every gradFunc and every dy
 * stayed alive until the whole backward pass ended: most of the training memory. `dy` is the
 * accumulated gradient of this node's output, which nothing reads after this node.
 */
export function leanGrad(dy: tf.Tensor, body: () => tf.Tensor[]): tf.Tensor[] {
  const out = tf.tidy(body);
  if (!out.includes(dy)) dy.dispose();
  return out;
}

/** torch.finfo(torch.float32).min: the value transformers puts on masked attention scores. */
export const FLOAT32_MIN = -3.4028234663852886e38;

/**
 * nn.Linear: y = x Wᵀ + b, W kept in PyTorch's [out, in] layout. x: [..., in].
 *
 * Written with its own gradient so that every matmul, forward and backward, is a plain
 * (untransposed) one: tfjs-backend-wasm 4.22 runs transposed operands on a slower path, and an
 * explicit transpose costs far less than the matmul (about 1.5-2x faster steps on WASM). It also
 * avoids tf.fused.matMul, whose WASM kernel gives wrong results with transposeB + bias.
 *   dx = dy · W,   dW = dyᵀ · x,   db = Σ_rows dy
 */
export function linear(x: tf.Tensor, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor {
  const inDim = x.shape[x.rank - 1];
  const x2 = x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
  const y = linear2d(x2, w, b);
  return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), w.shape[0]]);
}

const linear2d = tf.customGrad(((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x, w]);
  const value = tf.add(tf.matMul(x as tf.Tensor2D, tf.transpose(w as tf.Tensor2D)), b);
  const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
    const [sx, sw] = saved as tf.Tensor2D[];
    const dy2 = dy as tf.Tensor2D;
    return leanGrad(dy, () => [tf.matMul(dy2, sw), tf.matMul(tf.transpose(dy2), sx), tf.sum(dy2, 0)]);
  };
  return { value, gradFunc };
}) as unknown as GradFunc) as unknown as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

/**
 * nn.LayerNorm over the last axis (biased variance, as PyTorch).
 *
 * Memory: written with its own gradient so that the backward pass keeps only x̂ and 1/σ per
 * row, not the five intermediates the op-by-op version leaves on the tape (training memory is
 * what limits batch size and MAX_LEN on WASM's 4 GB heap). With g = dy·γ over the H features:
 *   dx = (g − mean(g) − x̂·mean(g·x̂)) / σ,   dγ = Σ dy·x̂,   dβ = Σ dy
 */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor {
  const h = x.shape[x.rank - 1];
  const x2 = x.rank === 2 ? x : tf.reshape(x, [-1, h]);
  const y = layerNormGrad(eps)(x2, gamma, beta);
  return x.rank === 2 ? y : tf.reshape(y, x.shape);
}

type Fn3 = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor;
const layerNormByEps = new Map<number, Fn3>();
function layerNormGrad(eps: number): Fn3 {
  let f = layerNormByEps.get(eps);
  if (!f) {
    f = tf.customGrad(((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
      const centered = tf.sub(x, tf.mean(x, -1, true));
      const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), eps));
      const xhat = tf.mul(centered, rstd);
      save([xhat, rstd, gamma]);
      const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sxhat, srstd, sgamma] = saved;
        return leanGrad(dy, () => {
          const g = tf.mul(dy, sgamma);
          const dx = tf.mul(tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(sxhat, tf.mean(tf.mul(g, sxhat), -1, true))), srstd);
          return [dx, tf.sum(tf.mul(dy, sxhat), 0), tf.sum(dy, 0)];
        });
      };
      return { value: tf.add(tf.mul(xhat, gamma), beta), gradFunc };
    }) as unknown as GradFunc) as unknown as Fn3;
    layerNormByEps.set(eps, f);
  }
  return f;
}

/**
 * GELU, exact form: 0.5 x (1 + erf(x / √2)) (transformers' "gelu" = nn.functional.gelu).
 * Own gradient (keeps only x): d/dx = 0.5 (1 + erf(x/√2)) + x · exp(−x²/2) / √(2π).
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  return geluGrad(x);
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const geluGrad = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
    const [sx] = saved;
    return leanGrad(dy, () => {
      const cdf = tf.mul(tf.add(tf.erf(tf.mul(sx, Math.SQRT1_2)), 1), 0.5);
      const pdf = tf.mul(tf.exp(tf.mul(tf.square(sx), -0.5)), INV_SQRT_2PI);
      return [tf.mul(dy, tf.add(cdf, tf.mul(sx, pdf)))];
    });
  };
  return { value: tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)), gradFunc };
}) as unknown as GradFunc) as unknown as (x: tf.Tensor) => tf.Tensor;

/**
 * nn.Embedding lookup (rows of `table` for flat int32 `ids`) with padding_idx semantics: the
 * gradient of row `paddingIdx` is zero. The gradient sums dy rows by id (UnsortedSegmentSum, as
 * tf.gather's own gradient does). WASM lacks that kernel: wasm-kernels.ts registers one. (WASM's
 * ScatterNd would also do, but it fails with "memory access out of bounds" at the size of
 * distilbert-base's embedding, 30522 x 768.)
 */
export function embedding(table: tf.Tensor2D, ids: tf.Tensor1D, paddingIdx?: number): tf.Tensor2D {
  // ids is an input (not a closure) so that the tape keeps it alive until the backward pass.
  const lookup = tf.customGrad(((t: tf.Tensor, i: tf.Tensor, save: tf.GradSaveFunc) => {
    save([i]);
    const value = tf.gather(t as tf.Tensor2D, i) as tf.Tensor2D;
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [savedIds] = saved;
      return leanGrad(dy, () => {
        let updates = dy;
        if (paddingIdx !== undefined) updates = tf.mul(dy, tf.expandDims(tf.cast(tf.notEqual(savedIds, paddingIdx), 'float32'), 1));
        return [tf.unsortedSegmentSum(updates, savedIds as tf.Tensor1D, t.shape[0]), tf.zerosLike(savedIds)];
      });
    };
    return { value, gradFunc };
  }) as unknown as GradFunc);
  return lookup(table, ids) as tf.Tensor2D;
}

/**
 * Dropout (inverted, as nn.Dropout) only when a rate is set; `seed` makes the mask reproducible.
 * Own gradient: the backward pass keeps only the 1-byte keep mask (tf.dropout leaves the float
 * noise, the float mask and the input on the tape).
 */
export function dropout(x: tf.Tensor, rate: number, seed: number | undefined): tf.Tensor {
  if (rate <= 0 || seed === undefined) return x;
  const keep = tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', seed), rate);
  return dropoutGrad(1 / (1 - rate))(x, keep);
}

type Fn2 = (x: tf.Tensor, mask: tf.Tensor) => tf.Tensor;
const dropoutByScale = new Map<number, Fn2>();
function dropoutGrad(scale: number): Fn2 {
  let f = dropoutByScale.get(scale);
  if (!f) {
    f = tf.customGrad(((x: tf.Tensor, keep: tf.Tensor, save: tf.GradSaveFunc) => {
      save([keep]);
      const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => leanGrad(dy, () => [tf.mul(dy, tf.mul(tf.cast(saved[0], 'float32'), scale)), tf.zerosLike(saved[0])]);
      return { value: tf.mul(x, tf.mul(tf.cast(keep, 'float32'), scale)), gradFunc };
    }) as unknown as GradFunc) as unknown as Fn2;
    dropoutByScale.set(scale, f);
  }
  return f;
}

/** Counter of dropout sites within one forward pass, so that each gets its own reproducible mask. */
export class DropoutSeeds {
  private i = 0;
  constructor(private readonly base: number | undefined) {}
  next(): number | undefined {
    // Large odd stride: distinct, well-mixed seeds per site; undefined = no dropout (inference).
    return this.base === undefined ? undefined : (this.base * 1000003 + ++this.i * 7919) % 2147483647;
  }
}

/**
 * Multi-head scaled dot-product attention with the additive mask and attention-probability dropout:
 * context = merge(dropout(softmax(scale(q·kᵀ) + fill)) · v), for q, k, v [B*T, H] after their linear
 * layers, fill [B, 1, 1, T]. `scaleQuery`: DistilBERT divides q by √d before q·kᵀ, BERT multiplies
 * q·kᵀ by 1/√d; both orders are kept for exact parity. The dropout mask is drawn exactly as
 * `dropout` draws it (same seed, same shape), so results do not depend on this being one op.
 *
 * Memory: its own gradient keeps only q (scaled for DistilBERT), k, v, the softmax output and the
 * 1-byte keep mask, and frees every temporary (split heads, scores, their gradients) at once; as
 * separate tfjs ops these stayed alive until the end of the backward pass. With P the softmax
 * output, Pd its dropped-out version and dC the gradient of the context per head:
 *   dV = Pdᵀ·dC,  dPd = dC·Vᵀ,  dP = dPd ⊙ keep / (1 − rate),  dS = P ⊙ (dP − Σ_j dP ⊙ P)
 *   DistilBERT (S = (q/√d)·kᵀ):  dq = dS·k / √d,  dk = dSᵀ·(q/√d)
 *   BERT (S = (q·kᵀ)/√d):        dq = (dS/√d)·k,  dk = (dS/√d)ᵀ·q
 */
export function selfAttention(
  q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, fill: tf.Tensor, batch: number, seqLen: number, heads: number,
  opts: { scaleQuery: boolean; dropoutRate: number; seed: number | undefined },
): tf.Tensor2D {
  const headDim = q.shape[1] / heads;
  const sqrtD = Math.sqrt(headDim);
  const rate = opts.seed === undefined ? 0 : opts.dropoutRate;
  const scale = rate > 0 ? 1 / (1 - rate) : 1;
  const f = tf.customGrad(((q2: tf.Tensor, k2: tf.Tensor, v2: tf.Tensor, fillT: tf.Tensor, save: tf.GradSaveFunc) => {
    const q4 = opts.scaleQuery ? tf.div(splitHeads(q2, batch, seqLen, heads), sqrtD) : splitHeads(q2, batch, seqLen, heads);
    const k4 = splitHeads(k2, batch, seqLen, heads);
    const v4 = splitHeads(v2, batch, seqLen, heads);
    const kT = tf.transpose(k4, [0, 1, 3, 2]); // an explicit transpose: WASM's transposed matmul is slower
    const raw = tf.matMul(q4, kT);
    const scores = tf.add(opts.scaleQuery ? raw : tf.mul(raw, 1 / sqrtD), fillT);
    const probs = tf.softmax(scores);
    let dropped = probs;
    let keep: tf.Tensor | undefined;
    if (rate > 0) {
      keep = tf.greaterEqual(tf.randomUniform(probs.shape, 0, 1, 'float32', opts.seed), rate);
      dropped = tf.mul(probs, tf.mul(tf.cast(keep, 'float32'), scale));
    }
    save(keep ? [q4, k4, v4, probs, keep] : [q4, k4, v4, probs]);
    const value = mergeHeads(tf.matMul(dropped, v4) as tf.Tensor4D);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sq, sk, sv, sp, skeep] = saved as tf.Tensor4D[];
      return leanGrad(dy, () => {
        const dC = splitHeads(dy, batch, seqLen, heads);
        const pd = skeep ? tf.mul(sp, tf.mul(tf.cast(skeep, 'float32'), scale)) : sp;
        const dV = tf.matMul(tf.transpose(pd, [0, 1, 3, 2]), dC);
        let dP = tf.matMul(dC, tf.transpose(sv, [0, 1, 3, 2]));
        if (skeep) dP = tf.mul(dP, tf.mul(tf.cast(skeep, 'float32'), scale));
        let dS = tf.mul(sp, tf.sub(dP, tf.sum(tf.mul(dP, sp), -1, true)));
        if (!opts.scaleQuery) dS = tf.mul(dS, 1 / sqrtD);
        let dq = tf.matMul(dS, sk);
        if (opts.scaleQuery) dq = tf.div(dq, sqrtD);
        const dk = tf.matMul(tf.transpose(dS, [0, 1, 3, 2]), sq);
        return [mergeHeads(dq as tf.Tensor4D), mergeHeads(dk as tf.Tensor4D), mergeHeads(dV as tf.Tensor4D), tf.zerosLike(fillT)];
      });
    };
    return { value, gradFunc };
  }) as unknown as GradFunc);
  return f(q, k, v, fill) as tf.Tensor2D;
}

/** [B*T, H] -> [B, heads, T, H/heads]. */
export function splitHeads(x: tf.Tensor, batch: number, seqLen: number, heads: number): tf.Tensor4D {
  const h = x.shape[x.rank - 1];
  return tf.transpose(tf.reshape(x, [batch, seqLen, heads, h / heads]), [0, 2, 1, 3]);
}

/** [B, heads, T, d] -> [B*T, heads*d]. */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor2D {
  const [b, heads, t, d] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b * t, heads * d]);
}

/**
 * The one cross-entropy of the engine: per-example sparse categorical cross-entropy of logits [B, C]
 * against int labels [B] (Keras SparseCategoricalCrossentropy(from_logits=True), reduction none): [B].
 */
export function perExampleCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const onehot = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]);
    return tf.neg(tf.sum(tf.mul(logp, onehot), 1)) as tf.Tensor1D;
  });
}

/** Mean cross-entropy over the batch (torch.nn.CrossEntropyLoss()). */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.mean(perExampleCrossEntropy(logits, labels)) as tf.Scalar);
}

// ---------------------------------------------------------------------------------------------
// Parameters

let modelCounter = 0;

/**
 * The parameters of one model: tf.Variables keyed by Hugging Face name. tf.js variable names must be
 * globally unique, so the registered name carries a per-model prefix; the map key is the HF name.
 */
export class Parameters {
  readonly variables = new Map<string, tf.Variable>();
  private readonly prefix = `m${++modelCounter}/`;

  /** Creates the variables in `shapes` order from `values` (taken over, not copied). */
  constructor(shapes: Map<string, number[]>, values: Map<string, tf.Tensor>) {
    for (const [name, shape] of shapes) {
      const v = values.get(name);
      if (!v) throw new Error(`parameter "${name}" has no value`);
      if (!tf.util.arraysEqual(v.shape, shape)) throw new Error(`parameter "${name}": shape ${JSON.stringify(v.shape)} does not match the model's ${JSON.stringify(shape)}`);
      this.variables.set(name, tf.variable(v, true, this.prefix + name, 'float32'));
      v.dispose();
    }
  }

  get(name: string): tf.Variable {
    const v = this.variables.get(name);
    if (!v) throw new Error(`no parameter "${name}"`);
    return v;
  }

  snapshot(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [name, v] of this.variables) out.set(name, tf.clone(v));
    return out;
  }

  restore(snapshot: Map<string, tf.Tensor>): void {
    for (const [name, v] of this.variables) {
      const t = snapshot.get(name);
      if (!t) throw new Error(`snapshot has no "${name}"`);
      v.assign(t);
    }
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.variables.clear();
  }
}

/**
 * A freshly initialised value for parameter `name` as transformers' `_init_weights` does: LayerNorm
 * weight 1 / bias 0, other biases 0, Linear/Embedding weights normal(0, initializer_range) with the
 * padding row of word embeddings zeroed.
 */
export function initParameter(name: string, shape: number[], config: ModelConfig, seed: number): tf.Tensor {
  return tf.tidy(() => {
    const leaf = name.split('.').slice(-2).join('.');
    const isNorm = /(LayerNorm|layer_norm)\.(weight|gamma)$/.test(name);
    if (isNorm) return tf.ones(shape);
    if (/\.(bias|beta)$/.test(name) || leaf === 'LayerNorm.beta') return tf.zeros(shape);
    const w = tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), config.initializerRange);
    if (name.endsWith('word_embeddings.weight')) {
      const keep = tf.reshape(tf.oneHot(tf.tensor1d([config.padTokenId], 'int32'), shape[0]), [shape[0], 1]);
      return tf.mul(w, tf.sub(1, keep));
    }
    return w;
  });
}

/** A stable 31-bit seed per (base seed, parameter name), so initialisation does not depend on order. */
export function nameSeed(seed: number, name: string): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  return h % 2147483647;
}
