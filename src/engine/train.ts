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
// - Validation inside fit uses the TRAINING batch size (Keras: validation_batch_size defaults to
//   batch_size); only the test split's predict uses EVAL_BATCH.
//
// The loop (`fit`) runs over an abstract ComputeEngine: TensorFlow.js in this process (./tfjsEngine.ts)
// or the PyTorch compute process (./torch/engine.ts). Everything that defines the experiment (the order,
// early stopping, metrics) stays here, so both engines run the same experiment.
import type { EpochMetrics, ProgressMessage, RunMetrics } from '../protocol';
import { accuracy, bestEpochByValLoss, confusionMatrix, f1Score, macroF1, valAccuracyAtMinValLoss } from './metrics';
import { mixSeed } from './seed';

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
  /** Number of classes K (default 2): the size of the confusion matrix; K > 2 adds testMacroF1. */
  numLabels?: number;
  /** Minimum milliseconds between progress callbacks (default 200, i.e. at most 5 per second). */
  progressIntervalMs?: number;
}

export interface TrainResult {
  history: EpochMetrics[];
  metrics: RunMetrics;
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
 * An out-of-memory error while training, carrying the batch size to retry with. The worker never
 * retries in-process (a WASM heap is dead after one; a CUDA allocator is fragmented): it reports it and
 * exits, and the runner starts a fresh process at `nextBatchSize`.
 */
export class OutOfMemoryError extends Error {
  constructor(readonly batchSize: number, readonly nextBatchSize: number, readonly reason: string) {
    super(`out of memory at batch size ${batchSize}: ${reason}`);
    this.name = 'OutOfMemoryError';
  }
}

/** Out-of-memory errors of the tfjs backends (WASM heap growth, CUDA/TF allocator, V8 arrays). */
export function isOutOfMemoryError(err: unknown): boolean {
  const msg = err instanceof Error ? `${err.name} ${err.message}` : String(err);
  return /out of memory|OutOfMemoryError|OOM|ResourceExhausted|failed to allocate|Cannot allocate|Array buffer allocation failed|memory access out of bounds|Cannot enlarge memory|Aborted\(\)|Invalid typed array length/i.test(msg);
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
// The compute engine: what fit() needs from TensorFlow.js or PyTorch

/** Running totals of an epoch, after `step` of `steps`. */
export interface StepReport { step: number; steps: number; lossSum: number; correct: number; seen: number }

export interface ComputeEngine {
  /**
   * One epoch over the training examples in `order` (indices into the training split), in batches of
   * `batchSize`, each padded to its longest sequence. `onStep` gets running totals (at least after the
   * last step). Throws OutOfMemoryError on an out-of-memory, CancelledError when `signal` aborts.
   */
  trainEpoch(order: number[], o: { epoch: number; batchSize: number; learningRate: number; seed: number; signal?: AbortSignal; onStep?: (r: StepReport) => void }): Promise<{ lossSum: number; correct: number; seen: number }>;
  /** Inference mode, in split order: the sum of the per-example losses and the argmax predictions. */
  evaluate(split: 'val' | 'test', batchSize: number, o: { signal?: AbortSignal; onBatch?: (done: number, total: number) => void }): Promise<{ lossSum: number; predictions: number[] }>;
  /** Keeps a copy of the current weights (on the device) as the best ones. */
  keepBest(): Promise<void>;
  /** Restores the kept weights; false when none were kept. */
  restoreBest(): Promise<boolean>;
  dispose(): Promise<void> | void;
}

/** An out-of-memory of a training step as OutOfMemoryError (batch 1 cannot shrink: the error stays). */
export function asTrainingOom(err: unknown, batchSize: number): unknown {
  if (err instanceof OutOfMemoryError || !isOutOfMemoryError(err) || batchSize <= 1) return err;
  return new OutOfMemoryError(batchSize, Math.max(1, Math.floor(batchSize / 2)), err instanceof Error ? err.message : String(err));
}

// ---------------------------------------------------------------------------------------------
// fit + early stopping + test evaluation

/** The labels fit() needs (the token ids stay with the engine). */
export interface FitData { train: { labels: number[] }; val: { labels: number[] }; test: { labels: number[] } }

/**
 * Keras' fit + EarlyStopping(restore_best_weights) + predict on the test split, over `engine`.
 * Throws CancelledError when `signal` aborts, OutOfMemoryError on an out-of-memory while training
 * (the caller restarts in a fresh process at the smaller batch).
 */
export async function fit(engine: ComputeEngine, data: FitData, opts: TrainOptions): Promise<TrainResult> {
  const { batchSize, epochs, evalBatchSize, seed, signal } = opts;
  if (!(batchSize >= 1 && evalBatchSize >= 1 && epochs >= 1)) throw new Error('batch sizes and epochs must be >= 1');
  if (data.train.labels.length === 0 || data.val.labels.length === 0) throw new Error('empty training or validation split');
  const numLabels = opts.numLabels ?? 2;
  const interval = opts.progressIntervalMs ?? 200;
  const nTrain = data.train.labels.length, nVal = data.val.labels.length, nTest = data.test.labels.length;
  // Work units for the ETA: a training example costs about 3 forward passes (forward + backward).
  const totalWork = epochs * (3 * nTrain + nVal) + nTest;
  let doneWork = 0;
  const t0 = performance.now();
  let lastProgress = -Infinity;
  const eta = () => {
    const elapsed = (performance.now() - t0) / 1000;
    return doneWork > 0 ? (elapsed / doneWork) * (totalWork - doneWork) : 0;
  };
  const due = (last: boolean) => {
    const now = performance.now();
    if (!opts.onProgress || (!last && now - lastProgress < interval)) return false;
    lastProgress = now;
    return true;
  };

  const history: EpochMetrics[] = [];
  let trainSeconds = 0, trainSteps = 0, trainExamples = 0;
  const stopper = new EarlyStopping(opts.patience);
  let kept = false;

  for (let epoch = 1; epoch <= epochs; epoch++) {
    const epochStart = performance.now();
    const order = epochOrder(nTrain, seed, epoch);
    const workBefore = doneWork;
    const r = await engine.trainEpoch(order, {
      epoch, batchSize, learningRate: opts.learningRate, seed, signal,
      onStep: (s) => {
        doneWork = workBefore + 3 * s.seen;
        if (due(s.step === s.steps)) {
          const secs = (performance.now() - epochStart) / 1000;
          opts.onProgress!({
            type: 'progress', phase: 'train', epoch, epochs, step: s.step, steps: s.steps,
            loss: s.lossSum / s.seen, accuracy: s.correct / s.seen,
            examplesPerSecond: secs > 0 ? s.seen / secs : 0, etaSeconds: eta(),
          });
        }
      },
    });
    const stepTime = (performance.now() - epochStart) / 1000;
    trainSeconds += stepTime; trainSteps += Math.ceil(nTrain / batchSize); trainExamples += r.seen;
    doneWork = workBefore + 3 * nTrain;

    const valStart = performance.now();
    const workBeforeVal = doneWork;
    // Keras' fit validates with the training batch size (validation_batch_size defaults to batch_size).
    const val = await engine.evaluate('val', batchSize, {
      signal,
      onBatch: (done, total) => {
        const ex = Math.min(nVal, done * batchSize);
        doneWork = workBeforeVal + ex;
        if (due(done === total)) {
          opts.onProgress!({
            type: 'progress', phase: 'validate', epoch, epochs, step: done, steps: total,
            loss: r.lossSum / r.seen, accuracy: r.correct / r.seen,
            examplesPerSecond: ex / Math.max(1e-9, (performance.now() - valStart) / 1000), etaSeconds: eta(),
          });
        }
      },
    });
    doneWork = workBeforeVal + nVal;
    const m: EpochMetrics = {
      epoch, trainLoss: r.lossSum / r.seen, trainAccuracy: r.correct / r.seen,
      valLoss: val.lossSum / nVal, valAccuracy: accuracy(data.val.labels, val.predictions), seconds: (performance.now() - epochStart) / 1000,
    };
    history.push(m);
    opts.onEpochEnd?.(m);

    const decision = stopper.onEpochEnd(epoch, m.valLoss);
    if (decision === 'improved' || !kept) {
      await engine.keepBest(); // Keras keeps the current weights when none are kept yet
      kept = true;
    }
    if (decision === 'stop') break; // model.stop_training = True
  }
  // EarlyStopping.on_train_end: Keras 3 restores the best weights whether or not it stopped early.
  await engine.restoreBest();

  const workBeforeTest = doneWork;
  const test = await engine.evaluate('test', evalBatchSize, {
    signal,
    onBatch: (done, total) => {
      doneWork = workBeforeTest + Math.min(nTest, done * evalBatchSize);
      if (due(done === total)) {
        const last = history[history.length - 1];
        opts.onProgress!({
          type: 'progress', phase: 'test', epoch: last.epoch, epochs, step: done, steps: total,
          loss: last.trainLoss, accuracy: last.trainAccuracy, examplesPerSecond: 0, etaSeconds: eta(),
        });
      }
    },
  });
  const totalSeconds = (performance.now() - t0) / 1000;
  const metrics: RunMetrics = {
    testAccuracy: accuracy(data.test.labels, test.predictions),
    testF1: f1Score(data.test.labels, test.predictions, 1),
    ...(numLabels > 2 ? { testMacroF1: macroF1(data.test.labels, test.predictions, numLabels) } : {}),
    confusion: confusionMatrix(data.test.labels, test.predictions, numLabels),
    valAccuracyAtMinValLoss: valAccuracyAtMinValLoss(history),
    bestEpoch: bestEpochByValLoss(history),
    trainSeconds,
    totalSeconds,
    stepsPerSecond: trainSeconds > 0 ? trainSteps / trainSeconds : 0,
    examplesPerSecond: trainSeconds > 0 ? trainExamples / trainSeconds : 0,
  };
  return { history, metrics, testPredictions: test.predictions };
}
