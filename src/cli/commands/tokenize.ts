// `bert-lab tokenize`: JSONL {"text": ...} on stdin -> JSONL {"input_ids": [...]} on stdout.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loadTokenizer } from '../../engine/tokenizer';

export const summary = 'Tokenize JSONL {"text"} from stdin to JSONL {"input_ids"}';

const HELP = `usage: bert-lab tokenize --tokenizer <folder-or-hub-id> [--max-length N] [--cache-dir DIR] [--stats]

Reads JSON lines {"text": "..."} on stdin and writes one line {"input_ids": [...]} per input line:
[CLS] ... [SEP], truncated to --max-length (default 512) keeping [CLS] and the final [SEP], unpadded.
--tokenizer is a folder with tokenizer.json (or vocab.txt), a Hugging Face id (bert-base-uncased) or
a Keras-Hub preset name (distil_bert_base_en_uncased). Blank lines are skipped. --stats prints the
load time and throughput to stderr.`;

/** Streams are injectable for tests; the CLI uses the process's. */
export interface TokenizeIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export async function main(argv: string[], io: TokenizeIo = process): Promise<number> {
  const { stdin, stdout, stderr } = io;
  const fail = (msg: string, code: number) => {
    stderr.write(`bert-lab tokenize: ${msg}\n`);
    return code;
  };
  const { values } = parseArgs({
    args: argv,
    options: {
      tokenizer: { type: 'string' },
      'max-length': { type: 'string', default: '512' },
      'cache-dir': { type: 'string' },
      stats: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    stdout.write(`${HELP}\n`);
    return 0;
  }
  if (!values.tokenizer) {
    return fail('--tokenizer is required (see bert-lab tokenize --help)', 2);
  }
  const maxLen = Number(values['max-length']);
  if (!Number.isInteger(maxLen) || maxLen < 2) {
    return fail(`--max-length must be an integer ≥ 2, got "${values['max-length']}"`, 2);
  }
  const t0 = performance.now();
  const tok = await loadTokenizer(values.tokenizer, { cacheDir: values['cache-dir'] });
  const loadMs = performance.now() - t0;
  let encodeMs = 0;
  let nTexts = 0;
  let nTokens = 0;
  let nTruncated = 0;

  // Batches keep stdout writes large; a bad line stops the run after the lines before it were written.
  const BATCH = 256;
  let texts: string[] = [];
  const flush = async () => {
    if (texts.length === 0) return;
    const t = performance.now();
    const { inputIds } = tok.encode(texts, maxLen);
    encodeMs += performance.now() - t;
    nTexts += inputIds.length;
    for (const ids of inputIds) {
      nTokens += ids.length;
      if (ids.length === maxLen) nTruncated++;
    }
    const out = inputIds.map((ids) => `{"input_ids":[${ids.join(',')}]}\n`).join('');
    texts = [];
    if (!stdout.write(out)) await new Promise<void>((r) => stdout.once('drain', r));
  };
  let lineNo = 0;
  for await (const line of createInterface({ input: stdin, crlfDelay: Infinity })) {
    lineNo++;
    if (line.trim() === '') continue;
    let text: unknown;
    try {
      text = (JSON.parse(line) as { text?: unknown })?.text;
    } catch (err) {
      await flush();
      return fail(`stdin line ${lineNo}: not valid JSON (${(err as Error).message})`, 1);
    }
    if (typeof text !== 'string') {
      await flush();
      return fail(`stdin line ${lineNo}: expected an object with a string "text" field`, 1);
    }
    texts.push(text);
    if (texts.length >= BATCH) await flush();
  }
  await flush();
  if (values.stats) {
    stderr.write(
      `tokenizer ${tok.dir} loaded in ${loadMs.toFixed(0)} ms; ${nTexts} texts, ${nTokens} tokens ` +
        `(${nTruncated} at max length ${maxLen}) in ${(encodeMs / 1000).toFixed(2)} s = ${(nTexts / (encodeMs / 1000 || 1)).toFixed(0)} texts/s\n`,
    );
  }
  return 0;
}
