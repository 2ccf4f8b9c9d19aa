// `bert-lab runs`: the run history of a workspace, oldest first.
import { parseArgs } from 'node:util';
import { workspaceDir } from '../workspace';
import { RunHistory } from '../../experiments/history';

export const summary = 'List the run history';

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { workspace: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) { console.log('usage: bert-lab runs [--workspace <dir>] [--json]'); return 0; }
  const history = new RunHistory(workspaceDir(values.workspace), (line) => console.error(line));
  const runs = history.list();
  if (values.json) { console.log(JSON.stringify(runs, null, 2)); return 0; }
  if (!runs.length) { console.log(`no runs in ${history.root}`); return 0; }
  const rows = runs.map((r) => [
    r.id, r.config.problem, r.config.label, r.status,
    r.metrics ? r.metrics.valAccuracyAtMinValLoss.toFixed(4) : '', r.metrics ? r.metrics.testAccuracy.toFixed(4) : '',
    r.metrics ? r.metrics.testF1.toFixed(4) : '', r.metrics ? `${r.metrics.totalSeconds.toFixed(1)}s` : '',
    // One row per run: a multi-line error (a stack, a worker's stderr) is folded onto the row.
    (r.error ?? '').replace(/\s*[\r\n]+\s*/g, ' ').trim(),
  ]);
  const head = ['id', 'problem', 'config', 'status', 'val@minloss', 'test acc', 'F1', 'time', 'error'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => Math.min(60, r[i].length))));
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.slice(0, 60).padEnd(widths[i]))).join('  ').trimEnd();
  console.log(fmt(head));
  for (const r of rows) console.log(fmt(r));
  return 0;
}
