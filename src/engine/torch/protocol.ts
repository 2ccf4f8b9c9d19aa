// Messages between the TypeScript worker and the Python compute process (python/bert_lab_torch/
// protocol.py is the mirror): one JSON object per line each way. Token ids travel once per split in a
// binary file (writeSplitFile), never per step.
import type { ModelConfig } from '../config';

export type TorchDevice = 'auto' | 'cuda' | 'mps' | 'cpu';

/** The ModelConfig as Python reads it (ModelConfig.from_ts): everything but the raw config.json. */
export type WireConfig = Omit<ModelConfig, 'raw'>;

export type TorchCommand =
  | { cmd: 'load'; config: WireConfig; weights: string; device: TorchDevice; precision: string }
  | { cmd: 'data'; split: 'train' | 'val' | 'test'; file: string }
  | { cmd: 'trainEpoch'; split: 'train'; order: number[]; batchSize: number; seed: number; lr: number }
  | { cmd: 'evaluate'; split: 'val' | 'test'; batchSize: number; logits?: boolean }
  | { cmd: 'keepBest' } | { cmd: 'restoreBest' }
  | { cmd: 'save'; file: string }
  | { cmd: 'parity'; config: WireConfig; weights: string; inputs: unknown; out: string }
  | { cmd: 'cancel' };

export type TorchEvent =
  | { event: 'loaded'; device: 'cuda' | 'mps' | 'cpu'; deviceName: string; torch: string; precision: string; threads: number }
  | { event: 'ok' }
  | { event: 'step'; step: number; steps: number; lossSum: number; correct: number; seen: number }
  | { event: 'epochDone'; lossSum: number; correct: number; seen: number; seconds: number }
  | { event: 'evalStep'; step: number; steps: number }
  | { event: 'evaluated'; lossSum: number; predictions: number[]; logits?: number[][] }
  | { event: 'parity' }
  | { event: 'error'; message: string; oom: boolean; cancelled?: boolean };

export const TERMINAL = new Set(['ok', 'loaded', 'epochDone', 'evaluated', 'parity', 'error']);

export function wireConfig(c: ModelConfig): WireConfig {
  const { raw: _raw, ...rest } = c;
  return rest;
}
