// `bert-lab runs`: the run history of a workspace, oldest first — one line per configuration (its latest
// attempt, with the number of attempts) by default, every attempt with --all. Quick and tiny-model
// results are marked. Run files that are not valid records are reported on stderr and skipped.
import { parseArgs } from 'node:util';
import { workspaceDir } from '../workspace';
import { RunHistory } from '../../experiments/history';
import { resultFingerprint } from '../../protocol/runFields';
import { isQuickConfig, isTinyModel, resultCaveat, type RunRecord } from '../../protocol';

export const summary = 'List the run history (latest attempt per configuration; --all for every attempt)';

/** The latest attempt of each configuration (same experiment = same result fingerprint), with its attempt count. */
export function latestPerConfig(runs: readonly RunRecord[]): Array<{ run: RunRecord; attempts: number }> {
  const groups = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const k = resultFingerprint(r.config);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()]
    .map((g) => ({ run: g.reduce((a, b) => (b.createdAt.localeCompare(a.createdAt) >= 0 ? b : a)), attempts: g.length }))
    .sort((a, b) => a.run.createdAt.localeCompare(b.run.createdAt) || a.run.id.localeCompare(b.run.id));
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { workspace: { type: 'string' }, json: { type: 'boolean' }, all: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) { console.log('usage: bert-lab runs [--workspace <dir>] [--all] [--json]\n\n  --all   every attempt (default: the latest attempt of each configuration)'); return 0; }
  const history = new RunHistory(workspaceDir(values.workspace), (line) => console.error(line));
  const all = history.list();
  const rows = values.all ? all.map((run) => ({ run, attempts: 1 })) : latestPerConfig(all);
  if (values.json) { console.log(JSON.stringify(rows.map((x) => x.run), null, 2)); return 0; }
  if (!rows.length) { console.log(`no runs in ${history.root}`); return 0; }
  const note = (r: RunRecord) => [isQuickConfig(r.config) ? 'quick' : '', isTinyModel(r.config.model) ? 'tiny model' : ''].filter(Boolean).join(', ');
  const table = rows.map(({ run: r, attempts }) => [
    r.id, r.config.problem, r.config.label, r.status, ...(values.all ? [] : [String(attempts)]),
    r.metrics ? r.metrics.valAccuracyAtMinValLoss.toFixed(4) : '', r.metrics ? r.metrics.testAccuracy.toFixed(4) : '',
    r.metrics ? r.metrics.testF1.toFixed(4) : '', r.metrics ? `${r.metrics.totalSeconds.toFixed(1)}s` : '', note(r),
    // One row per run: a multi-line error (a stack, a worker's stderr) is folded onto the row.
    (r.error ?? '').replace(/\s*[\r\n]+\s*/g, ' ').trim(),
  ]);
  const head = ['id', 'problem', 'config', 'status', ...(values.all ? [] : ['tries']), 'val@minloss', 'test acc', 'F1', 'time', 'note', 'error'];
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => Math.min(60, r[i].length))));
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.slice(0, 60).padEnd(widths[i]))).join('  ').trimEnd();
  console.log(fmt(head));
  for (const r of table) console.log(fmt(r));
  const caveats = [...new Set(rows.map((x) => resultCaveat(x.run.config)).filter(Boolean))];
  if (caveats.length) console.log(`\nnote: ${caveats.join('; ')} — a first try, not the homework's numbers`);
  if (!values.all && rows.length < all.length) console.log(`(${all.length - rows.length} earlier attempts not shown: --all lists every attempt)`);
  return 0;
}
