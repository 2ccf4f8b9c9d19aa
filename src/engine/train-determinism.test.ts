// The real engine (tiny DistilBERT and BERT from ../shared/models) trained twice with the same seed on
// the same backend gives identical numbers; another seed gives others.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from './backend';
import { shared } from './testing';
import { loadClassifier } from './checkpoint';
import type { TrainData } from './train';
import { trainAndEvaluate } from './tfjsEngine';

// WASM, as the test's name says: a WASM that does not start fails the test (build first: dist/ has the binaries).
before(async () => { await initBackend('wasm'); });

function data(): TrainData {
  let s = 7;
  const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  const split = (n: number) => {
    const inputIds: number[][] = [], labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const len = 4 + Math.floor(rand() * 12);
      inputIds.push([101, ...Array.from({ length: len - 2 }, () => 1000 + Math.floor(rand() * 2000)), 102]);
      labels.push(i % 2);
    }
    return { inputIds, labels };
  };
  return { train: split(24), val: split(8), test: split(8), padId: 0 };
}

for (const name of ['distilbert-tiny-random', 'bert-tiny-random']) {
  const { path: dir, skip } = shared('models', name);
  test(`${name}: same seed + same backend (WASM) -> identical history and metrics`, { skip }, async () => {
    assert.equal(tf.getBackend(), 'wasm');
    const d = data();
    const run = async (seed: number) => {
      const { model } = await loadClassifier(dir, { numLabels: 2, seed });
      const r = await trainAndEvaluate(model, d, { learningRate: 1e-3, batchSize: 8, epochs: 2, evalBatchSize: 16, patience: 2, seed });
      model.dispose();
      return { h: r.history.map(({ seconds: _s, ...x }) => x), p: r.testPredictions, v: r.metrics.valAccuracyAtMinValLoss, f1: r.metrics.testF1 };
    };
    const a = await run(42), b = await run(42), c = await run(43);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.h, c.h);
  });
}
