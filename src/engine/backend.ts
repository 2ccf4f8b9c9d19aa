// Chooses and starts the TensorFlow.js backend: native TensorFlow with CUDA, native TensorFlow
// on the CPU, WASM (SIMD, 1 thread) or plain JavaScript, and reports what it really got.
//
// The native packages (@tensorflow/tfjs-node[-gpu]) download libtensorflow when installed, which
// fails on many machines, so they are optional: they are resolved from node_modules or from the
// folder named by BERT_LAB_NATIVE_DIR (where the extension installs them on request).
import * as tf from '@tensorflow/tfjs-core';
// A named import: a bare one is dropped by esbuild (the package marks its Node entry side-effect free).
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // training on any backend
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { BackendPreference, EngineInfo } from './api';
import type { BackendName } from '../protocol';
import { registerCpuKernels, registerWasmKernels } from './wasm-kernels';

const NATIVE_PACKAGES: Record<'tensorflow-gpu' | 'tensorflow', string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

/** Where optional native packages may live besides node_modules. */
export function nativeDir(): string | undefined {
  return process.env.BERT_LAB_NATIVE_DIR || undefined;
}

/** Loads a package from node_modules or BERT_LAB_NATIVE_DIR; returns undefined (with the reason) when absent. */
function requireOptional(pkg: string): { module?: unknown; version?: string; error?: string } {
  const requires = [createRequire(__filename)];
  const extra = nativeDir();
  if (extra) requires.push(createRequire(join(extra, 'package.json')));
  let lastError: string | undefined;
  for (const req of requires) {
    let path: string;
    try {
      path = req.resolve(pkg);
    } catch {
      continue; // not installed here
    }
    try {
      const module = req(path);
      let version: string | undefined;
      try { version = (req(`${pkg}/package.json`) as { version?: string }).version; } catch { /* no version */ }
      return { module, version };
    } catch (e) {
      lastError = `${pkg} is installed but failed to load: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  return { error: lastError ?? `${pkg} not installed` };
}

/** The folder holding the WASM binaries: next to the bundle (dist/), else the package's dist/. */
export function wasmDir(): string {
  const candidates = [__dirname, join(__dirname, '..', '..', 'dist')];
  try {
    candidates.push(dirname(createRequire(__filename).resolve('@tensorflow/tfjs-backend-wasm')));
  } catch { /* not resolvable: bundled without node_modules */ }
  const dir = candidates.find((d) => existsSync(join(d, 'tfjs-backend-wasm-simd.wasm')));
  if (!dir) throw new Error(`the WASM backend's files (tfjs-backend-wasm-simd.wasm) were not found in ${candidates.join(', ')}`);
  return dir;
}

let wasmConfigured = false;

async function startWasm(): Promise<void> {
  if (!wasmConfigured) {
    const dir = wasmDir();
    // Emscripten in Node reads these with fs; the threaded build needs Web Workers and fails in Node.
    wasm.setWasmPaths({
      'tfjs-backend-wasm.wasm': join(dir, 'tfjs-backend-wasm.wasm'),
      'tfjs-backend-wasm-simd.wasm': join(dir, 'tfjs-backend-wasm-simd.wasm'),
      'tfjs-backend-wasm-threaded-simd.wasm': join(dir, 'tfjs-backend-wasm-threaded-simd.wasm'),
    });
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    registerWasmKernels();
    wasmConfigured = true;
  }
  if (!(await tf.setBackend('wasm'))) throw new Error('the WASM backend failed to initialise');
}

function versions(extra: Record<string, string> = {}): Record<string, string> {
  return { 'tfjs-core': tf.version_core, 'tfjs-backend-cpu': version_cpu, 'tfjs-backend-wasm': wasm.version_wasm, node: process.versions.node, ...extra };
}

async function tryNative(name: 'tensorflow-gpu' | 'tensorflow'): Promise<{ info?: EngineInfo; why: string; fellBack?: boolean }> {
  const pkg = NATIVE_PACKAGES[name];
  const loaded = requireOptional(pkg);
  if (!loaded.module) return { why: loaded.error! };
  try {
    if (!(await tf.setBackend('tensorflow'))) return { why: `${pkg} loaded but its backend did not initialise` };
  } catch (e) {
    return { why: `${pkg} loaded but its backend failed: ${(e as Error).message}` };
  }
  // NodeJSKernelBackend exposes whether TensorFlow placed ops on a GPU (binding.isUsingGpuDevice()).
  const backend = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
  const threads = (await import('node:os')).cpus().length;
  const v = versions({ [pkg]: loaded.version ?? 'unknown' });
  if (name === 'tensorflow-gpu') {
    if (backend.isUsingGpuDevice !== true) {
      // TensorFlow runs such a build on the CPU without a word: report it, never call it a GPU.
      const why = `${pkg} loaded but TensorFlow found no usable CUDA GPU (it silently fell back to the CPU)`;
      return { info: { backend: 'tensorflow', device: 'CPU (native TensorFlow, GPU build without a usable GPU)', threads, reason: why, versions: v }, why, fellBack: true };
    }
    return { info: { backend: 'tensorflow-gpu', device: 'GPU (CUDA, TensorFlow)', threads, reason: '', versions: v }, why: '' };
  }
  return { info: { backend: 'tensorflow', device: 'CPU (native TensorFlow)', threads, reason: '', versions: v }, why: '' };
}

async function startByName(name: TfjsBackendName): Promise<{ info?: EngineInfo; why: string; fellBack?: boolean }> {
  if (name === 'tensorflow-gpu' || name === 'tensorflow') return tryNative(name);
  try {
    if (name === 'wasm') {
      await startWasm();
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      return { info: { backend: 'wasm', device: `CPU (WASM${simd ? ' SIMD' : ''}, 1 thread)`, threads: 1, reason: '', versions: versions() }, why: '' };
    }
    registerCpuKernels(); // a single-pass UnsortedSegmentSum (the embedding gradient)
    if (!(await tf.setBackend('cpu'))) return { why: 'the plain CPU backend failed to initialise' };
    return { info: { backend: 'cpu', device: 'CPU (plain JavaScript)', threads: 1, reason: '', versions: versions() }, why: '' };
  } catch (e) {
    return { why: `${name} failed: ${(e as Error).message}` };
  }
}

/** The TensorFlow.js backends (the PyTorch engine's devices are chosen outside this file). */
export type TfjsBackendName = Extract<BackendName, 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu'>;
const ORDER: TfjsBackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
const LABEL: Record<TfjsBackendName, string> = { 'tensorflow-gpu': 'tfjs-node-gpu', tensorflow: 'tfjs-node', wasm: 'WASM', cpu: 'plain CPU' };

/**
 * Starts the preferred backend. "auto" takes the first that loads and really works, in the order
 * GPU, native CPU, WASM, plain CPU, and says why the better ones were passed over. A forced backend
 * that does not work is an error.
 */
export async function initBackend(pref: BackendPreference = 'auto'): Promise<EngineInfo> {
  if (pref !== 'auto') {
    if (!(ORDER as string[]).includes(pref)) throw new Error(`unknown backend "${pref}" (one of auto, ${ORDER.join(', ')})`);
    const name = pref as TfjsBackendName;
    const r = await startByName(name);
    if (r.fellBack) throw new Error(`backend "${pref}" is not available: ${r.why}`);
    if (!r.info) throw new Error(`backend "${pref}" is not available: ${r.why}`);
    return { ...r.info, reason: `${LABEL[name]} requested` };
  }
  const skipped: string[] = [];
  for (const name of ORDER) {
    const r = await startByName(name);
    if (r.fellBack && r.info) return { ...r.info, reason: [...skipped, r.why].join('; ') + ': using native TensorFlow on the CPU' };
    if (r.info) return { ...r.info, reason: skipped.length ? `${skipped.join('; ')}: using ${LABEL[name]}` : `using ${LABEL[name]}` };
    skipped.push(r.why);
  }
  throw new Error(`no TensorFlow.js backend works: ${skipped.join('; ')}`);
}
