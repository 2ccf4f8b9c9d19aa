// One run inside the training child process: backend, data split, tokenizer, model, training,
// evaluation, optional save — reporting each stage as a FromWorker message. The engine and data
// functions are injected so that this can be tested without real models or data.
import { join } from 'node:path';
import type { SequenceClassifier, LoadReport } from '../engine/api';
import type { ModelConfig } from '../engine/config';
import { CancelledError, OutOfMemoryError, fit, type ComputeEngine, type TokenizedSplit } from '../engine/train';
import { TfjsEngine } from '../engine/tfjsEngine';
import type { EngineChoice } from '../engine/torch/select';
import type { TorchDevice } from '../engine/torch/protocol';
import { checkRunConfig } from '../protocol/runFields';
import type { BackendPreference, EngineInfo, FromWorker, RunConfig, SplitInfo } from '../protocol';

export interface TextSplit { texts: string[]; labels: number[] }

export interface WorkerDeps {
  initBackend(pref: BackendPreference): Promise<EngineInfo>;
  loadSplits(source: string, opts: { subsetFrac: number; seed: number; cacheDir?: string; onProgress?: (p: { file: string; loaded: number; total?: number }) => void }):
    Promise<{ train: TextSplit; val: TextSplit; test: TextSplit; info: SplitInfo }>;
  loadTokenizer(source: string, opts: { cacheDir?: string }): Promise<{ encode(texts: string[], maxLen: number): { inputIds: number[][] }; padId: number; dir?: string }>;
  loadClassifier(source: string, opts: { numLabels?: number; seed?: number; cacheDir?: string; onProgress?: (p: { file: string; loaded: number; total?: number }) => void }): Promise<{ model: SequenceClassifier; report: LoadReport; dir: string }>;
  saveClassifier(model: SequenceClassifier, dir: string, opts: { tokenizerDir?: string; labelNames?: string[] }): Promise<void>;
  /** Engine choice (TensorFlow.js or PyTorch); absent: TensorFlow.js via initBackend. */
  selectEngine?(pref: BackendPreference, python?: string): Promise<EngineChoice>;
  /**
   * Starts the PyTorch engine on the model's initial weights (the worker loads them with TensorFlow.js
   * on the CPU, so that the name mapping and the seeded head are the same for both engines).
   */
  startTorch?(o: { python: string; device: TorchDevice; precision: string; model: SequenceClassifier; workDir: string; signal: AbortSignal }):
    Promise<{ engine: ComputeEngine & { setSplit(split: 'train' | 'val' | 'test', s: TokenizedSplit, signal?: AbortSignal): Promise<void>; saveWeights(file: string): Promise<void> }; info: EngineInfo; config: ModelConfig }>;
  saveModelFolder?(dir: string, config: ModelConfig, writeWeights: (file: string) => Promise<void>, opts: { tokenizerDir?: string; labelNames?: string[] }): Promise<void>;
}


/**
 * The caps of --quick / limitTrain / limitEval: the first examples of a split in its (shuffled) order,
 * with each class keeping its share (so that a small cap of a balanced split stays balanced).
 */
export function capStratified(labels: number[], n: number): number[] {
  const counts = labelCounts(labels);
  const quota = counts.map((c) => Math.floor((c * n) / labels.length));
  // Hand the rounding remainder to the largest classes.
  let left = n - quota.reduce((a, b) => a + b, 0);
  for (const c of counts.map((_, i) => i).sort((a, b) => counts[b] - counts[a])) if (left > 0 && quota[c] < counts[c]) { quota[c]++; left--; }
  const taken = quota.map(() => 0);
  const keep: number[] = [];
  labels.forEach((l, i) => { if (taken[l] < quota[l]) { taken[l]++; keep.push(i); } });
  return keep;
}

function labelCounts(labels: number[], k = 2): number[] {
  const c = new Array<number>(k).fill(0);
  for (const l of labels) c[l] = (c[l] ?? 0) + 1;
  return c;
}

const tick = () => new Promise<void>((r) => setImmediate(r));

export async function runInWorker(
  start: { runId: string; runDir: string; config: RunConfig; batchSize?: number }, send: (m: FromWorker) => void, signal: AbortSignal, deps: WorkerDeps,
): Promise<void> {
  const { runId, runDir, config } = start;
  // After an out-of-memory restart the runner asks for a smaller batch than the config's (the requested one).
  const batchSize = start.batchSize ?? config.batchSize;
  let model: SequenceClassifier | undefined;
  let engineToDispose: ComputeEngine | undefined;
  // Until 'started' is sent, a failure is about the data, model, tokenizer or engine ('setup').
  let stage: 'setup' | 'run' = 'setup';
  const progress = (phase: 'load' | 'tokenize', step: number, steps: number) =>
    send({ type: 'progress', phase, epoch: 0, epochs: config.epochs, step, steps, loss: 0, accuracy: 0, examplesPerSecond: 0, etaSeconds: 0 });
  try {
    const bad = checkRunConfig(config);
    if (bad) throw new Error(`invalid run config: ${bad}`);
    if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= config.batchSize)) throw new Error(`invalid run config: batch size after out-of-memory must be an integer in [1, ${config.batchSize}], got ${batchSize}`);
    const pref = config.backend ?? 'auto';
    const choice: EngineChoice = deps.selectEngine ? await deps.selectEngine(pref, config.python) : { kind: 'tfjs', info: await deps.initBackend(pref) };
    // The PyTorch engine's initial weights are read (and a missing head seeded) by TensorFlow.js on the CPU.
    let engine: EngineInfo = choice.kind === 'tfjs' ? { engine: 'tensorflow.js', precision: 'fp32', ...choice.info } : await deps.initBackend('cpu');
    if (choice.kind === 'tfjs') send({ type: 'log', level: 'info', message: `engine: ${engine.backend} on ${engine.device} (${engine.reason})` });

    progress('load', 0, 3);
    // Downloads (first use of Hub data or models) and reads: a log line per file at most every 2 seconds.
    let lastLog = 0;
    const onDownload = (p: { file: string; loaded: number; total?: number; stage?: string }) => {
      const t = Date.now();
      if (t - lastLog < 2000 && p.loaded !== p.total) return;
      lastLog = t;
      send({ type: 'log', level: 'info', message: loadLine(p) });
    };
    const splits = await deps.loadSplits(config.data, { subsetFrac: config.subsetFrac, seed: config.seed, cacheDir: config.cacheDir, onProgress: onDownload });
    if (signal.aborted) throw new CancelledError();
    // K classes come from the data (absent in older loaders: IMDB's two).
    const labelNames = splits.info.labelNames?.length ? splits.info.labelNames : ['neg', 'pos'];
    const k = labelNames.length;
    const cap = (s: TextSplit, n?: number): TextSplit => {
      if (n === undefined || n >= s.labels.length) return s;
      const keep = capStratified(s.labels, n);
      return { texts: keep.map((i) => s.texts[i]), labels: keep.map((i) => s.labels[i]) };
    };
    const train = cap(splits.train, config.limitTrain), val = cap(splits.val, config.limitEval), test = cap(splits.test, config.limitEval);
    const split: SplitInfo = {
      train: train.labels.length, val: val.labels.length, test: test.labels.length, labelNames,
      labelCounts: { train: labelCounts(train.labels, k), val: labelCounts(val.labels, k), test: labelCounts(test.labels, k) },
      source: config.limitTrain !== undefined || config.limitEval !== undefined
        ? `${splits.info.source} (capped from ${splits.info.train}/${splits.info.val}/${splits.info.test})` : splits.info.source,
    };
    progress('load', 1, 3);
    const tokenizer = await deps.loadTokenizer(config.tokenizer ?? config.model, { cacheDir: config.cacheDir });
    progress('load', 2, 3);
    const loaded = await deps.loadClassifier(config.model, { numLabels: k, seed: config.seed, cacheDir: config.cacheDir, onProgress: onDownload });
    model = loaded.model;
    progress('load', 3, 3);
    if (loaded.report.missing.length) send({ type: 'log', level: 'info', message: `initialised (not in the checkpoint): ${loaded.report.missing.join(', ')}` });
    if (loaded.report.unused.length) send({ type: 'log', level: 'info', message: `unused checkpoint tensors: ${loaded.report.unused.length}` });
    let torch: Awaited<ReturnType<NonNullable<WorkerDeps['startTorch']>>> | undefined;
    if (choice.kind === 'torch') {
      if (!deps.startTorch) throw new Error('the PyTorch engine is not available in this build');
      torch = await deps.startTorch({
        python: choice.probe.python, device: choice.device, precision: config.precision ?? 'auto', model, workDir: join(runDir, '.torch'), signal,
      });
      engineToDispose = torch.engine;
      model.dispose(); // the weights live in Python now
      model = undefined;
      engine = { ...torch.info, reason: choice.reason };
      send({ type: 'log', level: 'info', message: `engine: PyTorch ${engine.versions.torch} on ${engine.device}, ${engine.precision} (${engine.reason})` });
    }
    send({ type: 'started', runId, config, engine, split });
    stage = 'run';

    // Tokenize in chunks, reporting progress and staying responsive to a cancel.
    const all = train.texts.length + val.texts.length + test.texts.length;
    let done = 0, lastTick = 0;
    const tokenize = async (s: TextSplit): Promise<TokenizedSplit> => {
      const ids: number[][] = [];
      for (let i = 0; i < s.texts.length; i += 256) {
        if (signal.aborted) throw new CancelledError();
        ids.push(...tokenizer.encode(s.texts.slice(i, i + 256), config.maxLen).inputIds);
        done += Math.min(256, s.texts.length - i);
        if (Date.now() - lastTick >= 200 || done === all) { lastTick = Date.now(); progress('tokenize', done, all); } // <= 5 per second
        await tick();
      }
      return { inputIds: ids, labels: s.labels };
    };
    const data = { train: await tokenize(train), val: await tokenize(val), test: await tokenize(test), padId: tokenizer.padId };

    let compute: ComputeEngine;
    if (torch) {
      // Token ids go to Python once per split (a binary file), not per step.
      for (const name of ['train', 'val', 'test'] as const) await torch.engine.setSplit(name, data[name], signal);
      compute = torch.engine;
    } else {
      compute = engineToDispose = new TfjsEngine(model!, data);
    }
    const result = await fit(compute, data, {
      learningRate: config.learningRate, batchSize, epochs: config.epochs, evalBatchSize: config.evalBatchSize,
      patience: config.patience, seed: config.seed, signal, numLabels: k,
      onProgress: (p) => send(p),
      onEpochEnd: (m) => send({ type: 'epochEnd', metrics: m }),
    });
    send({ type: 'evaluation', metrics: result.metrics });

    let modelDir: string | undefined;
    if (config.saveModel) {
      const dir = join(runDir, 'model');
      if (torch) {
        const t = torch;
        if (!deps.saveModelFolder) throw new Error('saving a PyTorch model is not available in this build');
        await deps.saveModelFolder(dir, t.config, (file) => t.engine.saveWeights(file), { tokenizerDir: tokenizer.dir, labelNames });
      } else {
        await deps.saveClassifier(model!, dir, { tokenizerDir: tokenizer.dir, labelNames });
      }
      modelDir = 'model';
    }
    send({ type: 'finished', ...(modelDir ? { modelDir } : {}) });
  } catch (err) {
    if (err instanceof CancelledError || signal.aborted) send({ type: 'cancelled' });
    // The backend is unusable here: the runner starts a fresh process with the smaller batch.
    else if (err instanceof OutOfMemoryError && err.nextBatchSize < err.batchSize) {
      send({ type: 'outOfMemory', batchSize: err.batchSize, nextBatchSize: err.nextBatchSize, reason: readableReason(err.reason) });
    } else send({ type: 'failed', reason: readableReason(err), stage });
  } finally {
    // After a WASM out-of-memory freeing may throw too; the message above is what matters.
    try { await engineToDispose?.dispose(); } catch { /* the process exits next */ }
    try { model?.dispose(); } catch { /* the process exits next */ }
  }
}

/**
 * A log line for a data/model load: downloads count bytes; reads of a data file count rows (or, for
 * aclImdb's class folders, files), so they are never printed as megabytes.
 */
export function loadLine(p: { file: string; loaded: number; total?: number; stage?: string }): string {
  if (p.stage === 'read') {
    if (p.loaded === 0) return p.total ? `reading ${p.file}: ${p.total.toLocaleString('en-US')} files` : `reading ${p.file}`;
    return `read ${p.file}: ${p.loaded.toLocaleString('en-US')} rows`;
  }
  const mb = (x: number) => (x / 1e6).toFixed(1);
  return `downloading ${p.file}: ${mb(p.loaded)}${p.total ? ` of ${mb(p.total)}` : ''} MB`;
}

/** One line a student can act on. */
export function readableReason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const first = msg.split('\n')[0].trim() || 'unknown error';
  return first.length > 500 ? `${first.slice(0, 500)}…` : first;
}
