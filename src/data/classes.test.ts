// K classes from the data: class names from the source where it has them, ids 0..K-1 checked (gaps, a
// single class, numbers mixed with names), the BOM and null-text cases, split errors naming the file, and
// a million rows through the whole pipeline (no spread of an unbounded array anywhere).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatRanges, loadLabeledTexts } from './sources';
import { loadSplits, notebookSplit } from './imdb';

function withTmp(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bert-lab-classes-'));
    try { await fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
  };
}
const jsonl = (labels: unknown[]) => labels.map((l, i) => JSON.stringify({ text: `t${i}`, label: l })).join('\n') + '\n';
const oneLine = (re: RegExp) => (e: Error) => re.test(e.message) && !e.message.includes('\n');

test('formatRanges: runs of ids as ranges, long lists cut', () => {
  assert.equal(formatRanges([0, 5]), '0, 5');
  assert.equal(formatRanges([0, 1, 2, 4, 7, 8]), '0–2, 4, 7–8');
  assert.equal(formatRanges(Array.from({ length: 40 }, (_, i) => 3 * i), 3), '0, 3, 6, …');
});

test('class names: from string labels (sorted), numeric ids ("0".."K-1"), three classes', withTmp(async (dir) => {
  writeFileSync(join(dir, 's.jsonl'), jsonl(['pos', 'neg', 'pos', 'neutral']));
  let d = await loadLabeledTexts(join(dir, 's.jsonl'));
  assert.deepEqual(d.labelNames, ['neg', 'neutral', 'pos']);
  assert.deepEqual([...d.labels], [2, 0, 2, 1]);
  writeFileSync(join(dir, 's.csv'), 'text,label\na,positive\nb,negative\n');
  d = await loadLabeledTexts(join(dir, 's.csv'));
  assert.deepEqual(d.labelNames, ['negative', 'positive']);
  assert.deepEqual([...d.labels], [1, 0]);
  writeFileSync(join(dir, 'n.jsonl'), jsonl([2, 0, 1, '1']));
  d = await loadLabeledTexts(join(dir, 'n.jsonl'));
  assert.deepEqual(d.labelNames, ['0', '1', '2']);
  assert.deepEqual([...d.labels], [2, 0, 1, 1]);
}));

test('class names from the metadata: dataset_info.json beside the files, a parquet ClassLabel, aclImdb neg/pos', withTmp(async (dir) => {
  mkdirSync(join(dir, 'saved'));
  writeFileSync(join(dir, 'saved', 'train.jsonl'), jsonl([0, 1, 2, 1]));
  writeFileSync(join(dir, 'saved', 'dataset_info.json'), JSON.stringify({ features: { text: { dtype: 'string', _type: 'Value' }, label: { names: ['neg', 'mixed', 'pos'], _type: 'ClassLabel' } } }));
  assert.deepEqual((await loadLabeledTexts(join(dir, 'saved'))).labelNames, ['neg', 'mixed', 'pos']);
  // Names in the label column are mapped by the declared order, not sorted.
  writeFileSync(join(dir, 'saved', 'train.jsonl'), jsonl(['pos', 'neg', 'mixed']));
  assert.deepEqual([...(await loadLabeledTexts(join(dir, 'saved'))).labels], [2, 0, 1]);
  writeFileSync(join(dir, 'saved', 'train.jsonl'), jsonl([0, 1, 3]));
  await assert.rejects(loadLabeledTexts(join(dir, 'saved')), oneLine(/saved: label 3 is not a class id of the 3 class names \(neg, mixed, pos\)/));

  const { parquetWriteFile } = await import('hyparquet-writer');
  const hf = JSON.stringify({ info: { features: { text: { dtype: 'string', _type: 'Value' }, label: { names: ['neg', 'pos'], _type: 'ClassLabel' } } } });
  parquetWriteFile({
    filename: join(dir, 'cl.parquet'),
    columnData: [{ name: 'text', data: ['a', 'b', 'c'], type: 'STRING' }, { name: 'label', data: [0n, 1n, 1n], type: 'INT64' }],
    kvMetadata: [{ key: 'huggingface', value: hf }],
  });
  const p = await loadLabeledTexts(join(dir, 'cl.parquet'));
  assert.deepEqual(p.labelNames, ['neg', 'pos']);
  assert.deepEqual([...p.labels], [0, 1, 1]);
  // A string label column in parquet: names sorted.
  parquetWriteFile({
    filename: join(dir, 'str.parquet'),
    columnData: [{ name: 'text', data: ['a', 'b', 'c'], type: 'STRING' }, { name: 'label', data: ['spam', 'ham', 'spam'], type: 'STRING' }],
  });
  assert.deepEqual((await loadLabeledTexts(join(dir, 'str.parquet'))).labelNames, ['ham', 'spam']);

  for (const [split, cls, name] of [['train', 'neg', '1_2.txt'], ['train', 'pos', '2_9.txt'], ['test', 'neg', '3_1.txt'], ['test', 'pos', '4_8.txt']]) {
    mkdirSync(join(dir, 'aclImdb', split!, cls!), { recursive: true });
    writeFileSync(join(dir, 'aclImdb', split!, cls!, name!), `${split} ${cls}`);
  }
  assert.deepEqual((await loadLabeledTexts(join(dir, 'aclImdb'))).labelNames, ['neg', 'pos']);
}));

test('labels 0..K-1 with K >= 2: gaps, one class, numbers mixed with names are one-line errors naming the file', withTmp(async (dir) => {
  const bad = async (name: string, content: string, re: RegExp) => {
    writeFileSync(join(dir, name), content);
    await assert.rejects(loadLabeledTexts(join(dir, name)), oneLine(re), name);
  };
  await bad('gap.jsonl', jsonl([0, 5, 0, 5]), /gap\.jsonl: labels must be 0\.\.K-1; found 0, 5 \(missing 1–4\)$/);
  await bad('gap1.jsonl', jsonl([0, 2]), /gap1\.jsonl: labels must be 0\.\.K-1; found 0, 2 \(missing 1\)$/);
  await bad('nozero.csv', 'text,label\na,1\nb,2\n', /nozero\.csv: labels must be 0\.\.K-1; found 1–2 \(missing 0\)$/);
  await bad('one.jsonl', jsonl([0, 0, 0]), /one\.jsonl: only one class \(label 0\) — a classifier needs at least 2$/);
  await bad('one1.jsonl', jsonl([1, 1]), /one1\.jsonl: only one class \(label 1\) — a classifier needs at least 2$/);
  await bad('mixed.jsonl', jsonl([0, 'pos']), /mixed\.jsonl: the label column mixes class numbers \(0 in mixed\.jsonl\) and class names \("pos" in mixed\.jsonl\)/);
  await bad('huge.jsonl', jsonl([0, 2_000_000_000]), /huge\.jsonl: labels must be 0\.\.K-1; found 0, 2000000000 \(missing 1–1999999999\)$/);
  await bad('nulllabel.jsonl', jsonl([0, null]), /nulllabel\.jsonl: label is null on line 2$/);
}));

test('JSONL: a UTF-8 byte order mark is accepted; a null text says "text is null on line N"', withTmp(async (dir) => {
  writeFileSync(join(dir, 'bom.jsonl'), `\uFEFF${jsonl([0, 1])}`);
  assert.deepEqual((await loadLabeledTexts(join(dir, 'bom.jsonl'))).texts, ['t0', 't1']);
  writeFileSync(join(dir, 'bom.csv'), '\uFEFFtext,label\na,0\nb,1\n');
  assert.deepEqual((await loadLabeledTexts(join(dir, 'bom.csv'))).texts, ['a', 'b']);
  const lines = Array.from({ length: 7 }, (_, i) => JSON.stringify({ text: `t${i}`, label: i % 2 }));
  lines.push(JSON.stringify({ text: null, label: 0 }));
  writeFileSync(join(dir, 'null.jsonl'), lines.join('\n'));
  await assert.rejects(loadLabeledTexts(join(dir, 'null.jsonl')), oneLine(/null\.jsonl: text is null on line 8$/));
  writeFileSync(join(dir, 'num.jsonl'), JSON.stringify({ text: 5, label: 0 }));
  await assert.rejects(loadLabeledTexts(join(dir, 'num.jsonl')), oneLine(/num\.jsonl: text is a number, not a string, on line 1$/));
}));

test('loadSplits: K classes give labelNames and labelCounts of length K', withTmp(async (dir) => {
  const labels = Array.from({ length: 90 }, (_, i) => ['neg', 'neutral', 'pos'][i % 3]);
  writeFileSync(join(dir, 'three.jsonl'), jsonl(labels));
  const s = await loadSplits(join(dir, 'three.jsonl'), { subsetFrac: 1, seed: 42 });
  assert.deepEqual(s.info.labelNames, ['neg', 'neutral', 'pos']);
  for (const k of ['train', 'val', 'test'] as const) {
    assert.equal(s.info.labelCounts[k].length, 3);
    assert.equal(s.info.labelCounts[k].reduce((a, b) => a + b, 0), s.info[k]);
  }
  assert.deepEqual(s.info.labelCounts.test, [6, 6, 6]);
}));

test('split errors name the data and the step', withTmp(async (dir) => {
  writeFileSync(join(dir, 'tiny.jsonl'), jsonl([0, 0, 0, 0, 1]));
  await assert.rejects(loadSplits(join(dir, 'tiny.jsonl'), { subsetFrac: 1, seed: 42 }),
    oneLine(/tiny\.jsonl: the test split of 5 rows: The least populated class in label column has only 1 member/));
  writeFileSync(join(dir, 'few.jsonl'), jsonl([0, 1, 0, 1]));
  await assert.rejects(loadSplits(join(dir, 'few.jsonl'), { subsetFrac: 0.1, seed: 42 }),
    oneLine(/few\.jsonl: the SUBSET_FRAC=0\.1 subset of 4 rows: .*train set will be empty/));
  assert.throws(() => notebookSplit([0, 1, 0, 1], 0.1, 42, { source: 'x.csv' }), /^Error: x\.csv: the SUBSET_FRAC=0\.1 subset of 4 rows/);
}));

test('a million rows: read, checked and split without spreading an array (no stack overflow)', withTmp(async (dir) => {
  const n = 1_000_000;
  const rows: string[] = new Array(n);
  for (let i = 0; i < n; i++) rows[i] = `{"text":"r${i}","label":${i % 3}}`;
  writeFileSync(join(dir, 'big.jsonl'), rows.join('\n'));
  const t0 = performance.now();
  const s = await loadSplits(join(dir, 'big.jsonl'), { subsetFrac: 0.25, seed: 42 });
  console.log(`# 1,000,000 rows read and split in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  assert.equal(s.total, n);
  assert.deepEqual([s.info.train, s.info.val, s.info.test], [175000, 25000, 50000]);
  assert.deepEqual(s.info.labelNames, ['0', '1', '2']);
  // The split function alone, on a typed array of a million labels (Math.max(...labels) threw here).
  const labels = new Int32Array(n).map((_, i) => i % 2);
  const ns = notebookSplit(labels, 1, 42);
  assert.equal(ns.info.labelCounts.train.length, 2);
  assert.equal(ns.indices.test.length, 200000);
}));

test('CSV labels: "1.0" (a float column) is class 1, an empty label is named', withTmp(async (dir) => {
  writeFileSync(join(dir, 'f.csv'), 'text,label\na,1.0\nb,0.0\n');
  assert.deepEqual([...(await loadLabeledTexts(join(dir, 'f.csv'))).labels], [1, 0]);
  writeFileSync(join(dir, 'e.csv'), 'text,label\na,1\nb,\n');
  await assert.rejects(loadLabeledTexts(join(dir, 'e.csv')), oneLine(/e\.csv: label is empty on line 3$/));
}));
