// `bert-lab parity <fixture-dir> [--backend auto|tensorflow-gpu|tensorflow|wasm|cpu|torch|torch-cpu|...] [--python <path>]`
// Checks the engine against a reference fixture (logits, loss, gradient of every parameter).
import { parseArgs } from 'node:util';
import type { BackendPreference } from '../../engine/api';
import { initBackend } from '../../engine/backend';
import { formatLine, LIMITS, runParity } from '../../engine/parity';
import { torchParityCompute } from '../../engine/torch/parity';
import { findTorch } from '../../engine/torch/python';
import { isTorchPreference } from '../../engine/torch/select';

export const summary = 'Check the engine against a reference fixture (logits, loss, gradients)';

const HELP = `usage: bert-lab parity <fixture-dir> [--backend auto|tensorflow-gpu|tensorflow|wasm|cpu|torch|torch-cpu|torch-cuda|torch-mps] [--python <path>]

Reads config.json, model.safetensors, inputs.json, expected.json and grads.safetensors from
<fixture-dir>, computes logits, mean cross-entropy loss and the gradient of every parameter, and
prints one line per quantity. Exits 1 if any exceeds: logits max abs ${LIMITS.logitsAbs}, loss rel ${LIMITS.lossRel},
gradient relative L2 ${LIMITS.gradRelL2} (attention key biases, whose true gradient is 0: max abs ${LIMITS.zeroGradAbs}).
The torch backends run the fixture in the PyTorch engine's Python process (float32, on the CPU).`;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { backend: { type: 'string', default: 'auto' }, python: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    console.error(`bert-lab parity: ${(e as Error).message}\n${HELP}`);
    return 2;
  }
  if (parsed.values.help) { console.log(HELP); return 0; }
  if (parsed.positionals.length !== 1) { console.error(HELP); return 2; }
  const pref = parsed.values.backend as BackendPreference;
  let compute;
  if (isTorchPreference(pref)) {
    const probe = await findTorch(parsed.values.python);
    console.log(`backend ${pref}: PyTorch ${probe.torch} (${probe.python}), float32 on the CPU`);
    compute = torchParityCompute(probe.python);
    await initBackend('cpu'); // reads the fixture
  } else {
    const engine = await initBackend(pref);
    console.log(`backend ${engine.backend}: ${engine.device} (${engine.reason})`);
  }
  const result = await runParity(parsed.positionals[0], compute);
  for (const l of result.lines) console.log(formatLine(l));
  const failed = result.lines.filter((l) => !l.ok).length;
  console.log(result.ok ? `parity ok: ${result.lines.length} quantities within tolerance` : `parity FAILED: ${failed} of ${result.lines.length} quantities out of tolerance`);
  return result.ok ? 0 : 1;
}
