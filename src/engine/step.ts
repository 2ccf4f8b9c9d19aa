// One training step's loss and gradients, with gradient accumulation over micro-batches so that the
// homework's batch sizes (32 at MAX_LEN 128, 16 at 256, 8 at 512) fit WASM's 4 GB heap for
// DistilBERT-base and BERT-base.
//
// Exactness: the loss is the mean cross-entropy over the WHOLE batch, and micro-batch k contributes the
// gradient of (Σ_{i in k} CE_i) / B, so the summed gradients are the full-batch gradients (equal up to
// float32 rounding of the different summation order; see step.test.ts).
//
// Dropout: with one micro-batch the model is called with `seed` itself, exactly as a plain full-batch
// step. With several, micro-batch k draws its masks from microBatchSeed(seed, k): deterministic for a
// given (seed, micro-batch size), but NOT the mask stream of the full batch (masks are drawn per call
// in the shape of that call). The auto micro-batch size depends only on the model, the sequence
// length, the batch size and the backend family, so a run is reproducible on the same backend.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // the step differentiates the model
import type { EncodedBatch, SequenceClassifier } from './api';
import type { ModelConfig } from './config';
import { microBatchSeed } from './seed';
import { perExampleCrossEntropy } from './layers';

/** WASM32's largest heap (tfjs-backend-wasm grows its memory up to 4 GiB). */
export const WASM_HEAP_BYTES = 4 * 1024 ** 3;

/** Number of trainable parameters of a config (embeddings, layers, head; BERT or DistilBERT). */
export function parameterCount(c: ModelConfig): number {
  const { hiddenSize: h, intermediateSize: i, numLayers: l, numLabels: n } = c;
  const embeddings = (c.vocabSize + c.maxPositions + (c.modelType === 'bert' ? c.typeVocabSize : 0)) * h + 2 * h;
  const layer = 4 * (h * h + h) + 2 * h * i + i + h + 4 * h;
  const head = h * h + h + n * h + n; // pre_classifier / pooler + classifier
  return embeddings + l * layer + head;
}

/**
 * Estimated peak bytes of activations (forward tensors kept for the backward pass plus the gradients
 * alive during it) per example of a training step at sequence length `seqLen`. Fitted to tf.profile's
 * peakBytes of DistilBERT-shaped models (hidden 768, 12 heads, 1-2 layers, T = 128/256/512, WASM) and
 * rounded up; step.test.ts checks that it is not below the measured peak on small models.
 */
export function activationBytesPerExample(c: ModelConfig, seqLen: number): number {
  const t = seqLen, ff = c.hiddenSize + c.intermediateSize, scores = c.numHeads * seqLen * seqLen;
  // Kept per layer: ~10 floats per token per (hidden + intermediate) unit and ~1.5 per attention score.
  // Transient, once: the temporaries of one attention layer's forward/backward (~14 floats per score)
  // and of the embeddings and the head.
  return 4 * (c.numLayers * (10 * t * ff + 1.5 * scores) + 14 * scores + 2 * t * ff);
}

/**
 * Bytes that training needs besides activations: weights, Adam's two moments, the accumulated
 * gradients, one micro-batch's gradients, the temporaries of one update of the word embeddings, and the
 * allocator's overhead. Calibrated on the WASM heap sizes measured after one step (`npm run bench`,
 * distilbert-base 8 x 128 and 8 x 512: 2.85 and 3.01 GB; BERT-base 1 x 256: 3.60 GB): 7 x the
 * parameters' bytes covers them; 5 x (the tensors listed) did not.
 */
export function fixedTrainingBytes(c: ModelConfig): number {
  return 4 * (7 * parameterCount(c) + 2 * c.vocabSize * c.hiddenSize);
}

/**
 * The activation budget of the current backend: WASM and plain CPU get 85% of the WASM heap (4 GiB) left
 * after the fixed training memory (the plain CPU backend has no such cap, but the same budget keeps its
 * runs identical to WASM's). Native backends get no limit (their allocator reports out-of-memory
 * errors, which train.ts handles).
 */
export function defaultActivationBudget(c: ModelConfig, backend = tf.getBackend()): number {
  if (backend !== 'wasm' && backend !== 'cpu') return Infinity;
  return Math.max(0, 0.85 * (WASM_HEAP_BYTES - fixedTrainingBytes(c)));
}

/** Estimated WASM heap bytes of training at `seqLen` with `microBatch` examples per micro-batch. */
export function estimatedTrainingBytes(c: ModelConfig, seqLen: number, microBatch: number): number {
  return fixedTrainingBytes(c) + microBatch * activationBytesPerExample(c, seqLen);
}

/**
 * The micro-batch size for a batch of `batchSize` at `seqLen`: the most examples whose activations fit
 * `budgetBytes`, then evened out over the micro-batches needed (e.g. 32 with room for 12 -> 11, 11, 10).
 * At least 1: a single example that does not fit is tried anyway (BERT-base at 512 tokens on WASM:
 * estimatedTrainingBytes > WASM_HEAP_BYTES, and it does fail; see step.test.ts).
 */
export function autoMicroBatch(c: ModelConfig, seqLen: number, batchSize: number, budgetBytes = defaultActivationBudget(c)): number {
  const perExample = activationBytesPerExample(c, seqLen);
  // A model whose size we cannot estimate (no BERT config) trains in one piece.
  if (!(perExample > 0) || !Number.isFinite(budgetBytes)) return batchSize;
  const fit = Math.max(1, Math.floor(budgetBytes / perExample));
  if (fit >= batchSize) return batchSize;
  const parts = Math.ceil(batchSize / fit);
  return Math.ceil(batchSize / parts);
}

export { microBatchSeed };

export interface StepOptions {
  /** Dropout on (training) or off. */
  training: boolean;
  /** Dropout seed of the step (random when undefined and training). */
  seed?: number;
  /** Examples per micro-batch; undefined: autoMicroBatch() from the backend's memory budget. */
  microBatch?: number;
  /** Activation budget in bytes for the automatic micro-batch size (default: defaultActivationBudget). */
  memoryBudgetBytes?: number;
}

export interface StepResult {
  /** Mean cross-entropy over the whole batch. */
  loss: number;
  /** Examples whose argmax logit equals the label. */
  correct: number;
  /** d loss / d parameter, by Hugging Face parameter name; the caller disposes them. */
  grads: Map<string, tf.Tensor>;
  /** Micro-batch size used. */
  microBatch: number;
}

function sliceRows(t: tf.Tensor2D, lo: number, n: number): tf.Tensor2D {
  return tf.slice(t, [lo, 0], [n, t.shape[1]]);
}

/**
 * Loss, number of correct predictions and the gradient of the mean cross-entropy of `batch` against
 * `labels` (int32 [B]) for every parameter, accumulated over micro-batches. Synchronous: it reads two
 * numbers back at the end.
 */
export function lossAndGradients(model: SequenceClassifier, batch: EncodedBatch, labels: tf.Tensor1D, opts: StepOptions): StepResult {
  const [batchSize, seqLen] = batch.inputIds.shape;
  if (labels.shape[0] !== batchSize) throw new Error(`labels: ${labels.shape[0]} labels for a batch of ${batchSize}`);
  const micro = opts.microBatch ?? autoMicroBatch(model.config, seqLen, batchSize, opts.memoryBudgetBytes ?? defaultActivationBudget(model.config));
  if (!(Number.isInteger(micro) && micro >= 1)) throw new Error(`microBatch must be a positive integer, got ${micro}`);
  const seed = opts.training ? (opts.seed ?? Math.floor(Math.random() * 2147483647)) : undefined;
  const names = [...model.variables.keys()];
  const varList = [...model.variables.values()];
  const byTfName = new Map(names.map((n, i) => [varList[i].name, n]));
  const grads = new Map<string, tf.Tensor>();
  let lossSum: tf.Tensor = tf.scalar(0);
  let correctSum: tf.Tensor = tf.scalar(0, 'int32');
  try {
    for (let lo = 0, k = 0; lo < batchSize; lo += micro, k++) {
      const n = Math.min(micro, batchSize - lo);
      const whole = n === batchSize;
      const part: EncodedBatch = whole ? batch : {
        inputIds: sliceRows(batch.inputIds, lo, n),
        attentionMask: sliceRows(batch.attentionMask, lo, n),
        tokenTypeIds: batch.tokenTypeIds && sliceRows(batch.tokenTypeIds, lo, n),
      };
      const partLabels = whole ? labels : tf.slice(labels, [lo], [n]);
      const partSeed = seed === undefined ? undefined : k === 0 && whole ? seed : microBatchSeed(seed, k);
      let correctPart: tf.Tensor | undefined;
      try {
        const { value, grads: g } = tf.variableGrads(() => {
          const logits = model.apply(part, opts.training, partSeed);
          correctPart = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), tf.cast(partLabels, 'int32')), 'int32')));
          // Σ CE over this micro-batch / B: the micro-batch gradients then sum to the full-batch mean's.
          return tf.div(tf.sum(perExampleCrossEntropy(logits, partLabels)), batchSize) as tf.Scalar;
        }, varList);
        const newLoss = tf.add(lossSum, value);
        const newCorrect = tf.add(correctSum, correctPart!);
        tf.dispose([lossSum, correctSum, value, correctPart!]);
        lossSum = newLoss;
        correctSum = newCorrect;
        for (const [tfName, gk] of Object.entries(g)) {
          const name = byTfName.get(tfName)!;
          const acc = grads.get(name);
          if (!acc) { grads.set(name, gk); continue; }
          grads.set(name, tf.add(acc, gk));
          acc.dispose();
          gk.dispose();
        }
      } finally {
        if (!whole) tf.dispose([part.inputIds, part.attentionMask, ...(part.tokenTypeIds ? [part.tokenTypeIds] : []), partLabels]);
      }
    }
    const loss = lossSum.dataSync()[0];
    const correct = correctSum.dataSync()[0];
    return { loss, correct, grads, microBatch: micro };
  } catch (e) {
    for (const g of grads.values()) g.dispose();
    throw e;
  } finally {
    tf.dispose([lossSum, correctSum]);
  }
}
