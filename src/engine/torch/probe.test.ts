import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTorch, probeTorch } from './python';

test('a probe that hangs times out cleanly with one line', { skip: process.platform === 'win32' ? 'POSIX shell script as interpreter' : false }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'probe-'));
  const fake = join(dir, 'python3');
  writeFileSync(fake, '#!/bin/sh\nsleep 30\n');
  chmodSync(fake, 0o755);
  const t0 = Date.now();
  const p = await probeTorch(fake, { timeoutMs: 500, noCache: true });
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(p.torch, undefined);
  assert.match(p.error!, /did not answer within 0\.5 s/);
  await assert.rejects(findTorch(fake, { timeoutMs: 500 }), (e: Error) => !e.message.includes('\n') && /PyTorch engine not available \(.*python3: the torch probe did not answer/.test(e.message));
  rmSync(dir, { recursive: true, force: true });
});

test('a Python without torch says so; a probe is asked once per interpreter', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'probe-'));
  const fake = join(dir, 'python3');
  const count = join(dir, 'count');
  // A "python" that counts its calls and answers like a Python without torch.
  writeFileSync(fake, `#!/bin/sh\necho x >> ${count}\necho '{"python": "3.11.2", "executable": "x", "error": "import torch failed: ModuleNotFoundError: No module named torch"}'\n`);
  chmodSync(fake, 0o755);
  const a = await probeTorch(fake);
  const b = await probeTorch(fake);
  assert.match(a.error!, /python3: import torch failed: ModuleNotFoundError/);
  assert.equal(a, b);
  const { readFileSync } = await import('node:fs');
  assert.equal(readFileSync(count, 'utf8').trim().split('\n').length, 1);
  rmSync(dir, { recursive: true, force: true });
});
