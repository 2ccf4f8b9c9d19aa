// Adam exactly as Keras 3 implements it (`keras/src/optimizers/adam.py`, no weight decay, no amsgrad):
//   m ← β1·m + (1 − β1)·g          (written m += (g − m)(1 − β1), as Keras does)
//   v ← β2·v + (1 − β2)·g²
//   lr_t = lr · √(1 − β2^t) / (1 − β1^t)
//   w ← w − lr_t · m / (√v + ε),   ε = 1e-7 added to √v (tf.train.adam adds it to the bias-corrected √v̂)
//
// Memory: one tf.tidy PER VARIABLE, so that only one variable's temporaries are alive at a time (about
// 5 x the largest parameter, the word embeddings), not ~9 x the whole model as with one tidy around
// all the updates: for distilbert-base that difference (2.4 GB) is more than WASM's 4 GB heap allows.
import * as tf from '@tensorflow/tfjs-core';

export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export class KerasAdam {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private t = 0;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;

  /** `vars`: the model's trainable variables by (Hugging Face) name; moments start at 0. */
  constructor(private readonly vars: ReadonlyMap<string, tf.Variable>, readonly learningRate: number, opts: AdamOptions = {}) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? 1e-7;
    for (const [name, x] of vars) {
      // tidy: the zeros handed to tf.variable would otherwise stay allocated
      this.m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
      this.v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
    }
  }

  /** Number of updates applied so far (Keras' `optimizer.iterations`). */
  get iterations(): number { return this.t; }

  /**
   * One update from gradients keyed by the same names as the variables. A variable without a gradient
   * is left alone (Keras skips None gradients). The gradients are not disposed.
   */
  apply(grads: ReadonlyMap<string, tf.Tensor> | Record<string, tf.Tensor>): void {
    const get = grads instanceof Map ? (n: string) => grads.get(n) : (n: string) => (grads as Record<string, tf.Tensor>)[n];
    for (const name of grads instanceof Map ? grads.keys() : Object.keys(grads)) {
      if (!this.vars.has(name)) throw new Error(`Adam: gradient for unknown variable "${name}"`);
    }
    this.t++;
    // Keras computes these powers in the variable's dtype (float32).
    const b1p = Math.fround(Math.pow(Math.fround(this.beta1), this.t));
    const b2p = Math.fround(Math.pow(Math.fround(this.beta2), this.t));
    const alpha = Math.fround((this.learningRate * Math.sqrt(1 - b2p)) / (1 - b1p));
    for (const [name, x] of this.vars) {
      const g = get(name);
      if (!g) continue;
      const m = this.m.get(name)!, v = this.v.get(name)!;
      tf.tidy(() => {
        m.assign(tf.add(m, tf.mul(tf.sub(g, m), 1 - this.beta1)));
        v.assign(tf.add(v, tf.mul(tf.sub(tf.square(g), v), 1 - this.beta2)));
        x.assign(tf.sub(x, tf.div(tf.mul(m, alpha), tf.add(tf.sqrt(v), this.epsilon))));
      });
    }
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
    this.m.clear();
    this.v.clear();
  }
}
