// The one typed protocol of BERT Lab: the extension host, the training child process, the CLI and
// the results webview all import these types (and nothing else from each other).
//
// Two channels:
//   1. runner <-> training child process (`ToWorker` / `FromWorker`), over Node IPC (process.send).
//   2. extension host <-> results webview (`ToWebview` / `FromWebview`), over postMessage.
// Every message is validated on receipt with the `is*` guards at the bottom.

// ---------------------------------------------------------------------------------------------
// What a run is

/** TensorFlow.js backends, then the PyTorch engine's devices (a Python compute process). */
export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu' | 'torch-cuda' | 'torch-mps' | 'torch-cpu';
/** 'torch': the PyTorch engine on its best device. */
export type BackendPreference = 'auto' | 'torch' | BackendName;
/** Training precision: 'auto' = fp32 on CPU, the notebook's mixed_float16 on CUDA. */
export type Precision = 'auto' | 'fp32' | 'mixed_float16' | 'bf16';

/** Every backend a run may ask for, in the order the CLI and settings list them. */
export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'torch', 'torch-cuda', 'torch-mps', 'torch-cpu', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
export const PRECISIONS: readonly Precision[] = ['auto', 'fp32', 'mixed_float16', 'bf16'];

/** The configuration of one run: everything needed to reproduce it. */
export interface RunConfig {
  /** Which problem of the homework spec this run belongs to, e.g. "problem1"; "single" for ad-hoc runs. */
  problem: string;
  /** Stable identity of the config within its problem (e.g. "len128-lr2e-05-b32-f0.25-distilbert"). */
  key: string;
  /** Human-readable label, e.g. "MAX_LEN=128, LR=2.0e-5, BATCH=32". */
  label: string;
  /** Hugging Face id or local folder of the base model (Keras-Hub preset names already mapped). */
  model: string;
  /** Tokenizer id or folder; defaults to the model's. */
  tokenizer?: string;
  maxLen: number;
  learningRate: number;
  batchSize: number;
  epochs: number;
  evalBatchSize: number;
  subsetFrac: number;
  seed: number;
  /** Data source: "hub:stanfordnlp/imdb" or a local path (folder or file). */
  data: string;
  /** Early stopping on val_loss (the notebook: patience 2, restore best weights). */
  patience: number;
  /** Cap on examples per split, for quick runs (undefined = all). Applied after the split. */
  limitTrain?: number;
  limitEval?: number;
  /** Save the fine-tuned model (config.json + model.safetensors + tokenizer) into the run folder. */
  saveModel?: boolean;
  backend?: BackendPreference;
  /** Training precision (PyTorch engine; TensorFlow.js always trains in float32). */
  precision?: Precision;
  /** Python interpreter for the PyTorch engine (default: found from the environment). */
  python?: string;
  /** Where Hub downloads (data, models) are cached; defaults to the Hugging Face cache. */
  cacheDir?: string;
}

/** What the training process really used. */
export interface EngineInfo {
  backend: BackendName;
  /** 'tensorflow.js' or 'pytorch' (absent in records written before the PyTorch engine: TensorFlow.js). */
  engine?: 'tensorflow.js' | 'pytorch';
  /** Precision really used, e.g. 'fp32', 'mixed_float16'. */
  precision?: string;
  /** e.g. "NVIDIA A100 (CUDA)", "CPU (WASM SIMD, 1 thread)". */
  device: string;
  threads: number;
  /** Why this backend was chosen, e.g. "tfjs-node-gpu not installed: using WASM". */
  reason: string;
  versions: Record<string, string>;
}

export interface SplitInfo {
  train: number;
  val: number;
  test: number;
  /**
   * Class names, index = label id (IMDB: ['neg', 'pos']); their number is the number of classes K.
   * Absent in records written before K classes: two classes.
   */
  labelNames?: string[];
  /** Per split, count of each label. */
  labelCounts: { train: number[]; val: number[]; test: number[] };
  source: string;
}

export interface EpochMetrics {
  epoch: number; // 1-based
  trainLoss: number;
  trainAccuracy: number;
  valLoss: number;
  valAccuracy: number;
  seconds: number;
}

export interface RunMetrics {
  testAccuracy: number;
  /** F1 of the positive class (label 1); with K > 2 classes, see testMacroF1. */
  testF1: number;
  /** Unweighted mean of the per-class F1 (reported when K > 2). */
  testMacroF1?: number;
  /** confusion[true][predicted] on the test split. */
  confusion: number[][];
  /** Validation accuracy at the epoch of minimum validation loss (the homework's graded quantity). */
  valAccuracyAtMinValLoss: number;
  /** 1-based epoch of minimum validation loss (whose weights were restored). */
  bestEpoch: number;
  trainSeconds: number;
  totalSeconds: number;
  stepsPerSecond: number;
  examplesPerSecond: number;
}

export type RunStatus = 'queued' | 'running' | 'finished' | 'failed' | 'cancelled' | 'interrupted';

/** One run as kept in the run history (`.bert-lab/runs/<id>/run.json`). */
export interface RunRecord {
  id: string;
  /** Id of the sweep (one invocation of a problem) this run was part of. */
  sweepId?: string;
  config: RunConfig;
  status: RunStatus;
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  engine?: EngineInfo;
  split?: SplitInfo;
  history: EpochMetrics[];
  metrics?: RunMetrics;
  error?: string;
  /** For a failed run: 'setup' when its data/model/engine could not be loaded, 'run' otherwise. */
  failureStage?: FailureStage;
  /** Batch sizes tried after out-of-memory errors, in order (the homework's advice: halve the batch). */
  oomRetries?: number[];
  /** Relative path (inside the run folder) of the saved model, when saved. */
  modelDir?: string;
  /** Process id of the runner that owns a running run (to detect interrupted runs). */
  pid?: number;
}

// ---------------------------------------------------------------------------------------------
// What every surface says about a run's result (CLI, notebook fill, tree, results page, export)

/** A quick run: its splits were capped (`--quick`, limitTrain/limitEval) — a first try, not the homework's numbers. */
export function isQuickConfig(c: Pick<RunConfig, 'limitTrain' | 'limitEval'>): boolean {
  return c.limitTrain !== undefined || c.limitEval !== undefined;
}

/** A model named as a tiny/test checkpoint (e.g. distilbert-tiny-random): its accuracy says nothing about BERT. */
export function isTinyModel(model: string): boolean {
  const base = model.replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? model;
  return /(^|[-_.])(tiny|random)([-_.]|$)/i.test(base);
}

/** The caveat to show beside a result, e.g. "quick run with distilbert-tiny-random"; undefined for a real run. */
export function resultCaveat(c: Pick<RunConfig, 'limitTrain' | 'limitEval' | 'model'>): string | undefined {
  const quick = isQuickConfig(c), tiny = isTinyModel(c.model);
  if (!quick && !tiny) return undefined;
  const base = c.model.replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? c.model;
  return `${quick ? 'quick run' : 'run'} with ${tiny ? base : `model ${base}`}${quick ? '' : ' (a tiny test model)'}`;
}

// ---------------------------------------------------------------------------------------------
// Channel 1: runner <-> training child process

export type ToWorker =
  /**
   * batchSize: the batch to train with when it differs from config.batchSize (the requested one), i.e.
   * in a fresh process after an out-of-memory restart.
   */
  | { type: 'start'; runId: string; runDir: string; config: RunConfig; batchSize?: number }
  | { type: 'cancel' };

export interface ProgressMessage {
  type: 'progress';
  epoch: number; // 1-based
  epochs: number;
  step: number; // 1-based within the epoch
  steps: number;
  loss: number; // running mean training loss of this epoch
  accuracy: number;
  examplesPerSecond: number;
  /** Seconds left for the whole run (estimate). */
  etaSeconds: number;
  phase: 'train' | 'validate' | 'test' | 'tokenize' | 'load';
}

/**
 * Where a run failed: 'setup' = its data, model, tokenizer or engine could not be loaded (every run with the
 * same data/model/engine would fail the same way, so a sweep does not start them); 'run' = anything later.
 */
export type FailureStage = 'setup' | 'run';

export type FromWorker =
  | { type: 'started'; runId: string; config: RunConfig; engine: EngineInfo; split: SplitInfo }
  | ProgressMessage
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | { type: 'epochEnd'; metrics: EpochMetrics }
  | { type: 'evaluation'; metrics: RunMetrics }
  /**
   * Out of memory while training at `batchSize`. The worker exits after this message; the runner (the one
   * place that handles it) retries the run in a fresh process at `nextBatchSize` (the homework's advice:
   * halve the batch) and records it in `oomRetries`. Never sent for evaluation (its batch is not the
   * training batch).
   */
  | { type: 'outOfMemory'; batchSize: number; nextBatchSize: number; reason: string }
  /** The run ended well: history and metrics came in `epochEnd`/`evaluation`; `modelDir` when saved. */
  | { type: 'finished'; modelDir?: string }
  | { type: 'failed'; reason: string; stage: FailureStage }
  | { type: 'cancelled' };

// ---------------------------------------------------------------------------------------------
// Channel 2: extension host <-> results webview

export interface AnswerValue {
  /** Notebook variable, e.g. "a1a". */
  variable: string;
  problem: string;
  value: number | null;
  /** Run the value came from. */
  runId?: string;
  description: string;
  /** Why the value is not the homework's number, e.g. "quick run with distilbert-tiny-random" (resultCaveat). */
  caveat?: string;
  /** When the best configuration was chosen among equal values: which ones tied and which rule broke the tie. */
  tie?: string;
  /** Why there is no value although runs exist, e.g. "the latest sweep's runs all failed". */
  note?: string;
}

/** Everything the results page shows; sent whole on every change (small: tens of runs). */
export interface ResultsState {
  runs: RunRecord[];
  /** Step-level loss of recent runs, for the learning curves: runId -> [epoch + fraction of it (step/steps), loss]. */
  liveLoss: Record<string, Array<[number, number]>>;
  /** Latest progress of running runs. */
  progress: Record<string, ProgressMessage>;
  answers: AnswerValue[];
  /** Problem ids and titles in spec order. */
  problems: Array<{ id: string; title: string }>;
  /** Whether a homework notebook is open/known, so "Insert into notebook" can be enabled. */
  notebookAvailable: boolean;
}

export type ToWebview =
  | { type: 'state'; state: ResultsState }
  | { type: 'focusRun'; runId: string }
  | { type: 'insertResult'; variable: string; ok: boolean; message: string };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'insertAnswer'; variable: string }
  | { type: 'openRun'; runId: string }
  | { type: 'rerun'; runId: string }
  | { type: 'cancel' };

// ---------------------------------------------------------------------------------------------
// Validation on receipt (messages cross process and frame boundaries: never trust their shape).

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isStr = (v: unknown): v is string => typeof v === 'string';
const ANSWER_VAR = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const RUN_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function isValidRunId(id: unknown): id is string {
  return isStr(id) && RUN_ID.test(id) && id !== '.' && id !== '..';
}

export function isFromWebview(m: unknown): m is FromWebview {
  if (!isObj(m) || !isStr(m.type)) return false;
  switch (m.type) {
    case 'ready':
    case 'cancel':
      return true;
    case 'insertAnswer':
      return isStr(m.variable) && ANSWER_VAR.test(m.variable);
    case 'openRun':
    case 'rerun':
      return isValidRunId(m.runId);
    default:
      return false;
  }
}

export function isToWorker(m: unknown): m is ToWorker {
  if (!isObj(m) || !isStr(m.type)) return false;
  if (m.type === 'cancel') return true;
  return m.type === 'start' && isValidRunId(m.runId) && isStr(m.runDir) && isObj(m.config);
}

const WORKER_TYPES = new Set(['started', 'progress', 'log', 'epochEnd', 'evaluation', 'outOfMemory', 'finished', 'failed', 'cancelled']);
export function isFromWorker(m: unknown): m is FromWorker {
  return isObj(m) && isStr(m.type) && WORKER_TYPES.has(m.type);
}

const WEBVIEW_TYPES = new Set(['state', 'focusRun', 'insertResult']);
export function isToWebview(m: unknown): m is ToWebview {
  return isObj(m) && isStr(m.type) && WEBVIEW_TYPES.has(m.type);
}
