// The PyTorch engine against the TensorFlow.js engine, through the real Python process (torch CPU):
// the same 20 steps give the same losses and weights; a torch-saved model loads in TypeScript with the
// same logits; out-of-memory, cancel and a killed parent behave as the worker needs.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend';
import { classifierFromTensors, exportTensors } from '../checkpoint';
import { readConfig } from '../config';
import { hasZeroGradient } from '../parity';
import { readSafetensors, writeSafetensors } from '../safetensors';
import { shared } from '../testing';
import { CancelledError, OutOfMemoryError, type TrainData } from '../train';
import { TfjsEngine, evaluate, makeBatch } from '../tfjsEngine';
import type { SequenceClassifier } from '../api';
import { TorchEngine } from './engine';

const PY = process.env.BERT_LAB_PYTHON || '/usr/bin/python3';
const hasTorch = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const required = !!(process.env.CI || process.env.BERT_LAB_E2E_REQUIRED);
const noTorch = hasTorch ? false : `${PY} with torch is not available`;
let backend = 'wasm';
before(async () => { await initBackend('wasm').catch(async () => { backend = 'cpu'; await initBackend('cpu'); }); });

/** Seeded token ids of varying length (so that batches are padded differently). */
function split(n: number, seed: number, vocab: number): { inputIds: number[][]; labels: number[] } {
  let s = seed;
  const r = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  const inputIds: number[][] = [], labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const len = 5 + Math.floor(r() * 40);
    inputIds.push([101, ...Array.from({ length: len - 2 }, () => 1000 + Math.floor(r() * (vocab - 1000))), 102]);
    labels.push(i % 2);
  }
  return { inputIds, labels };
}

function loadTiny(name: string): SequenceClassifier {
  const dir = shared('models', name).path;
  const config = { ...readConfig(join(dir, 'config.json'), 2), hiddenDropout: 0, attentionDropout: 0, classifierDropout: 0 };
  return classifierFromTensors(config, readSafetensors(join(dir, 'model.safetensors')).tensors, dir, 42).model;
}

async function startTorch(model: SequenceClassifier, work: string, data?: TrainData, env?: NodeJS.ProcessEnv): Promise<TorchEngine> {
  const weights = join(work, 'w.safetensors');
  writeSafetensors(weights, await exportTensors(model), { format: 'pt' });
  return TorchEngine.start({ python: PY, device: 'cpu', precision: 'auto', config: model.config, weights, data, workDir: join(work, 'torch'), env });
}

function relL2(a: Map<string, Float32Array>, b: Map<string, Float32Array>, skip: (n: string) => boolean): number {
  let d2 = 0, r2 = 0;
  for (const [n, x] of a) {
    if (skip(n)) continue;
    const y = b.get(n)!;
    for (let i = 0; i < x.length; i++) { d2 += (x[i] - y[i]) ** 2; r2 += y[i] ** 2; }
  }
  return Math.sqrt(d2 / r2);
}

for (const name of ['distilbert-tiny-random', 'bert-tiny-random']) {
  const { skip } = shared('models', name);
  test(`cross-engine: ${name}, LR 2e-5, dropout off: the same loss after each of 20 steps and the same weights (torch CPU vs WASM)`,
    { skip: (noTorch && !required ? noTorch : false) || skip, timeout: 300_000 }, async () => {
      const work = mkdtempSync(join(tmpdir(), 'torch-x-'));
      const tfModel = loadTiny(name);
      const data: TrainData = { train: split(160, 7, tfModel.config.vocabSize), val: split(16, 8, tfModel.config.vocabSize), test: split(16, 9, tfModel.config.vocabSize), padId: 0 };
      const torch = await startTorch(tfModel, work, data);
      const tfe = new TfjsEngine(tfModel, data);
      try {
        assert.equal(torch.info.engine, 'pytorch');
        // Step k of the run visits examples 8(k-1)..8k-1: one step per call keeps each step's loss.
        const lossTf: number[] = [], lossTorch: number[] = [];
        for (let k = 0; k < 20; k++) {
          const order = Array.from({ length: 8 }, (_, i) => 8 * k + i);
          const o = { epoch: 1, batchSize: 8, learningRate: 2e-5, seed: 1 };
          lossTf.push((await tfe.trainEpoch(order, o)).lossSum / 8);
          lossTorch.push((await torch.trainEpoch(order, o)).lossSum / 8);
        }
        for (let k = 0; k < 20; k++) assert.ok(Math.abs(lossTorch[k] - lossTf[k]) / Math.abs(lossTf[k]) < 1e-4, `step ${k + 1}: torch ${lossTorch[k]} vs ${backend} ${lossTf[k]}`);
        const saved = join(work, 'after.safetensors');
        await torch.saveWeights(saved);
        const tw = new Map([...readSafetensors(saved).tensors].map(([n, t]) => [n, t.data]));
        const fw = new Map([...(await exportTensors(tfModel))].map(([n, t]) => [n, t.data]));
        assert.deepEqual([...tw.keys()].sort(), [...fw.keys()].sort(), 'same Hugging Face names');
        const rel = relL2(tw, fw, hasZeroGradient);
        assert.ok(rel < 1e-4, `weights after 20 steps: rel L2 ${rel}`);
        // Moved at all (so that the comparison means something): 20 Adam steps of 2e-5.
        const init = loadTiny(name);
        const moved = relL2(fw, new Map([...(await exportTensors(init))].map(([n, t]) => [n, t.data])), hasZeroGradient);
        init.dispose();
        assert.ok(moved > 10 * rel, `weights moved by ${moved}, differ by ${rel}`);
        console.log(`${name}: max step loss rel diff ${Math.max(...lossTf.map((l, k) => Math.abs(lossTorch[k] - l) / Math.abs(l))).toExponential(2)}, weights rel L2 ${rel.toExponential(2)} (moved ${moved.toExponential(2)}), tfjs backend ${backend}`);

        // A torch-saved model loads in the TypeScript engine with the same logits.
        const cfg = tfModel.config;
        const back = classifierFromTensors(cfg, readSafetensors(saved).tensors, saved).model;
        const logitsTorch = await torch.logits('test', 8);
        const tsLogits: number[][] = [];
        for (let i = 0; i < 16; i += 8) {
          const b = makeBatch(data.test.inputIds.slice(i, i + 8), 0);
          tsLogits.push(...(back.apply(b, false).arraySync() as number[][]));
        }
        let maxAbs = 0;
        tsLogits.forEach((row, i) => row.forEach((v, j) => { maxAbs = Math.max(maxAbs, Math.abs(v - logitsTorch[i][j])); }));
        assert.ok(maxAbs < 1e-5, `logits of the torch-saved model in TypeScript vs torch: max abs ${maxAbs}`);
        const ev = await evaluate(back, data.test, 0, 8);
        const tv = await torch.evaluate('test', 8);
        assert.deepEqual(ev.predictions, tv.predictions);
        back.dispose();
      } finally {
        tfe.dispose();
        tfModel.dispose();
        await torch.dispose();
        rmSync(work, { recursive: true, force: true });
      }
    });
}

const tinyDistil = shared('models', 'distilbert-tiny-random');

test('out of memory in the Python process becomes OutOfMemoryError(batch, batch/2); the process stays usable', { skip: (noTorch && !required ? noTorch : false) || tinyDistil.skip, timeout: 120_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'torch-oom-'));
  const m = loadTiny('distilbert-tiny-random');
  const data: TrainData = { train: split(32, 1, m.config.vocabSize), val: split(8, 2, m.config.vocabSize), test: split(8, 3, m.config.vocabSize), padId: 0 };
  const torch = await startTorch(m, work, data, { BERT_LAB_TORCH_INJECT_OOM: '2' });
  try {
    const err = await torch.trainEpoch(Array.from({ length: 32 }, (_, i) => i), { epoch: 1, batchSize: 8, learningRate: 1e-3, seed: 1 }).catch((e: unknown) => e);
    assert.ok(err instanceof OutOfMemoryError, String(err));
    assert.deepEqual([err.batchSize, err.nextBatchSize], [8, 4]);
    assert.match(err.reason, /CUDA out of memory/);
    const ev = await torch.evaluate('val', 4);
    assert.equal(ev.predictions.length, 8);
  } finally {
    m.dispose();
    await torch.dispose();
    rmSync(work, { recursive: true, force: true });
  }
});

test('cancel stops an epoch within a second; closing stdin ends the process', { skip: (noTorch && !required ? noTorch : false) || tinyDistil.skip, timeout: 120_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'torch-cancel-'));
  const m = loadTiny('distilbert-tiny-random');
  const big = split(4000, 5, m.config.vocabSize);
  const data: TrainData = { train: big, val: split(8, 2, m.config.vocabSize), test: split(8, 3, m.config.vocabSize), padId: 0 };
  const torch = await startTorch(m, work, data);
  try {
    const ac = new AbortController();
    let abortedAt = 0;
    const p = torch.trainEpoch(Array.from({ length: 4000 }, (_, i) => i), {
      epoch: 1, batchSize: 8, learningRate: 1e-3, seed: 1, signal: ac.signal,
      onStep: () => { if (!abortedAt) { abortedAt = performance.now(); ac.abort(); } },
    });
    await assert.rejects(p, CancelledError);
    const ms = performance.now() - abortedAt;
    assert.ok(abortedAt > 0 && ms < 1000, `stopped ${ms.toFixed(0)} ms after the cancel`);
  } finally {
    m.dispose();
    const t0 = performance.now();
    await torch.dispose();
    assert.ok(performance.now() - t0 < 1500, 'closing stdin ends the process');
    rmSync(work, { recursive: true, force: true });
  }
});

test('killing the parent (the worker) kills Python too', { skip: noTorch && !required ? noTorch : false, timeout: 60_000 }, async () => {
  // A parent that starts the Python process and waits; we SIGKILL it and watch the Python pid.
  const dir = mkdtempSync(join(tmpdir(), 'torch-orphan-'));
  const script = join(dir, 'parent.ts');
  writeFileSync(script, `import { TorchProcess } from ${JSON.stringify(join(__dirname, 'engine'))};\nconst p = new TorchProcess(${JSON.stringify(PY)});\nconsole.log(p.pid);\nsetInterval(() => {}, 1000);\n`);
  const parent = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((resolve) => parent.stdout.once('data', (b: Buffer) => resolve(Number(b.toString().trim()))));
  const alive = (p: number) => { try { process.kill(p, 0); return true; } catch { return false; } };
  await new Promise((r) => setTimeout(r, 1500)); // Python is up and reading stdin
  assert.ok(alive(pid), 'python started');
  parent.kill('SIGKILL');
  const t0 = Date.now();
  while (alive(pid) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 100));
  // A zombie (exited, not yet reaped by init) counts as gone.
  const state = alive(pid) ? readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] : 'gone';
  assert.ok(state === 'gone' || state === 'Z', `python ${pid} still running (${state}) after its parent was killed`);
  rmSync(dir, { recursive: true, force: true });
});

void tf;
