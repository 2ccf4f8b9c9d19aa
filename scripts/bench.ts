// `npm run bench`: training throughput of the engine on every backend that works here.
//
// For each backend, model and MAX_LEN it times training steps at batch 8 on random weights and random
// full-length sequences: src/engine/step.ts `lossAndGradients` (forward + backward, accumulated over
// micro-batches sized automatically from the WASM heap) + src/engine/adam.ts `KerasAdam`, as training
// runs them. It prints examples/s, achieved GFLOP/s, the micro-batch used, the peak RSS of the process
// that ran the row (each row runs in its own child process) and, on WASM, the size of the WASM heap.
//
// FLOPs are counted analytically (multiply-add = 2 FLOPs), per step, for batch B, length T,
// hidden H, layers L, intermediate I, labels C, P parameters:
//   forward  = L · (8·B·T·H²  [q, k, v, out projections]
//                 + 4·B·T²·H  [q·kᵀ and probs·v]
//                 + 4·B·T·H·I [the two feed-forward layers])
//            + 2·B·H² + 2·B·H·C [classifier head]
//   backward = 2 · forward (gradients w.r.t. both the inputs and the weights of every matmul)
//   Adam     = 10·P (moments, bias-corrected step)
// Elementwise ops (GELU, LayerNorm, softmax) are left out, as is customary, so GFLOP/s is the
// useful matmul throughput.
//
// PyTorch rows (backends torch-cpu, torch-cuda, torch-mps) run python/bert_lab_torch/bench.py: the
// engine's model + KerasAdam + Engine.train_epoch, as a run executes them. torch-reference runs a few
// lines of plain PyTorch on the same shapes (nn.TransformerEncoder + torch.optim.Adam, CPU) to compare.
//
// Usage: node dist/bench.js [--backends wasm,cpu,torch-cpu,torch-reference] [--steps 2] [--max-minutes 4] [--total-minutes 10]
//                           [--quick] [--batch 8] [--models tiny,distilbert-768] [--lengths 128,512] [--json] [--python <path>]
// --json: one JSON object per row on stdout (backend, device, model, maxLen, batch, examplesPerSecond,
// gflops, peakRssMiB, ...); everything else goes to stderr.
// (the 768 model runs 1 timed step without warm-up: at a few GFLOP/s a step takes minutes, so set-up
// costs are noise; a row predicted to take more than --max-minutes, or to end after --total-minutes of
// the whole bench, is skipped with the prediction printed)
import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { BackendName } from '../src/protocol';
import { initBackend } from '../src/engine/backend';
import { randomClassifier } from '../src/engine/checkpoint';
import { type ModelConfig, makeConfig } from '../src/engine/config';
import { KerasAdam } from '../src/engine/adam';
import { lossAndGradients } from '../src/engine/step';
import { findTorch, pythonPackageDir } from '../src/engine/torch/python';

const TORCH_ROWS: Record<string, { device: string; impl: 'engine' | 'reference' }> = {
  'torch-cpu': { device: 'cpu', impl: 'engine' }, 'torch-cuda': { device: 'cuda', impl: 'engine' },
  'torch-mps': { device: 'mps', impl: 'engine' }, 'torch-reference': { device: 'cpu', impl: 'reference' },
};
let PYTHON: string | undefined; // --python

let BATCH = 8; // --batch

const MODELS: Record<string, ModelConfig> = {
  // distilbert-base-uncased's shape.
  'distilbert-768': makeConfig('distilbert', { vocabSize: 30522, hiddenSize: 768, numLayers: 6, numHeads: 12, intermediateSize: 3072, maxPositions: 512, hiddenDropout: 0.1, attentionDropout: 0.1, classifierDropout: 0.2 }),
  // ../shared/models/distilbert-tiny-random's shape.
  tiny: makeConfig('distilbert', { vocabSize: 30522, hiddenSize: 128, numLayers: 2, numHeads: 2, intermediateSize: 512, maxPositions: 512, hiddenDropout: 0.1, attentionDropout: 0.1, classifierDropout: 0.2 }),
};

export function stepFlops(c: ModelConfig, b: number, t: number): number {
  const { hiddenSize: h, numLayers: l, intermediateSize: i, numLabels: labels } = c;
  const forward = l * (8 * b * t * h * h + 4 * b * t * t * h + 4 * b * t * h * i) + 2 * b * h * h + 2 * b * h * labels;
  let params = 0;
  params += c.vocabSize * h + c.maxPositions * h + 2 * h; // embeddings
  params += l * (4 * (h * h + h) + 2 * h * i + i + h + 4 * h); // layers
  params += h * h + h + labels * h + labels; // head
  return 3 * forward + 10 * params;
}

interface Row { backend: string; batch: number; model: string; maxLen: number; steps: number; warmup: number; microBatch: number; secondsPerStep: number; examplesPerSecond: number; gflops: number; peakRssMiB: number; wasmHeapMiB?: number; device: string }

/** Child: one (backend, model, length) row, printed as one JSON line. */
async function runRow(backend: BackendName, modelName: string, maxLen: number, steps: number, warmup: number): Promise<Row> {
  const torchRow = TORCH_ROWS[backend];
  if (torchRow) {
    const probe = await findTorch(PYTHON);
    const pkg = pythonPackageDir();
    const r = spawnSync(probe.python, ['-m', 'bert_lab_torch.bench', '--model', modelName, '--max-len', String(maxLen), '--batch', String(BATCH),
      '--steps', String(steps), '--warmup', String(warmup), '--device', torchRow.device, '--impl', torchRow.impl,
      '--precision', torchRow.device === 'cuda' ? 'mixed_float16' : 'fp32'], { cwd: pkg, env: { ...process.env, PYTHONPATH: pkg }, encoding: 'utf8', maxBuffer: 1 << 24 });
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    if (r.status !== 0 || !line) throw new Error((r.stderr || r.stdout).trim().split('\n').pop() ?? `exit ${r.status}`);
    const j = JSON.parse(line) as { secondsPerStep: number; examplesPerSecond: number; gflops: number; peakRssMiB: number; device: string; torch: string; precision: string };
    return { backend, batch: BATCH, model: modelName, maxLen, steps, warmup, microBatch: BATCH, secondsPerStep: j.secondsPerStep, examplesPerSecond: j.examplesPerSecond,
      gflops: j.gflops, peakRssMiB: j.peakRssMiB, device: `${j.device}, torch ${j.torch}, ${j.precision}` };
  }
  const engine = await initBackend(backend);
  const config = MODELS[modelName];
  const model = randomClassifier(config, 0);
  const optimizer = new KerasAdam(model.variables, 2e-5);
  const ids = tf.randomUniform([BATCH, maxLen], 1000, 30000, 'int32', 1) as tf.Tensor2D;
  const batch = { inputIds: ids, attentionMask: tf.onesLike(ids) as tf.Tensor2D };
  const labels = tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i % 2), 'int32');
  let microBatch = BATCH;
  const step = (seed: number) => {
    const r = lossAndGradients(model, batch, labels, { training: true, seed });
    microBatch = r.microBatch;
    optimizer.apply(r.grads);
    for (const g of r.grads.values()) g.dispose();
    model.variables.get('classifier.bias')!.dataSync(); // the last update: waits for an asynchronous (GPU) backend
  };
  for (let s = 0; s < warmup; s++) step(1000 + s); // kernel setup, moment variables, heap growth
  const t0 = performance.now();
  for (let s = 1; s <= steps; s++) step(s);
  const secondsPerStep = (performance.now() - t0) / 1000 / steps;
  const heap = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.byteLength;
  const row: Row = {
    backend, batch: BATCH, model: modelName, maxLen, steps, warmup, microBatch, secondsPerStep,
    examplesPerSecond: BATCH / secondsPerStep,
    gflops: stepFlops(config, BATCH, maxLen) / secondsPerStep / 1e9,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    wasmHeapMiB: heap === undefined ? undefined : heap / 2 ** 20,
    device: engine.device,
  };
  tf.dispose([ids, batch.attentionMask, labels]);
  optimizer.dispose();
  model.dispose();
  return row;
}

function fmt(r: Row): string {
  return `${r.backend.padEnd(15)} ${r.model.padEnd(16)} ${String(r.maxLen).padStart(7)} ${String(r.microBatch).padStart(5)} ${r.secondsPerStep.toFixed(2).padStart(9)} ${r.examplesPerSecond.toFixed(2).padStart(11)} ${r.gflops.toFixed(2).padStart(8)} ${r.peakRssMiB.toFixed(0).padStart(13)} ${(r.wasmHeapMiB === undefined ? '-' : r.wasmHeapMiB.toFixed(0)).padStart(9)}   ${r.warmup}+${r.steps}`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      row: { type: 'string' }, // internal: "backend,model,maxLen,steps"
      backends: { type: 'string' },
      steps: { type: 'string', default: '2' },
      quick: { type: 'boolean', default: false },
      'max-minutes': { type: 'string', default: '4' },
      'total-minutes': { type: 'string', default: '10' },
      batch: { type: 'string', default: '8' },
      models: { type: 'string', default: 'tiny,distilbert-768' },
      lengths: { type: 'string', default: '128,512' },
      json: { type: 'boolean', default: false },
      python: { type: 'string' },
    },
  });
  BATCH = Number(values.batch);
  PYTHON = values.python;
  // --json: stdout carries only the rows; the rest of the report goes to stderr.
  const say = values.json ? (s: string) => console.error(s) : (s: string) => console.log(s);
  const models = values.models!.split(',').map((m) => (m === 'distilbert-tiny' ? 'tiny' : m));
  if (values.row) {
    const [backend, model, len, steps, warmup] = values.row.split(',');
    console.log(JSON.stringify(await runRow(backend as BackendName, model, Number(len), Number(steps), Number(warmup))));
    return 0;
  }

  // Which backends work here (auto's order).
  const candidates = values.backends ? values.backends.split(',') : ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu', 'torch-cuda', 'torch-mps', 'torch-cpu', 'torch-reference'];
  const working: BackendName[] = [];
  for (const b of candidates) {
    try {
      if (TORCH_ROWS[b]) {
        const p = await findTorch(PYTHON);
        if (TORCH_ROWS[b].device === 'cuda' && !p.cuda) throw new Error(`torch ${p.torch} sees no CUDA GPU`);
        if (TORCH_ROWS[b].device === 'mps' && !p.mps) throw new Error(`torch ${p.torch} has no MPS device`);
        working.push(b as BackendName);
        say(`backend ${b}: torch ${p.torch} (${p.python})${TORCH_ROWS[b].impl === 'reference' ? ': plain-PyTorch reference (nn.TransformerEncoder + torch.optim.Adam)' : ''}`);
        continue;
      }
      const info = await initBackend(b as BackendName);
      working.push(b as BackendName);
      say(`backend ${b}: ${info.device}; versions ${JSON.stringify(info.versions)}`);
    } catch (e) {
      say(`backend ${b}: skipped (${(e as Error).message})`);
    }
  }
  const steps = Number(values.steps);
  say(`\n${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  say(`batch ${BATCH}: training steps (step.ts lossAndGradients with automatic micro-batches + adam.ts KerasAdam); GFLOP/s counts matmul FLOPs (see the formula in scripts/bench.ts)`);
  say(`${'backend'.padEnd(15)} ${'model'.padEnd(16)} ${'MAX_LEN'.padStart(7)} ${'micro'.padStart(5)} ${'s/step'.padStart(9)} ${'examples/s'.padStart(11)} ${'GFLOP/s'.padStart(8)} ${'peak RSS MiB'.padStart(13)} ${'heap MiB'.padStart(9)}   warm-up+timed`);
  const budget = Number(values['max-minutes']);
  const total = Number(values['total-minutes']);
  const started = performance.now();
  for (const backend of working) {
    // Measured GFLOP/s of this backend by model (the last length run), to predict the next rows.
    const speed = new Map<string, number>();
    for (const model of models) {
      if (!MODELS[model]) throw new Error(`unknown model "${model}" (one of ${Object.keys(MODELS).join(', ')})`);
      if (values.quick && model === 'distilbert-768') continue;
      for (const maxLen of values.lengths!.split(',').map(Number)) {
        const flops = stepFlops(MODELS[model], BATCH, maxLen);
        const label = `${backend.padEnd(15)} ${model.padEnd(16)} ${String(maxLen).padStart(7)}`;
        const big = model === 'distilbert-768';
        const rowSteps = big ? 1 : steps;
        // A torch step at this size takes seconds, not minutes: one warm-up step keeps set-up out of it.
        const rowWarmup = big && !TORCH_ROWS[backend] ? 0 : 1;
        // Rows whose predicted time (warm-up + timed steps) exceeds --max-minutes, or would end after
        // --total-minutes of the whole bench, are skipped, saying so: the plain-JS backend runs at well
        // under 1 GFLOP/s, and a 512-token step of the 768 model is 1.16 TFLOP. A row is predicted from
        // the same model's speed at the previous length, else from the tiny model's (without that
        // fallback the plain-CPU 768 row at 512 ran unpredicted for half an hour).
        const guess = speed.get(model) ?? speed.get('tiny');
        if (guess !== undefined) {
          const minutes = ((rowSteps + rowWarmup) * flops) / (guess * 1e9) / 60;
          const left = total - (performance.now() - started) / 60000;
          if (minutes > budget || minutes > left) {
            const from = speed.has(model) ? 'at the previous length' : 'on the tiny model';
            const limit = minutes > budget ? `--max-minutes ${budget}` : `the ${left.toFixed(1)} min left of --total-minutes ${total}`;
            say(`${label}   skipped: ${(flops / 1e12).toFixed(3)} TFLOP per step at the ${guess.toFixed(2)} GFLOP/s measured ${from} would take ~${minutes.toFixed(1)} min (> ${limit})`);
            continue;
          }
        }
        const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1], '--row', `${backend},${model},${maxLen},${rowSteps},${rowWarmup}`, '--batch', String(BATCH)], { encoding: 'utf8', maxBuffer: 1 << 24 });
        const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
        if (r.status !== 0 || !line) {
          const why = (r.stderr || r.stdout).split('\n').filter((l) => /error|memory|abort/i.test(l))[0] ?? `exit ${r.status ?? r.signal}`;
          say(`${label}   failed: ${why.trim().slice(0, 160)}`);
          continue;
        }
        // The 1-minute load average at the end of the row: on a shared machine the numbers mean little above ~cores.
        const row = { ...(JSON.parse(line) as Row), loadAverage: Number(loadavg()[0].toFixed(2)) };
        speed.set(model, row.gflops);
        if (values.json) console.log(JSON.stringify(row));
        else console.log(fmt(row));
      }
    }
  }
  say(`\nload average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; bench took ${((performance.now() - started) / 60000).toFixed(1)} min`);
  return 0;
}

main().then((code) => { process.exitCode = code; }, (e) => { console.error(`bench: ${(e as Error).message}`); process.exitCode = 1; });
