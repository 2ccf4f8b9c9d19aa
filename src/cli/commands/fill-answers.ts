// `bert-lab fill-answers --notebook <file> [--values a1a=0.9144,a2a=…] [--workspace <dir>] [--dry-run]`
// Writes the graded values into the notebook's answer cells: only each number changes (4 decimals),
// comments and every other byte of the file stay; "DO NOT change" cells are never touched.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { computeAnswers } from '../../experiments/answers';
import { RunHistory } from '../../experiments/history';
import { describeFill, fillNotebookFile } from '../../notebook/notebookFile';
import { resultCaveat } from '../../protocol';

export const summary = "Fill the notebook's graded answer cells (a1a, a2a, a3a) from the run history";

const HELP = `usage: bert-lab fill-answers --notebook <file.ipynb> [--values a1a=0.9144,a2a=0.9344] [--workspace <dir>] [--dry-run] [--force]

  --notebook   the homework notebook (.ipynb) to edit in place (atomically)
  --values     the values to write (decimal numbers in [0, 1]); default: the graded answers computed
               from the run history
  --workspace  folder whose .bert-lab/ holds the run history (default: the current folder)
  --dry-run    print what would change, write nothing
  --force      write even over an answer that is not the notebook's 0.0 placeholder, or a value from a
               quick run or a tiny test model (refused without it; the file is left untouched)`;

/** An answer as a person writes it: a decimal number in [0, 1] ("0.9144", ".93", "1"); no sign, exponent or hex. */
const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)$/;

/** "a1a=0.9,a2a=.93" -> { a1a: 0.9, a2a: 0.93 }; throws one readable line on bad input. */
export function parseValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\S+)$/.exec(part);
    if (!m) throw new Error(`--values: "${part}" is not NAME=NUMBER`);
    const v = Number(m[2]);
    if (!DECIMAL.test(m[2]!) || !(v >= 0 && v <= 1)) {
      throw new Error(`--values: ${m[1]}=${m[2]} is not an answer: give a decimal number in [0, 1], e.g. ${m[1]}=0.9144`);
    }
    if (m[1]! in out) throw new Error(`--values: ${m[1]} is given twice`);
    out[m[1]!] = v;
  }
  if (Object.keys(out).length === 0) throw new Error('--values: no values given');
  return out;
}

export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv, allowPositionals: false,
      options: {
        notebook: { type: 'string' }, values: { type: 'string' }, workspace: { type: 'string' }, 'dry-run': { type: 'boolean' },
        force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    console.error(`bert-lab fill-answers: ${(e as Error).message} (see bert-lab fill-answers --help)`);
    return 2;
  }
  if (args.help) { console.log(HELP); return 0; }
  if (!args.notebook) { console.error('bert-lab fill-answers: --notebook is required (see bert-lab fill-answers --help)'); return 2; }
  const notebook = resolve(args.notebook);

  let values: Record<string, number>;
  const caveats: Record<string, string | undefined> = {};
  if (args.values !== undefined) {
    try {
      values = parseValues(args.values);
    } catch (e) {
      console.error(`bert-lab fill-answers: ${(e as Error).message}`);
      return 2;
    }
  } else {
    const workspace = resolve(args.workspace ?? '.');
    const history = new RunHistory(workspace, (line) => console.error(line));
    const runs = history.list();
    const answers = computeAnswers(runs);
    values = {};
    for (const a of answers) {
      if (a.value === null) { console.log(`${a.variable}: no finished run of ${a.problem} in ${workspace} yet: left as it is`); continue; }
      values[a.variable] = a.value;
      // Why the best run's number is not the homework's (quick run, tiny model): the fill asks first.
      const best = runs.find((r) => r.id === a.runId);
      caveats[a.variable] = best ? resultCaveat(best.config) : undefined;
    }
    if (Object.keys(values).length === 0) {
      console.error(`bert-lab fill-answers: no graded value to write (no finished runs in ${workspace}/.bert-lab); run "bert-lab run problem1" first or pass --values`);
      return 1;
    }
  }
  const result = await fillNotebookFile(notebook, values, { dryRun: args['dry-run'], guard: { force: args.force, caveats } });
  for (const line of describeFill(result)) console.log(line);
  if (result.refused.length > 0 && !args.force) {
    const why = result.refused.flatMap((r) => r.reasons).join('; ');
    console.error(`bert-lab fill-answers: ${notebook}: not changed: ${why}; pass --force to write anyway`);
    return 1;
  }
  for (const r of result.refused) console.log(`${r.variable}: written with --force (${r.reasons.join('; ')})`);
  const n = result.changes.length;
  if (n === 0 && result.missing.length > 0) {
    console.error(`bert-lab fill-answers: ${notebook}: no answer cell assigns ${result.missing.join(', ')} (a code cell with a line like "${result.missing[0]} = 0.0")`);
    return 1;
  }
  console.log(n === 0 ? `${notebook}: nothing to change` : `${notebook}: ${args['dry-run'] ? 'would change' : 'changed'} ${n} answer${n === 1 ? '' : 's'}`);
  return 0;
}
