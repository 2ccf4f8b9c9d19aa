import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EngineInfo } from '../../protocol';
import { selectEngine } from './select';
import type { TorchProbe } from './python';

const cpuProbe: TorchProbe = { python: '/usr/bin/python3', torch: '1.13.1', cuda: false, mps: false, threads: 2 };
const info = (backend: EngineInfo['backend']): EngineInfo => ({ backend, device: backend, threads: 1, reason: '', versions: {} });
const deps = (probe: TorchProbe | undefined, tfGpu: boolean) => ({
  findTorch: async () => { if (!probe) throw new Error('PyTorch engine not available (python3: not found): install torch'); return probe; },
  initBackend: async (pref?: string) => {
    if (pref === 'tensorflow-gpu' && !tfGpu) throw new Error('no GPU');
    return info(pref === 'auto' || pref === undefined ? 'wasm' : (pref as EngineInfo['backend']));
  },
});

test('auto: torch on a GPU, then tfjs-node-gpu on a GPU, then torch on the CPU, then TensorFlow.js', async () => {
  const gpu = await selectEngine('auto', undefined, deps({ ...cpuProbe, cuda: true, cudaName: 'H100' }, true));
  assert.deepEqual([gpu.kind, gpu.kind === 'torch' && gpu.device], ['torch', 'auto']);
  const tfGpu = await selectEngine('auto', undefined, deps(cpuProbe, true));
  assert.deepEqual([tfGpu.kind, tfGpu.kind === 'tfjs' && tfGpu.info.backend], ['tfjs', 'tensorflow-gpu']);
  const cpu = await selectEngine('auto', undefined, deps(cpuProbe, false));
  assert.deepEqual([cpu.kind, cpu.kind === 'torch' && cpu.device], ['torch', 'cpu']);
  const none = await selectEngine('auto', undefined, deps(undefined, false));
  assert.deepEqual([none.kind, none.kind === 'tfjs' && none.info.backend], ['tfjs', 'wasm']);
  process.env.BERT_LAB_NO_TORCH = '1';
  try {
    const off = await selectEngine('auto', undefined, deps({ ...cpuProbe, cuda: true }, false));
    assert.equal(off.kind, 'tfjs');
  } finally { delete process.env.BERT_LAB_NO_TORCH; }
});

test('forced torch devices that are missing are one clear line', async () => {
  await assert.rejects(selectEngine('torch-cuda', undefined, deps(cpuProbe, false)), /^Error: backend "torch-cuda" is not available: torch 1\.13\.1 \(\/usr\/bin\/python3\) sees no CUDA GPU; install a CUDA build/);
  await assert.rejects(selectEngine('torch-mps', undefined, deps(cpuProbe, false)), /torch-mps" is not available/);
  await assert.rejects(selectEngine('torch', undefined, deps(undefined, false)), /PyTorch engine not available/);
  const forced = await selectEngine('torch-cpu', undefined, deps({ ...cpuProbe, cuda: true }, false));
  assert.deepEqual([forced.kind, forced.kind === 'torch' && forced.device], ['torch', 'cpu']);
  const tf = await selectEngine('wasm', undefined, deps(cpuProbe, false));
  assert.equal(tf.kind, 'tfjs');
});
