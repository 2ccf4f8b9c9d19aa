// The Python side's own unittest suite (python/tests), run with the interpreter the engine would use.
// Outside CI it skips, saying why, when Python or torch is absent; in CI (BERT_LAB_E2E_REQUIRED or CI
// set) a missing torch fails it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pythonPackageDir } from './python';

const PY = process.env.BERT_LAB_PYTHON || '/usr/bin/python3';
const required = !!(process.env.CI || process.env.BERT_LAB_E2E_REQUIRED);
const has = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' });
const skip = has.status === 0 ? false : `${PY} with torch is not available (${(has.stderr || String(has.error)).trim().split('\n').pop()})`;

test('python/tests (unittest: HF parity, safetensors, Keras Adam, epoch runner, command loop)', { skip: skip && !required ? skip : false }, () => {
  const root = pythonPackageDir();
  const r = spawnSync(PY, ['-m', 'unittest', 'discover', '-s', join(root, 'tests'), '-t', root], { encoding: 'utf8', cwd: root, timeout: 600_000 });
  const out = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.status, 0, out.slice(-4000));
  assert.match(out, /\nOK/);
  // In CI the fixtures are there: a skipped parity test would hide a missing check.
  if (required) assert.doesNotMatch(out, /skipped=/);
});
