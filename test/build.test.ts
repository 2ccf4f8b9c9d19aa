// The build must fail, naming the file, when an entry point is missing (never "succeed" without dist/worker.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

test('a missing entry file fails the build and names it', () => {
  const empty = mkdtempSync(join(tmpdir(), 'bert-lab-build-'));
  const r = spawnSync(process.execPath, [resolve(__dirname, '..', 'scripts', 'build.mjs')], { cwd: empty, encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^build: entry files missing: src\/extension\.ts, src\/worker\/main\.ts, src\/cli\/main\.ts/);
  assert.deepEqual(readdirSync(empty), [], 'nothing written');
});
