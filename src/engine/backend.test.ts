import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, wasmDir } from './backend';
import { randomClassifier } from './checkpoint';
import { makeConfig } from './config';
import { crossEntropy } from './layers';

// The native packages cannot be installed on this machine (they download libtensorflow), so
// these tests see them absent; where they are installed, "auto" must pick one of them instead.
let nativeInstalled = false;
try { require.resolve('@tensorflow/tfjs-node'); nativeInstalled = true; } catch { /* absent */ }
try { require.resolve('@tensorflow/tfjs-node-gpu'); nativeInstalled = true; } catch { /* absent */ }

test('auto without native packages: WASM, with the reason and versions', { skip: nativeInstalled && 'a native package is installed here' }, async () => {
  const info = await initBackend('auto');
  assert.equal(info.backend, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.match(info.reason, /@tensorflow\/tfjs-node-gpu not installed; @tensorflow\/tfjs-node not installed: using WASM/);
  assert.match(info.device, /WASM SIMD, 1 thread/);
  assert.equal(info.threads, 1);
  assert.equal(info.versions['tfjs-core'], tf.version_core);
  assert.ok(info.versions['tfjs-backend-wasm']);
});

test('forcing a backend that is not installed is a clear error', { skip: nativeInstalled && 'a native package is installed here' }, async () => {
  await assert.rejects(initBackend('tensorflow-gpu'), /backend "tensorflow-gpu" is not available: @tensorflow\/tfjs-node-gpu not installed/);
  // An extra folder without the package changes nothing.
  process.env.BERT_LAB_NATIVE_DIR = mkdtempSync(join(tmpdir(), 'native-'));
  try {
    await assert.rejects(initBackend('tensorflow'), /@tensorflow\/tfjs-node not installed/);
  } finally {
    delete process.env.BERT_LAB_NATIVE_DIR;
  }
  await assert.rejects(initBackend('webgpu' as never), /unknown backend "webgpu"/);
});

test('plain CPU and WASM can be forced and switched', async () => {
  const cpu = await initBackend('cpu');
  assert.equal(cpu.backend, 'cpu'); assert.equal(tf.getBackend(), 'cpu');
  const wasm = await initBackend('wasm');
  assert.equal(wasm.backend, 'wasm'); assert.equal(tf.getBackend(), 'wasm');
  assert.match(wasm.reason, /WASM requested/);
  assert.ok(wasmDir().length > 0);
});

test('WASM: tf.gather is differentiable (UnsortedSegmentSum registered) and matches the CPU backend', async () => {
  const run = async (b: 'cpu' | 'wasm') => {
    await initBackend(b);
    return tf.tidy(() => {
      const table = tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]]);
      const ids = tf.tensor1d([3, 0, 3, 1, 3], 'int32');
      const dy = tf.tensor2d([[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]]);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), dy)))(table);
      // The kernel called directly.
      const s = tf.unsortedSegmentSum(tf.tensor2d([[1, 2], [3, 4], [5, 6]]), tf.tensor1d([2, 0, 2], 'int32'), 3);
      return [g.arraySync(), s.arraySync()];
    });
  };
  const cpu = await run('cpu');
  const wasm = await run('wasm');
  assert.deepEqual(wasm, cpu);
  assert.deepEqual(cpu[0], [[2, 2], [4, 4], [0, 0], [9, 9]]);
});

test('WASM: every kernel of a training step of both models (forward + backward) is a WASM kernel', async () => {
  await initBackend('wasm');
  const used = new Set<string>();
  for (const type of ['distilbert', 'bert'] as const) {
    const m = randomClassifier(makeConfig(type, { hiddenDropout: 0.1, attentionDropout: 0.1, classifierDropout: 0.1 }), 1);
    const ids = tf.tensor2d([[101, 5, 6, 102, 0], [101, 7, 102, 0, 0]], undefined, 'int32');
    const mask = tf.tensor2d([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]], undefined, 'int32');
    const labels = tf.tensor1d([0, 1], 'int32');
    const info = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => crossEntropy(m.apply({ inputIds: ids, attentionMask: mask }, true, 3), labels));
      tf.dispose([value, ...Object.values(grads)]);
    });
    // The profile also lists scopes (customGrad, composite ops); kernels are what the CPU backend implements.
    for (const k of info.kernels) if (tf.getKernel(k.name, 'cpu')) used.add(k.name);
    tf.dispose([ids, mask, labels]); m.dispose();
  }
  const missing = [...used].filter((k) => !tf.getKernel(k, 'wasm'));
  assert.deepEqual(missing, [], `kernels without a WASM implementation: ${missing}`);
  // The embedding gradient (layers.ts `embedding`) sums rows with UnsortedSegmentSum, the kernel
  // wasm-kernels.ts adds: check it was really exercised, so that the test cannot pass vacuously.
  for (const k of ['UnsortedSegmentSum', 'Erf', 'Softmax', 'BatchMatMul']) assert.ok(used.has(k), `${k} not among the kernels used: ${[...used].join(',')}`);
});
