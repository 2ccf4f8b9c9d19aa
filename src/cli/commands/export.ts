// `bert-lab export --format csv|json [--out file]`: the run history for a spreadsheet or a script (every
// attempt; a `quick` column marks quick and tiny-model results).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { workspaceDir } from '../workspace';
import { RunHistory } from '../../experiments/history';
import { writeFileAtomic } from '../../files/atomic';
import { toCsv, toJson } from '../../experiments/export';

export const summary = 'Export the run history to CSV or JSON';

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { format: { type: 'string' }, out: { type: 'string' }, workspace: { type: 'string' }, problem: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) { console.log('usage: bert-lab export --format csv|json [--out <file>] [--workspace <dir>] [--problem <id>]'); return 0; }
  const format = values.format ?? (values.out?.endsWith('.json') ? 'json' : 'csv');
  if (format !== 'csv' && format !== 'json') throw new Error(`--format: csv or json, not "${format}"`);
  const history = new RunHistory(workspaceDir(values.workspace), (line) => console.error(line));
  const runs = history.list().filter((r) => !values.problem || r.config.problem === values.problem);
  const text = format === 'csv' ? toCsv(runs) : toJson(runs);
  if (values.out) {
    try {
      writeFileAtomic(resolve(values.out), text);
    } catch (e) {
      // One line naming the file the user gave (never our temp file beside it).
      throw new Error(`--out: ${(e as Error).message}`);
    }
    console.error(`wrote ${runs.length} runs to ${values.out}`);
  } else {
    process.stdout.write(text);
  }
  return 0;
}
