// The TensorFlow.js compute engine: the model lives in this process, on the current tfjs backend (native,
// WASM or plain CPU). It does the arithmetic of fit() (train.ts): training steps with gradient accumulation
// (step.ts) and Keras Adam (adam.ts), evaluation, the best weights as tensor snapshots. Dynamic padding:
// each batch is padded to its longest sequence (see train.test.ts for the check against fixed padding).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // training needs the gradient kernels
import type { EncodedBatch, SequenceClassifier } from './api';
import { KerasAdam } from './adam';
import { lossAndGradients } from './step';
import { accuracy } from './metrics';
import { perExampleCrossEntropy } from './layers';
import { mixSeed } from './seed';
import {
  CancelledError, asTrainingOom, fit, isOutOfMemoryError,
  type ComputeEngine, type StepReport, type TokenizedSplit, type TrainData, type TrainOptions, type TrainResult,
} from './train';

/** Pads sequences to `padTo` (default: the longest in the batch) and builds the attention mask. */
export function makeBatch(seqs: number[][], padId: number, padTo?: number): EncodedBatch {
  const len = padTo ?? Math.max(1, ...seqs.map((s) => s.length));
  const ids = new Int32Array(seqs.length * len).fill(padId);
  const mask = new Int32Array(seqs.length * len);
  seqs.forEach((s, i) => {
    if (s.length > len) throw new Error(`sequence of ${s.length} tokens longer than the padding length ${len}`);
    ids.set(s, i * len);
    mask.fill(1, i * len, i * len + s.length);
  });
  return {
    inputIds: tf.tensor2d(ids, [seqs.length, len], 'int32'),
    attentionMask: tf.tensor2d(mask, [seqs.length, len], 'int32'),
    tokenTypeIds: tf.zeros([seqs.length, len], 'int32') as tf.Tensor2D,
  };
}

export function disposeBatch(b: EncodedBatch): void {
  b.inputIds.dispose();
  b.attentionMask.dispose();
  b.tokenTypeIds?.dispose();
}

/** An out-of-memory while evaluating is a plain failure: halving the TRAINING batch would not help it. */
function asEvaluationError(err: unknown, batchSize: number): unknown {
  if (err instanceof CancelledError || !isOutOfMemoryError(err)) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new Error(`out of memory while evaluating at batch size ${batchSize}: ${msg.split('\n')[0]}`);
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The TensorFlow.js engine: the model lives in this process, on the current tfjs backend. */
export class TfjsEngine implements ComputeEngine {
  private optimizer?: KerasAdam;
  private best?: Map<string, tf.Tensor>;
  constructor(readonly model: SequenceClassifier, readonly data: TrainData) {}

  async trainEpoch(order: number[], o: { epoch: number; batchSize: number; learningRate: number; seed: number; signal?: AbortSignal; onStep?: (r: StepReport) => void }) {
    const { batchSize, epoch, seed, signal } = o;
    this.optimizer ??= new KerasAdam(this.model.variables, o.learningRate);
    const steps = Math.ceil(order.length / batchSize);
    let lossSum = 0, correct = 0, seen = 0;
    for (let step = 1; step <= steps; step++) {
      if (signal?.aborted) throw new CancelledError();
      const idx = order.slice((step - 1) * batchSize, step * batchSize);
      const batch = makeBatch(idx.map((i) => this.data.train.inputIds[i]), this.data.padId);
      const labels = tf.tensor1d(idx.map((i) => this.data.train.labels[i]), 'int32');
      try {
        // Gradient accumulation over micro-batches sized to the backend's memory: the update equals
        // the full batch's (the homework's batch size stays what it says).
        const r = lossAndGradients(this.model, batch, labels, { training: true, seed: mixSeed(seed, epoch, step) });
        this.optimizer.apply(r.grads);
        for (const g of r.grads.values()) g.dispose();
        lossSum += r.loss * idx.length;
        correct += r.correct;
        seen += idx.length;
      } catch (e) {
        throw asTrainingOom(e, batchSize);
      } finally {
        disposeBatch(batch); labels.dispose();
      }
      o.onStep?.({ step, steps, lossSum, correct, seen });
      await yieldToEventLoop(); // lets a 'cancel' message in
    }
    return { lossSum, correct, seen };
  }

  async evaluate(split: 'val' | 'test', batchSize: number, o: { signal?: AbortSignal; onBatch?: (done: number, total: number) => void } = {}) {
    try {
      const r = await evaluate(this.model, this.data[split], this.data.padId, batchSize, o);
      return { lossSum: r.lossSum, predictions: r.predictions };
    } catch (e) {
      throw asEvaluationError(e, batchSize);
    }
  }

  async keepBest() {
    this.dropBest();
    this.best = this.model.snapshot();
  }

  async restoreBest() {
    if (!this.best) return false;
    this.model.restore(this.best);
    return true;
  }

  private dropBest() {
    if (this.best) for (const t of this.best.values()) t.dispose();
    this.best = undefined;
  }

  dispose() {
    // After a WASM out-of-memory the heap may be dead: freeing must not hide the error being thrown.
    try { this.dropBest(); this.optimizer?.dispose(); } catch { /* the process is about to exit */ }
  }
}

// ---------------------------------------------------------------------------------------------
// Evaluation (TensorFlow.js)

export interface Evaluation {
  loss: number;
  lossSum: number;
  accuracy: number;
  predictions: number[];
}

/** Loss (mean over examples), accuracy and predictions of a split in inference mode (no dropout). */
export async function evaluate(
  model: SequenceClassifier, split: TokenizedSplit, padId: number, batchSize: number,
  opts: { signal?: AbortSignal; onBatch?: (done: number, total: number) => void } = {},
): Promise<Evaluation> {
  const n = split.labels.length;
  let lossSum = 0;
  const predictions: number[] = [];
  const steps = Math.ceil(n / batchSize);
  for (let s = 0; s < steps; s++) {
    if (opts.signal?.aborted) throw new CancelledError();
    const lo = s * batchSize, hi = Math.min(n, lo + batchSize);
    const batch = makeBatch(split.inputIds.slice(lo, hi), padId);
    const labels = tf.tensor1d(split.labels.slice(lo, hi), 'int32');
    try {
      const [losses, preds] = tf.tidy(() => {
        const logits = model.apply(batch, false);
        return [perExampleCrossEntropy(logits, labels), tf.argMax(logits, -1)];
      });
      const [l, p] = await Promise.all([losses.data(), preds.data()]);
      losses.dispose(); preds.dispose();
      for (let i = 0; i < l.length; i++) lossSum += l[i];
      for (let i = 0; i < p.length; i++) predictions.push(p[i]);
    } finally {
      disposeBatch(batch); labels.dispose();
    }
    opts.onBatch?.(s + 1, steps);
    await yieldToEventLoop();
  }
  return { loss: n ? lossSum / n : NaN, lossSum, accuracy: accuracy(split.labels, predictions), predictions };
}


/** fit() on the TensorFlow.js engine (the model in this process). */
export async function trainAndEvaluate(model: SequenceClassifier, data: TrainData, opts: TrainOptions): Promise<TrainResult> {
  const engine = new TfjsEngine(model, data);
  try {
    return await fit(engine, data, { numLabels: model.config.numLabels, ...opts });
  } finally {
    engine.dispose();
  }
}
