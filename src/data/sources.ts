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
//
// Classes: labels are class ids 0..K-1 (K >= 2, no gaps) or class names. Names come from the source
// where it has them: a parquet file's Hugging Face ClassLabel (its "huggingface" metadata), a
// dataset_info.json beside the files (datasets' save_to_disk), aclImdb's neg/pos, or the label values
// themselves when they are names ("neg"/"pos": sorted, as datasets' class_encode_column does);
// numeric labels without names are named "0", "1", ….
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
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
  /** Class ids 0..K-1. */
  labels: Int32Array;
  /** Class names, index = class id; K = labelNames.length >= 2. */
  labelNames: string[];
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
  const mtime = local ? modified(source) : 0;
  const key = JSON.stringify([local ? resolve(source) : source, opts.textColumn, opts.labelColumn, opts.cacheDir, mtime]);
  let p = loaded.get(key);
  if (!p) {
    p = load(source, opts);
    p.catch(() => loaded.delete(key));
    loaded.set(key, p);
  }
  return p;
}

/** When a local source last changed: a file's mtime, or for a folder the latest of it and its entries. */
function modified(source: string): number {
  const st = statSync(source, { throwIfNoEntry: false });
  if (!st) return 0;
  let t = st.mtimeMs;
  if (st.isDirectory()) {
    for (const n of readdirSync(source)) t = Math.max(t, statSync(join(source, n), { throwIfNoEntry: false })?.mtimeMs ?? 0);
  }
  return t;
}

async function load(source: string, opts: LoadOptions): Promise<LabeledTexts> {
  const columns = { text: opts.textColumn ?? 'text', label: opts.labelColumn ?? 'label' };
  if (source.startsWith('hub:')) return loadHub(source.slice(4), columns, opts);
  const path = resolve(source);
  if (!existsSync(path)) throw new Error(`data source ${source} does not exist`);
  if (statSync(path).isFile()) return combine([await readDataFile(path, columns, opts)], source, sidecarNames(dirname(path), columns));
  const acl = findAclImdb(path);
  if (acl) return readAclImdb(acl, opts, source);
  const files = dataFilesOf(path);
  const parts = [];
  for (const f of files) parts.push(await readDataFile(f, columns, opts));
  return combine(parts, source, sidecarNames(dirname(files[0]!), columns));
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
  // The homework's data set: its ClassLabel is neg/pos even where a copy lost the parquet metadata.
  return combine(out, `hub:${spec}`, repo === HUB_IMDB.repo && columns.label === 'label' ? ['neg', 'pos'] : undefined);
}

interface Columns { text: string; label: string }
/** A label as read: a class id, or a class name (a string that is not a whole number). */
type RawLabel = number | string;
interface Part {
  name: string;
  texts: string[];
  labels: RawLabel[];
  /** Class names the file itself declares (a parquet ClassLabel). */
  names?: string[];
}

/** "0, 2–4, 9" for sorted distinct integers; at most `max` ranges, then "…". */
export function formatRanges(sorted: ArrayLike<number>, max = 8): string {
  const out: string[] = [];
  for (let i = 0; i < sorted.length && out.length <= max; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(j === i ? String(sorted[i]) : `${sorted[i]}–${sorted[j]}`);
    i = j + 1;
  }
  return out.length > max ? `${out.slice(0, max).join(', ')}, …` : out.join(', ');
}

/**
 * Joins the parts and turns their labels into class ids 0..K-1 with names. `source` (as the user gave it)
 * names the data in errors; `declared` are class names from the source's metadata, if any.
 */
function combine(parts: Part[], source: string, declared?: string[]): LabeledTexts {
  const description = parts.map((p) => `${p.name} (${p.texts.length})`).join(' + ');
  let n = 0;
  for (const p of parts) n += p.texts.length;
  if (n === 0) throw new Error(`${source}: data source has no rows: ${description || 'no data files'}`);
  const texts: string[] = new Array(n);
  const labels = new Int32Array(n);
  const names = declared ?? parts.find((p) => p.names)?.names;
  // Class names in the label column: ids by the declared names, else by sorted name.
  let firstNumber: { value: number; part: Part } | undefined;
  let firstName: { value: string; part: Part } | undefined;
  const nameSet = new Set<string>();
  for (const p of parts) {
    for (const l of p.labels) {
      if (typeof l === 'number') { firstNumber ??= { value: l, part: p }; continue; }
      firstName ??= { value: l, part: p };
      nameSet.add(l);
    }
  }
  if (firstNumber && firstName) {
    throw new Error(`${source}: the label column mixes class numbers (${firstNumber.value} in ${firstNumber.part.name}) and class names (${JSON.stringify(firstName.value)} in ${firstName.part.name}); use one or the other`);
  }
  let labelNames = names;
  let idOf: Map<string, number> | undefined;
  if (firstName) {
    labelNames = names ?? [...nameSet].sort();
    idOf = new Map(labelNames.map((name, i) => [name, i]));
    for (const name of nameSet) {
      if (!idOf.has(name)) throw new Error(`${source}: label ${JSON.stringify(name)} is not one of the class names (${labelNames.join(', ')})`);
    }
  }
  const counts = new Map<number, number>();
  let at = 0;
  for (const p of parts) {
    for (let i = 0; i < p.texts.length; i++, at++) {
      texts[at] = p.texts[i]!;
      const l = p.labels[i]!;
      const id = typeof l === 'number' ? l : idOf!.get(l)!;
      labels[at] = id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  const found = Int32Array.from(counts.keys()).sort();
  let max = -1;
  for (const c of found) if (c > max) max = c;
  const k = labelNames ? labelNames.length : max + 1;
  const named = (id: number) => (labelNames ? ` ${JSON.stringify(labelNames[id] ?? '?')}` : '');
  if (labelNames && max >= labelNames.length) {
    throw new Error(`${source}: label ${max} is not a class id of the ${labelNames.length} class names (${labelNames.join(', ')}): labels must be 0..${labelNames.length - 1}`);
  }
  if (found.length === 1) {
    throw new Error(`${source}: only one class (label ${found[0]}${named(found[0]!)}) — a classifier needs at least 2`);
  }
  if (found.length < k) {
    // The ids 0..k-1 that no row has, as ranges (never one entry per id: k may be huge).
    const ranges: string[] = [];
    let expect = 0;
    const upTo = (c: number) => {
      if (c > expect) ranges.push(c - 1 === expect ? `${expect}${named(expect)}` : `${expect}–${c - 1}`);
      expect = c + 1;
    };
    for (const c of found) upTo(c);
    upTo(k);
    const shown = ranges.length > 8 ? `${ranges.slice(0, 8).join(', ')}, …` : ranges.join(', ');
    throw new Error(`${source}: labels must be 0..K-1; found ${formatRanges(found)} (missing ${shown})`);
  }
  return { texts, labels, labelNames: labelNames ?? Array.from({ length: k }, (_, i) => String(i)), description };
}

/** Class names of the label column from a dataset_info.json beside the data (datasets' save_to_disk). */
function sidecarNames(dir: string, columns: Columns): string[] | undefined {
  const file = join(dir, 'dataset_info.json');
  if (!existsSync(file)) return undefined;
  let info: unknown;
  try {
    info = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  return classLabelNames((info as { features?: unknown } | null)?.features, columns.label, file);
}

/** `features[column].names` of a datasets ClassLabel, checked. */
function classLabelNames(features: unknown, column: string, where: string): string[] | undefined {
  const f = (features && typeof features === 'object' ? (features as Record<string, unknown>)[column] : undefined) as { names?: unknown } | undefined;
  if (!f || typeof f !== 'object' || f.names === undefined) return undefined;
  const names = f.names;
  if (!Array.isArray(names) || !names.every((x) => typeof x === 'string') || new Set(names).size !== names.length) {
    throw new Error(`${where}: the class names of "${column}" must be a list of distinct strings`);
  }
  if (names.length < 2) throw new Error(`${where}: "${column}" declares ${names.length} class name${names.length === 1 ? '' : 's'} — a classifier needs at least 2`);
  return names as string[];
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

const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);

/**
 * A label as written: a class id (a whole number >= 0, also as text "1"), or a class name (any other
 * non-empty text). `file` and `at` ("line 8") place it in errors.
 */
function toLabel(v: unknown, file: string, at: string, column: string): RawLabel {
  if (v === null || v === undefined) throw new Error(`${file}: ${column} is ${v === null ? 'null' : 'missing'} on ${at}`);
  let n: number = NaN;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'bigint') n = Number(v);
  else if (typeof v === 'boolean') n = v ? 1 : 0;
  else if (typeof v === 'string') {
    const t = v.trim();
    if (t === '') throw new Error(`${file}: ${column} is empty on ${at}`);
    // Numbers as text ("1", "1.0" from a float column) are class ids; any other text is a class name.
    if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) n = Number(t);
    else return t;
  } else {
    throw new Error(`${file}: ${column} is ${kindOf(v)} on ${at}, not a class id or name`);
  }
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) {
    throw new Error(`${file}: ${column} ${JSON.stringify(typeof v === 'bigint' ? String(v) : v)} on ${at} is not a class id (0, 1, …) or a class name`);
  }
  return n;
}

function readJsonLines(text: string, columns: Columns, name: string): Part {
  const texts: string[] = [];
  const labels: RawLabel[] = [];
  const take = (obj: unknown, at: string) => {
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new Error(`${name}: ${at} is ${kindOf(obj)}, not a JSON object`);
    const o = obj as Record<string, unknown>;
    const fields = () => Object.keys(o).join(', ') || 'none';
    if (!(columns.text in o)) throw new Error(`${name}: ${at} has no field "${columns.text}" (fields: ${fields()}); choose the text column`);
    const t = o[columns.text];
    if (typeof t !== 'string') throw new Error(`${name}: ${columns.text} is ${t === null ? 'null' : `${kindOf(t)}, not a string,`} on ${at}`);
    if (!(columns.label in o)) throw new Error(`${name}: ${at} has no field "${columns.label}" (fields: ${fields()}); choose the label column`);
    texts.push(t);
    labels.push(toLabel(o[columns.label], name, at, columns.label));
  };
  // A UTF-8 byte order mark (Windows editors write one) is not part of the data.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (/^\s*\[/.test(text)) {
    // A .json file holding one array of objects.
    let rows: unknown;
    try {
      rows = JSON.parse(text);
    } catch (err) {
      throw new Error(`${name}: not valid JSON (${(err as Error).message})`);
    }
    (rows as unknown[]).forEach((r, i) => take(r, `item ${i}`));
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
      throw new Error(`${name}: line ${lineNo} is not valid JSON (${(err as Error).message})`);
    }
    take(obj, `line ${lineNo}`);
  }
  return { name, texts, labels };
}

function readCsv(text: string, delimiter: string, columns: Columns, name: string): Part {
  let records: Array<{ record: Record<string, string>; info: { lines: number } }>;
  try {
    records = parseCsv(text, { columns: true, delimiter, bom: true, skip_empty_lines: true, info: true, relax_column_count: false }) as typeof records;
  } catch (err) {
    throw new Error(`${name}: ${(err as Error).message.split('\n')[0]}`);
  }
  const header = records.length > 0 ? Object.keys(records[0]!.record) : (text.replace(/^\uFEFF/, '').split(/\r?\n/)[0] ?? '').split(delimiter);
  for (const c of [columns.text, columns.label]) {
    if (!header.includes(c)) throw new Error(`${name}: no column "${c}" (columns: ${header.join(', ')}); choose the ${c === columns.text ? 'text' : 'label'} column`);
  }
  const texts: string[] = new Array(records.length);
  const labels: RawLabel[] = new Array(records.length);
  records.forEach((r, i) => {
    texts[i] = r.record[columns.text]!;
    labels[i] = toLabel(r.record[columns.label], name, `line ${r.info.lines}`, columns.label);
  });
  return { name, texts, labels };
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
  const columnNames = parquetSchema(metadata).children.map((c) => c.element.name);
  for (const c of [columns.text, columns.label]) {
    if (!columnNames.includes(c)) throw new Error(`${name}: no column "${c}" (columns: ${columnNames.join(', ')}); choose the ${c === columns.text ? 'text' : 'label'} column`);
  }
  // datasets writes its features (a ClassLabel's names) into the file's "huggingface" metadata.
  let names: string[] | undefined;
  const hf = metadata.key_value_metadata?.find((kv) => kv.key === 'huggingface')?.value;
  if (hf) {
    let features: unknown;
    try {
      features = (JSON.parse(hf) as { info?: { features?: unknown } })?.info?.features;
    } catch {
      features = undefined; // unreadable metadata is not the data: ids without names
    }
    names = classLabelNames(features, columns.label, name);
  }
  let rows;
  try {
    rows = await parquetReadObjects({ file, metadata, columns: [columns.text, columns.label], compressors });
  } catch (err) {
    throw new Error(`${name}: not a readable parquet file (${(err as Error).message})`);
  }
  const texts: string[] = new Array(rows.length);
  const labels: RawLabel[] = new Array(rows.length);
  rows.forEach((r, i) => {
    const t = r[columns.text];
    if (typeof t !== 'string') throw new Error(`${name}: ${columns.text} is ${t === null || t === undefined ? 'null' : `${kindOf(t)}, not a string,`} on row ${i}`);
    texts[i] = t;
    labels[i] = toLabel(r[columns.label], name, `row ${i}`, columns.label);
  });
  return { name, texts, labels, names };
}

/** The aclImdb folder (or a folder holding it), when `dir` has its train|test/neg|pos layout. */
function findAclImdb(dir: string): string | undefined {
  for (const d of [dir, join(dir, 'aclImdb')]) {
    if (['train', 'test'].some((s) => existsSync(join(d, s, 'neg')) && existsSync(join(d, s, 'pos')))) return d;
  }
  return undefined;
}

async function readAclImdb(dir: string, opts: LoadOptions, source: string): Promise<LabeledTexts> {
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
  return combine(parts, source, ['neg', 'pos']);
}
