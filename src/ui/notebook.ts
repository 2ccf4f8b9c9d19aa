// The homework notebook in VS Code's notebook editor: "▶ Run Problem N …" on each problem's heading
// cell and first code cell, "Fill a1a = 0.xxxx" on each graded answer cell, and filling answers (undoable edit of an open
// notebook, or an atomic edit of the file on disk). Recognition and filling are in src/notebook/.
import * as vscode from 'vscode';
import { readFile } from 'node:fs/promises';
import type { AnswerValue } from '../protocol';
import { analyzeHomework, runButtonProblems, type CellText, type HomeworkNotebook, formatAnswer } from '../notebook/homework';
import { fillAnswersInText, readRawNotebook, type AnswerChange } from '../notebook/fill';
import { atomicWriteFile, fillNotebookFile } from '../notebook/notebookFile';
import { isPlaceholder } from '../notebook/fillDecision';
import { fillButtonText, filledButtonText, runButtonText } from './notebookText';

function cellsOf(nb: vscode.NotebookDocument): CellText[] {
  return nb.getCells().map((c) => ({ kind: c.kind === vscode.NotebookCellKind.Markup ? 'markdown' : 'code', text: c.document.getText() }));
}

export interface FillOutcome { file: string; changes: AnswerChange[]; unchanged: AnswerChange[]; missing: string[]; how: 'editor' | 'disk' }

export class HomeworkNotebooks implements vscode.NotebookCellStatusBarItemProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCellStatusBarItems = this.changed.event;
  private cache = new WeakMap<vscode.NotebookDocument, { version: number; hw: HomeworkNotebook }>();
  /** Homework notebooks found in the workspace (closed ones included). */
  private found: vscode.Uri[] = [];
  /** Whether a homework notebook on disk already has an answer other than the 0.0 placeholder (walkthrough). */
  answeredOnDisk = false;

  constructor(private readonly answers: () => AnswerValue[], private readonly variables: string[], private readonly log: (line: string) => void) {}

  /** Call when answers or notebooks changed (status-bar texts follow). */
  refresh(): void { this.changed.fire(); }

  analyze(nb: vscode.NotebookDocument): HomeworkNotebook {
    const c = this.cache.get(nb);
    if (c && c.version === nb.version) return c.hw;
    const hw = analyzeHomework(cellsOf(nb), this.variables);
    this.cache.set(nb, { version: nb.version, hw });
    return hw;
  }

  provideCellStatusBarItems(cell: vscode.NotebookCell): vscode.NotebookCellStatusBarItem[] {
    const nb = cell.notebook;
    const hw = this.analyze(nb);
    if (!hw.isHomework) return [];
    const items: vscode.NotebookCellStatusBarItem[] = [];
    // On the heading (visible while it is edited: VS Code hides a rendered markdown cell's status bar)
    // and on the section's first code cell (always visible).
    for (const heading of runButtonProblems(hw, cell.index)) {
      const item = new vscode.NotebookCellStatusBarItem(runButtonText(heading.number), vscode.NotebookCellStatusBarAlignment.Left);
      item.command = { title: runButtonText(heading.number), command: 'bertLab.problem.run', arguments: [{ problemId: heading.problemId }] };
      item.tooltip = `BERT Lab: run ${heading.title || `Problem ${heading.number}`} for real and record the runs`;
      items.push(item);
    }
    const answers = this.answers();
    for (const a of hw.answers.filter((x) => x.cellIndex === cell.index)) {
      const answer = answers.find((x) => x.variable === a.variable);
      const value = answer?.value;
      const holds = value !== null && value !== undefined && a.valueText === formatAnswer(value);
      const text = holds ? filledButtonText(a.variable, value) : fillButtonText(a.variable, value);
      const item = new vscode.NotebookCellStatusBarItem(text, vscode.NotebookCellStatusBarAlignment.Left);
      item.command = { title: text, command: 'bertLab.notebook.fillAnswer', arguments: [nb.uri.toString(), a.variable] };
      const caveat = answer?.caveat ? ` (from a ${answer.caveat})` : '';
      item.tooltip = value === null || value === undefined
        ? `No finished run for ${a.variable} yet${answer?.note ? `: ${answer.note}` : ': run its problem first'}`
        : holds
          // The cell's text is current; what it printed when last executed may not be.
          ? `${a.variable} already holds the current result ${formatAnswer(value)}${caveat}.${cell.outputs.length ? ' The printed output below this cell is from an earlier execution: run the cell again to update it.' : ''}`
          : `Set ${a.variable} to ${formatAnswer(value)}${caveat} (only the number changes; the comment stays)`;
      items.push(item);
    }
    return items;
  }

  openHomeworkNotebooks(): vscode.NotebookDocument[] {
    return vscode.workspace.notebookDocuments.filter((nb) => nb.notebookType === 'jupyter-notebook' && this.analyze(nb).isHomework);
  }

  /** Looks for homework notebooks in the workspace (on activation and when .ipynb files change). */
  async scanWorkspace(): Promise<vscode.Uri[]> {
    const uris = await vscode.workspace.findFiles('**/*.ipynb', '{**/node_modules/**,**/.bert-lab/**,**/.ipynb_checkpoints/**}', 50);
    const found: vscode.Uri[] = [];
    let answered = false;
    for (const uri of uris) {
      try {
        const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
        const hw = readRawNotebook(text, uri.fsPath, this.variables).homework;
        if (!hw.isHomework) continue;
        found.push(uri);
        if (hw.answers.some((a) => !isPlaceholder(a.valueText))) answered = true;
      } catch { /* not a readable notebook: not ours */ }
    }
    this.found = found;
    this.answeredOnDisk = answered;
    return found;
  }

  available(): boolean {
    return this.openHomeworkNotebooks().length > 0 || this.found.length > 0;
  }

  /** The notebook to fill: the active one, else the only open one, else the only one in the workspace, else ask. */
  async pickTarget(uriText?: string): Promise<vscode.Uri | undefined> {
    if (uriText) return vscode.Uri.parse(uriText, true);
    const active = vscode.window.activeNotebookEditor?.notebook;
    if (active && this.analyze(active).isHomework) return active.uri;
    const open = this.openHomeworkNotebooks();
    if (open.length === 1) return open[0].uri;
    const candidates = new Map<string, vscode.Uri>();
    for (const u of [...open.map((n) => n.uri), ...(await this.scanWorkspace())]) candidates.set(u.toString(), u);
    const list = [...candidates.values()];
    if (list.length === 0) return undefined;
    if (list.length === 1) return list[0];
    const pick = await vscode.window.showQuickPick(list.map((u) => ({ label: vscode.workspace.asRelativePath(u), uri: u })), { placeHolder: 'Which homework notebook?' });
    return pick?.uri;
  }

  /** The literal each answer variable holds in the notebook now (open editor first, else the file). */
  async currentValues(uri: vscode.Uri): Promise<Record<string, string>> {
    const nb = vscode.workspace.notebookDocuments.find((d) => d.uri.toString() === uri.toString());
    const answers = nb
      ? this.analyze(nb).answers
      : readRawNotebook(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri)), uri.fsPath, this.variables).homework.answers;
    return Object.fromEntries(answers.map((a) => [a.variable, a.valueText]));
  }

  /** Writes `values` into the notebook at `uri`: an undoable edit when it is open, an atomic file edit when not. */
  async fill(uri: vscode.Uri, values: Record<string, number>): Promise<FillOutcome> {
    const nb = vscode.workspace.notebookDocuments.find((d) => d.uri.toString() === uri.toString());
    return nb ? this.fillOpen(nb, values) : this.fillClosed(uri, values);
  }

  private async fillClosed(uri: vscode.Uri, values: Record<string, number>): Promise<FillOutcome> {
    if (uri.scheme === 'file') {
      const r = await fillNotebookFile(uri.fsPath, values);
      return { file: uri.fsPath, ...r, how: 'disk' };
    }
    const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    const r = fillAnswersInText(text, values, uri.toString());
    if (r.changes.length) await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(r.text));
    return { file: uri.toString(), changes: r.changes, unchanged: r.unchanged, missing: r.missing, how: 'disk' };
  }

  private async fillOpen(nb: vscode.NotebookDocument, values: Record<string, number>): Promise<FillOutcome> {
    // The file as it was, when the editor holds nothing unsaved: its exact bytes are kept below.
    const diskBefore = !nb.isDirty && nb.uri.scheme === 'file' ? await readFile(nb.uri.fsPath, 'utf8').catch(() => undefined) : undefined;
    const hw = analyzeHomework(cellsOf(nb), Object.keys(values));
    const edit = new vscode.WorkspaceEdit();
    const changes: AnswerChange[] = [];
    const unchanged: AnswerChange[] = [];
    for (const a of hw.answers) {
      const after = formatAnswer(values[a.variable]);
      const change = { variable: a.variable, cellIndex: a.cellIndex, line: a.line, before: a.valueText, after };
      if (a.valueText === after) { unchanged.push(change); continue; }
      const doc = nb.cellAt(a.cellIndex).document;
      edit.replace(doc.uri, new vscode.Range(doc.positionAt(a.valueStart), doc.positionAt(a.valueEnd)), after);
      changes.push(change);
    }
    const present = new Set(hw.answers.map((a) => a.variable));
    const missing = Object.keys(values).filter((v) => !present.has(v));
    if (changes.length === 0) return { file: nb.uri.fsPath, changes, unchanged, missing, how: 'editor' };
    if (!(await vscode.workspace.applyEdit(edit))) throw new Error(`${vscode.workspace.asRelativePath(nb.uri)}: VS Code refused the edit`);
    if (!(await nb.save())) throw new Error(`${vscode.workspace.asRelativePath(nb.uri)}: the notebook could not be saved`);
    // VS Code's .ipynb serializer rewrites the whole file (sorted keys, its own indentation), which
    // would touch every line of a Colab notebook. The editor holds exactly "before + these numbers",
    // so the file gets exactly that: the original bytes with only the literals changed.
    if (diskBefore !== undefined) {
      try {
        const expected = fillAnswersInText(diskBefore, values, nb.uri.fsPath).text;
        const saved = await readFile(nb.uri.fsPath, 'utf8');
        if (saved !== expected) {
          await atomicWriteFile(nb.uri.fsPath, expected);
          this.log(`${nb.uri.fsPath}: kept the file's original formatting (VS Code's save had rewritten ${saved.length} bytes)`);
        }
      } catch (e) {
        this.log(`${nb.uri.fsPath}: could not restore the original formatting: ${(e as Error).message}`);
      }
    }
    return { file: nb.uri.fsPath, changes, unchanged, missing, how: 'editor' };
  }

  dispose(): void { this.changed.dispose(); }
}
