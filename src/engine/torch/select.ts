// Which engine a run uses. Forced: 'torch' (best device), 'torch-cuda' / 'torch-mps' / 'torch-cpu', or a
// TensorFlow.js backend. 'auto': torch on a GPU (CUDA, MPS), then tfjs-node-gpu on a real GPU, then
// torch on the CPU (3-4x WASM on the 2-core machine of issue 7), then TensorFlow.js' own order
// (tfjs-node, WASM, plain JS). BERT_LAB_NO_TORCH=1 keeps 'auto' on TensorFlow.js.
import type { BackendPreference, EngineInfo } from '../../protocol';
import { initBackend } from '../backend';
import type { TorchDevice } from './protocol';
import { findTorch, type TorchProbe } from './python';

export type EngineChoice =
  | { kind: 'tfjs'; info: EngineInfo }
  | { kind: 'torch'; device: TorchDevice; probe: TorchProbe; reason: string };

export function isTorchPreference(pref: BackendPreference | undefined): boolean {
  return pref === 'torch' || pref === 'torch-cuda' || pref === 'torch-mps' || pref === 'torch-cpu';
}

const DEVICE: Record<string, TorchDevice> = { torch: 'auto', 'torch-cuda': 'cuda', 'torch-mps': 'mps', 'torch-cpu': 'cpu' };

export async function selectEngine(pref: BackendPreference = 'auto', python?: string, deps = { findTorch, initBackend }): Promise<EngineChoice> {
  if (isTorchPreference(pref)) {
    const probe = await deps.findTorch(python);
    const device = DEVICE[pref];
    if (device === 'cuda' && !probe.cuda) throw new Error(`backend "torch-cuda" is not available: torch ${probe.torch} (${probe.python}) sees no CUDA GPU; install a CUDA build of torch ("BERT Lab: Install PyTorch Engine" does so where nvidia-smi finds a GPU)`);
    if (device === 'mps' && !probe.mps) throw new Error(`backend "torch-mps" is not available: torch ${probe.torch} (${probe.python}) has no Apple MPS device`);
    return { kind: 'torch', device, probe, reason: `${pref} requested` };
  }
  if (pref !== 'auto' || process.env.BERT_LAB_NO_TORCH === '1') return { kind: 'tfjs', info: await deps.initBackend(pref) };
  let probe: TorchProbe | undefined;
  let why = '';
  try { probe = await deps.findTorch(python, { timeoutMs: 20_000 }); } catch (e) { why = (e as Error).message; }
  if (probe && (probe.cuda || probe.mps)) return { kind: 'torch', device: 'auto', probe, reason: `torch ${probe.torch} with ${probe.cuda ? 'CUDA' : 'MPS'}` };
  try {
    const gpu = await deps.initBackend('tensorflow-gpu');
    return { kind: 'tfjs', info: { ...gpu, reason: 'tfjs-node-gpu on a GPU' } };
  } catch { /* no real GPU for TensorFlow.js */ }
  if (probe) return { kind: 'torch', device: 'cpu', probe, reason: `no GPU: torch ${probe.torch} on the CPU` };
  const info = await deps.initBackend('auto');
  return { kind: 'tfjs', info: { ...info, reason: `${why.split(':')[0]}; ${info.reason}` } };
}
