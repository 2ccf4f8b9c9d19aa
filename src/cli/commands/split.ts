// `bert-lab split`: the notebook's train/val/test split of a data source, as indices into the joined
// data, with counts per class so a user can check it against the notebook's printout.
import { statSync } from 'node:fs';
import { writeFileAtomic } from '../../files/atomic';
import { parseArgs } from 'node:util';
import { loadLabeledTexts } from '../../data/sources';
import { notebookSplit } from '../../data/imdb';

export const summary = "Write the notebook's train/val/test split indices";

const HELP = `usage: bert-lab split --data <source> [--subset-frac F] [--seed S] [--out split.json]
                       [--text-column text] [--label-column label] [--cache-dir DIR]

Joins the data (train rows first, then test), takes the stratified subset SUBSET_FRAC (F < 1),
then the stratified 80/10/10 train/val/test split exactly as the homework notebook does with
Hugging Face datasets' train_test_split(seed=SEED). Writes the indices (positions in the joined
data) as JSON and prints the counts per class.

<source>: hub:stanfordnlp/imdb, a folder (train*/test* files or aclImdb/), or a .jsonl[.gz],
.csv, .tsv or .parquet file. Defaults: --subset-frac 0.25 --seed 42.`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      'subset-frac': { type: 'string', default: '0.25' },
      seed: { type: 'string', default: '42' },
      out: { type: 'string' },
      'text-column': { type: 'string' },
      'label-column': { type: 'string' },
      'cache-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.data) {
    console.error('bert-lab split: --data is required (see bert-lab split --help)');
    return 2;
  }
  // A folder as --out fails now, not after reading and splitting the data.
  if (values.out && statSync(values.out, { throwIfNoEntry: false })?.isDirectory()) {
    console.error(`bert-lab split: cannot write ${values.out}: it is a folder, not a file; give a file name, e.g. --out ${values.out.replace(/[\\/]+$/, '')}/split.json`);
    return 2;
  }
  const frac = Number(values['subset-frac']);
  const seed = Number(values.seed);
  if (!(frac > 0 && frac <= 1)) {
    console.error(`bert-lab split: --subset-frac must be a number in (0, 1], got "${values['subset-frac']}"`);
    return 2;
  }
  if (!Number.isSafeInteger(seed) || seed < 0) {
    console.error(`bert-lab split: --seed must be a non-negative integer, got "${values.seed}"`);
    return 2;
  }

  const t0 = performance.now();
  const data = await loadLabeledTexts(values.data, {
    textColumn: values['text-column'], labelColumn: values['label-column'], cacheDir: values['cache-dir'],
    onProgress: (p) => {
      if (p.stage === 'download' && process.stderr.isTTY) {
        const pct = p.total ? ` ${((100 * p.loaded) / p.total).toFixed(0)}%` : '';
        process.stderr.write(`\rdownloading ${p.file}${pct} `);
      }
    },
  });
  const loadSeconds = (performance.now() - t0) / 1000;
  const s = notebookSplit(data.labels, frac, seed, { labelNames: data.labelNames, source: values.data });

  console.log(`data: ${values.data}: ${data.description} = ${data.texts.length} rows (read in ${loadSeconds.toFixed(1)} s)`);
  console.log(`SUBSET_FRAC=${frac} SEED=${seed}: pool ${s.pool.length} of ${data.texts.length}`);
  const names = s.info.labelNames ?? s.info.labelCounts.train.map((_, c) => String(c));
  const head = ['split', 'rows', ...names.map((name, c) => (name === String(c) ? `label ${c}` : `${c} ${name}`))];
  const rows = (['train', 'val', 'test'] as const).map((k) => [k, String(s.indices[k].length), ...s.info.labelCounts[k].map(String)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [head, ...rows]) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));

  if (values.out) {
    const out = {
      source: values.data, description: data.description, rows: data.texts.length, subsetFrac: frac, seed,
      counts: { train: s.info.train, val: s.info.val, test: s.info.test },
      labelNames: s.info.labelNames, labelCounts: s.info.labelCounts,
      train: s.indices.train, val: s.indices.val, test: s.indices.test,
    };
    // Atomic; an error names --out (no space, read-only, a missing folder), never a temp file.
    writeFileAtomic(values.out, `${JSON.stringify(out)}\n`, { mkdir: false });
    console.log(`wrote ${values.out}`);
  }
  return 0;
}
