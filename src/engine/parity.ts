// Parity check against a reference fixture written with Hugging Face transformers (the format of
// ../shared/parity/*): config.json, model.safetensors, inputs.json, expected.json, grads.safetensors.
// Computes logits, the mean cross-entropy loss and its gradient for every parameter, and compares.
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EncodedBatch, SequenceClassifier } from './api';
import { classifierFromTensors } from './checkpoint';
import { type ModelConfig, readConfig } from './config';
import { crossEntropy } from './layers';
import { readSafetensors } from './safetensors';

/** Tolerances of the issue: logits max abs, loss relative, gradient relative L2 (abs for zero-gradient tensors). */
export const LIMITS = { logitsAbs: 1e-5, lossRel: 1e-5, gradRelL2: 1e-4, zeroGradAbs: 1e-6 };

export interface ParityLine {
  quantity: string;
  maxAbs: number;
  /** Relative error: |Δ|/|ref| for the loss, ‖Δ‖₂/‖ref‖₂ for tensors. */
  rel: number;
  /** Which of the two is checked, and against what. */
  checked: 'max abs' | 'rel' | 'rel L2';
  limit: number;
  ok: boolean;
}

export interface ParityResult { lines: ParityLine[]; ok: boolean }

export interface Inputs { input_ids: number[][]; attention_mask: number[][]; token_type_ids?: number[][]; labels: number[] }

function readJson(file: string): unknown {
  if (!existsSync(file)) throw new Error(`${file}: not found`);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: invalid JSON (${(e as Error).message})`);
  }
}

function isMatrix(x: unknown): x is number[][] {
  return Array.isArray(x) && x.length > 0 && x.every((r) => Array.isArray(r) && r.length === (x[0] as unknown[]).length && r.every((v) => typeof v === 'number'));
}

function readInputs(file: string): Inputs {
  const j = readJson(file) as Partial<Inputs>;
  if (!isMatrix(j.input_ids)) throw new Error(`${file}: "input_ids" must be a non-empty rectangular array of numbers`);
  const [b, t] = [j.input_ids.length, j.input_ids[0].length];
  const same = (m: unknown) => isMatrix(m) && m.length === b && m[0].length === t;
  if (!same(j.attention_mask)) throw new Error(`${file}: "attention_mask" must have the shape of input_ids [${b}, ${t}]`);
  if (j.token_type_ids !== undefined && !same(j.token_type_ids)) throw new Error(`${file}: "token_type_ids" must have the shape of input_ids [${b}, ${t}]`);
  if (!Array.isArray(j.labels) || j.labels.length !== b || !j.labels.every((v) => Number.isInteger(v))) throw new Error(`${file}: "labels" must be ${b} integers`);
  return j as Inputs;
}

/** True for parameters whose exact gradient is zero (attention key biases: softmax ignores a per-query constant). */
export function hasZeroGradient(name: string): boolean {
  return /\.attention\.(k_lin|self\.key)\.bias$/.test(name);
}

/** Logits, loss and per-parameter gradients of the mean cross-entropy (eval mode: no dropout). The caller disposes all three (logits are tf.keep'd). */
export function lossAndGradients(model: SequenceClassifier, batch: EncodedBatch, labels: tf.Tensor1D): { logits: tf.Tensor2D; loss: tf.Scalar; grads: Map<string, tf.Tensor> } {
  const byTfName = new Map<string, string>();
  for (const [name, v] of model.variables) byTfName.set(v.name, name);
  let logits: tf.Tensor2D | undefined;
  const { value, grads } = tf.variableGrads(() => {
    logits = tf.keep(model.apply(batch, false));
    return crossEntropy(logits, labels);
  }, [...model.variables.values()]);
  const out = new Map<string, tf.Tensor>();
  for (const [tfName, g] of Object.entries(grads)) out.set(byTfName.get(tfName)!, g);
  return { logits: logits!, loss: value, grads: out };
}

function compare(quantity: string, got: Float32Array | number[], ref: Float32Array | number[], checked: ParityLine['checked'], limit: number): ParityLine {
  let maxAbs = 0, d2 = 0, r2 = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = got[i] - ref[i];
    maxAbs = Math.max(maxAbs, Math.abs(d));
    d2 += d * d;
    r2 += ref[i] * ref[i];
  }
  if (got.length !== ref.length) maxAbs = Infinity;
  const rel = r2 > 0 ? Math.sqrt(d2 / r2) : (d2 > 0 ? Infinity : 0);
  const value = checked === 'max abs' ? maxAbs : rel;
  return { quantity, maxAbs, rel, checked, limit, ok: value <= limit && Number.isFinite(value) };
}

/** What an engine computed on the fixture: logits [B*C] row-major, mean loss, gradient by parameter name. */
export interface ParityOutput { logits: Float32Array | number[]; loss: number; grads: Map<string, { shape: number[]; data: Float32Array }> }

/** The TensorFlow.js engine on the current backend. */
async function tfjsCompute(model: SequenceClassifier, inputs: Inputs): Promise<ParityOutput> {
  let out: ParityOutput | undefined;
  tf.tidy(() => {
    const batch: EncodedBatch = {
      inputIds: tf.tensor2d(inputs.input_ids, undefined, 'int32'),
      attentionMask: tf.tensor2d(inputs.attention_mask, undefined, 'int32'),
      tokenTypeIds: inputs.token_type_ids ? tf.tensor2d(inputs.token_type_ids, undefined, 'int32') : undefined,
    };
    const { logits, loss, grads } = lossAndGradients(model, batch, tf.tensor1d(inputs.labels, 'int32'));
    const o: ParityOutput = { logits: logits.dataSync() as Float32Array, loss: loss.dataSync()[0], grads: new Map() };
    logits.dispose(); // kept out of the gradient scope by lossAndGradients
    for (const [name, g] of grads) o.grads.set(name, { shape: g.shape.slice(), data: g.dataSync() as Float32Array });
    out = o;
  });
  return out!;
}

/**
 * Runs the check. `compute` is the engine under test (default: TensorFlow.js on the current backend);
 * the PyTorch engine passes one that runs the fixture in Python (torch/parity.ts).
 */
export async function runParity(dir: string, compute?: (config: ModelConfig, modelFile: string, inputs: Inputs) => Promise<ParityOutput>): Promise<ParityResult> {
  const config = readConfig(join(dir, 'config.json'));
  const modelFile = join(dir, 'model.safetensors');
  const { model, missing } = classifierFromTensors(config, readSafetensors(modelFile).tensors, modelFile);
  try {
    if (missing.length) throw new Error(`${modelFile}: parameters missing from the fixture: ${missing.join(', ')}`);
    const inputsFile = join(dir, 'inputs.json');
    const inputs = readInputs(inputsFile);
    const expectedFile = join(dir, 'expected.json');
    const expected = readJson(expectedFile) as { logits?: unknown; loss?: unknown };
    if (!isMatrix(expected.logits) || expected.logits.length !== inputs.labels.length || expected.logits[0].length !== config.numLabels) {
      throw new Error(`${expectedFile}: "logits" must be [${inputs.labels.length}, ${config.numLabels}]`);
    }
    if (typeof expected.loss !== 'number') throw new Error(`${expectedFile}: "loss" must be a number`);
    const gradsFile = join(dir, 'grads.safetensors');
    const refGrads = readSafetensors(gradsFile).tensors;

    const got = compute ? await compute(config, modelFile, inputs) : await tfjsCompute(model, inputs);
    const lines: ParityLine[] = [];
    lines.push(compare('logits', got.logits, (expected.logits as number[][]).flat(), 'max abs', LIMITS.logitsAbs));
    lines.push(compare('loss', [got.loss], [expected.loss as number], 'rel', LIMITS.lossRel));
    for (const name of refGrads.keys()) if (!got.grads.has(name)) throw new Error(`${gradsFile}: tensor "${name}" is not a parameter of the model`);
    for (const name of model.variables.keys()) {
      const g = got.grads.get(name);
      const ref = refGrads.get(name);
      if (!ref) throw new Error(`${gradsFile}: no gradient for parameter "${name}"`);
      if (!g) throw new Error(`the engine computed no gradient for parameter "${name}"`);
      if (!tf.util.arraysEqual(ref.shape, g.shape)) throw new Error(`${gradsFile}: tensor "${name}" has shape ${JSON.stringify(ref.shape)}, the parameter has ${JSON.stringify(g.shape)}`);
      const zero = hasZeroGradient(name);
      lines.push(compare(`grad ${name}`, g.data, ref.data, zero ? 'max abs' : 'rel L2', zero ? LIMITS.zeroGradAbs : LIMITS.gradRelL2));
    }
    return { lines, ok: lines.every((l) => l.ok) };
  } finally {
    model.dispose();
  }
}

export function formatLine(l: ParityLine): string {
  const e = (x: number) => x.toExponential(2);
  return `${l.ok ? 'ok  ' : 'FAIL'} ${l.quantity.padEnd(62)} max abs ${e(l.maxAbs)}  rel ${e(l.rel)}  (${l.checked} limit ${e(l.limit)})`;
}
