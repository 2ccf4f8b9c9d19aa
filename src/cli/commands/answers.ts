// `bert-lab answers`: the graded values (a1a, a2a, a3a) computed from the run history, marked when they
// come from a quick or tiny-model run, with the tie rule when equal values were tied.
import { parseArgs } from 'node:util';
import { workspaceDir } from '../workspace';
import { RunHistory } from '../../experiments/history';
import { computeAnswers } from '../../experiments/answers';
import { HOMEWORK9, loadSpecFile } from '../../experiments/spec';

export const summary = 'Print the graded answer values';

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { workspace: { type: 'string' }, spec: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) { console.log('usage: bert-lab answers [--workspace <dir>] [--spec <file>] [--json]'); return 0; }
  const spec = values.spec ? loadSpecFile(values.spec) : HOMEWORK9;
  const history = new RunHistory(workspaceDir(values.workspace), (line) => console.error(line));
  const answers = computeAnswers(history.list(), spec);
  if (values.json) { console.log(JSON.stringify(answers, null, 2)); return 0; }
  for (const a of answers) {
    const run = a.runId ? history.get(a.runId) : undefined;
    console.log(a.value === null
      ? `${a.variable} = (none: ${a.note})`
      : `${a.variable} = ${a.value.toFixed(4)}    # ${a.problem}, ${run?.config.label ?? ''} (run ${a.runId})${a.caveat ? ` — ${a.caveat}, not the homework's numbers` : ''}`);
    if (a.tie) console.log(`      # ${a.tie}`);
  }
  return answers.every((a) => a.value !== null) ? 0 : 1;
}
