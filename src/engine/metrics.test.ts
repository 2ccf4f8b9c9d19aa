import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracy, bestEpochByValLoss, confusionMatrix, f1Score, valAccuracyAtMinValLoss } from './metrics';

test('accuracy, F1 of class 1 (sklearn semantics) and confusion[true][pred]', () => {
  const y = [0, 0, 1, 1, 1], p = [0, 1, 1, 0, 1];
  assert.equal(accuracy(y, p), 0.6);
  // tp 2, fp 1, fn 1 -> 2*2 / (4 + 1 + 1)
  assert.equal(f1Score(y, p), 4 / 6);
  assert.deepEqual(confusionMatrix(y, p), [[1, 1], [1, 2]]);
  assert.equal(f1Score([0, 0], [0, 0]), 0); // no positives at all: sklearn returns 0
  assert.equal(f1Score([1, 1], [0, 0]), 0);
  assert.throws(() => confusionMatrix([2], [0]), /outside/);
});

test('the graded value: val accuracy at the FIRST epoch of minimum val loss (np.argmin)', () => {
  // The notebook's Problem 1 run 1: val_loss 0.3526, 0.3582, 0.3766 -> val_acc of epoch 1, 0.8392.
  const h = [[0.3526, 0.8392], [0.3582, 0.8464], [0.3766, 0.8624]].map(([l, a], i) => ({ epoch: i + 1, trainLoss: 0, trainAccuracy: 0, valLoss: l, valAccuracy: a, seconds: 0 }));
  assert.equal(valAccuracyAtMinValLoss(h), 0.8392);
  assert.equal(bestEpochByValLoss([{ ...h[0], valLoss: 0.3 }, { ...h[1], valLoss: 0.3 }]), 1);
});
