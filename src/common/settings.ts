// The extension's settings (`bertLab.*`, see package.json) as the runner's Settings; relative paths
// resolve against the workspace folder.
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { BackendPreference, Precision } from '../protocol';
import type { Settings } from '../experiments/spec';

export interface ConfigReader {
  get<T>(key: string): T | undefined;
}

const BACKENDS: readonly BackendPreference[] = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu', 'torch', 'torch-cuda', 'torch-mps', 'torch-cpu'];
const PRECISIONS: readonly Precision[] = ['auto', 'fp32', 'mixed_float16', 'bf16'];

/** A model setting: a Hub id or preset stays as written; a path (or an existing relative folder) is made absolute. */
export function resolveModelSetting(model: string, workspace: string | undefined): string {
  const m = model.trim();
  if (!workspace || isAbsolute(m)) return m;
  if (m.startsWith('./') || m.startsWith('../') || m === '.' || m === '..' || m.startsWith('.\\') || m.startsWith('..\\')) return resolve(workspace, m);
  // "google/bert_uncased_L-2_H-128_A-2" is a Hub id unless such a folder exists in the workspace.
  return existsSync(resolve(workspace, m)) ? resolve(workspace, m) : m;
}

/** bertLab.* as Settings. `python` is the bertLab.pythonPath setting only (python.ts adds the Python extension's choice). */
export function readSettings(config: ConfigReader, workspace: string | undefined): Settings {
  const str = (k: string, d: string) => { const v = config.get<string>(k); return typeof v === 'string' && v.trim() !== '' ? v.trim() : d; };
  const num = (k: string, d: number, ok: (x: number) => boolean) => { const v = config.get<number>(k); return typeof v === 'number' && Number.isFinite(v) && ok(v) ? v : d; };
  const data = str('data', 'hub:stanfordnlp/imdb');
  const cacheDir = str('cacheDir', '');
  const backend = config.get<string>('backend');
  const precision = config.get<string>('precision');
  const python = str('pythonPath', '');
  return {
    data: data.startsWith('hub:') || !workspace ? data : resolve(workspace, data),
    model: resolveModelSetting(str('model', 'distilbert-base-uncased'), workspace),
    compareModel: resolveModelSetting(str('compareModel', 'bert-base-uncased'), workspace),
    quick: config.get<boolean>('quick') === true,
    backend: BACKENDS.includes(backend as BackendPreference) ? (backend as BackendPreference) : 'auto',
    ...(cacheDir ? { cacheDir: workspace ? resolve(workspace, cacheDir) : cacheDir } : {}),
    seed: num('seed', 42, (x) => Number.isInteger(x) && x >= 0),
    epochs: num('epochs', 3, (x) => Number.isInteger(x) && x >= 1),
    evalBatch: num('evalBatch', 64, (x) => Number.isInteger(x) && x >= 1),
    subsetFrac: num('subsetFrac', 0.25, (x) => x > 0 && x <= 1),
    saveModels: config.get<boolean>('saveModels') === true,
    precision: PRECISIONS.includes(precision as Precision) ? (precision as Precision) : 'auto',
    ...(python ? { python: workspace && /[\\/]/.test(python) && !isAbsolute(python) ? resolve(workspace, python) : python } : {}),
  };
}
