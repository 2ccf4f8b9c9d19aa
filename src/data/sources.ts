// Labeled text data sets from local files or the Hugging Face Hub, as one list of (text, label) rows.
//
// Sources:
//   hub:stanfordnlp/imdb (or hub:imdb)   the parquet files of the Hub data set, train then test
//   hub:<org>/<name>/<path-in-repo>      one data file of a Hub data set
//   a file: .jsonl/.ndjson/.json (optionally .gz), .csv/.tsv (optionally .gz), .parquet
//   a folder of such files: train* files first, then test* files (the notebook joins train + test);
//     without train/test names, all data files by name
//   the original aclImdb folder (train|test/neg|pos/<id>_<rating>.txt): train then test, neg (0)
//     then pos (1), ascending review id
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { parse as parseCsv } from 'csv-parse/sync';
import { ensureHubFiles, type HubProgress } from './hub';

export interface DataProgress extends HubProgress {
  stage: 'download' | 'read';
}

export interface LoadOptions {
  textColumn?: string;
  labelColumn?: string;
  cacheDir?: string;
  onProgress?: (p: DataProgress) => void;
}

export interface LabeledTexts {
  texts: string[];
  labels: Int32Array;
  /** What was read, e.g. "train.jsonl.gz (25000) + test.jsonl.gz (25000)". */
  description: string;
}

/** The Hub data set of the homework and its files (the `plain_text` configuration). */
export const HUB_IMDB = {
  repo: 'stanfordnlp/imdb',
  files: ['plain_text/train-00000-of-00001.parquet', 'plain_text/test-00000-of-00001.parquet'],
};

const DATA_FILE = /\.(jsonl|ndjson|json|csv|tsv)(\.gz)?$|\.parquet$/i;

const loaded = new Map<string, Promise<LabeledTexts>>();

/**
 * Reads a labeled text data set. Results are kept for the life of the process (keyed by source,
 * columns and the source's modification time), so a sweep reads the data once.
 */
export function loadLabeledTexts(source: string, opts: LoadOptions = {}): Promise<LabeledTexts> {
  const local = !source.startsWith('hub:');
  const mtime = local && existsSync(source) ? statSync(source).mtimeMs : 0;
  const key = JSON.stringify([local ? resolve(source) : source, opts.textColumn, opts.labelColumn, opts.cacheDir, mtime]);
  let p = loaded.get(key);
  if (!p) {
    p = load(source, opts);
    p.catch(() => loaded.delete(key));
    loaded.set(key, p);
  }
  return p;
}

async function load(source: string, opts: LoadOptions): Promise<LabeledTexts> {
  const columns = { text: opts.textColumn ?? 'text', label: opts.labelColumn ?? 'label' };
  if (source.startsWith('hub:')) return loadHub(source.slice(4), columns, opts);
  const path = resolve(source);
  if (!existsSync(path)) throw new Error(`data source ${source} does not exist`);
  if (statSync(path).isFile()) return combine([await readDataFile(path, columns, opts)]);
  const acl = findAclImdb(path);
  if (acl) return readAclImdb(acl, opts);
  const files = dataFilesOf(path);
  const parts = [];
  for (const f of files) parts.push(await readDataFile(f, columns, opts));
  return combine(parts);
}

async function loadHub(spec: string, columns: Columns, opts: LoadOptions): Promise<LabeledTexts> {
  const parts = spec.split('/');
  let repo: string;
  let files: string[];
  if (spec === 'imdb' || spec === HUB_IMDB.repo) {
    repo = HUB_IMDB.repo;
    files = HUB_IMDB.files;
  } else if (parts.length > 2 && DATA_FILE.test(spec)) {
    repo = parts.slice(0, 2).join('/');
    files = [parts.slice(2).join('/')];
  } else {
    throw new Error(`hub:${spec}: give hub:${HUB_IMDB.repo} or the path of a data file in a Hub data set, e.g. hub:org/name/data/train.parquet`);
  }
  const snapshot = await ensureHubFiles(repo, files, {
    repoType: 'dataset', cacheDir: opts.cacheDir, onProgress: (p) => opts.onProgress?.({ ...p, stage: 'download' }),
  });
  const out = [];
  for (const f of files) out.push(await readDataFile(join(snapshot, ...f.split('/')), columns, opts, `hub:${repo}/${f}`));
  return combine(out);
}

interface Columns { text: string; label: string }
interface Part { name: string; texts: string[]; labels: number[] }

function combine(parts: Part[]): LabeledTexts {
  const texts = parts.flatMap((p) => p.texts);
  const labels = Int32Array.from(parts.flatMap((p) => p.labels));
  const description = parts.map((p) => `${p.name} (${p.texts.length})`).join(' + ');
  if (texts.length === 0) throw new Error(`data source has no rows: ${description || 'no data files'}`);
  return { texts, labels, description };
}

/** Data files of a folder: train* then test* when present (other splits ignored), else all by name. */
export function dataFilesOf(dir: string): string[] {
  const names = readdirSync(dir).filter((n) => DATA_FILE.test(n) && statSync(join(dir, n)).isFile()).sort();
  if (names.length === 0) {
    // A copy of the Hub repo keeps the files in a configuration folder (plain_text/).
    const subs = readdirSync(dir).filter((n) => !n.startsWith('.') && statSync(join(dir, n)).isDirectory());
    if (subs.length === 1) return dataFilesOf(join(dir, subs[0]!));
    throw new Error(`${dir}: no data files (.jsonl, .json, .csv, .tsv, optionally .gz, or .parquet) and no aclImdb layout`);
  }
  const train = names.filter((n) => /^train/i.test(n));
  const test = names.filter((n) => /^test/i.test(n));
  const chosen = train.length + test.length > 0 ? [...train, ...test] : names;
  return chosen.map((n) => join(dir, n));
}

async function readDataFile(path: string, columns: Columns, opts: LoadOptions, name = basename(path)): Promise<Part> {
  opts.onProgress?.({ stage: 'read', file: name, loaded: 0 });
  const lower = path.toLowerCase();
  let part: Part;
  if (lower.endsWith('.parquet')) part = await readParquet(path, columns, name);
  else {
    let buf: Buffer;
    try {
      buf = await readFile(path);
      if (lower.endsWith('.gz')) buf = await promisify(gunzip)(buf);
    } catch (err) {
      throw new Error(`${name}: cannot read (${(err as Error).message})`);
    }
    const text = buf.toString('utf8');
    if (/\.(csv|tsv)(\.gz)?$/.test(lower)) part = readCsv(text, lower.includes('.tsv') ? '\t' : ',', columns, name);
    else part = readJsonLines(text, columns, name);
  }
  opts.onProgress?.({ stage: 'read', file: name, loaded: part.texts.length, total: part.texts.length });
  return part;
}

function toLabel(v: unknown, where: string, column: string): number {
  let n: number = NaN;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'bigint') n = Number(v);
  else if (typeof v === 'boolean') n = v ? 1 : 0;
  else if (typeof v === 'string' && /^\s*\d+\s*$/.test(v)) n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) {
    throw new Error(`${where}: ${column} ${JSON.stringify(typeof v === 'bigint' ? String(v) : v)} is not a non-negative integer class label`);
  }
  return n;
}

function readJsonLines(text: string, columns: Columns, name: string): Part {
  const texts: string[] = [];
  const labels: number[] = [];
  const take = (obj: unknown, where: string) => {
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new Error(`${where}: expected a JSON object`);
    const o = obj as Record<string, unknown>;
    if (typeof o[columns.text] !== 'string') {
      throw new Error(`${where}: no string field "${columns.text}" (fields: ${Object.keys(o).join(', ')}); choose the text column`);
    }
    if (!(columns.label in o)) throw new Error(`${where}: no field "${columns.label}" (fields: ${Object.keys(o).join(', ')}); choose the label column`);
    texts.push(o[columns.text] as string);
    labels.push(toLabel(o[columns.label], where, `label "${columns.label}"`));
  };
  if (/^\s*\[/.test(text)) {
    // A .json file holding one array of objects.
    let rows: unknown;
    try {
      rows = JSON.parse(text);
    } catch (err) {
      throw new Error(`${name}: not valid JSON (${(err as Error).message})`);
    }
    (rows as unknown[]).forEach((r, i) => take(r, `${name}: item ${i}`));
    return { name, texts, labels };
  }
  let start = 0;
  for (let lineNo = 1; start <= text.length; lineNo++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.trim() === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (err) {
      throw new Error(`${name}:${lineNo}: not valid JSON (${(err as Error).message})`);
    }
    take(obj, `${name}:${lineNo}`);
  }
  return { name, texts, labels };
}

function readCsv(text: string, delimiter: string, columns: Columns, name: string): Part {
  let records: Array<{ record: Record<string, string>; info: { lines: number } }>;
  try {
    records = parseCsv(text, { columns: true, delimiter, bom: true, skip_empty_lines: true, info: true, relax_column_count: false }) as typeof records;
  } catch (err) {
    throw new Error(`${name}: ${(err as Error).message}`);
  }
  const header = records.length > 0 ? Object.keys(records[0]!.record) : (text.split(/\r?\n/)[0] ?? '').split(delimiter);
  for (const c of [columns.text, columns.label]) {
    if (!header.includes(c)) throw new Error(`${name}: no column "${c}" (columns: ${header.join(', ')}); choose the ${c === columns.text ? 'text' : 'label'} column`);
  }
  return {
    name,
    texts: records.map((r) => r.record[columns.text]!),
    labels: records.map((r) => toLabel(r.record[columns.label], `${name}:${r.info.lines}`, `label "${columns.label}"`)),
  };
}

async function readParquet(path: string, columns: Columns, name: string): Promise<Part> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetSchema, parquetReadObjects } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  let file;
  let metadata;
  try {
    file = await asyncBufferFromFile(path);
    metadata = await parquetMetadataAsync(file);
  } catch (err) {
    throw new Error(`${name}: not a readable parquet file (${(err as Error).message})`);
  }
  const names = parquetSchema(metadata).children.map((c) => c.element.name);
  for (const c of [columns.text, columns.label]) {
    if (!names.includes(c)) throw new Error(`${name}: no column "${c}" (columns: ${names.join(', ')}); choose the ${c === columns.text ? 'text' : 'label'} column`);
  }
  const rows = await parquetReadObjects({ file, metadata, columns: [columns.text, columns.label], compressors });
  const texts: string[] = new Array(rows.length);
  const labels: number[] = new Array(rows.length);
  rows.forEach((r, i) => {
    const t = r[columns.text];
    if (typeof t !== 'string') throw new Error(`${name}: row ${i}: ${columns.text} is not a string`);
    texts[i] = t;
    labels[i] = toLabel(r[columns.label], `${name}: row ${i}`, `label "${columns.label}"`);
  });
  return { name, texts, labels };
}

/** The aclImdb folder (or a folder holding it), when `dir` has its train|test/neg|pos layout. */
function findAclImdb(dir: string): string | undefined {
  for (const d of [dir, join(dir, 'aclImdb')]) {
    if (['train', 'test'].some((s) => existsSync(join(d, s, 'neg')) && existsSync(join(d, s, 'pos')))) return d;
  }
  return undefined;
}

async function readAclImdb(dir: string, opts: LoadOptions): Promise<LabeledTexts> {
  const parts: Part[] = [];
  for (const split of ['train', 'test']) {
    if (!existsSync(join(dir, split))) continue;
    const texts: string[] = [];
    const labels: number[] = [];
    for (const [cls, label] of [['neg', 0], ['pos', 1]] as const) {
      const folder = join(dir, split, cls);
      if (!existsSync(folder)) throw new Error(`${join(dir, split)}: missing ${cls}/ folder`);
      const files = readdirSync(folder).filter((n) => /^\d+_\d+\.txt$/.test(n));
      files.sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
      opts.onProgress?.({ stage: 'read', file: `${split}/${cls}`, loaded: 0, total: files.length });
      for (const f of files) {
        texts.push(await readFile(join(folder, f), 'utf8'));
        labels.push(label);
      }
    }
    parts.push({ name: `aclImdb/${split}`, texts, labels });
  }
  return combine(parts);
}
