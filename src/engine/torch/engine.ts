// The PyTorch engine: a Python compute process (python/bert_lab_torch) driven over stdin/stdout JSON
// lines, spawned WITHOUT a shell. Whole epochs run in Python in the order fit() gives; token ids go
// over once per split as a binary file. The process exits when its stdin closes, so it dies with the
// worker; cancel stops it between steps and kills it if it does not answer within 500 ms.
//
// Same experiment, different random streams: the order of the examples, the batches, the initial
// weights (written by TypeScript), Adam and the loss are the same on both engines, so with dropout off
// the two agree step by step (engine.test.ts: 20 steps, 1e-4). With dropout on the MASKS differ:
// TensorFlow.js draws them per step from mixSeed(seed, epoch, step) with its own generator, torch
// seeds its generator once per epoch with mixSeed(seed, epoch) and draws every mask from it in call
// order. Each engine is reproducible on its own (same seed, same device and batch: same masks; CUDA
// kernels may add nondeterminism in the last bits); across engines runs agree in distribution only.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { EngineInfo } from '../../protocol';
import type { SequenceClassifier } from '../api';
import { exportTensors } from '../checkpoint';
import { writeSafetensors } from '../safetensors';
import type { ModelConfig } from '../config';
import { CancelledError, OutOfMemoryError, asTrainingOom, type ComputeEngine, type StepReport, type TrainData } from '../train';
import { TERMINAL, type TorchCommand, type TorchDevice, type TorchEvent, wireConfig } from './protocol';
import { pythonPackageDir } from './python';
import { mixSeed } from '../seed';

/** int32 little-endian: n, labels[n], offsets[n+1], tokens (python/bert_lab_torch/train.py read_split). */
export function encodeSplit(split: { inputIds: number[][]; labels: number[] }): Buffer {
  const n = split.labels.length;
  let total = 0;
  for (const s of split.inputIds) total += s.length;
  const a = new Int32Array(1 + n + n + 1 + total);
  a[0] = n;
  a.set(split.labels, 1);
  let off = 0, p = 2 + 2 * n;
  for (let i = 0; i < n; i++) {
    a[1 + n + i] = off;
    a.set(split.inputIds[i], p);
    p += split.inputIds[i].length;
    off += split.inputIds[i].length;
  }
  a[1 + 2 * n] = off;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength); // little-endian on every platform Node runs on
}

export class TorchError extends Error {
  constructor(message: string, readonly oom: boolean) {
    super(message);
    this.name = 'TorchError';
  }
}

/** One Python compute process: commands in, events out, one command at a time. */
export class TorchProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private waiting?: { onEvent: (e: TorchEvent) => void; resolve: (e: TorchEvent) => void; reject: (err: Error) => void };
  private stderrTail: string[] = [];
  private exited?: string;

  constructor(readonly python: string, env: NodeJS.ProcessEnv = {}) {
    const pkg = pythonPackageDir();
    this.child = spawn(python, ['-u', '-m', 'bert_lab_torch'], {
      cwd: pkg, env: { ...process.env, PYTHONPATH: pkg, PYTHONUNBUFFERED: '1', ...env }, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true,
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => this.onLine(line));
    createInterface({ input: this.child.stderr }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > 20) this.stderrTail.shift();
    });
    const gone = (why: string) => {
      this.exited ??= why;
      const w = this.waiting;
      this.waiting = undefined;
      w?.reject(new TorchError(`the PyTorch process ${why}${this.lastError() ? `: ${this.lastError()}` : ''}`, /out of memory/i.test(this.stderrTail.join('\n'))));
    };
    this.child.on('error', (e) => gone(`could not start (${(e as NodeJS.ErrnoException).code === 'ENOENT' ? `${python} not found` : e.message})`));
    this.child.on('exit', (code, signal) => gone(signal ? `was killed (${signal})` : `exited with code ${code}`));
    this.child.stdin.on('error', () => { /* the exit handler reports it */ });
  }

  get pid(): number | undefined { return this.child.pid; }

  private lastError(): string {
    const tb = this.stderrTail.filter((l) => l.trim()).pop();
    return tb ? tb.trim() : '';
  }

  private onLine(line: string): void {
    let e: TorchEvent;
    try { e = JSON.parse(line) as TorchEvent; } catch { return; }
    const w = this.waiting;
    if (!w) return;
    if (TERMINAL.has(e.event)) {
      this.waiting = undefined;
      if (e.event === 'error') w.reject(e.cancelled ? new CancelledError() : new TorchError(e.message, e.oom));
      else w.resolve(e);
    } else w.onEvent(e);
  }

  /** Sends a command; resolves with its terminal event, passing progress events to `onEvent`. */
  request(cmd: TorchCommand, onEvent: (e: TorchEvent) => void = () => {}, signal?: AbortSignal): Promise<TorchEvent> {
    if (this.exited) return Promise.reject(new TorchError(`the PyTorch process ${this.exited}`, false));
    if (this.waiting) return Promise.reject(new Error('PyTorch process: a command is already running'));
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        this.send({ cmd: 'cancel' });
        // Between steps Python answers within a step; a long step (or a hung device) is killed.
        timer = setTimeout(() => this.kill(), 500);
      };
      const done = () => { signal?.removeEventListener('abort', onAbort); if (timer) clearTimeout(timer); };
      this.waiting = {
        onEvent,
        resolve: (e) => { done(); resolve(e); },
        reject: (err) => { done(); reject(signal?.aborted ? new CancelledError() : err); },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.send(cmd);
      if (signal?.aborted) onAbort();
    });
  }

  private send(cmd: TorchCommand): void {
    if (!this.exited) this.child.stdin.write(`${JSON.stringify(cmd)}\n`);
  }

  /** Ends the process: closing stdin makes it exit; SIGKILL if it is still there after `graceMs`. */
  close(graceMs = 1000): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => this.kill(), graceMs);
      this.child.once('exit', () => { clearTimeout(t); resolve(); });
      this.child.stdin.end();
    });
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

export interface TorchEngineOptions {
  python: string;
  device: TorchDevice;
  /** 'auto' | 'fp32' | 'mixed_float16' | 'bf16' */
  precision: string;
  config: ModelConfig;
  /** model.safetensors with every parameter under its Hugging Face name (the initial weights). */
  weights: string;
  /** Token ids of the splits (written once to `workDir`). */
  data?: TrainData;
  /** A folder for the split files (removed by dispose). */
  workDir: string;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

/** The PyTorch ComputeEngine. start() loads the model and ships the splits. */
export class TorchEngine implements ComputeEngine {
  private constructor(readonly proc: TorchProcess, readonly info: EngineInfo, private readonly workDir: string) {}

  static async start(o: TorchEngineOptions): Promise<TorchEngine> {
    // Python runs in its package folder: every path it gets is absolute.
    o = { ...o, weights: resolve(o.weights), workDir: resolve(o.workDir) };
    mkdirSync(o.workDir, { recursive: true });
    const proc = new TorchProcess(o.python, o.env);
    try {
      const loaded = await proc.request({ cmd: 'load', config: wireConfig(o.config), weights: o.weights, device: o.device, precision: o.precision }, undefined, o.signal);
      if (loaded.event !== 'loaded') throw new Error('PyTorch process: unexpected answer to load');
      const backend = loaded.device === 'cuda' ? 'torch-cuda' : loaded.device === 'mps' ? 'torch-mps' : 'torch-cpu';
      const info: EngineInfo = {
        backend, engine: 'pytorch', precision: loaded.precision, device: loaded.deviceName, threads: loaded.threads, reason: '',
        versions: { torch: loaded.torch, python: o.python, node: process.versions.node },
      };
      const engine = new TorchEngine(proc, info, o.workDir);
      if (o.data) for (const split of ['train', 'val', 'test'] as const) await engine.setSplit(split, o.data[split], o.signal);
      return engine;
    } catch (e) {
      await proc.close();
      throw e;
    }
  }

  async setSplit(split: 'train' | 'val' | 'test', s: { inputIds: number[][]; labels: number[] }, signal?: AbortSignal): Promise<void> {
    const file = join(this.workDir, `${split}.ids`);
    writeFileSync(file, encodeSplit(s));
    await this.proc.request({ cmd: 'data', split, file }, undefined, signal);
  }

  async trainEpoch(order: number[], o: { epoch: number; batchSize: number; learningRate: number; seed: number; signal?: AbortSignal; onStep?: (r: StepReport) => void }) {
    if (o.signal?.aborted) throw new CancelledError();
    // Dropout masks: torch's generator seeded per epoch from the same seed hashing as the order.
    try {
      const done = await this.proc.request({ cmd: 'trainEpoch', split: 'train', order, batchSize: o.batchSize, seed: mixSeed(o.seed, o.epoch), lr: o.learningRate },
        (e) => { if (e.event === 'step') o.onStep?.({ step: e.step, steps: e.steps, lossSum: e.lossSum, correct: e.correct, seen: e.seen }); }, o.signal);
      if (done.event !== 'epochDone') throw new Error('PyTorch process: unexpected answer to trainEpoch');
      return { lossSum: done.lossSum, correct: done.correct, seen: done.seen };
    } catch (e) {
      if (e instanceof TorchError && e.oom) {
        if (o.batchSize > 1) throw new OutOfMemoryError(o.batchSize, Math.floor(o.batchSize / 2), e.message);
      }
      throw asTrainingOom(e, o.batchSize);
    }
  }

  async evaluate(split: 'val' | 'test', batchSize: number, o: { signal?: AbortSignal; onBatch?: (done: number, total: number) => void } = {}) {
    if (o.signal?.aborted) throw new CancelledError();
    try {
      const r = await this.proc.request({ cmd: 'evaluate', split, batchSize }, (e) => { if (e.event === 'evalStep') o.onBatch?.(e.step, e.steps); }, o.signal);
      if (r.event !== 'evaluated') throw new Error('PyTorch process: unexpected answer to evaluate');
      return { lossSum: r.lossSum, predictions: r.predictions };
    } catch (e) {
      // Never an OutOfMemoryError: halving the training batch does not help an evaluation.
      if (e instanceof TorchError && e.oom) throw new Error(`out of memory while evaluating at batch size ${batchSize}: ${e.message}`);
      throw e;
    }
  }

  /** The logits of a split (float32, split order): for checks across engines. */
  async logits(split: 'val' | 'test', batchSize: number): Promise<number[][]> {
    const r = await this.proc.request({ cmd: 'evaluate', split, batchSize, logits: true });
    if (r.event !== 'evaluated' || !r.logits) throw new Error('PyTorch process: unexpected answer to evaluate');
    return r.logits;
  }

  async keepBest() { await this.proc.request({ cmd: 'keepBest' }); }
  async restoreBest() { await this.proc.request({ cmd: 'restoreBest' }); return true; }

  /** Writes the current weights (float32, Hugging Face names, metadata {"format":"pt"}) to `file`. */
  async saveWeights(file: string): Promise<void> { await this.proc.request({ cmd: 'save', file }); }

  async dispose(): Promise<void> {
    await this.proc.close();
    rmSync(this.workDir, { recursive: true, force: true });
  }
}

/**
 * The worker's way in: writes the TensorFlow.js model's initial weights (every parameter, Hugging Face
 * names) into `workDir` and starts the Python process on them.
 */
export async function startTorchFromModel(o: { python: string; device: TorchDevice; precision: string; model: SequenceClassifier; workDir: string; signal?: AbortSignal; env?: NodeJS.ProcessEnv }):
  Promise<{ engine: TorchEngine; info: EngineInfo; config: ModelConfig }> {
  mkdirSync(o.workDir, { recursive: true });
  const weights = join(o.workDir, 'init.safetensors');
  writeSafetensors(weights, await exportTensors(o.model), { format: 'pt' });
  const engine = await TorchEngine.start({ python: o.python, device: o.device, precision: o.precision, config: o.model.config, weights, workDir: o.workDir, signal: o.signal, env: o.env });
  rmSync(weights, { force: true });
  return { engine, info: engine.info, config: o.model.config };
}
