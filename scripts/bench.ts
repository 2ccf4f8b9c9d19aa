// `npm run bench`: training throughput of the engine on every backend that works here.
//
// For each backend, model and MAX_LEN it times forward + backward + Adam steps at batch 8 on
// random weights and random full-length sequences, and prints examples/s, achieved GFLOP/s and the
// peak RSS of the process that ran the row (each row runs in its own child process).
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
// Usage: node dist/bench.js [--backends wasm,cpu] [--steps 3] [--max-minutes 8] [--quick]
//                           [--batch 8] [--models distilbert-tiny,distilbert-768] [--lengths 128,512]
// (the 768 model runs 1 warm-up + 1 timed step; a 512 row predicted from the 128 row to exceed
// --max-minutes is skipped with the prediction printed)
import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import type { BackendName } from '../src/experiments/protocol';
import { initBackend } from '../src/engine/backend';
import { randomClassifier } from '../src/engine/checkpoint';
import { type ModelConfig, makeConfig } from '../src/engine/config';
import { crossEntropy } from '../src/engine/layers';

let BATCH = 8; // --batch

const MODELS: Record<string, ModelConfig> = {
  // distilbert-base-uncased's shape.
  'distilbert-768': makeConfig('distilbert', { vocabSize: 30522, hiddenSize: 768, numLayers: 6, numHeads: 12, intermediateSize: 3072, maxPositions: 512, hiddenDropout: 0.1, attentionDropout: 0.1, classifierDropout: 0.2 }),
  // ../shared/models/distilbert-tiny-random's shape.
  'distilbert-tiny': makeConfig('distilbert', { vocabSize: 30522, hiddenSize: 128, numLayers: 2, numHeads: 2, intermediateSize: 512, maxPositions: 512, hiddenDropout: 0.1, attentionDropout: 0.1, classifierDropout: 0.2 }),
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

/**
 * Keras 3's Adam update (the formula of train.ts's KerasAdam), with one tf.tidy PER VARIABLE:
 * train.ts's KerasAdam keeps every variable's temporaries alive until the end of one tidy over all
 * of them (about 9 x the model size, 2.4 GB for distilbert-base), which aborts WASM (4 GB heap).
 * Switch back to KerasAdam once it tidies per variable.
 */
class LeanAdam {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private t = 0;
  constructor(private readonly vars: ReadonlyMap<string, tf.Variable>, private readonly lr: number, private readonly b1 = 0.9, private readonly b2 = 0.999, private readonly eps = 1e-7) {
    for (const [name, x] of vars) {
      this.m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
      this.v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
    }
  }
  apply(grads: Record<string, tf.Tensor>): void {
    this.t++;
    const alpha = (this.lr * Math.sqrt(1 - this.b2 ** this.t)) / (1 - this.b1 ** this.t);
    for (const [name, x] of this.vars) {
      const g = grads[name];
      if (!g) continue;
      tf.tidy(() => {
        const m = this.m.get(name)!, v = this.v.get(name)!;
        m.assign(tf.add(m, tf.mul(tf.sub(g, m), 1 - this.b1)));
        v.assign(tf.add(v, tf.mul(tf.sub(tf.square(g), v), 1 - this.b2)));
        x.assign(tf.sub(x, tf.div(tf.mul(m, alpha), tf.add(tf.sqrt(v), this.eps))));
      });
    }
  }
  dispose(): void { for (const x of [...this.m.values(), ...this.v.values()]) x.dispose(); }
}

interface Row { backend: string; model: string; maxLen: number; steps: number; secondsPerStep: number; examplesPerSecond: number; gflops: number; peakRssMiB: number; device: string; note?: string }

/** Child: one (backend, model, length) row, printed as one JSON line. */
async function runRow(backend: BackendName, modelName: string, maxLen: number, steps: number): Promise<Row> {
  const engine = await initBackend(backend);
  const config = MODELS[modelName];
  const model = randomClassifier(config, 0);
  const optimizer = new LeanAdam(model.variables, 2e-5);
  const byTfName = new Map([...model.variables].map(([name, v]) => [v.name, name]));
  const ids = tf.randomUniform([BATCH, maxLen], 1000, 30000, 'int32', 1) as tf.Tensor2D;
  const batch = { inputIds: ids, attentionMask: tf.onesLike(ids) as tf.Tensor2D };
  const labels = tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i % 2), 'int32');
  const step = (seed: number) => {
    const { value, grads } = tf.variableGrads(() => crossEntropy(model.apply(batch, true, seed), labels));
    const byName: Record<string, tf.Tensor> = {};
    for (const [k, g] of Object.entries(grads)) byName[byTfName.get(k)!] = g;
    tf.dispose([value]);
    optimizer.apply(byName);
    tf.dispose(Object.values(grads));
    model.variables.get('classifier.bias')!.dataSync(); // the last update: waits for an asynchronous (GPU) backend
  };
  step(0); // warm-up: kernel setup, moment variables, heap growth
  const t0 = performance.now();
  for (let s = 1; s <= steps; s++) step(s);
  const secondsPerStep = (performance.now() - t0) / 1000 / steps;
  const row: Row = {
    backend, model: modelName, maxLen, steps, secondsPerStep,
    examplesPerSecond: BATCH / secondsPerStep,
    gflops: stepFlops(config, BATCH, maxLen) / secondsPerStep / 1e9,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    device: engine.device,
  };
  tf.dispose([ids, batch.attentionMask, labels]);
  optimizer.dispose();
  model.dispose();
  return row;
}

function fmt(r: Row): string {
  return `${r.backend.padEnd(8)} ${r.model.padEnd(16)} ${String(r.maxLen).padStart(7)} ${r.secondsPerStep.toFixed(2).padStart(9)} ${r.examplesPerSecond.toFixed(2).padStart(11)} ${r.gflops.toFixed(2).padStart(8)} ${r.peakRssMiB.toFixed(0).padStart(13)}`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      row: { type: 'string' }, // internal: "backend,model,maxLen,steps"
      backends: { type: 'string' },
      steps: { type: 'string', default: '3' },
      quick: { type: 'boolean', default: false },
      'max-minutes': { type: 'string', default: '8' },
      batch: { type: 'string', default: '8' },
      models: { type: 'string', default: 'distilbert-tiny,distilbert-768' },
      lengths: { type: 'string', default: '128,512' },
    },
  });
  BATCH = Number(values.batch);
  if (values.row) {
    const [backend, model, len, steps] = values.row.split(',');
    console.log(JSON.stringify(await runRow(backend as BackendName, model, Number(len), Number(steps))));
    return 0;
  }

  // Which backends work here (auto's order).
  const candidates: BackendName[] = values.backends ? (values.backends.split(',') as BackendName[]) : ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
  const working: BackendName[] = [];
  for (const b of candidates) {
    try {
      const info = await initBackend(b);
      working.push(b);
      console.log(`backend ${b}: ${info.device}; versions ${JSON.stringify(info.versions)}`);
    } catch (e) {
      console.log(`backend ${b}: skipped (${(e as Error).message})`);
    }
  }
  const steps = Number(values.steps);
  console.log(`\nbatch ${BATCH}, 1 warm-up + ${steps} timed steps of forward + backward + Adam; GFLOP/s counts matmul FLOPs (see the formula in scripts/bench.ts)`);
  console.log(`${'backend'.padEnd(8)} ${'model'.padEnd(16)} ${'MAX_LEN'.padStart(7)} ${'s/step'.padStart(9)} ${'examples/s'.padStart(11)} ${'GFLOP/s'.padStart(8)} ${'peak RSS MiB'.padStart(13)}`);
  const budget = Number(values['max-minutes']);
  for (const backend of working) {
    let gflops768: number | undefined; // measured speed of the 768 model at 128, to predict 512
    let gflopsTiny: number | undefined; // best measured speed of the tiny model, to predict the 768 model at 128
    for (const model of values.models!.split(',')) {
      if (!MODELS[model]) throw new Error(`unknown model "${model}" (one of ${Object.keys(MODELS).join(', ')})`);
      if (values.quick && model === 'distilbert-768') continue;
      for (const maxLen of values.lengths!.split(',').map(Number)) {
        const flops = stepFlops(MODELS[model], BATCH, maxLen);
        const label = `${backend.padEnd(8)} ${model.padEnd(16)} ${String(maxLen).padStart(7)}`;
        // Rows whose predicted time (warm-up + timed steps) exceeds the budget are skipped, saying so:
        // the plain-JS backend runs the 768 model at well under 1 GFLOP/s, and a 512-token step is 1.16 TFLOP.
        const guess = model === 'distilbert-768' ? (maxLen === 512 ? gflops768 : gflopsTiny) : undefined;
        const rowSteps = model === 'distilbert-768' ? 1 : steps;
        if (guess !== undefined) {
          const minutes = ((rowSteps + 1) * flops) / (guess * 1e9) / 60;
          if (minutes > budget) {
            console.log(`${label}   skipped: ${(flops / 1e12).toFixed(2)} TFLOP per step at the ${guess.toFixed(2)} GFLOP/s measured ${maxLen === 512 ? 'at 128' : 'on the tiny model'} would take ~${minutes.toFixed(0)} min (> --max-minutes ${budget})`);
            continue;
          }
        }
        const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1], '--row', `${backend},${model},${maxLen},${rowSteps}`, '--batch', String(BATCH)], { encoding: 'utf8', maxBuffer: 1 << 24 });
        const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
        if (r.status !== 0 || !line) {
          const why = (r.stderr || r.stdout).split('\n').filter((l) => /error|memory|abort/i.test(l))[0] ?? `exit ${r.status ?? r.signal}`;
          console.log(`${label}   failed: ${why.trim().slice(0, 160)}`);
          continue;
        }
        const row = JSON.parse(line) as Row;
        if (model === 'distilbert-768' && maxLen === 128) gflops768 = row.gflops;
        if (model === 'distilbert-tiny') gflopsTiny = Math.max(gflopsTiny ?? 0, row.gflops);
        console.log(fmt(row) + (rowSteps !== steps ? `   (${rowSteps} timed step)` : ''));
      }
    }
  }
  return 0;
}

main().then((code) => { process.exitCode = code; }, (e) => { console.error(`bench: ${(e as Error).message}`); process.exitCode = 1; });
