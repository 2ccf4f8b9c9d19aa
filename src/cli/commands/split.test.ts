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

test('split --out <a folder> is one clear error before any work, and leaves no temp file', async () => {
  const { capture } = await import('../testing.js');
  const { readdirSync, writeFileSync, mkdirSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'bert-lab-split-out-'));
  try {
    const data = join(dir, 'd.jsonl');
    writeFileSync(data, Array.from({ length: 40 }, (_, i) => JSON.stringify({ text: `t${i}`, label: i % 2 })).join('\n'));
    mkdirSync(join(dir, 'out'));
    const r = await capture(() => main(['--data', data, '--out', join(dir, 'out')]));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^bert-lab split: cannot write .*out: it is a folder, not a file; give a file name, e.g. --out .*out\/split\.json\n$/);
    assert.deepEqual(readdirSync(dir).sort(), ['d.jsonl', 'out']);
    assert.deepEqual(readdirSync(join(dir, 'out')), []);
    // A missing folder: writeFileAtomic's message names the user's file.
    await assert.rejects(capture(() => main(['--data', data, '--subset-frac', '1', '--out', join(dir, 'nope', 's.json')])),
      (e: Error) => e.message === `cannot write ${join(dir, 'nope', 's.json')}: its folder does not exist`);
    const ok = await capture(() => main(['--data', data, '--subset-frac', '1', '--out', join(dir, 's.json')]));
    assert.equal(ok.code, 0);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 's.json'), 'utf8')).labelNames, ['0', '1']);
    assert.deepEqual(readdirSync(dir).sort(), ['d.jsonl', 'out', 's.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
