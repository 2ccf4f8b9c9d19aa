import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './split';

const SHARED = join(__dirname, '..', '..', '..', '..', 'shared');
const IMDB = join(SHARED, 'data', 'imdb');
const FIXTURE = join(SHARED, 'splits', 'imdb_pipeline_F0.25.json');
const skip = existsSync(join(IMDB, 'train.jsonl.gz')) && existsSync(FIXTURE) ? false : '../shared/data/imdb or ../shared/splits missing';

test('bert-lab split on ../shared/data/imdb writes the indices of imdb_pipeline_F0.25.json', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bert-lab-split-'));
  try {
    const out = join(dir, 'split.json');
    const code = await main(['--data', IMDB, '--subset-frac', '0.25', '--seed', '42', '--out', out]);
    assert.equal(code, 0);
    const got = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
    const want = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown>;
    for (const k of ['train', 'val', 'test']) assert.deepEqual(got[k], want[k], k);
    assert.deepEqual(got.labelCounts, { train: [4375, 4375], val: [625, 625], test: [1250, 1250] });
    assert.equal(got.rows, 50000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad options exit with code 2', async () => {
  assert.equal(await main([]), 2);
  assert.equal(await main(['--data', 'x', '--subset-frac', '1.5']), 2);
  assert.equal(await main(['--data', 'x', '--seed=-1']), 2);
});
