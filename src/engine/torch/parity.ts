// The parity check (../parity.ts) with the PyTorch engine: the fixture runs in the Python process
// (eval mode, float32), which writes logits, loss and every gradient to a safetensors file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ModelConfig } from '../config';
import type { Inputs, ParityOutput } from '../parity';
import { readSafetensors } from '../safetensors';
import { TorchProcess } from './engine';
import { wireConfig } from './protocol';

export function torchParityCompute(python: string): (config: ModelConfig, modelFile: string, inputs: Inputs) => Promise<ParityOutput> {
  return async (config, modelFile, inputs) => {
    const dir = mkdtempSync(join(tmpdir(), 'bert-lab-parity-'));
    const proc = new TorchProcess(python);
    try {
      const out = join(dir, 'out.safetensors');
      await proc.request({ cmd: 'parity', config: wireConfig(config), weights: resolve(modelFile), inputs, out });
      const t = readSafetensors(out).tensors;
      const grads = new Map<string, { shape: number[]; data: Float32Array }>();
      for (const [name, g] of t) if (name.startsWith('grad.')) grads.set(name.slice(5), { shape: g.shape, data: g.data });
      return { logits: t.get('logits')!.data, loss: t.get('loss')!.data[0], grads };
    } finally {
      await proc.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
