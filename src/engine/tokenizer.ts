// WordPiece tokenization for BERT/DistilBERT, through the tokenizer core of transformers.js
// (`@huggingface/tokenizers`, the pure-JS library `@huggingface/transformers` wraps). Importing
// `@huggingface/transformers` itself would load onnxruntime-node and sharp native libraries at
// start-up just to tokenize; the core gives the same ids (checked against AutoTokenizer in the tests).
//
// Truncation is done here, not by the library: transformers.js' `truncation: true, max_length: N`
// drops the final [SEP] of long inputs, whereas Python keeps [CLS] … [SEP]. We encode in full and
// keep the first N-1 ids plus the closing special token.
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Tokenizer as CoreTokenizer } from '@huggingface/tokenizers' with { 'resolution-mode': 'import' };
import { ensureHubFiles, toHubModelId, type HubProgress } from '../data/hub';

export interface Tokenizer {
  /** Token ids per text: `[CLS] … [SEP]`, unpadded, at most `maxLen` long (keeping [CLS] and the final [SEP]). */
  encode(texts: string[], maxLen: number): { inputIds: number[][] };
  readonly padId: number;
  readonly vocabSize: number;
  readonly clsId: number;
  readonly sepId: number;
  /** The folder the tokenizer files were read from. */
  readonly dir: string;
}

export interface LoadTokenizerOptions {
  cacheDir?: string;
  onProgress?: (p: HubProgress) => void;
}

const loaded = new Map<string, Promise<Tokenizer>>();

/**
 * Loads a tokenizer from a folder holding `tokenizer.json` (or a BERT `vocab.txt`), or from a Hub
 * model id / Keras-Hub preset name (files fetched once into the Hugging Face cache). Loaded
 * tokenizers are shared within the process.
 */
export function loadTokenizer(source: string, opts: LoadTokenizerOptions = {}): Promise<Tokenizer> {
  const key = `${source}\0${opts.cacheDir ?? ''}`;
  let p = loaded.get(key);
  if (!p) {
    p = locate(source, opts).then(fromFolder);
    p.catch(() => loaded.delete(key));
    loaded.set(key, p);
  }
  return p;
}

async function locate(source: string, opts: LoadTokenizerOptions): Promise<string> {
  const local = resolve(source);
  if (existsSync(local)) {
    if (!statSync(local).isDirectory()) throw new Error(`tokenizer ${source}: not a folder (give the folder that holds tokenizer.json or vocab.txt)`);
    return local;
  }
  if (/^[./~]/.test(source) || source.includes('\\')) throw new Error(`tokenizer folder ${source} does not exist`);
  const repoId = toHubModelId(source);
  const common = { repoType: 'model' as const, cacheDir: opts.cacheDir, onProgress: opts.onProgress };
  try {
    return await ensureHubFiles(repoId, ['tokenizer.json', 'tokenizer_config.json'], { ...common, optional: ['tokenizer_config.json'] });
  } catch (err) {
    // Older repos ship only vocab.txt (a BERT WordPiece vocabulary).
    if (!/does not exist in the repository/.test((err as Error).message)) throw err;
    return ensureHubFiles(repoId, ['vocab.txt', 'tokenizer_config.json'], { ...common, optional: ['tokenizer_config.json'] });
  }
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`${path}: cannot read the tokenizer file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${path}: not a JSON object`);
  return json as Record<string, unknown>;
}

async function fromFolder(dir: string): Promise<Tokenizer> {
  const configPath = join(dir, 'tokenizer_config.json');
  const config = existsSync(configPath) ? await readJson(configPath) : {};
  const jsonPath = join(dir, 'tokenizer.json');
  let spec: Record<string, unknown>;
  if (existsSync(jsonPath)) spec = await readJson(jsonPath);
  else if (existsSync(join(dir, 'vocab.txt'))) spec = bertSpecFromVocab(await readFile(join(dir, 'vocab.txt'), 'utf8'), config);
  else throw new Error(`tokenizer ${dir}: the folder has neither tokenizer.json nor vocab.txt`);

  // A dynamic import: the package is ESM-only for TypeScript's CommonJS view (the bundle inlines it).
  const { Tokenizer: CoreTokenizerClass } = await import('@huggingface/tokenizers');
  let core: CoreTokenizer;
  try {
    core = new CoreTokenizerClass(spec, config);
  } catch (err) {
    throw new Error(`${existsSync(jsonPath) ? jsonPath : join(dir, 'vocab.txt')}: not a valid tokenizer (${(err as Error).message.split('\n')[0]})`);
  }
  const id = (name: string, fallback?: string): number => {
    const configured = typeof config[`${name}_token`] === 'string' ? (config[`${name}_token`] as string) : fallback;
    const v = configured === undefined ? undefined : core.token_to_id(configured);
    if (v === undefined) throw new Error(`tokenizer ${dir}: the vocabulary has no ${configured ?? name} token`);
    return v;
  };
  const padId = id('pad', '[PAD]');
  const clsId = id('cls', '[CLS]');
  const sepId = id('sep', '[SEP]');
  const vocabSize = core.get_vocab(true).size;

  return {
    padId, clsId, sepId, vocabSize, dir,
    encode(texts: string[], maxLen: number) {
      if (!Number.isInteger(maxLen) || maxLen < 2) throw new Error(`max length must be an integer ≥ 2, got ${maxLen}`);
      const inputIds = texts.map((text) => {
        const ids = core.encode(text).ids;
        // Keep [CLS] + the first tokens + the closing special token ([SEP]), as Python's truncation does.
        return ids.length > maxLen ? [...ids.slice(0, maxLen - 1), ids[ids.length - 1]!] : ids;
      });
      return { inputIds };
    },
  };
}

/** The tokenizer.json that `transformers` builds for a BERT WordPiece vocab.txt (BertTokenizerFast). */
function bertSpecFromVocab(vocabText: string, config: Record<string, unknown>): Record<string, unknown> {
  const tokens = vocabText.split(/\r?\n/);
  if (tokens.at(-1) === '') tokens.pop();
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => { vocab[t] = i; });
  const lower = config.do_lower_case !== false;
  const special = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].filter((t) => t in vocab);
  return {
    version: '1.0',
    added_tokens: special.map((t) => ({ id: vocab[t], content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: config.strip_accents ?? null, lowercase: lower },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

export interface PaddedBatch {
  /** Row-major [batch, len] token ids. */
  inputIds: Int32Array;
  /** 1 for real tokens, 0 for padding. */
  attentionMask: Int32Array;
  shape: [number, number];
}

/** Pads a batch to its longest sequence (dynamic padding), or to `padTo` when given. */
export function padBatch(ids: number[][], padTo?: number, padId = 0): PaddedBatch {
  const longest = ids.reduce((m, r) => Math.max(m, r.length), 0);
  const len = padTo ?? longest;
  if (len < longest) throw new Error(`padBatch: a sequence of ${longest} tokens does not fit padTo=${len}`);
  const inputIds = new Int32Array(ids.length * len).fill(padId);
  const attentionMask = new Int32Array(ids.length * len);
  ids.forEach((row, b) => {
    inputIds.set(row, b * len);
    attentionMask.fill(1, b * len, b * len + row.length);
  });
  return { inputIds, attentionMask, shape: [ids.length, len] };
}
