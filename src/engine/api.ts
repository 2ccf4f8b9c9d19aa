// The engine's public surface, used by the experiment runner and the training child process.
// (Contract between src/engine and src/experiments; the engine implements it, nothing here imports vscode.)
import type * as tf from '@tensorflow/tfjs-core';
import type { BackendPreference, EngineInfo } from '../protocol';

export type { BackendPreference, EngineInfo };

/** A batch already tokenized and padded to a common length (dynamic padding: longest in batch). */
export interface EncodedBatch {
  /** int32 [batch, seqLen] */
  inputIds: tf.Tensor2D;
  /** int32 [batch, seqLen], 1 = real token, 0 = padding */
  attentionMask: tf.Tensor2D;
  /** int32 [batch, seqLen]; BERT only, zeros when absent */
  tokenTypeIds?: tf.Tensor2D;
}

/** Report of a checkpoint load, as transformers prints it. */
export interface LoadReport {
  /** Parameters of the model not found in the checkpoint (initialised: normal(std=initializer_range), biases 0). */
  missing: string[];
  /** Checkpoint tensors the model does not use (e.g. pre-training heads). */
  unused: string[];
  /** Source folder the weights were read from. */
  source: string;
}

/**
 * A BERT or DistilBERT sequence classifier whose parameters are tf.Variables named with the
 * Hugging Face parameter names (e.g. "distilbert.transformer.layer.0.attention.q_lin.weight"),
 * stored in the Hugging Face layout ([out, in] for Linear weights).
 */
export interface SequenceClassifier {
  readonly config: import('./config').ModelConfig;
  /** Logits [batch, numLabels]. `training` enables dropout; `seed` makes the dropout masks reproducible. */
  apply(batch: EncodedBatch, training: boolean, seed?: number): tf.Tensor2D;
  /** Every trainable parameter, by Hugging Face name, in a stable order. */
  readonly variables: ReadonlyMap<string, tf.Variable>;
  /** Copies of all parameter values (for restoring best weights). */
  snapshot(): Map<string, tf.Tensor>;
  /** Assigns values from a snapshot (same names and shapes). */
  restore(snapshot: Map<string, tf.Tensor>): void;
  dispose(): void;
}
