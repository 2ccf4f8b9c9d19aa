// Fine-tuning as the homework's Keras code does it (`model.compile(Adam(LR), SparseCategoricalCrossentropy
// (from_logits=True), SparseCategoricalAccuracy)` + `model.fit(..., epochs=EPOCHS, batch_size=BATCH,
// callbacks=[EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)])` +
// `model.predict(X_te, batch_size=EVAL_BATCH)`), on a SequenceClassifier:
//
// - Adam exactly as Keras 3 (`keras/src/optimizers/adam.py`): β1 0.9, β2 0.999, ε 1e-7 added to sqrt(v)
//   (not to the bias-corrected sqrt(v̂) as tfjs' AdamOptimizer does), no weight decay, no warm-up.
// - Loss: mean over the batch of the cross-entropy of the logits. Epoch loss/accuracy are means over
//   examples (Keras' loss tracker weights each batch by its size), the last partial batch included.
// - A new seeded shuffle of the training examples each epoch (Keras `shuffle=True`), kept in that order.
// - Dropout only in training, with a per-step seed so that a run is reproducible.
// - EarlyStopping with Keras 3 semantics (`keras/src/callbacks/early_stopping.py`): improvement is a
//   strictly lower val_loss; stop when `wait >= patience` after an epoch without improvement; at the
//   end of training (stopped early or not) the weights of the best epoch are restored.
// - Dynamic padding: each batch is padded to its longest sequence (attention masks make the logits equal
//   to those of fixed padding to MAX_LEN up to float32 rounding; see train.test.ts).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // training needs the gradient kernels
import type { EncodedBatch, SequenceClassifier } from './api';
import type { EpochMetrics, ProgressMessage, RunMetrics } from '../protocol';
import { KerasAdam } from './adam';
export { KerasAdam };
import { lossAndGradients } from './step';
import { accuracy, bestEpochByValLoss, confusionMatrix, f1Score, valAccuracyAtMinValLoss } from './metrics';

/** Token ids of one split, already truncated to MAX_LEN (with [CLS]/[SEP]), not padded. */
export interface TokenizedSplit {
  inputIds: number[][];
  labels: number[];
}

export interface TrainData {
  train: TokenizedSplit;
  val: TokenizedSplit;
  test: TokenizedSplit;
  padId: number;
}

export interface TrainOptions {
  learningRate: number;
  batchSize: number;
  epochs: number;
  evalBatchSize: number;
  /** EarlyStopping patience on val_loss (the notebook: 2). */
  patience: number;
  seed: number;
  signal?: AbortSignal;
  onProgress?: (p: ProgressMessage) => void;
  onEpochEnd?: (m: EpochMetrics) => void;
  /** Called before a retry after an out-of-memory error, with the new batch size. */
  onOomRetry?: (batchSize: number, reason: string) => void;
  /**
   * Whether an out-of-memory error may be retried in this process (default: always). When it returns
   * false, trainAndEvaluate throws an OutOfMemoryError instead: the caller retries in a fresh process.
   */
  retryInProcess?: (err: unknown) => boolean;
  /** Minimum milliseconds between progress callbacks (default 200, i.e. at most 5 per second). */
  progressIntervalMs?: number;
}

export interface TrainResult {
  history: EpochMetrics[];
  metrics: RunMetrics;
  /** Batch size really used (smaller than asked after out-of-memory retries). */
  batchSize: number;
  /** Batch sizes tried after out-of-memory errors, in order. */
  oomRetries: number[];
  /** Test-set predictions (argmax of the logits), in test order. */
  testPredictions: number[];
}

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

/**
 * An out-of-memory error after which this process's backend is not usable any more (WASM: the
 * instance's heap is corrupt or aborted), carrying the batch size to retry with in a fresh process.
 */
export class OutOfMemoryError extends Error {
  constructor(readonly batchSize: number, readonly nextBatchSize: number, readonly reason: string) {
    super(`out of memory at batch size ${batchSize}: ${reason}`);
    this.name = 'OutOfMemoryError';
  }
}

/**
 * True when, after this out-of-memory error, the backend cannot be trusted in this process: on WASM an
 * OOM surfaces as "memory access out of bounds" or an emscripten abort, which leave the instance dead.
 * Native TensorFlow's ResourceExhausted and the CPU backend's failed allocations are safe to retry in-process.
 */
export function oomNeedsFreshProcess(err: unknown, backend: string): boolean {
  const msg = err instanceof Error ? `${err.name} ${err.message}` : String(err);
  return backend === 'wasm' || /memory access out of bounds|Aborted\(|Cannot enlarge memory|RuntimeError/.test(msg);
}

/** Out-of-memory errors of the tfjs backends (WASM heap growth, CUDA/TF allocator, V8 arrays). */
export function isOutOfMemoryError(err: unknown): boolean {
  const msg = err instanceof Error ? `${err.name} ${err.message}` : String(err);
  return /out of memory|OOM|ResourceExhausted|failed to allocate|Cannot allocate|Array buffer allocation failed|memory access out of bounds|Cannot enlarge memory|Aborted\(\)|Invalid typed array length/i.test(msg);
}

// ---------------------------------------------------------------------------------------------
// Small pure helpers

/** mulberry32: a tiny, well-mixed 32-bit PRNG; enough for a reproducible shuffle order. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes a run seed with an epoch/step number into a 31-bit seed (distinct streams per epoch/step). */
export function mixSeed(seed: number, ...parts: number[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h & 0x7fffffff;
}

/** The order in which an epoch visits the training examples (Fisher–Yates with a seeded PRNG). */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const rand = mulberry32(mixSeed(seed, epoch));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

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

/** Per-example sparse categorical cross-entropy from logits: [batch]. */
function perExampleLoss(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const onehot = tf.cast(tf.oneHot(labels, logits.shape[1]), 'float32');
    return tf.neg(tf.sum(tf.mul(onehot, logp), -1)) as tf.Tensor1D;
  });
}

/**
 * keras.callbacks.EarlyStopping(monitor="val_loss", patience, mode min, min_delta 0, baseline None)
 * of Keras 3, `on_epoch_end`: improvement is a strictly lower value; otherwise, once `wait >= patience`
 * (and not in the first epoch), training stops. Epochs are 1-based here.
 */
export class EarlyStopping {
  best = Infinity;
  wait = 0;
  bestEpoch = 0;
  constructor(readonly patience: number) {}
  onEpochEnd(epoch: number, valLoss: number): 'improved' | 'stop' | 'continue' {
    this.wait += 1;
    if (valLoss < this.best) {
      this.best = valLoss;
      this.bestEpoch = epoch;
      this.wait = 0;
      return 'improved';
    }
    return this.wait >= this.patience && epoch > 1 ? 'stop' : 'continue';
  }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

export interface Evaluation {
  loss: number;
  accuracy: number;
  predictions: number[];
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

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
        return [perExampleLoss(logits, labels), tf.argMax(logits, -1)];
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
  return { loss: n ? lossSum / n : NaN, accuracy: accuracy(split.labels, predictions), predictions };
}

// ---------------------------------------------------------------------------------------------
// fit + early stopping + test evaluation

/**
 * Trains, early-stops, restores the best weights and evaluates on the test split. On an out-of-memory
 * error it restores the initial weights and starts again with half the batch size (the homework's
 * advice), down to batch 1. Throws CancelledError when `signal` aborts (checked between steps).
 */
export async function trainAndEvaluate(model: SequenceClassifier, data: TrainData, opts: TrainOptions): Promise<TrainResult> {
  const initial = model.snapshot();
  const oomRetries: number[] = [];
  let batchSize = opts.batchSize;
  try {
    for (;;) {
      try {
        const r = await trainOnce(model, data, { ...opts, batchSize });
        return { ...r, batchSize, oomRetries };
      } catch (err) {
        if (!isOutOfMemoryError(err) || batchSize <= 1) throw err;
        const reason = err instanceof Error ? err.message : String(err);
        const next = Math.max(1, Math.floor(batchSize / 2));
        if (opts.retryInProcess && !opts.retryInProcess(err)) throw new OutOfMemoryError(batchSize, next, reason);
        batchSize = next;
        oomRetries.push(batchSize);
        model.restore(initial);
        opts.onOomRetry?.(batchSize, reason);
      }
    }
  } finally {
    // After a WASM out-of-memory the heap may be dead: freeing must not hide the error being thrown.
    try { for (const t of initial.values()) t.dispose(); } catch { /* the process is about to exit */ }
  }
}

async function trainOnce(model: SequenceClassifier, data: TrainData, opts: TrainOptions): Promise<Omit<TrainResult, 'batchSize' | 'oomRetries'>> {
  const { batchSize, epochs, evalBatchSize, seed, signal } = opts;
  if (!(batchSize >= 1 && evalBatchSize >= 1 && epochs >= 1)) throw new Error('batch sizes and epochs must be >= 1');
  if (data.train.labels.length === 0 || data.val.labels.length === 0) throw new Error('empty training or validation split');
  const interval = opts.progressIntervalMs ?? 200;
  const nTrain = data.train.labels.length, nVal = data.val.labels.length, nTest = data.test.labels.length;
  const steps = Math.ceil(nTrain / batchSize);
  // Work units for the ETA: a training example costs about 3 forward passes (forward + backward).
  const totalWork = epochs * (3 * nTrain + nVal) + nTest;
  let doneWork = 0;
  const t0 = performance.now();
  let lastProgress = -Infinity;
  const eta = () => {
    const elapsed = (performance.now() - t0) / 1000;
    return doneWork > 0 ? (elapsed / doneWork) * (totalWork - doneWork) : 0;
  };

  const optimizer = new KerasAdam(model.variables, opts.learningRate);
  const history: EpochMetrics[] = [];
  let trainSeconds = 0, trainSteps = 0, trainExamples = 0;
  const stopper = new EarlyStopping(opts.patience);
  let bestWeights: Map<string, tf.Tensor> | undefined;
  const dropBest = () => { if (bestWeights) for (const t of bestWeights.values()) t.dispose(); bestWeights = undefined; };

  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const epochStart = performance.now();
      const order = epochOrder(nTrain, seed, epoch);
      let lossSum = 0, correct = 0, seen = 0, stepTime = 0;
      for (let step = 1; step <= steps; step++) {
        if (signal?.aborted) throw new CancelledError();
        const idx = order.slice((step - 1) * batchSize, step * batchSize);
        const stepStart = performance.now();
        const batch = makeBatch(idx.map((i) => data.train.inputIds[i]), data.padId);
        const labels = tf.tensor1d(idx.map((i) => data.train.labels[i]), 'int32');
        try {
          // Gradient accumulation over micro-batches sized to the backend's memory: the update equals
          // the full batch's (the homework's batch size stays what it says).
          const r = lossAndGradients(model, batch, labels, { training: true, seed: mixSeed(seed, epoch, step) });
          optimizer.apply(r.grads);
          for (const g of r.grads.values()) g.dispose();
          lossSum += r.loss * idx.length;
          correct += r.correct;
          seen += idx.length;
        } finally {
          disposeBatch(batch); labels.dispose();
        }
        stepTime += (performance.now() - stepStart) / 1000;
        doneWork += 3 * idx.length;
        const now = performance.now();
        if (opts.onProgress && (now - lastProgress >= interval || step === steps)) {
          lastProgress = now;
          opts.onProgress({
            type: 'progress', phase: 'train', epoch, epochs, step, steps,
            loss: lossSum / seen, accuracy: correct / seen,
            examplesPerSecond: stepTime > 0 ? seen / stepTime : 0, etaSeconds: eta(),
          });
        }
        await yieldToEventLoop(); // lets a 'cancel' message in
      }
      trainSeconds += stepTime; trainSteps += steps; trainExamples += seen;

      const valStart = performance.now();
      const workBeforeVal = doneWork;
      let valDone = 0;
      const valEta = () => { doneWork = workBeforeVal + valDone; return eta(); };
      const val = await evaluate(model, data.val, data.padId, evalBatchSize, {
        signal,
        onBatch: (done, total) => {
          const now = performance.now();
          const ex = Math.min(nVal, done * evalBatchSize);
          valDone = ex;
          if (opts.onProgress && (now - lastProgress >= interval || done === total)) {
            lastProgress = now;
            opts.onProgress({
              type: 'progress', phase: 'validate', epoch, epochs, step: done, steps: total,
              loss: lossSum / seen, accuracy: correct / seen,
              examplesPerSecond: ex / Math.max(1e-9, (now - valStart) / 1000), etaSeconds: valEta(),
            });
          }
        },
      });
      doneWork = workBeforeVal + nVal;
      const m: EpochMetrics = {
        epoch, trainLoss: lossSum / seen, trainAccuracy: correct / seen,
        valLoss: val.loss, valAccuracy: val.accuracy, seconds: (performance.now() - epochStart) / 1000,
      };
      history.push(m);
      opts.onEpochEnd?.(m);

      const decision = stopper.onEpochEnd(epoch, m.valLoss);
      if (decision === 'improved') {
        dropBest();
        bestWeights = model.snapshot();
      } else if (!bestWeights) {
        bestWeights = model.snapshot(); // Keras keeps the current weights when none are kept yet
      }
      if (decision === 'stop') break; // model.stop_training = True
    }
    // EarlyStopping.on_train_end: Keras 3 restores the best weights whether or not it stopped early.
    if (bestWeights) model.restore(bestWeights);
  } finally {
    dropBest();
    optimizer.dispose();
  }

  const workBeforeTest = doneWork;
  const test = await evaluate(model, data.test, data.padId, evalBatchSize, {
    signal,
    onBatch: (done, total) => {
      const now = performance.now();
      doneWork = workBeforeTest + Math.min(nTest, done * evalBatchSize);
      if (opts.onProgress && (now - lastProgress >= interval || done === total)) {
        lastProgress = now;
        const last = history[history.length - 1];
        opts.onProgress({
          type: 'progress', phase: 'test', epoch: last.epoch, epochs, step: done, steps: total,
          loss: last.trainLoss, accuracy: last.trainAccuracy, examplesPerSecond: 0,
          etaSeconds: eta(),
        });
      }
    },
  });
  const totalSeconds = (performance.now() - t0) / 1000;
  const metrics: RunMetrics = {
    testAccuracy: test.accuracy,
    testF1: f1Score(data.test.labels, test.predictions, 1),
    confusion: confusionMatrix(data.test.labels, test.predictions, 2),
    valAccuracyAtMinValLoss: valAccuracyAtMinValLoss(history),
    bestEpoch: bestEpochByValLoss(history),
    trainSeconds,
    totalSeconds,
    stepsPerSecond: trainSeconds > 0 ? trainSteps / trainSeconds : 0,
    examplesPerSecond: trainSeconds > 0 ? trainExamples / trainSeconds : 0,
  };
  return { history, metrics, testPredictions: test.predictions };
}
