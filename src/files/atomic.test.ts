import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic';

const fresh = () => mkdtempSync(join(tmpdir(), 'atomic-'));

test('writes, replaces, keeps the mode of an existing file, leaves no temp file', () => {
  const dir = fresh(), f = join(dir, 'a.json');
  writeFileAtomic(f, 'one');
  assert.equal(readFileSync(f, 'utf8'), 'one');
  chmodSync(f, 0o640);
  writeFileAtomic(f, 'two');
  assert.equal(readFileSync(f, 'utf8'), 'two');
  assert.equal(statSync(f).mode & 0o777, 0o640);
  assert.deepEqual(readdirSync(dir), ['a.json']);
});

test('a folder as target is a one-line error naming it; nothing is left behind', () => {
  const dir = fresh(), target = join(dir, 'out');
  mkdirSync(target);
  assert.throws(() => writeFileAtomic(target, 'x'), { message: `cannot write ${target}: it is a folder, not a file` });
  assert.deepEqual(readdirSync(dir), ['out']);
});

test('a read-only file is refused, not replaced (for root too)', () => {
  const dir = fresh(), f = join(dir, 'nb.ipynb');
  writeFileSync(f, 'keep');
  chmodSync(f, 0o444);
  assert.throws(() => writeFileAtomic(f, 'x'), /cannot write .*nb\.ipynb: permission denied/);
  assert.equal(readFileSync(f, 'utf8'), 'keep');
});
