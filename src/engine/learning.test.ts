// Training on WASM: a tiny random BERT and DistilBERT learn a learnable synthetic task (does the
// sequence contain the "signal" token?), through every layer, with Keras' Adam, and without leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { EncodedBatch } from './api';
import { initBackend } from './backend';
import { randomClassifier } from './checkpoint';
import { makeConfig, type ModelType } from './config';
import { crossEntropy } from './layers';
import { KerasAdam } from './adam';

const VOCAB = 40, SIGNAL = 5, LEN = 12;

/** Sequences [CLS] t1..tn [SEP] [PAD]...; label 1 iff the signal token occurs. Half of each. */
function makeData(n: number, seed: number): { ids: number[][]; mask: number[][]; labels: number[] } {
  let s = seed;
  const rnd = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
  const ids: number[][] = [], mask: number[][] = [], labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const len = 4 + Math.floor(rnd() * (LEN - 5)); // real tokens incl. [CLS]/[SEP]: 4..10
    const body = Array.from({ length: len - 2 }, () => 6 + Math.floor(rnd() * (VOCAB - 6)));
    const label = i % 2;
    if (label) body[Math.floor(rnd() * body.length)] = SIGNAL;
    const row = [1, ...body, 2];
    ids.push([...row, ...Array(LEN - row.length).fill(0)]);
    mask.push([...row.map(() => 1), ...Array(LEN - row.length).fill(0)]);
    labels.push(label);
  }
  return { ids, mask, labels };
}

function toBatch(d: ReturnType<typeof makeData>, from: number, to: number): { batch: EncodedBatch; labels: tf.Tensor1D } {
  return {
    batch: { inputIds: tf.tensor2d(d.ids.slice(from, to), undefined, 'int32'), attentionMask: tf.tensor2d(d.mask.slice(from, to), undefined, 'int32') },
    labels: tf.tensor1d(d.labels.slice(from, to), 'int32'),
  };
}

for (const type of ['distilbert', 'bert'] as ModelType[]) {
  test(`${type}: a tiny random model learns the task to >= 95% on WASM, every parameter updated`, async () => {
    const engine = await initBackend('wasm');
    assert.equal(engine.backend, 'wasm');
    const config = makeConfig(type, {
      vocabSize: VOCAB, hiddenSize: 32, numLayers: 2, numHeads: 4, intermediateSize: 64, maxPositions: LEN,
      hiddenDropout: 0.1, attentionDropout: 0.1, classifierDropout: 0.1, initializerRange: 0.02,
    });
    const model = randomClassifier(config, 1);
    const initial = model.snapshot();
    const optimizer = new KerasAdam(model.variables, 2e-3);
    const train = makeData(1024, 1), val = makeData(256, 2);
    const byTfName = new Map([...model.variables].map(([name, v]) => [v.name, name]));
    const start = Date.now();
    const batchSize = 32;
    let tensorsAfterFirstStep = -1;
    let step = 0;
    for (let epoch = 0; epoch < 6; epoch++) {
      for (let i = 0; i < train.labels.length; i += batchSize) {
        const { batch, labels } = toBatch(train, i, i + batchSize);
        const { value, grads } = tf.variableGrads(() => crossEntropy(model.apply(batch, true, ++step), labels));
        const byName: Record<string, tf.Tensor> = {};
        for (const [k, g] of Object.entries(grads)) byName[byTfName.get(k)!] = g;
        optimizer.apply(byName);
        tf.dispose([value, batch.inputIds, batch.attentionMask, labels, ...Object.values(grads)]);
        if (tensorsAfterFirstStep < 0) tensorsAfterFirstStep = tf.memory().numTensors;
        else assert.equal(tf.memory().numTensors, tensorsAfterFirstStep, `tensor count stable at step ${step}`);
      }
    }
    const { batch, labels } = toBatch(val, 0, val.labels.length);
    const acc = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(model.apply(batch, false), 1), labels), 'float32')).dataSync()[0]);
    const seconds = (Date.now() - start) / 1000;
    console.log(`${type}: validation accuracy ${(acc * 100).toFixed(1)}% after ${step} steps (${seconds.toFixed(1)} s on ${engine.device})`);
    assert.ok(acc >= 0.95, `accuracy ${acc}`);
    // The time is printed, not asserted: a busy machine is slower, not wrong (speed lives in `npm run bench`).
    // Gradients reached every layer: every parameter tensor moved.
    for (const [name, v] of model.variables) {
      const moved = tf.tidy(() => tf.max(tf.abs(tf.sub(v, initial.get(name)!))).dataSync()[0]);
      assert.ok(moved > 0, `${name} did not change`);
    }
    tf.dispose([batch.inputIds, batch.attentionMask, labels, ...initial.values()]);
    optimizer.dispose();
    model.dispose();
  });
}
