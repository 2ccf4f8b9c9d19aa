// Run History commands: open, re-run, cancel, delete, reveal, export.
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunRecord } from '../../protocol';
import { toCsv, toJson } from '../../experiments/export';
import * as api from '../../common/vscodeapi';
import { runIdOf, runScopeOf, type RunArg } from '../commandArgs';
import type { LabContext } from '../labContext';
import type { SweepController } from '../sweepController';

export type Register = <A extends unknown[]>(id: string, fn: (...args: A) => unknown) => void;

export function registerRunCommands(lab: LabContext, sweeps: SweepController, reg: Register): void {
  reg('bertLab.openResults', (runId?: string) => lab.openResults(typeof runId === 'string' ? runId : undefined));
  reg('bertLab.run.openResults', (arg: RunArg) => lab.openResults(runIdOf(arg)));
  reg('bertLab.run.rerun', (arg: RunArg) => rerun(lab, sweeps, runIdOf(arg)));
  reg('bertLab.run.cancel', (arg: RunArg) => sweeps.cancelRun(runIdOf(arg)));
  reg('bertLab.run.delete', (arg: RunArg) => deleteRun(lab, runIdOf(arg)));
  reg('bertLab.run.reveal', (arg: RunArg) => revealRun(lab, runIdOf(arg)));
  reg('bertLab.exportRuns', () => exportRuns(lab, lab.state.runs()));
  reg('bertLab.run.export', (arg: RunArg) => {
    const s = runScopeOf(arg);
    const runs = lab.state.runs().filter((r) => (s.runId ? r.id === s.runId : s.sweepId ? r.sweepId === s.sweepId : s.problemId ? r.config.problem === s.problemId : true));
    return exportRuns(lab, runs);
  });
}

export function rerun(lab: LabContext, sweeps: SweepController, runId: string | undefined): Promise<void> {
  const r = runId ? lab.state.get(runId) : undefined;
  if (!r) throw new Error('no such run');
  return sweeps.rerun(r);
}

export async function showRunDetails(lab: LabContext, runId: string): Promise<void> {
  const file = vscode.Uri.file(join(lab.needRunner().history.runDir(runId), 'run.json'));
  if (!existsSync(file.fsPath)) throw new Error(`run ${runId} has no run.json`);
  await vscode.window.showTextDocument(file, { preview: true, viewColumn: vscode.ViewColumn.Active });
}

async function deleteRun(lab: LabContext, runId: string | undefined): Promise<void> {
  const runner = lab.needRunner();
  const r = runId ? lab.state.get(runId) : undefined;
  if (!r) return;
  if (r.status === 'running' || r.status === 'queued') throw new Error('cancel the run before deleting it');
  const b = await api.showWarning(`Delete the run "${r.config.label}" of ${r.config.problem} and its files?`, { modal: true, detail: runner.history.runDir(r.id) }, 'Delete');
  if (b !== 'Delete') return;
  runner.history.delete(r.id);
  lab.log.info(`deleted run ${r.id}`);
  lab.state.remove(r.id);
}

async function revealRun(lab: LabContext, runId: string | undefined): Promise<void> {
  if (!runId) return;
  const file = vscode.Uri.file(join(lab.needRunner().history.runDir(runId), 'run.json'));
  // Local windows can open the OS file manager; remote ones (code-server) reveal in the Explorer.
  if (vscode.env.remoteName) await api.executeCommand('revealInExplorer', file);
  else await api.executeCommand('revealFileInOS', file);
}

async function exportRuns(lab: LabContext, runs: RunRecord[]): Promise<void> {
  if (runs.length === 0) { void api.showInfo('BERT Lab: no runs to export.'); return; }
  const folder = api.workspaceFolder();
  const target = await vscode.window.showSaveDialog({
    title: `Export ${runs.length} run${runs.length === 1 ? '' : 's'}`,
    defaultUri: folder ? vscode.Uri.joinPath(folder.uri, 'bert-lab-runs.csv') : undefined,
    filters: { CSV: ['csv'], JSON: ['json'] },
  });
  if (!target) return;
  const text = target.path.toLowerCase().endsWith('.json') ? toJson(runs) : toCsv(runs);
  if (target.scheme === 'file') await writeFile(target.fsPath, text, 'utf8');
  else await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(text));
  lab.log.info(`exported ${runs.length} runs to ${target.fsPath}`);
  void api.showInfo(`BERT Lab: exported ${runs.length} runs to ${vscode.workspace.asRelativePath(target)}.`);
}
