// `bert-lab run problem1|problem2|problem3|all`: runs a problem's sweep through the same Runner as the
// extension, with a progress bar per run on a terminal (plain lines otherwise), then the notebook's
// summary table and the graded answer. Ctrl-C cancels the current run cleanly (twice: exit at once).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Runner } from '../../experiments/runner';
import { computeAnswers } from '../../experiments/answers';
import { DEFAULT_SETTINGS, HOMEWORK9, QUICK, loadSpecFile, lrLabel, modelTag, type HomeworkSpec, type Settings } from '../../experiments/spec';
import type { BackendPreference, ProgressMessage, RunRecord } from '../../protocol';

export const summary = "Run a problem's experiments (problem1|problem2|problem3|all)";

const HELP = `usage: bert-lab run <problem1|problem2|problem3|all> [options]

  --quick              a small, fast version of the same job for a first try: each split capped
                       (train ${QUICK.limitTrain}, val/test ${QUICK.limitEval} examples), MAX_LEN divided by ${QUICK.maxLenDivisor};
                       epochs, learning rates, batch sizes and early stopping unchanged
  --data <src>         hub:stanfordnlp/imdb (default), or a local folder/file (JSONL, CSV, parquet, aclImdb/)
  --model <dir-or-id>  base model: Hub id, Keras-Hub preset or local folder (default ${DEFAULT_SETTINGS.model})
  --compare-model <m>  Problem 3's second model (default ${DEFAULT_SETTINGS.compareModel})
  --workspace <dir>    where the run history (.bert-lab/) is kept (default: current folder)
  --backend <name>     auto | tensorflow-gpu | tensorflow | wasm | cpu (default auto)
  --epochs N           (default 3)     --seed S (default 42)     --eval-batch N (default 64)
  --subset-frac F      SUBSET_FRAC of Problem 1 (default 0.25)
  --limit-train N      cap on training examples   --limit-eval N   cap on validation and test examples
  --save-models        keep each fine-tuned model in its run folder
  --cache-dir <dir>    Hugging Face cache (default: the standard one)
  --spec <file.json>   another homework spec (default: the built-in Homework 9)
  --force              run again even the runs that finished already`;

export function workerPath(): string {
  if (process.env.BERT_LAB_WORKER) return resolve(process.env.BERT_LAB_WORKER);
  // Bundled: dist/cli.js next to dist/worker.js. From sources (tsx): the repository's dist/.
  const bundled = join(__dirname, 'worker.js');
  return existsSync(bundled) ? bundled : resolve(__dirname, '..', '..', '..', 'dist', 'worker.js');
}

function num(name: string, v: string | undefined, ok: (x: number) => boolean): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || !ok(x)) throw new Error(`--${name}: invalid value "${v}"`);
  return x;
}

function fmtTime(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** The notebook's summary line: "1. LEN=128 LR=2.0e-05 BATCH=32 → Val=0.8392 Test=0.8424 F1=0.8531". */
export function summaryLine(i: number, r: RunRecord, problemHasFrac: boolean, problemHasModel: boolean): string {
  const c = r.config;
  let head = `${i}. LEN=${c.maxLen} LR=${lrLabel(c.learningRate)} BATCH=${c.batchSize}`;
  if (r.oomRetries?.length) head += `→${r.oomRetries[r.oomRetries.length - 1]} (OOM)`;
  if (problemHasFrac) head += ` FRAC=${c.subsetFrac}`;
  if (problemHasModel) head += ` MODEL=${modelTag(c.model)}`;
  if (r.status !== 'finished' || !r.metrics) return `${head} → ${r.status}${r.error && r.error !== r.status ? `: ${r.error}` : ''}`;
  const m = r.metrics;
  return `${head} → Val=${m.valAccuracyAtMinValLoss.toFixed(4)} Test=${m.testAccuracy.toFixed(4)} F1=${m.testF1.toFixed(4)}  ${fmtTime(m.totalSeconds)}`;
}

export function printSummary(problemId: string, records: RunRecord[], spec: HomeworkSpec, all: RunRecord[], out: (s: string) => void): void {
  const mine = records.filter((r) => r.config.problem === problemId);
  if (!mine.length) return;
  const hasFrac = new Set(mine.map((r) => r.config.subsetFrac)).size > 1 || problemId !== spec.problems[0].id;
  const hasModel = new Set(mine.map((r) => r.config.model)).size > 1;
  out(`\n${'='.repeat(70)}\nSUMMARY — ${spec.problems.find((p) => p.id === problemId)?.title ?? problemId}\n${'='.repeat(70)}`);
  mine.forEach((r, i) => out(summaryLine(i + 1, r, hasFrac, hasModel)));
  const finished = mine.filter((r) => r.status === 'finished' && r.metrics);
  if (finished.length) {
    const best = finished.reduce((a, b) => (b.metrics!.valAccuracyAtMinValLoss > a.metrics!.valAccuracyAtMinValLoss ? b : a));
    out(`\nBEST: ${best.config.label}`);
  }
  for (const a of computeAnswers(all, spec).filter((x) => x.problem === problemId)) {
    out(`\n${a.variable} = ${a.value === null ? '(no finished run)' : a.value.toFixed(4)}`);
  }
}

class Progress {
  private width = 28;
  private lastPlain = 0;
  constructor(private readonly tty: boolean, private readonly err: NodeJS.WriteStream) {}
  show(p: ProgressMessage): void {
    const frac = p.steps ? p.step / p.steps : 0;
    const what = p.phase === 'train' ? `epoch ${p.epoch}/${p.epochs} step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} acc ${p.accuracy.toFixed(4)} ${p.examplesPerSecond.toFixed(1)} ex/s`
      : p.phase === 'validate' ? `epoch ${p.epoch}/${p.epochs} validating ${p.step}/${p.steps}`
      : p.phase === 'test' ? `testing ${p.step}/${p.steps}`
      : p.phase === 'tokenize' ? `tokenizing ${p.step}/${p.steps}` : `loading ${p.step}/${p.steps}`;
    const eta = p.etaSeconds > 0 ? ` ETA ${fmtTime(p.etaSeconds)}` : '';
    if (this.tty) {
      const filled = Math.round(frac * this.width);
      const line = `  [${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}] ${what}${eta}`;
      this.err.write(`\r${line.slice(0, (this.err.columns || 120) - 1).padEnd(Math.min(118, (this.err.columns || 120) - 1))}`);
    } else if (p.phase === 'train' && Date.now() - this.lastPlain > 30_000) {
      // Off a terminal: a plain line now and then, no carriage returns.
      this.lastPlain = Date.now();
      this.err.write(`  ${what}${eta}\n`);
    }
  }
  clear(): void {
    if (this.tty) this.err.write(`\r${' '.repeat(Math.min(118, (this.err.columns || 120) - 1))}\r`);
  }
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      quick: { type: 'boolean' }, data: { type: 'string' }, model: { type: 'string' }, 'compare-model': { type: 'string' },
      workspace: { type: 'string' }, backend: { type: 'string' }, epochs: { type: 'string' }, 'subset-frac': { type: 'string' },
      seed: { type: 'string' }, 'eval-batch': { type: 'string' }, 'save-models': { type: 'boolean' }, 'cache-dir': { type: 'string' },
      spec: { type: 'string' }, force: { type: 'boolean' }, 'limit-train': { type: 'string' }, 'limit-eval': { type: 'string' },
      verbose: { type: 'boolean', short: 'v' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { console.log(HELP); return 0; }
  const spec = values.spec ? loadSpecFile(values.spec) : HOMEWORK9;
  const problem = positionals[0];
  const valid = [...spec.problems.map((p) => p.id), 'all'];
  if (!problem || positionals.length > 1 || !valid.includes(problem)) {
    console.error(`bert-lab run: expected one of ${valid.join(', ')}\n\n${HELP}`);
    return 2;
  }
  const backends = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu', 'torch', 'torch-cuda', 'torch-mps', 'torch-cpu'];
  if (values.backend && !backends.includes(values.backend)) throw new Error(`--backend: one of ${backends.join(', ')}`);
  const int = (x: number) => Number.isInteger(x) && x >= 1;
  const settings: Partial<Settings> = {
    data: values.data, model: values.model, compareModel: values['compare-model'], quick: values.quick ?? false,
    backend: values.backend as BackendPreference | undefined, cacheDir: values['cache-dir'] ? resolve(values['cache-dir']) : undefined,
    epochs: num('epochs', values.epochs, int), seed: num('seed', values.seed, (x) => Number.isInteger(x) && x >= 0),
    evalBatch: num('eval-batch', values['eval-batch'], int), subsetFrac: num('subset-frac', values['subset-frac'], (x) => x > 0 && x <= 1),
    saveModels: values['save-models'] ?? false,
    limitTrain: num('limit-train', values['limit-train'], int), limitEval: num('limit-eval', values['limit-eval'], int),
  };
  const workspace = resolve(values.workspace ?? process.cwd());
  const runner = new Runner({ workspace, workerPath: workerPath(), spec });
  if (!existsSync(workerPath())) throw new Error(`training process not found at ${workerPath()} (run "npm run build")`);

  const out = (s: string) => process.stdout.write(`${s}\n`);
  const tty = Boolean(process.stderr.isTTY);
  const bar = new Progress(tty, process.stderr);
  const ids = problem === 'all' ? spec.problems.map((p) => p.id) : [problem];
  // "Run k/n" counts within each problem's sweep.
  const counts = new Map<string, { n: number; total: number }>();
  const count = (problemId: string) => counts.get(problemId) ?? (counts.set(problemId, { n: 0, total: 0 }), counts.get(problemId)!);
  const startedRuns = new Set<string>();
  runner.on('log', (line: string) => {
    if (values.verbose || /^skipping|^bert-lab:|^\[(warn|error)\]|out of memory|killing/.test(line)) { bar.clear(); process.stderr.write(`${line}\n`); }
  });
  runner.on('record', (r: RunRecord) => {
    const c = count(r.config.problem);
    if (r.status === 'queued') c.total++;
    if (r.status === 'running' && !startedRuns.has(r.id)) {
      startedRuns.add(r.id);
      c.n++;
      bar.clear();
      out(`\n${'='.repeat(60)}\n${r.config.problem} run ${c.n}/${c.total}: ${r.config.label}${settings.quick ? ' (quick)' : ''}\n${'='.repeat(60)}`);
    }
  });
  runner.on('message', (_id: string, m) => {
    if (m.type === 'progress') bar.show(m);
    else if (m.type === 'started') { bar.clear(); out(`engine: ${m.engine.backend} on ${m.engine.device}; data: train ${m.split.train}, val ${m.split.val}, test ${m.split.test}`); }
    else if (m.type === 'epochEnd') {
      bar.clear();
      const e = m.metrics;
      out(`Epoch ${e.epoch}/${settings.epochs ?? spec.settings.epochs}: acc: ${e.trainAccuracy.toFixed(4)} - loss: ${e.trainLoss.toFixed(4)} - val_acc: ${e.valAccuracy.toFixed(4)} - val_loss: ${e.valLoss.toFixed(4)} (${e.seconds.toFixed(1)}s)`);
    } else if (m.type === 'evaluation') {
      bar.clear();
      const x = m.metrics;
      out(`Val Acc (at min val loss, epoch ${x.bestEpoch}): ${x.valAccuracyAtMinValLoss.toFixed(4)} | Test Acc: ${x.testAccuracy.toFixed(4)} | Test F1: ${x.testF1.toFixed(4)} | ${fmtTime(x.totalSeconds)} (${x.examplesPerSecond.toFixed(1)} ex/s)`);
    } else if (m.type === 'failed') { bar.clear(); out(`FAILED: ${m.reason}`); }
    else if (m.type === 'cancelled') { bar.clear(); out('cancelled'); }
  });

  const ac = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    bar.clear();
    process.stderr.write('cancelling the current run (Ctrl-C again to exit at once)…\n');
    ac.abort();
  };
  process.on('SIGINT', onSigint);
  let records: RunRecord[];
  try {
    records = await runner.runProblem(problem, settings, { signal: ac.signal, force: values.force ?? false });
  } finally {
    process.off('SIGINT', onSigint);
    bar.clear();
  }
  const all = runner.history.list();
  for (const pid of ids) printSummary(pid, records, spec, all, out);
  if (ac.signal.aborted) return 130;
  return records.every((r) => r.status === 'finished') ? 0 : 1;
}
