// Filling the graded answers: the whole set, one cell's button, the results page's "Insert" button.
// Every fill asks first (decideFill) when the value comes from a quick/tiny run or the cell holds a
// value other than the notebook's 0.0 placeholder.
import * as vscode from 'vscode';
import type { AnswerValue } from '../../protocol';
import * as api from '../../common/vscodeapi';
import { describeFill } from '../../notebook/notebookFile';
import { decideFill } from '../../notebook/fillDecision';
import type { FillArgs } from '../commandArgs';
import type { FillOutcome } from '../notebook';
import type { LabContext } from '../labContext';
import type { SweepController } from '../sweepController';
import { ANSWERS_FILLED_KEY } from '../walkthrough';
import type { Register } from './runCommands';

export function registerAnswerCommands(lab: LabContext, sweeps: SweepController, reg: Register): void {
  reg('bertLab.fillAnswers', () => fillAll(lab, sweeps));
  reg('bertLab.notebook.fillAnswer', (...[uri, variable]: FillArgs) => fillOne(lab, sweeps, uri, variable));
  reg('bertLab.openNotebook', () => openNotebook(lab));
}

function answers(lab: LabContext): AnswerValue[] {
  return lab.state.resultsState(lab.notebooks.available()).answers;
}

/**
 * Fills `chosen` into the notebook (`uriText`, else the one picked), after a modal confirmation for each
 * value that needs one. Undefined when no notebook was found or the student declined everything.
 */
export async function fillAnswers(lab: LabContext, uriText: string | undefined, chosen: readonly AnswerValue[]): Promise<FillOutcome | undefined> {
  const uri = await lab.notebooks.pickTarget(uriText);
  if (!uri) return undefined;
  const current = await lab.notebooks.currentValues(uri);
  const values: Record<string, number> = {};
  for (const a of chosen) {
    if (a.value === null) continue;
    const d = decideFill(current[a.variable], { variable: a.variable, value: a.value, caveat: a.caveat });
    if (d.kind === 'confirm') {
      const b = await api.showWarning(d.question, { modal: true, detail: d.reasons.join('; ') }, 'Replace');
      if (b !== 'Replace') { lab.log.info(`${a.variable}: not filled (${d.reasons.join('; ')})`); continue; }
    }
    values[a.variable] = a.value;
  }
  if (Object.keys(values).length === 0) return undefined;
  const out = await lab.notebooks.fill(uri, values);
  lab.log.info(`${out.file}: ${describeFill(out).join('; ')}`);
  if (out.changes.length + out.unchanged.length > 0) lab.setContextKey(ANSWERS_FILLED_KEY, true);
  lab.refresh(false);
  return out;
}

async function fillAll(lab: LabContext, sweeps: SweepController): Promise<void> {
  const all = answers(lab);
  const ready = all.filter((a) => a.value !== null);
  if (ready.length === 0) {
    const first = lab.spec.problems[0];
    const b = await api.showWarning(`BERT Lab: no graded value yet: run ${lab.problemTitle(first.id).split(/\s+[—–-]\s+/)[0]} first.`, {}, 'Run');
    if (b) await sweeps.runProblem(first.id);
    return;
  }
  if (!(await lab.notebooks.pickTarget())) throw new Error('no homework notebook found in this workspace: open it first (it needs "Problem N" headings and a1a = … answer cells)');
  const out = await fillAnswers(lab, undefined, ready);
  const pending = all.filter((a) => a.value === null).map((a) => `${a.variable} (${a.note ?? 'no result yet'})`);
  if (out) void api.showInfo(`BERT Lab: ${[...describeFill(out), ...pending].join(' · ')}`);
}

async function fillOne(lab: LabContext, sweeps: SweepController, uriText: string | undefined, variable: string | undefined): Promise<void> {
  if (!variable) return fillAll(lab, sweeps);
  const answer = answers(lab).find((a) => a.variable === variable);
  if (!answer || answer.value === null) {
    const problem = answer?.problem ?? lab.spec.problems[0].id;
    const why = answer?.note ?? 'no result yet';
    const b = await api.showWarning(`BERT Lab: ${variable}: ${why}. Run ${lab.problemTitle(problem).split(/\s+[—–-]\s+/)[0]} first.`, {}, 'Run');
    if (b) await sweeps.runProblem(problem);
    return;
  }
  const out = await fillAnswers(lab, uriText, [answer]);
  if (out) void api.showInfo(`BERT Lab: ${describeFill(out).join(' · ')}`);
}

async function openNotebook(lab: LabContext): Promise<void> {
  const found = await lab.notebooks.scanWorkspace();
  let uri: vscode.Uri | undefined;
  if (found.length === 1) uri = found[0];
  else if (found.length > 1) uri = (await vscode.window.showQuickPick(found.map((u) => ({ label: vscode.workspace.asRelativePath(u), uri: u })), { title: 'Open Homework Notebook' }))?.uri;
  else uri = (await vscode.window.showOpenDialog({ title: 'Open the Homework 9 notebook', filters: { 'Jupyter notebooks': ['ipynb'] }, canSelectMany: false }))?.[0];
  if (!uri) return;
  const nb = await vscode.workspace.openNotebookDocument(uri);
  await vscode.window.showNotebookDocument(nb);
  if (!lab.notebooks.analyze(nb).isHomework) void api.showWarning('BERT Lab: this notebook has no "Problem N" headings with answer cells (a1a = …): the run and fill buttons will not appear.', {});
}
