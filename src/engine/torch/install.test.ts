// The install flow, offline: a venv over Debian's python3-torch (--system-site-packages), where pip
// finds torch already satisfied; and a pip that fails gives one clear line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installTorchEngine, pipFailureLine, venvPython } from './install';

const SYS = '/usr/bin/python3';
const ok = spawnSync(SYS, ['-c', 'import torch, venv, ensurepip'], { encoding: 'utf8' }).status === 0;
const skip = ok ? false : `${SYS} with torch and venv/ensurepip is not available`;

test('installTorchEngine: venv in the storage folder, torch installed (already satisfied offline), probe ok', { skip, timeout: 300_000 }, async () => {
  const storage = mkdtempSync(join(tmpdir(), 'torch-install-'));
  const log: string[] = [];
  try {
    const probe = await installTorchEngine(storage, {
      basePython: SYS, venvArgs: ['--system-site-packages'], hasGpu: async () => false,
      pipArgs: ['--no-index', 'torch'], onLog: (l) => log.push(l),
    });
    assert.equal(probe.python, venvPython(storage));
    assert.ok(probe.torch && !probe.error, JSON.stringify(probe));
    assert.ok(log.some((l) => /no NVIDIA GPU found: installing the CPU build/.test(l)));
    assert.ok(log.some((l) => /already satisfied/i.test(l)), log.join('\n'));
    assert.match(log.at(-1)!, /PyTorch engine ready: torch .* \(CPU\)/);
  } finally {
    rmSync(storage, { recursive: true, force: true });
  }
});

test('installTorchEngine: a failing pip is one clear line naming the environment and pip\'s error', { skip, timeout: 300_000 }, async () => {
  const storage = mkdtempSync(join(tmpdir(), 'torch-install-'));
  try {
    await assert.rejects(
      installTorchEngine(storage, { basePython: SYS, venvArgs: ['--system-site-packages'], hasGpu: async () => true, pipArgs: ['--no-index', 'bert-lab-no-such-package'] }),
      (e: Error) => {
        assert.ok(!e.message.includes('\n'), e.message);
        assert.match(e.message, /^pip could not install torch into .*torch-venv: ERROR: (Could not find a version|No matching distribution)/);
        return true;
      },
    );
  } finally {
    rmSync(storage, { recursive: true, force: true });
  }
});

test('installTorchEngine: no Python to create the venv is a clear error', async () => {
  const storage = mkdtempSync(join(tmpdir(), 'torch-install-'));
  await assert.rejects(installTorchEngine(storage, { basePython: '/nonexistent/python3' }), /could not create the PyTorch environment in .*: \/nonexistent\/python3: not found/);
  rmSync(storage, { recursive: true, force: true });
});

test('pipFailureLine picks pip\'s ERROR line', () => {
  assert.equal(pipFailureLine('Looking in indexes: x\nERROR: Could not find a version that satisfies the requirement torch\nnotice: y'), 'ERROR: Could not find a version that satisfies the requirement torch');
  assert.equal(pipFailureLine(''), 'no output');
});
