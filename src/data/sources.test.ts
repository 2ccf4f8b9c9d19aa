// Every source format from tiny files in a temp folder, the Hub data set from a prepared cache, the
// shared IMDB copy, and the one-line errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { HUB_IMDB, loadLabeledTexts } from './sources';
import { loadSplits } from './imdb';

const rows = [
  { text: 'Plain review.', label: 0 },
  { text: 'Has "quotes", commas, and\na newline.', label: 1 },
  { text: 'Ünïcödé ✓ 映画', label: 1 },
];
const texts = rows.map((r) => r.text);
const labels = rows.map((r) => r.label);
const jsonl = (rs: Array<Record<string, unknown>>) => rs.map((r) => JSON.stringify(r)).join('\n') + '\n';
const csvField = (s: string) => `"${s.replace(/"/g, '""')}"`;

async function writeParquet(path: string, rs: Array<{ text: string; label: number }>, extra = false): Promise<void> {
  const { parquetWriteFile } = await import('hyparquet-writer');
  const columnData = [
    { name: 'text', data: rs.map((r) => r.text), type: 'STRING' as const },
    { name: 'label', data: rs.map((r) => BigInt(r.label)), type: 'INT64' as const },
  ];
  if (extra) columnData.push({ name: 'other', data: rs.map(() => 'x'), type: 'STRING' as const });
  parquetWriteFile({ filename: path, columnData });
}

function withTmp(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bert-lab-src-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('JSONL, JSONL.gz, JSON array, CSV (quoted), TSV and parquet files give the same rows', withTmp(async (dir) => {
  writeFileSync(join(dir, 'a.jsonl'), jsonl(rows));
  writeFileSync(join(dir, 'a.jsonl.gz'), gzipSync(jsonl(rows)));
  writeFileSync(join(dir, 'a.json'), JSON.stringify(rows));
  writeFileSync(join(dir, 'a.csv'), 'label,text\r\n' + rows.map((r) => `${r.label},${csvField(r.text)}`).join('\r\n') + '\r\n');
  writeFileSync(join(dir, 'a.tsv'), 'text\tlabel\n' + rows.map((r) => `${csvField(r.text)}\t${r.label}`).join('\n') + '\n');
  await writeParquet(join(dir, 'a.parquet'), rows, true);
  for (const f of ['a.jsonl', 'a.jsonl.gz', 'a.json', 'a.csv', 'a.tsv', 'a.parquet']) {
    const d = await loadLabeledTexts(join(dir, f));
    assert.deepEqual(d.texts, texts, f);
    assert.deepEqual([...d.labels], labels, f);
    assert.ok(d.labels instanceof Int32Array);
    assert.equal(d.description, `${f} (3)`);
  }
}));

test('configurable text and label columns', withTmp(async (dir) => {
  writeFileSync(join(dir, 'r.csv'), 'review,sentiment\n"good, very",1\nbad,0\n');
  const d = await loadLabeledTexts(join(dir, 'r.csv'), { textColumn: 'review', labelColumn: 'sentiment' });
  assert.deepEqual(d.texts, ['good, very', 'bad']);
  assert.deepEqual([...d.labels], [1, 0]);
  await assert.rejects(loadLabeledTexts(join(dir, 'r.csv')), /r.csv: no column "text" \(columns: review, sentiment\)/);
}));

test('a folder joins train files then test files and ignores other splits', withTmp(async (dir) => {
  writeFileSync(join(dir, 'test.jsonl'), jsonl([{ text: 'T', label: 1 }]));
  writeFileSync(join(dir, 'train.jsonl'), jsonl([{ text: 'A', label: 0 }, { text: 'B', label: 1 }]));
  writeFileSync(join(dir, 'unsupervised.jsonl'), jsonl([{ text: 'U', label: -1 }]));
  writeFileSync(join(dir, 'README.md'), '# not data');
  const d = await loadLabeledTexts(dir);
  assert.deepEqual(d.texts, ['A', 'B', 'T']);
  assert.equal(d.description, 'train.jsonl (2) + test.jsonl (1)');
  // A copy of the Hub repo: the files live in plain_text/.
  const hubCopy = join(dir, 'imdb');
  mkdirSync(join(hubCopy, 'plain_text'), { recursive: true });
  await writeParquet(join(hubCopy, 'plain_text', 'train-00000-of-00001.parquet'), [rows[0]!]);
  await writeParquet(join(hubCopy, 'plain_text', 'test-00000-of-00001.parquet'), [rows[1]!]);
  await writeParquet(join(hubCopy, 'plain_text', 'unsupervised-00000-of-00001.parquet'), [{ text: 'u', label: 0 }]);
  assert.deepEqual((await loadLabeledTexts(hubCopy)).texts, [rows[0]!.text, rows[1]!.text]);
}));

test('the aclImdb layout: train then test, neg then pos, ascending review id', withTmp(async (dir) => {
  const put = (split: string, cls: string, name: string, text: string) => {
    mkdirSync(join(dir, 'aclImdb', split, cls), { recursive: true });
    writeFileSync(join(dir, 'aclImdb', split, cls, name), text);
  };
  put('train', 'pos', '10_9.txt', 'train pos 10');
  put('train', 'pos', '2_7.txt', 'train pos 2');
  put('train', 'neg', '5_1.txt', 'train neg 5');
  put('test', 'neg', '0_2.txt', 'test neg 0');
  put('test', 'pos', '3_8.txt', 'test pos 3');
  mkdirSync(join(dir, 'aclImdb', 'train', 'unsup'));
  writeFileSync(join(dir, 'aclImdb', 'train', 'unsup', '0_0.txt'), 'unsup');
  writeFileSync(join(dir, 'aclImdb', 'train', 'labeledBow.feat'), '');
  for (const src of [dir, join(dir, 'aclImdb')]) {
    const d = await loadLabeledTexts(src);
    assert.deepEqual(d.texts, ['train neg 5', 'train pos 2', 'train pos 10', 'test neg 0', 'test pos 3']);
    assert.deepEqual([...d.labels], [0, 1, 1, 0, 1]);
  }
}));

test('hub:stanfordnlp/imdb reads the plain_text parquet files from the Hugging Face cache', withTmp(async (dir) => {
  const commit = 'e6281661ce1c48d982bc483cf8a173c1bbeb5d31';
  const repo = join(dir, 'datasets--stanfordnlp--imdb');
  mkdirSync(join(repo, 'refs'), { recursive: true });
  writeFileSync(join(repo, 'refs', 'main'), commit);
  mkdirSync(join(repo, 'snapshots', commit, 'plain_text'), { recursive: true });
  await writeParquet(join(repo, 'snapshots', commit, HUB_IMDB.files[0]!), [rows[0]!, rows[1]!]);
  await writeParquet(join(repo, 'snapshots', commit, HUB_IMDB.files[1]!), [rows[2]!]);
  const d = await loadLabeledTexts('hub:stanfordnlp/imdb', { cacheDir: dir });
  assert.deepEqual(d.texts, texts);
  assert.deepEqual([...d.labels], labels);
  assert.deepEqual(d.labelNames, ['neg', 'pos'], "the Hub data set's ClassLabel");
  assert.match(d.description, /^hub:stanfordnlp\/imdb\/plain_text\/train-00000-of-00001.parquet \(2\) \+ hub:stanfordnlp\/imdb\/plain_text\/test/);
  await assert.rejects(loadLabeledTexts('hub:someone/else', { cacheDir: dir }), /give hub:stanfordnlp\/imdb or the path of a data file/);
}));

test('hub:stanfordnlp/imdb downloads the two parquet files (local imitation of the Hub) with progress', withTmp(async (dir) => {
  const commit = 'e6281661ce1c48d982bc483cf8a173c1bbeb5d31';
  const files: Record<string, Buffer> = {};
  for (const [i, f] of HUB_IMDB.files.entries()) {
    await writeParquet(join(dir, `f${i}.parquet`), i === 0 ? rows.slice(0, 2) : rows.slice(2));
    files[f] = readFileSync(join(dir, `f${i}.parquet`));
  }
  const requested: string[] = [];
  const server = createServer((req, res) => {
    requested.push(`${req.method} ${req.url}`);
    const m = /^\/datasets\/stanfordnlp\/imdb\/resolve\/[^/]+\/(.+)$/.exec(req.url!);
    const body = m ? files[decodeURIComponent(m[1]!)] : undefined;
    if (!body) { res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end(); return; }
    res.writeHead(200, {
      'x-repo-commit': commit, 'x-linked-etag': createHash('sha256').update(body).digest('hex'),
      'x-linked-size': body.length, 'content-length': body.length,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const timer = setTimeout(() => server.close(), 30_000).unref();
  const saved = process.env.HF_ENDPOINT;
  process.env.HF_ENDPOINT = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const stages = new Set<string>();
    const cache = join(dir, 'cache');
    const d = await loadLabeledTexts('hub:stanfordnlp/imdb', { cacheDir: cache, onProgress: (p) => stages.add(`${p.stage}:${p.file}`) });
    assert.deepEqual(d.texts, texts);
    assert.ok(stages.has(`download:${HUB_IMDB.files[0]}`) && stages.has(`download:${HUB_IMDB.files[1]}`), [...stages].join(', '));
    assert.ok(existsSync(join(cache, 'datasets--stanfordnlp--imdb', 'snapshots', commit, HUB_IMDB.files[1]!)));
    assert.deepEqual(requested.filter((r) => r.startsWith('GET')).length, 2);
  } finally {
    if (saved === undefined) delete process.env.HF_ENDPOINT; else process.env.HF_ENDPOINT = saved;
    clearTimeout(timer);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}));

test('bad input is a one-line error naming the file and the problem', withTmp(async (dir) => {
  const bad = async (name: string, content: string | Buffer, re: RegExp) => {
    writeFileSync(join(dir, name), content);
    await assert.rejects(loadLabeledTexts(join(dir, name)), (e: Error) => re.test(e.message) && !e.message.includes('\n'), name);
  };
  await assert.rejects(loadLabeledTexts(join(dir, 'missing.jsonl')), /missing.jsonl does not exist/);
  await bad('b1.jsonl', '{"text":"a","label":0}\n{"text": oops}\n', /^b1.jsonl: line 2 is not valid JSON/);
  await bad('b2.jsonl', '{"text":"a","label":0}\n\n{"txt":"a","label":0}\n', /^b2.jsonl: line 3 has no field "text" \(fields: txt, label\)/);
  await bad('b3.jsonl', '{"text":"a"}\n', /^b3.jsonl: line 1 has no field "label"/);
  await bad('b4.jsonl', '{"text":"a","label":"pos"}\n{"text":"b","label":"pos"}\n', /b4.jsonl: only one class \(label 0 "pos"\) — a classifier needs at least 2$/);
  await bad('b5.jsonl', '{"text":"a","label":0.5}\n', /^b5.jsonl: label 0.5 on line 1 is not a class id/);
  await bad('b6.csv', 'text,label\na,1\nb,-1\n', /^b6.csv: label "-1" on line 3 is not a class id/);
  await bad('b7.csv', 'text,label\n"unterminated,1\n', /^b7.csv: /);
  await bad('b8.parquet', 'not parquet at all', /^b8.parquet: not a readable parquet file/);
  await bad('b9.jsonl.gz', 'not gzip', /^b9.jsonl.gz: cannot read/);
  await bad('empty.jsonl', '\n', /no rows/);
  mkdirSync(join(dir, 'nodata'));
  writeFileSync(join(dir, 'nodata', 'notes.txt'), 'x');
  await assert.rejects(loadLabeledTexts(join(dir, 'nodata')), /no data files/);
}));

const IMDB = join(__dirname, '..', '..', '..', 'shared', 'data', 'imdb');
test('the shared IMDB copy: 50,000 rows, train first, each split neg then pos; loaded once per process', { skip: existsSync(IMDB) ? false : '../shared/data/imdb missing' }, async () => {
  const t0 = performance.now();
  const d = await loadLabeledTexts(IMDB);
  const ms = performance.now() - t0;
  assert.equal(d.texts.length, 50000);
  const expected = (i: number) => Math.floor(i / 12500) % 2;
  for (let i = 0; i < 50000; i += 997) assert.equal(d.labels[i], expected(i));
  assert.equal(await loadLabeledTexts(IMDB), d, 'the second load is the cached result');
  const s = await loadSplits(IMDB, { subsetFrac: 0.25, seed: 42 });
  assert.deepEqual([s.train.texts.length, s.val.texts.length, s.test.texts.length], [8750, 1250, 2500]);
  assert.equal(s.train.texts[0], d.texts[s.indices.train[0]!]);
  assert.equal(s.test.labels[5], d.labels[s.indices.test[5]!]);
  assert.equal(s.info.source, IMDB);
  console.log(`# read ../shared/data/imdb (50,000 reviews) in ${(ms / 1000).toFixed(2)} s`);
});
