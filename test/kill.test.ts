// The kill test, short: 3 random SIGKILLs (CLI or training process) during `run problem1 --quick` with the
// tiny model, each followed by a re-run (scripts/kill-test.mjs; 20 kills: run the script by hand).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..');
const shared = resolve(root, '..', 'shared');
const skip = !existsSync(join(shared, 'models', 'distilbert-tiny-random')) || !existsSync(join(shared, 'data', 'imdb')) ? `${shared} (tiny model, IMDB) absent`
  : !existsSync(join(root, 'dist', 'cli.js')) ? 'dist/ not built (npm run build)' : false;

test('3 random SIGKILLs, each followed by a re-run: no corrupt file, every configuration finished once', { skip, timeout: 300_000 }, () => {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'kill-test.mjs'), '--kills', '3', '--seed', '7'], { encoding: 'utf8', timeout: 280_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const stats = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'), r.stdout.lastIndexOf('}') + 1)) as Record<string, number>;
  assert.equal(stats.kills, 3);
  assert.deepEqual([stats.corrupt, stats.temps, stats.duplicates, stats.unfinished], [0, 0, 0, 0]);
});
