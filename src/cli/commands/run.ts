// `bert-lab run problem1|problem2|problem3|all`: runs a problem's sweep through the same Runner as the
// extension, with a progress bar per run on a terminal (plain lines otherwise), then the notebook's
// summary table and the graded answer. Ctrl-C cancels the current run cleanly (twice: exit at once).
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Runner, type SweepRunEvent } from '../../experiments/runner';
import { computeAnswers } from '../../experiments/answers';
import { DEFAULT_SETTINGS, HOMEWORK9, QUICK, loadSpecFile, type HomeworkSpec, type Settings } from '../../experiments/spec';
import { configLabel, parseRunField, type NumericField } from '../../protocol/runFields';
import { selectBest } from '../../protocol/records';
import { BACKEND_PREFERENCES, PRECISIONS, resultCaveat, type BackendPreference, type Precision, type ProgressMessage, type RunRecord } from '../../protocol';

export const summary = "Run a problem's experiments (problem1|problem2|problem3|all)";

export const BACKENDS = BACKEND_PREFERENCES;

const HELP = `usage: bert-lab run <problem1|problem2|problem3|all> [options]

  --quick              a small, fast version of the same job for a first try: each split capped
                       (train ${QUICK.limitTrain}, val/test ${QUICK.limitEval} examples), MAX_LEN divided by ${QUICK.maxLenDivisor};
                       epochs, learning rates, batch sizes and early stopping unchanged
  --data <src>         hub:stanfordnlp/imdb (default), or a local folder/file (JSONL, CSV, parquet, aclImdb/)
  --model <dir-or-id>  base model: Hub id, Keras-Hub preset or local folder (default ${DEFAULT_SETTINGS.model})
  --compare-model <m>  Problem 3's second model (default ${DEFAULT_SETTINGS.compareModel})
  --workspace <dir>    where the run history (.bert-lab/) is kept (default: current folder; created, with a message)
  --backend <name>     ${BACKENDS.join(' | ')} (default auto)
  --precision <p>      ${PRECISIONS.join(' | ')} (PyTorch engine; default auto: fp32 on CPU, mixed_float16 on CUDA)
  --python <path>      Python interpreter of the PyTorch engine (default: $BERT_LAB_PYTHON, else found)
  --no-wait            when another sweep runs in the same workspace, stop at once (default: wait for it)
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

/** A numeric flag through the one run-field validation: "--epochs: EPOCHS must be an integer of at least 1 (got "0")". */
function num(flag: string, field: NumericField, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const r = parseRunField(field, v);
  if ('error' in r) throw new Error(`--${flag}: ${r.error}`);
  return r.value;
}

function oneOf<T extends string>(flag: string, v: string | undefined, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T)) throw new Error(`--${flag}: "${v}" is not one of ${allowed.join(', ')}`);
  return v as T;
}

function fmtTime(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** The notebook's summary line: "1. LEN=128 LR=2.0e-05 BATCH=32 → Val=0.8392 Test=0.8424 F1=0.8531". */
export function summaryLine(i: number, r: RunRecord, problemHasFrac: boolean, problemHasModel: boolean): string {
  const c = r.config;
  let head = `${i}. ${configLabel(c, { style: 'summary' })}`;
  if (r.oomRetries?.length) head += `→${r.oomRetries[r.oomRetries.length - 1]} (OOM)`;
  const extra = configLabel(c, { style: 'summary', subsetFrac: problemHasFrac, model: problemHasModel }).slice(configLabel(c, { style: 'summary' }).length);
  head += extra;
  if (r.status !== 'finished' || !r.metrics) return `${head} → ${r.status}${r.error && r.error !== r.status ? `: ${r.error.replace(/\s*[\r\n]+\s*/g, ' ')}` : ''}`;
  const m = r.metrics;
  return `${head} → Val=${m.valAccuracyAtMinValLoss.toFixed(4)} Test=${m.testAccuracy.toFixed(4)} F1=${m.testF1.toFixed(4)}  ${fmtTime(m.totalSeconds)}`;
}

export function printSummary(problemId: string, records: RunRecord[], spec: HomeworkSpec, all: RunRecord[], out: (s: string) => void): void {
  // Setup failures are reported once, as the command's error (not once per run).
  const mine = records.filter((r) => r.config.problem === problemId && r.failureStage !== 'setup');
  if (!mine.length) return;
  const hasFrac = new Set(mine.map((r) => r.config.subsetFrac)).size > 1 || problemId !== spec.problems[0].id;
  const hasModel = new Set(mine.map((r) => r.config.model)).size > 1;
  const caveats = [...new Set(mine.map((r) => resultCaveat(r.config)).filter((c): c is string => Boolean(c)))];
  out(`\n${'='.repeat(70)}\nSUMMARY — ${spec.problems.find((p) => p.id === problemId)?.title ?? problemId}\n${'='.repeat(70)}`);
  if (caveats.length) out(`(${caveats.join('; ')}: a first try, not the homework's numbers)`);
  mine.forEach((r, i) => out(summaryLine(i + 1, r, hasFrac, hasModel)));
  const best = selectBest(mine, [problemId]);
  if (best) {
    out(`\nBEST: ${best.run.config.label}`);
    if (best.tie) out(`(${best.tie})`);
  }
  for (const a of computeAnswers(all, spec).filter((x) => x.problem === problemId)) {
    out(`\n${a.variable} = ${a.value === null ? `(none: ${a.note})` : a.value.toFixed(4)}${a.caveat ? `    # ${a.caveat}` : ''}`);
    if (a.tie && a.runId !== best?.run.id) out(`(${a.tie})`);
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

/** The run's workspace: a missing folder is created, and said so (a typo shows at once). */
function runWorkspace(arg: string | undefined, log: (s: string) => void): string {
  const ws = resolve(arg ?? process.cwd());
  const st = statSync(ws, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) throw new Error(`--workspace ${ws}: not a folder`);
  if (!st) {
    try {
      mkdirSync(ws, { recursive: true });
    } catch (e) {
      throw new Error(`--workspace ${ws}: cannot create it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    log(`bert-lab: created the workspace folder ${ws}`);
  }
  return ws;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      quick: { type: 'boolean' }, data: { type: 'string' }, model: { type: 'string' }, 'compare-model': { type: 'string' },
      workspace: { type: 'string' }, backend: { type: 'string' }, epochs: { type: 'string' }, 'subset-frac': { type: 'string' },
      seed: { type: 'string' }, 'eval-batch': { type: 'string' }, 'save-models': { type: 'boolean' }, 'cache-dir': { type: 'string' },
      spec: { type: 'string' }, force: { type: 'boolean' }, 'limit-train': { type: 'string' }, 'limit-eval': { type: 'string' },
      precision: { type: 'string' }, python: { type: 'string' }, 'no-wait': { type: 'boolean' },
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
  const python = values.python ?? (process.env.BERT_LAB_PYTHON || undefined);
  if (python !== undefined && !python.trim()) throw new Error('--python: an empty path');
  const settings: Partial<Settings> = {
    data: values.data, model: values.model, compareModel: values['compare-model'], quick: values.quick ?? false,
    backend: oneOf('backend', values.backend, BACKENDS), precision: oneOf('precision', values.precision, PRECISIONS),
    python: python ? resolveCommand(python) : undefined,
    cacheDir: values['cache-dir'] ? resolve(values['cache-dir']) : undefined,
    epochs: num('epochs', 'epochs', values.epochs), seed: num('seed', 'seed', values.seed),
    evalBatch: num('eval-batch', 'evalBatchSize', values['eval-batch']), subsetFrac: num('subset-frac', 'subsetFrac', values['subset-frac']),
    saveModels: values['save-models'] ?? false,
    limitTrain: num('limit-train', 'limitTrain', values['limit-train']), limitEval: num('limit-eval', 'limitEval', values['limit-eval']),
  };
  if (!existsSync(workerPath())) throw new Error(`training process not found at ${workerPath()} (run "npm run build")`);
  const workspace = runWorkspace(values.workspace, (l) => process.stderr.write(`${l}\n`));
  const runner = new Runner({ workspace, workerPath: workerPath(), spec, whenBusy: values['no-wait'] ? 'fail' : 'wait' });

  const out = (s: string) => process.stdout.write(`${s}\n`);
  const tty = Boolean(process.stderr.isTTY);
  const bar = new Progress(tty, process.stderr);
  const ids = problem === 'all' ? spec.problems.map((p) => p.id) : [problem];
  runner.on('log', (line: string) => {
    if (values.verbose || /^skipping|^bert-lab:|^\[(warn|error)\]|out of memory|killing/.test(line)) { bar.clear(); process.stderr.write(`${line}\n`); }
  });
  runner.on('sweepRun', (e: SweepRunEvent) => {
    bar.clear();
    const caveat = resultCaveat(e.config);
    out(`\n${'='.repeat(60)}\n${e.problem} run ${e.index}/${e.total}: ${e.config.label}${caveat ? ` (${caveat})` : ''}\n${'='.repeat(60)}`);
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
    } else if (m.type === 'failed' && m.stage !== 'setup') { bar.clear(); out(`FAILED: ${m.reason}`); } // setup: said once, at the end
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
  const setup = records.find((r) => r.failureStage === 'setup' && r.startedAt);
  if (setup) {
    // One line, once, whatever the number of runs it kept from starting; it names what to change.
    const c = setup.config;
    const skipped = records.filter((r) => r.failureStage === 'setup' && !r.startedAt).length;
    throw new Error(`${c.problem} could not start: ${(setup.error ?? 'setup failed').replace(/\s*[\r\n]+\s*/g, ' ')}`
      + ` — check --data (${c.data}) and --model (${c.model})${c.backend && c.backend !== 'auto' ? ` and --backend (${c.backend})` : ''}`
      + `${skipped ? `; ${skipped} more run${skipped > 1 ? 's' : ''} with them not started` : ''}`);
  }
  return records.every((r) => r.status === 'finished') ? 0 : 1;
}

/** A --python given as a path is made absolute; a bare command name ("python3") is left to PATH. */
function resolveCommand(p: string): string {
  return /[\\/]/.test(p) ? resolve(p) : p;
}
