import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { main } from './tokenize';

const SHARED = join(__dirname, '..', '..', '..', '..', 'shared');
const BERT = join(SHARED, 'hf', 'bert-base-uncased');
const CASES = join(SHARED, 'tokenizer', 'tokenizer_cases.json');
const skip = existsSync(CASES) && existsSync(BERT) ? false : '../shared/tokenizer or ../shared/hf missing';

async function run(argv: string[], input: string): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const code = await main(argv, { stdin: Readable.from([input]), stdout, stderr });
  return { code, out, err };
}

test('bert-lab tokenize reproduces all 310 cases as JSONL', { skip }, async () => {
  const cases = (JSON.parse(readFileSync(CASES, 'utf8')) as { cases: Array<{ text: string; input_ids_512: number[] }> }).cases;
  const input = cases.map((c) => JSON.stringify({ text: c.text })).join('\n') + '\n';
  const r = await run(['--tokenizer', BERT, '--max-length', '512'], input);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trimEnd().split('\n');
  assert.equal(lines.length, 310);
  lines.forEach((l, i) => assert.deepEqual(JSON.parse(l), { input_ids: cases[i]!.input_ids_512 }, `line ${i + 1}`));
});

test('a bad line is a one-line error naming its line number; earlier lines are written', { skip }, async () => {
  const r = await run(['--tokenizer', BERT], '{"text": "ok"}\n\n{"text": 5}\n');
  assert.equal(r.code, 1);
  assert.equal(r.out, '{"input_ids":[101,7929,102]}\n');
  assert.equal(r.err, 'bert-lab tokenize: stdin line 3: expected an object with a string "text" field\n');
  const bad = await run(['--tokenizer', BERT], 'not json\n');
  assert.match(bad.err, /^bert-lab tokenize: stdin line 1: not valid JSON/);
  assert.equal((await run(['--tokenizer', BERT, '--max-length', '1'], '')).code, 2);
  assert.equal((await run([], '')).code, 2);
});
