// Classification metrics as the homework computes them: accuracy and F1 from Hugging Face `evaluate`
// (which call sklearn: binary F1 of the positive class 1, 0 when undefined), a confusion matrix
// indexed [true][predicted], and the graded "validation accuracy at the epoch of minimum validation
// loss" taken from the per-epoch history like `history['val_acc'][np.argmin(history['val_loss'])]`.
import type { EpochMetrics } from '../protocol';

export function accuracy(labels: ArrayLike<number>, predictions: ArrayLike<number>): number {
  if (labels.length !== predictions.length) throw new Error(`accuracy: ${labels.length} labels but ${predictions.length} predictions`);
  if (labels.length === 0) return 0;
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === predictions[i]) correct++;
  return correct / labels.length;
}

/** confusion[true][predicted]. */
export function confusionMatrix(labels: ArrayLike<number>, predictions: ArrayLike<number>, numClasses = 2): number[][] {
  const cm = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const t = labels[i], p = predictions[i];
    if (!(t >= 0 && t < numClasses && p >= 0 && p < numClasses)) throw new Error(`confusionMatrix: label ${t} or prediction ${p} outside 0..${numClasses - 1}`);
    cm[t][p]++;
  }
  return cm;
}

/** F1 of one class (sklearn `f1_score(average="binary", pos_label=1)`; 0 when precision+recall is 0). */
export function f1Score(labels: ArrayLike<number>, predictions: ArrayLike<number>, positive = 1): number {
  let tp = 0, fp = 0, fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const t = labels[i] === positive, p = predictions[i] === positive;
    if (t && p) tp++;
    else if (p) fp++;
    else if (t) fn++;
  }
  const denom = 2 * tp + fp + fn;
  return denom === 0 ? 0 : (2 * tp) / denom;
}

/**
 * 1-based epoch of minimum validation loss: the FIRST minimum, as `np.argmin` and Keras'
 * EarlyStopping (strict `<` improvement) both pick.
 */
export function bestEpochByValLoss(history: readonly EpochMetrics[]): number {
  if (history.length === 0) throw new Error('no epochs in history');
  let best = 0;
  for (let i = 1; i < history.length; i++) if (history[i].valLoss < history[best].valLoss) best = i;
  return history[best].epoch;
}

/** The homework's graded quantity: validation accuracy at the epoch of minimum validation loss. */
export function valAccuracyAtMinValLoss(history: readonly EpochMetrics[]): number {
  const epoch = bestEpochByValLoss(history);
  return history.find((h) => h.epoch === epoch)!.valAccuracy;
}

/** Unweighted mean over classes 0..K-1 of the per-class F1 (sklearn `average="macro"`). */
export function macroF1(labels: ArrayLike<number>, predictions: ArrayLike<number>, numClasses: number): number {
  let s = 0;
  for (let c = 0; c < numClasses; c++) s += f1Score(labels, predictions, c);
  return numClasses > 0 ? s / numClasses : 0;
}
