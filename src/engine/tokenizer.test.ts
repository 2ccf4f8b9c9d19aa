import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer, padBatch } from './tokenizer';

const SHARED = join(__dirname, '..', '..', '..', 'shared');
const BERT = join(SHARED, 'hf', 'bert-base-uncased');
const CASES = join(SHARED, 'tokenizer', 'tokenizer_cases.json');
const skip = existsSync(CASES) && existsSync(BERT) ? false : `../shared/tokenizer or ../shared/hf missing`;

interface Case { text: string; input_ids_512: number[]; n_tokens_untruncated: number }
const cases = (): Case[] => (JSON.parse(readFileSync(CASES, 'utf8')) as { cases: Case[] }).cases;

test('reproduces all 310 reference cases at max length 512 and 128 (keeping [CLS] and [SEP])', { skip }, async () => {
  const tok = await loadTokenizer(BERT);
  const all = cases();
  assert.equal(all.length, 310);
  assert.equal(tok.vocabSize, 30522);
  assert.deepEqual([tok.padId, tok.clsId, tok.sepId], [0, 101, 102]);
  const got512 = tok.encode(all.map((c) => c.text), 512).inputIds;
  const full = tok.encode(all.map((c) => c.text), 100_000).inputIds;
  let truncated = 0;
  all.forEach((c, i) => {
    assert.deepEqual(got512[i], c.input_ids_512, `case ${i} at 512`);
    assert.equal(full[i]!.length, c.n_tokens_untruncated, `case ${i} untruncated length`);
    if (c.n_tokens_untruncated > 512) truncated++;
  });
  assert.ok(truncated > 5, 'the cases include reviews longer than 512 tokens');
  const got128 = tok.encode(all.map((c) => c.text), 128).inputIds;
  all.forEach((c, i) => {
    const expected = full[i]!.length > 128 ? [...full[i]!.slice(0, 127), 102] : full[i]!;
    assert.deepEqual(got128[i], expected, `case ${i} at 128`);
    // And it is a prefix of the reference at 512 plus [SEP].
    if (c.n_tokens_untruncated > 128) assert.deepEqual(got128[i]!.slice(0, 127), c.input_ids_512.slice(0, 127));
  });
});

test('gives the same ids as @huggingface/transformers AutoTokenizer (without its truncation)', { skip }, async () => {
  const { AutoTokenizer } = await import('@huggingface/transformers');
  const ref = await AutoTokenizer.from_pretrained(BERT, { local_files_only: true });
  const tok = await loadTokenizer(BERT);
  const sample = cases().filter((_, i) => i % 7 === 0);
  const ours = tok.encode(sample.map((c) => c.text), 100_000).inputIds;
  sample.forEach((c, i) => assert.deepEqual(ours[i], ref.encode(c.text), `case ${i}`));
});

test('a folder with only vocab.txt tokenizes like tokenizer.json', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bert-lab-vocab-'));
  try {
    copyFileSync(join(BERT, 'vocab.txt'), join(dir, 'vocab.txt'));
    writeFileSync(join(dir, 'tokenizer_config.json'), '{"do_lower_case": true}');
    const tok = await loadTokenizer(dir);
    const sample = cases().slice(0, 80);
    const ids = tok.encode(sample.map((c) => c.text), 512).inputIds;
    sample.forEach((c, i) => assert.deepEqual(ids[i], c.input_ids_512, `case ${i}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a Hub id or Keras-Hub preset name is read from the Hugging Face cache without network', { skip }, async () => {
  const cache = mkdtempSync(join(tmpdir(), 'bert-lab-tokcache-'));
  try {
    const commit = '0123456789abcdef0123456789abcdef01234567';
    const repo = join(cache, 'models--bert-base-uncased');
    mkdirSync(join(repo, 'refs'), { recursive: true });
    mkdirSync(join(repo, 'snapshots', commit), { recursive: true });
    writeFileSync(join(repo, 'refs', 'main'), commit);
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(BERT, f), join(repo, 'snapshots', commit, f));
    const tok = await loadTokenizer('bert_base_en_uncased', { cacheDir: cache });
    assert.equal(tok.dir, join(repo, 'snapshots', commit));
    assert.deepEqual(tok.encode(['Hello, world!'], 8).inputIds, [[101, 7592, 1010, 2088, 999, 102]]);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('bad sources and lengths are clear errors', async () => {
  await assert.rejects(loadTokenizer('./no/such/folder'), /folder .* does not exist/);
  const empty = mkdtempSync(join(tmpdir(), 'bert-lab-empty-'));
  try {
    await assert.rejects(loadTokenizer(empty), /neither tokenizer.json nor vocab.txt/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('a max length below 2 (no room for [CLS] and [SEP]) is a clear error', { skip }, async () => {
  await assert.rejects(async () => (await loadTokenizer(BERT)).encode(['x'], 1), /max length/);
});

test('padBatch pads to the longest sequence or to padTo, with an attention mask', () => {
  const b = padBatch([[101, 5, 102], [101, 102]], undefined, 0);
  assert.deepEqual(b.shape, [2, 3]);
  assert.deepEqual([...b.inputIds], [101, 5, 102, 101, 102, 0]);
  assert.deepEqual([...b.attentionMask], [1, 1, 1, 1, 1, 0]);
  const c = padBatch([[1, 2]], 4, 9);
  assert.deepEqual([...c.inputIds], [1, 2, 9, 9]);
  assert.deepEqual([...c.attentionMask], [1, 1, 0, 0]);
  assert.throws(() => padBatch([[1, 2, 3]], 2), /does not fit/);
});

test('broken tokenizer files: one line naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bert-lab-badtok-'));
  try {
    const put = (sub: string, name: string, text: string) => {
      mkdirSync(join(dir, sub), { recursive: true });
      writeFileSync(join(dir, sub, name), text);
      return join(dir, sub);
    };
    const cases: Array<[string, RegExp]> = [
      [put('a', 'tokenizer.json', '{"model": '), /a\/tokenizer\.json: not valid JSON \(/],
      [put('b', 'tokenizer.json', '[]'), /b\/tokenizer\.json: not a JSON object$/],
      [put('c', 'tokenizer.json', '{}'), /c\/tokenizer\.json: not a valid tokenizer \(Tokenizer must contain a "model" property\)$/],
      [put('d', 'vocab.txt', 'hello\nworld\n'), /^tokenizer \S+\/d: the vocabulary has no \[PAD\] token$/],
      [join(put('e', 'vocab.txt', '[PAD]\n'), 'vocab.txt'), /^tokenizer \S+\/e\/vocab\.txt: not a folder/],
    ];
    for (const [src, re] of cases) await assert.rejects(loadTokenizer(src), (e: Error) => re.test(e.message) && !e.message.includes('\n'), src);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
