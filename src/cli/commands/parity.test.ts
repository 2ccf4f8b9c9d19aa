import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './parity';
import { shared } from '../../engine/testing';

const fixture = shared('parity', 'distilbert');

/** Runs the command, capturing what it prints. */
async function run(argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = console.log, err = console.error;
  console.log = (...a: unknown[]) => { lines.push(a.join(' ')); };
  console.error = (...a: unknown[]) => { lines.push(a.join(' ')); };
  try {
    return { code: await main(argv), out: lines.join('\n') };
  } finally {
    console.log = log; console.error = err;
  }
}

test('bert-lab parity: exit 0 and one line per quantity on a good fixture', { skip: fixture.skip }, async () => {
  const { code, out } = await run([fixture.path, '--backend', 'wasm']);
  assert.equal(code, 0, out);
  assert.match(out, /^backend wasm: CPU \(WASM/m);
  assert.match(out, /^ok {3}logits +max abs/m);
  assert.match(out, /^ok {3}grad distilbert\.transformer\.layer\.1\.attention\.k_lin\.bias .*max abs limit 1\.00e-6/m);
  assert.match(out, /parity ok: 42 quantities within tolerance/);
});

test('bert-lab parity: exit 1 naming the quantity when a reference value is off', { skip: fixture.skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parity-'));
  cpSync(fixture.path, dir, { recursive: true });
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
  expected.logits[1][0] += 2e-5; // just over the 1e-5 limit
  writeFileSync(join(dir, 'expected.json'), JSON.stringify(expected));
  const { code, out } = await run([dir, '--backend', 'cpu']);
  assert.equal(code, 1);
  assert.match(out, /^FAIL logits/m);
  assert.match(out, /parity FAILED: 1 of 42/);
});

test('bert-lab parity: usage errors exit 2; a broken fixture is a one-line error naming the file', async () => {
  assert.equal((await run([])).code, 2);
  assert.equal((await run(['a', 'b'])).code, 2);
  const dir = mkdtempSync(join(tmpdir(), 'parity-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'distilbert', dim: 8, n_heads: 2, n_layers: 1, hidden_dim: 8, vocab_size: 10, max_position_embeddings: 8 }));
  await assert.rejects(main([dir, '--backend', 'cpu']), (e: Error) => e.message.includes(join(dir, 'model.safetensors')));
});

const hasTorch = spawnSync(process.env.BERT_LAB_PYTHON || '/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
for (const name of ['distilbert', 'bert']) {
  const f = shared('parity', name);
  test(`bert-lab parity ${name} --backend torch: the PyTorch engine passes at the same tolerances`, { skip: f.skip || (hasTorch ? false : 'torch is not available') }, async () => {
    const { code, out } = await run([f.path, '--backend', 'torch', '--python', process.env.BERT_LAB_PYTHON || '/usr/bin/python3']);
    assert.equal(code, 0, out);
    assert.match(out, /^backend torch: PyTorch /m);
    assert.match(out, /parity ok: \d+ quantities within tolerance/);
    assert.doesNotMatch(out, /^FAIL/m);
  });
}
