// Loading and saving sequence classifiers in the Hugging Face layout (config.json + model.safetensors
// + tokenizer files), mapping checkpoint names as transformers' `from_pretrained` does.
import * as tf from '@tensorflow/tfjs-core';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { LoadReport, SequenceClassifier } from './api';
import { BertClassifier, bertParameterShapes } from './bert';
import { type ModelConfig, readConfig, toConfigJson } from './config';
import { DistilBertClassifier, distilbertParameterShapes } from './distilbert';
import { initParameter, nameSeed } from './layers';
import { type NamedTensor, readSafetensors, writeSafetensors } from './safetensors';
import { ensureHubFiles } from '../data/hub';
import { toHubModelId } from '../data/presets';

/** Tokenizer files copied along with a model (those present). */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'special_tokens_map.json'];

/** Maps a Keras-Hub preset name to its Hugging Face Hub id; other names are returned unchanged. */
export const hubIdForPreset = toHubModelId;

/** The parameter names and shapes of the classifier a config describes. */
export function parameterShapes(config: ModelConfig): Map<string, number[]> {
  return config.modelType === 'bert' ? bertParameterShapes(config) : distilbertParameterShapes(config);
}

/** A classifier from a complete set of weights (taken over). */
export function createClassifier(config: ModelConfig, weights: Map<string, tf.Tensor>): SequenceClassifier {
  return config.modelType === 'bert' ? new BertClassifier(config, weights) : new DistilBertClassifier(config, weights);
}

/** A randomly initialised classifier (transformers' `_init_weights`), reproducible from `seed`. */
export function randomClassifier(config: ModelConfig, seed = 0): SequenceClassifier {
  const weights = new Map<string, tf.Tensor>();
  for (const [name, shape] of parameterShapes(config)) weights.set(name, initParameter(name, shape, config, nameSeed(seed, name)));
  return createClassifier(config, weights);
}

/**
 * Matches checkpoint tensors to the model's parameters as transformers v4.40 does: "gamma"/"beta"
 * become "weight"/"bias" (`_fix_key`), and the base-model prefix ("bert." / "distilbert.") is added
 * when the checkpoint holds a bare base model. Returns model name -> checkpoint name, and the unused names.
 */
export function mapCheckpointNames(config: ModelConfig, checkpointNames: Iterable<string>): { mapping: Map<string, string>; unused: string[] } {
  const shapes = parameterShapes(config);
  const prefix = `${config.modelType}.`;
  const names = [...checkpointNames];
  const hasPrefix = names.some((n) => n.startsWith(prefix));
  const mapping = new Map<string, string>();
  const unused: string[] = [];
  for (const name of names) {
    let fixed = name.includes('beta') ? name.replaceAll('beta', 'bias') : name.includes('gamma') ? name.replaceAll('gamma', 'weight') : name;
    if (!hasPrefix && !shapes.has(fixed) && shapes.has(prefix + fixed)) fixed = prefix + fixed;
    if (shapes.has(fixed) && !mapping.has(fixed)) mapping.set(fixed, name);
    else unused.push(name);
  }
  return { mapping, unused };
}

/**
 * Builds a classifier from checkpoint tensors: maps names, checks shapes (an error names the
 * tensor and the file), initialises missing parameters (normal(std=initializer_range), biases 0;
 * seeded), and reports missing and unused names.
 */
export function classifierFromTensors(config: ModelConfig, tensors: Map<string, NamedTensor>, file: string, seed = 0): { model: SequenceClassifier; missing: string[]; unused: string[] } {
  const shapes = parameterShapes(config);
  const { mapping, unused } = mapCheckpointNames(config, tensors.keys());
  const weights = new Map<string, tf.Tensor>();
  const missing: string[] = [];
  try {
    for (const [name, shape] of shapes) {
      const source = mapping.get(name);
      if (source === undefined) {
        missing.push(name);
        weights.set(name, initParameter(name, shape, config, nameSeed(seed, name)));
        continue;
      }
      const t = tensors.get(source)!;
      if (!tf.util.arraysEqual(t.shape, shape)) {
        throw new Error(`${file}: tensor "${source}" has shape ${JSON.stringify(t.shape)}, but the model (config.json) needs ${JSON.stringify(shape)} for "${name}"`);
      }
      weights.set(name, tf.tensor(t.data, shape, 'float32'));
    }
  } catch (e) {
    for (const w of weights.values()) w.dispose();
    throw e;
  }
  return { model: createClassifier(config, weights), missing, unused };
}

export interface LoadOptions {
  /** Number of labels of the classification head (default: the config's, else 2). */
  numLabels?: number;
  /** Seed of the initialisation of missing (head) weights. */
  seed?: number;
  /** Hugging Face cache folder for Hub downloads. */
  cacheDir?: string;
  revision?: string;
  onProgress?: (p: { file: string; loaded: number; total?: number }) => void;
}

/**
 * Resolves a model source to a local folder: an existing directory as it is, otherwise a Hub id
 * (or Keras-Hub preset name) whose config, weights and tokenizer files are fetched into the cache.
 */
export async function resolveModelDir(source: string, opts: LoadOptions = {}): Promise<string> {
  if (existsSync(source) && statSync(source).isDirectory()) return resolve(source);
  if (source.startsWith('.') || source.startsWith('/') || source.includes('\\')) throw new Error(`${source}: model folder not found`);
  const repoId = hubIdForPreset(source);
  return ensureHubFiles(repoId, ['config.json', 'model.safetensors', ...TOKENIZER_FILES], {
    repoType: 'model', cacheDir: opts.cacheDir, revision: opts.revision, optional: TOKENIZER_FILES, onProgress: opts.onProgress,
  });
}

/** Loads a sequence classifier from a folder (config.json + model.safetensors) or a Hub id / preset. */
export async function loadClassifier(source: string, opts: LoadOptions = {}): Promise<{ model: SequenceClassifier; report: LoadReport; dir: string }> {
  const dir = await resolveModelDir(source, opts);
  const config = readConfig(join(dir, 'config.json'), opts.numLabels);
  const file = join(dir, 'model.safetensors');
  if (!existsSync(file)) throw new Error(`${file}: not found (only safetensors checkpoints are supported)`);
  const { tensors } = readSafetensors(file);
  const { model, missing, unused } = classifierFromTensors(config, tensors, file, opts.seed ?? 0);
  return { model, report: { missing, unused, source: dir }, dir };
}

/** The classifier's weights as F32 named tensors (HF names). */
export async function exportTensors(model: SequenceClassifier): Promise<Map<string, NamedTensor>> {
  const out = new Map<string, NamedTensor>();
  for (const [name, v] of model.variables) out.set(name, { shape: v.shape.slice(), data: (await v.data()) as Float32Array });
  return out;
}

/**
 * Saves a classifier as transformers' save_pretrained does (config.json + model.safetensors with
 * metadata {"format":"pt"}), plus the tokenizer files found in `tokenizerDir`; `labelNames` become
 * id2label/label2id. The folder is written next to `dir` under a temporary name and renamed into place,
 * so a crash leaves any earlier one intact.
 */
export async function saveClassifier(model: SequenceClassifier, dir: string, opts: { tokenizerDir?: string; labelNames?: string[] } = {}): Promise<void> {
  await saveModelFolder(dir, model.config, async (file) => writeSafetensors(file, await exportTensors(model), { format: 'pt' }), opts);
}

/** saveClassifier's folder logic for any engine: `writeWeights` writes model.safetensors to the file it is given. */
export async function saveModelFolder(dir: string, config: ModelConfig, writeWeights: (file: string) => Promise<void>, opts: { tokenizerDir?: string; labelNames?: string[] } = {}): Promise<void> {
  const target = resolve(dir);
  mkdirSync(dirname(target), { recursive: true });
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${Date.now()}`);
  mkdirSync(tmp);
  try {
    const labels = opts.labelNames && opts.labelNames.length === config.numLabels ? opts.labelNames : config.id2label;
    writeFileSync(join(tmp, 'config.json'), `${JSON.stringify(toConfigJson({ ...config, id2label: labels }), null, 2)}\n`);
    await writeWeights(join(tmp, 'model.safetensors'));
    if (opts.tokenizerDir) {
      for (const f of TOKENIZER_FILES) {
        const src = join(opts.tokenizerDir, f);
        if (existsSync(src)) copyFileSync(src, join(tmp, f));
      }
    }
    // Swap in: move an existing folder aside first, then remove it only once the new one is in place.
    const old = existsSync(target) ? `${tmp}.old` : undefined;
    if (old) renameSync(target, old);
    renameSync(tmp, target);
    if (old) rmSync(old, { recursive: true, force: true });
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Files of a saved model folder (for listings). */
export function modelFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}
