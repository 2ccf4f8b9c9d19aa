// BERT Lab's extension-side controller: commands, views, status bar, progress, results panel and
// notebook integration around one Runner. extension.ts only constructs it.
import * as vscode from 'vscode';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FromWebview, ResultsState, RunConfig, RunRecord } from '../protocol';
import { Runner } from '../experiments/runner';
import { lrLabel, type HomeworkSpec, type Settings } from '../experiments/spec';
import { toCsv, toJson } from '../experiments/export';
import * as api from '../common/vscodeapi';
import { readSettings } from '../common/settings';
import { RunState } from './runState';
import { NodeTreeProvider } from './views';
import {
  applyOverrides, engineTree, FIELD_NAMES, historyTree, problemsTree, validateField,
  type EditableField, type Overrides, type PlannedProblem, type TreeNode,
} from './treeModel';
import { ResultsPanel, RESULTS_VIEW_TYPE, type ResultsHost } from './resultsPanel';
import { HomeworkNotebooks, type FillOutcome } from './notebook';
import { installedNative, installNative, nvidiaLikely, NATIVE_VERSION, type NativePackage } from './nativeEngine';
import { describeFill } from '../notebook/notebookFile';
import { progressNotificationText, trainingStatusText } from './statusText';
import { ANSWERS_FILLED_KEY, HOMEWORK_NOTEBOOK_KEY, walkthroughContext } from './walkthrough';

const OVERRIDES_KEY = 'bertLab.overrides';

type NodeArg = TreeNode | { problemId?: string; configKey?: string; field?: EditableField; runId?: string } | string | undefined;

function refOf(arg: NodeArg): { problemId?: string; configKey?: string; field?: EditableField; runId?: string; sweepId?: string } {
  if (typeof arg === 'string') return { runId: arg };
  if (!arg) return {};
  return 'ref' in arg || 'label' in arg ? ((arg as TreeNode).ref ?? {}) : (arg as { problemId?: string });
}

export class BertLab implements ResultsHost {
  private readonly disposables: vscode.Disposable[] = [];
  readonly runner?: Runner;
  readonly state: RunState;
  readonly spec: HomeworkSpec;
  private readonly problems = new NodeTreeProvider();
  private readonly history = new NodeTreeProvider();
  private readonly engine = new NodeTreeProvider();
  private historyView?: vscode.TreeView<TreeNode>;
  private readonly statusBar: vscode.StatusBarItem;
  readonly notebooks: HomeworkNotebooks;
  private abort?: AbortController;
  private refreshTimer?: ReturnType<typeof setTimeout>;
  private lastTreeRefresh = 0;
  /** Context keys already set (set again only when they change). */
  private readonly contextKeys = new Map<string, boolean>();
  readonly nativeDir: string;

  constructor(private readonly context: vscode.ExtensionContext, private readonly log: vscode.LogOutputChannel, spec: HomeworkSpec, makeRunner: (workspace: string, env: NodeJS.ProcessEnv) => Runner) {
    this.spec = spec;
    this.nativeDir = join(context.globalStorageUri.fsPath, 'native');
    const folder = api.workspaceFolder();
    if (folder && folder.uri.scheme === 'file') {
      this.runner = makeRunner(folder.uri.fsPath, { ...process.env, BERT_LAB_NATIVE_DIR: this.nativeDir });
      this.runner.on('log', (line: string) => this.log.info(line));
      this.runner.on('message', (runId: string, m) => {
        if (m.type === 'log') {
          const line = `[${runId}] ${m.message}`;
          if (m.level === 'error') this.log.error(line); else if (m.level === 'warn') this.log.warn(line); else this.log.info(line);
        } else if (m.type === 'started') {
          this.log.info(`[${runId}] ${m.config.label}: ${m.engine.backend} on ${m.engine.device} (${m.engine.reason}); split train ${m.split.train} · val ${m.split.val} · test ${m.split.test}`);
        } else if (m.type === 'epochEnd') {
          const e = m.metrics;
          this.log.info(`[${runId}] epoch ${e.epoch}: loss ${e.trainLoss.toFixed(4)} acc ${e.trainAccuracy.toFixed(4)} · val_loss ${e.valLoss.toFixed(4)} val_acc ${e.valAccuracy.toFixed(4)} · ${e.seconds.toFixed(1)} s`);
        } else if (m.type === 'failed') this.log.error(`[${runId}] failed: ${m.reason}`);
      });
    }
    this.state = new RunState(spec);
    if (this.runner) this.state.attach(this.runner);
    this.notebooks = new HomeworkNotebooks(() => this.state.resultsState(false).answers, spec.answers.map((a) => a.variable), (l) => this.log.info(l));
    this.statusBar = api.createStatusBarItem('bertLab.training', 50);
    this.statusBar.name = 'BERT Lab Training';
    this.statusBar.command = 'bertLab.openResults';
  }

  activate(): void {
    const c = this.context;
    this.historyView = vscode.window.createTreeView('bertLab.history', { treeDataProvider: this.history, showCollapseAll: true });
    c.subscriptions.push(
      vscode.window.createTreeView('bertLab.problems', { treeDataProvider: this.problems, showCollapseAll: true }),
      this.historyView,
      vscode.window.createTreeView('bertLab.engine', { treeDataProvider: this.engine }),
      this.statusBar, this.problems, this.history, this.engine, this.notebooks,
      vscode.notebooks.registerNotebookCellStatusBarItemProvider('jupyter-notebook', this.notebooks),
      vscode.window.registerWebviewPanelSerializer(RESULTS_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel) => { ResultsPanel.revive(panel, c.extensionUri, this); },
      }),
      api.onDidChangeConfiguration((e) => { if (e.affectsConfiguration('bertLab')) this.scheduleRefresh(true); }),
      vscode.window.onDidChangeActiveNotebookEditor(() => this.updateNotebookContext()),
      vscode.workspace.onDidOpenNotebookDocument(() => { this.updateNotebookContext(); ResultsPanel.current?.postState(); }),
      vscode.workspace.onDidCloseNotebookDocument(() => ResultsPanel.current?.postState()),
      vscode.workspace.onDidChangeNotebookDocument(() => this.updateNotebookContext()),
    );
    this.state.on('changed', () => this.scheduleRefresh(false));
    this.state.on('progress', () => { this.updateStatusBar(); ResultsPanel.current?.postState(); this.scheduleRefresh(false, 1000); });

    const folder = api.workspaceFolder();
    if (folder) {
      const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, '.bert-lab/runs/*/run.json'));
      // Runs made by the CLI in a terminal show up too (while this window runs nothing itself).
      const reload = () => { if (!this.runner?.busy) this.reloadHistory(); };
      watcher.onDidCreate(reload); watcher.onDidChange(reload); watcher.onDidDelete(reload);
      const nbWatcher = vscode.workspace.createFileSystemWatcher('**/*.ipynb');
      const rescan = () => { void this.notebooks.scanWorkspace().then(() => ResultsPanel.current?.postState()); };
      nbWatcher.onDidCreate(rescan); nbWatcher.onDidDelete(rescan);
      c.subscriptions.push(watcher, nbWatcher);
      void this.notebooks.scanWorkspace().then(() => ResultsPanel.current?.postState());
    }
    this.registerCommands();
    this.reloadHistory();
    this.updateNotebookContext();
    void api.setContext('bertLab.ready', true);
    void api.setContext('bertLab.busy', false);
  }

  // ----------------------------------------------------------------------------------------------
  // Views

  private reloadHistory(): void {
    if (!this.runner) { this.refreshViews(); return; }
    this.state.load(this.runner.history.list());
    for (const w of this.runner.history.warnings) this.log.warn(w);
  }

  private scheduleRefresh(now: boolean, minInterval = 150): void {
    if (this.refreshTimer) return;
    const wait = now ? 0 : Math.max(0, minInterval - (Date.now() - this.lastTreeRefresh));
    this.refreshTimer = setTimeout(() => { this.refreshTimer = undefined; this.refreshViews(); }, wait);
  }

  settings(): Settings {
    const folder = api.workspaceFolder();
    return readSettings(api.getConfiguration('bertLab', folder?.uri), folder?.uri.fsPath);
  }

  private overrides(): Overrides {
    return this.context.workspaceState.get<Overrides>(OVERRIDES_KEY) ?? {};
  }

  private planned(): PlannedProblem[] {
    const settings = this.settings();
    return this.spec.problems.map((p) => {
      let configs: PlannedProblem['configs'];
      try {
        configs = this.runner ? this.runner.planProblem(p.id, settings) : { error: 'Open a folder to plan and run this problem' };
      } catch (e) {
        configs = { error: (e as Error).message.replace(/\s*\(no finished run there[^)]*\)$/, '') };
      }
      return { id: p.id, title: p.title, configs, carryOver: p.carryOver };
    });
  }

  private refreshViews(): void {
    this.lastTreeRefresh = Date.now();
    const runs = this.state.runs();
    this.history.setNodes(historyTree(runs, this.spec.problems, this.state.progress));
    if (this.historyView) this.historyView.badge = this.runner?.busy ? { value: runs.filter((r) => r.status === 'running' || r.status === 'queued').length, tooltip: 'runs in progress or queued' } : undefined;
    this.problems.setNodes(problemsTree(this.planned(), runs, this.overrides()));
    const engine = this.state.engine;
    this.engine.setNodes(engineTree(engine?.info, engine ? this.state.get(engine.runId)?.config.label ?? engine.runId : undefined, { path: this.nativeDir, installed: installedNative(this.nativeDir) }));
    this.updateStatusBar();
    this.notebooks.refresh();
    ResultsPanel.current?.postState();
    for (const [key, value] of Object.entries(walkthroughContext(runs, this.spec.problems.map((p) => p.id)))) this.setContextKey(key, value);
  }

  private setContextKey(key: string, value: boolean): void {
    if (this.contextKeys.get(key) === value) return;
    this.contextKeys.set(key, value);
    void api.setContext(key, value);
  }

  private updateStatusBar(): void {
    const r = this.state.running();
    if (!r || !this.runner?.busy) { this.statusBar.hide(); return; }
    const { k, n } = this.state.position(r);
    this.statusBar.text = trainingStatusText(k, n, this.state.progress[r.id]);
    this.statusBar.tooltip = `${r.config.problem} · ${r.config.label}\nClick to open the results`;
    this.statusBar.show();
  }

  private updateNotebookContext(): void {
    const nb = vscode.window.activeNotebookEditor?.notebook;
    this.setContextKey(HOMEWORK_NOTEBOOK_KEY, !!nb && nb.notebookType === 'jupyter-notebook' && this.notebooks.analyze(nb).isHomework);
  }

  // ResultsHost
  resultsState(): ResultsState {
    return this.state.resultsState(this.notebooks.available());
  }

  async onMessage(m: FromWebview, panel: ResultsPanel): Promise<void> {
    switch (m.type) {
      case 'insertAnswer': {
        const answer = this.resultsState().answers.find((a) => a.variable === m.variable);
        if (!answer || answer.value === null) {
          panel.post({ type: 'insertResult', variable: m.variable, ok: false, message: `${m.variable}: no finished run yet` });
          return;
        }
        try {
          const out = await this.fillInto(undefined, { [m.variable]: answer.value });
          const ok = !!out && out.missing.length === 0;
          panel.post({ type: 'insertResult', variable: m.variable, ok, message: out ? describeFill(out).join('; ') + ` (${vscode.workspace.asRelativePath(out.file)})` : 'No homework notebook found' });
        } catch (e) {
          panel.post({ type: 'insertResult', variable: m.variable, ok: false, message: (e as Error).message });
        }
        return;
      }
      case 'openRun': return this.showRunDetails(m.runId);
      case 'rerun': return this.rerun(m.runId);
      case 'cancel': return this.cancel();
    }
  }

  logLine(line: string): void { this.log.info(line); }

  // ----------------------------------------------------------------------------------------------
  // Commands

  private registerCommands(): void {
    const reg = (id: string, fn: (...args: any[]) => unknown) => this.context.subscriptions.push(api.registerCommand(id, async (...args: unknown[]) => {
      try {
        await fn(...args);
      } catch (e) {
        const msg = (e as Error).message;
        this.log.error(`${id}: ${msg}`);
        void api.showError(`BERT Lab: ${msg}`, 'Show Log').then((b) => { if (b) this.log.show(); });
      }
    }));
    reg('bertLab.runProblem1', () => this.runProblem('problem1'));
    reg('bertLab.runProblem2', () => this.runProblem('problem2'));
    reg('bertLab.runProblem3', () => this.runProblem('problem3'));
    reg('bertLab.runAll', () => this.runProblem('all'));
    reg('bertLab.runSingle', () => this.runSingleInteractive());
    reg('bertLab.cancel', () => this.cancel());
    reg('bertLab.openResults', (runId?: unknown) => this.openResults(typeof runId === 'string' ? runId : undefined));
    reg('bertLab.fillAnswers', () => this.fillAll());
    reg('bertLab.exportRuns', () => this.exportRuns(this.state.runs()));
    reg('bertLab.showEngine', () => this.showEngine());
    reg('bertLab.installNativeEngine', () => this.installNativeEngine());
    reg('bertLab.openNotebook', () => this.openNotebook());
    reg('bertLab.chooseDataAndModel', () => api.executeCommand('workbench.action.openSettings', '@ext:bert-lab.bert-lab'));
    reg('bertLab.showLog', () => this.log.show());
    reg('bertLab.refresh', () => { this.reloadHistory(); void this.notebooks.scanWorkspace(); });
    reg('bertLab.problem.run', (arg: NodeArg) => this.runFromProblemsView(arg));
    reg('bertLab.problem.editValue', (arg: NodeArg) => this.editValue(arg));
    reg('bertLab.problem.resetValues', (arg: NodeArg) => this.resetValues(arg));
    reg('bertLab.run.openResults', (arg: NodeArg) => this.openResults(refOf(arg).runId));
    reg('bertLab.run.rerun', (arg: NodeArg) => this.rerun(refOf(arg).runId));
    reg('bertLab.run.cancel', (arg: NodeArg) => this.cancelRun(refOf(arg).runId));
    reg('bertLab.run.delete', (arg: NodeArg) => this.deleteRun(refOf(arg).runId));
    reg('bertLab.run.reveal', (arg: NodeArg) => this.revealRun(refOf(arg).runId));
    reg('bertLab.run.export', (arg: NodeArg) => {
      const ref = refOf(arg);
      const runs = this.state.runs().filter((r) => (ref.runId ? r.id === ref.runId : ref.sweepId ? r.sweepId === ref.sweepId : ref.problemId ? r.config.problem === ref.problemId : true));
      return this.exportRuns(runs);
    });
    reg('bertLab.notebook.fillAnswer', (uri?: string, variable?: string) => this.fillOne(uri, variable));
  }

  private needRunner(): Runner {
    if (!this.runner) throw new Error('open a folder first: runs and their history are kept in its .bert-lab folder');
    return this.runner;
  }

  private problemTitle(id: string): string {
    return this.spec.problems.find((p) => p.id === id)?.title ?? id;
  }

  /** Runs work with a cancellable progress notification (linking to the log) and the status bar. */
  private async operation(title: string, work: (signal: AbortSignal) => Promise<RunRecord[]>): Promise<RunRecord[] | undefined> {
    const runner = this.needRunner();
    if (runner.busy) {
      const b = await api.showWarning('BERT Lab is already running an experiment.', {}, 'Cancel Run', 'Show Log');
      if (b === 'Cancel Run') this.cancel(); else if (b === 'Show Log') this.log.show();
      return undefined;
    }
    const abort = new AbortController();
    this.abort = abort;
    void api.setContext('bertLab.busy', true);
    this.log.info(`${title}: started`);
    try {
      return await api.withProgress({ location: vscode.ProgressLocation.Notification, title: `BERT Lab: ${title}`, cancellable: true }, async (progress, token) => {
        token.onCancellationRequested(() => abort.abort());
        const report = () => {
          const r = this.state.running();
          progress.report({ message: progressNotificationText(r && { ...this.state.position(r), label: r.config.label }, r && this.state.progress[r.id]) });
        };
        report();
        let last = 0;
        const onProgress = () => { if (Date.now() - last > 500) { last = Date.now(); report(); } };
        this.state.on('progress', onProgress);
        this.state.on('changed', report);
        try {
          return await work(abort.signal);
        } finally {
          this.state.off('progress', onProgress);
          this.state.off('changed', report);
        }
      });
    } finally {
      this.abort = undefined;
      void api.setContext('bertLab.busy', false);
      this.reloadHistory();
    }
  }

  private async summarize(title: string, records: RunRecord[] | undefined): Promise<void> {
    if (!records) return;
    const count = (s: string) => records.filter((r) => r.status === s).length;
    const answers = this.resultsState().answers.filter((a) => a.value !== null && records.some((r) => r.config.problem === a.problem));
    const parts = [`${count('finished')} of ${records.length} runs finished`];
    if (count('failed')) parts.push(`${count('failed')} failed`);
    if (count('cancelled')) parts.push(`${count('cancelled')} cancelled`);
    parts.push(...answers.map((a) => `${a.variable} = ${a.value!.toFixed(4)}`));
    this.log.info(`${title}: ${parts.join(' · ')}`);
    const failed = records.find((r) => r.status === 'failed');
    const show = failed ? api.showWarning(`BERT Lab: ${title}: ${parts.join(' · ')}. ${failed.config.label}: ${failed.error ?? 'failed'}`, {}, 'Open Results', 'Show Log')
      : api.showInfo(`BERT Lab: ${title}: ${parts.join(' · ')}`, 'Open Results', 'Fill Answer Cells');
    const b = await show;
    if (b === 'Open Results') this.openResults();
    else if (b === 'Show Log') this.log.show();
    else if (b === 'Fill Answer Cells') await api.executeCommand('bertLab.fillAnswers');
  }

  async runProblem(problemId: string): Promise<void> {
    const runner = this.needRunner();
    const settings = this.settings();
    const title = problemId === 'all' ? 'all problems' : this.problemTitle(problemId).split(/\s+[—–-]\s+/)[0];
    const overrides = problemId === 'all' ? {} : this.overrides()[problemId] ?? {};
    this.openResults(undefined, true);
    const records = await this.operation(title, async (signal) => {
      // Edited values run through the same sweep path (runProblem with overrides).
      return runner.runProblem(problemId, settings, { signal, overrides });
    });
    void this.summarize(title, records);
  }

  private async runConfig(config: RunConfig, title: string): Promise<void> {
    const runner = this.needRunner();
    this.openResults(undefined, true);
    const a = runner.argsFor(config);
    const records = await this.operation(title, async (signal) => runner.runProblem(a.problemId, a.settings, { ...a.opts, signal }));
    void this.summarize(title, records);
  }

  private async runFromProblemsView(arg: NodeArg): Promise<void> {
    const ref = refOf(arg);
    if (!ref.problemId) return;
    if (!ref.configKey) return this.runProblem(ref.problemId);
    const runner = this.needRunner();
    const base = runner.planProblem(ref.problemId, this.settings()).find((c) => c.key === ref.configKey);
    if (!base) throw new Error(`${ref.problemId}: that configuration is no longer planned (settings changed?)`);
    const config = applyOverrides(base, this.overrides()[ref.problemId]?.[ref.configKey]);
    return this.runConfig(config, `${ref.problemId} ${config.label}`);
  }

  async rerun(runId: string | undefined): Promise<void> {
    const r = runId ? this.state.get(runId) : undefined;
    if (!r) throw new Error('no such run');
    return this.runConfig(r.config, `re-run ${r.config.label}`);
  }

  cancel(): void {
    if (!this.runner?.busy) { void api.showInfo('BERT Lab: nothing is running.'); return; }
    this.log.info('cancelling…');
    this.abort?.abort();
    this.runner.cancel();
  }

  /** "Cancel" on a run of the Run History: a queued run is skipped (the sweep goes on); the running one cancels the sweep. */
  cancelRun(runId: string | undefined): void {
    if (runId && this.runner?.cancelQueued(runId)) this.log.info(`cancelled queued run ${runId}; the sweep goes on`);
    else this.cancel();
  }

  /** Max position embeddings of a local model folder (config.json), else BERT's 512. */
  private maxPositions(model: string): number {
    try {
      const cfg = JSON.parse(readFileSync(join(model, 'config.json'), 'utf8')) as { max_position_embeddings?: unknown };
      if (typeof cfg.max_position_embeddings === 'number') return cfg.max_position_embeddings;
    } catch { /* a Hub id, or no config yet */ }
    return 512;
  }

  private async editValue(arg: NodeArg): Promise<void> {
    const ref = refOf(arg);
    if (!ref.problemId || !ref.configKey || !ref.field) return;
    const runner = this.needRunner();
    const base = runner.planProblem(ref.problemId, this.settings()).find((c) => c.key === ref.configKey);
    if (!base) throw new Error('that configuration is no longer planned');
    const all = this.overrides();
    const edits = all[ref.problemId]?.[ref.configKey] ?? {};
    const current = applyOverrides(base, edits)[ref.field];
    const maxPos = this.maxPositions(base.model);
    const name = FIELD_NAMES[ref.field];
    const text = await vscode.window.showInputBox({
      title: `${name} of ${base.label}`,
      prompt: ref.field === 'maxLen' ? `MAX_LEN (at most ${maxPos}, the model's positions)` : ref.field === 'learningRate' ? 'Learning rate (> 0), e.g. 2e-5' : ref.field === 'batchSize' ? 'Batch size (>= 1)' : 'SUBSET_FRAC in (0, 1]',
      value: ref.field === 'learningRate' ? lrLabel(current) : String(current),
      validateInput: (t) => validateField(ref.field!, t, maxPos),
    });
    if (text === undefined) return;
    const v = Number(text.trim());
    const next = { ...edits, [ref.field]: v };
    if (v === base[ref.field]) delete next[ref.field];
    all[ref.problemId] = { ...(all[ref.problemId] ?? {}), [ref.configKey]: next };
    if (Object.keys(next).length === 0) delete all[ref.problemId][ref.configKey];
    await this.context.workspaceState.update(OVERRIDES_KEY, all);
    this.scheduleRefresh(true);
  }

  private async resetValues(arg: NodeArg): Promise<void> {
    const ref = refOf(arg);
    const all = this.overrides();
    if (ref.problemId && ref.configKey && all[ref.problemId]) delete all[ref.problemId][ref.configKey];
    else if (ref.problemId) delete all[ref.problemId];
    await this.context.workspaceState.update(OVERRIDES_KEY, all);
    this.scheduleRefresh(true);
  }

  private async runSingleInteractive(): Promise<void> {
    const runner = this.needRunner();
    const s = this.settings();
    const template = runner.planProblem('problem1', s)[0];
    const model = await vscode.window.showQuickPick(
      [{ label: s.model, description: 'bertLab.model' }, { label: s.compareModel, description: 'bertLab.compareModel' }, { label: 'Other…', description: 'a Hub id, preset name or local folder' }],
      { title: 'Run Single Experiment: model' });
    if (!model) return;
    let modelId = model.label;
    if (model.label === 'Other…') {
      const t = await vscode.window.showInputBox({ title: 'Model', prompt: 'Hugging Face id, Keras-Hub preset or local folder', validateInput: (v) => (v.trim() ? undefined : 'required') });
      if (!t) return;
      modelId = readSettings({ get: <T>(k: string) => (k === 'model' ? t : undefined) as T | undefined }, api.workspaceFolder()?.uri.fsPath).model;
    }
    const maxPos = this.maxPositions(modelId);
    const ask = async (field: EditableField, value: number) => {
      const t = await vscode.window.showInputBox({ title: `Run Single Experiment: ${FIELD_NAMES[field]}`, value: field === 'learningRate' ? lrLabel(value) : String(value), validateInput: (v) => validateField(field, v, maxPos) });
      return t === undefined ? undefined : Number(t.trim());
    };
    const maxLen = await ask('maxLen', s.quick ? template.maxLen : 128); if (maxLen === undefined) return;
    const learningRate = await ask('learningRate', 2e-5); if (learningRate === undefined) return;
    const batchSize = await ask('batchSize', 32); if (batchSize === undefined) return;
    const subsetFrac = await ask('subsetFrac', s.subsetFrac); if (subsetFrac === undefined) return;
    const tag = modelId.replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? modelId;
    const config: RunConfig = {
      ...template, problem: 'single', model: modelId, maxLen, learningRate, batchSize, subsetFrac,
      key: `single-len${maxLen}-lr${learningRate}-b${batchSize}-f${subsetFrac}-${tag}-${Date.now()}`,
      label: `MAX_LEN=${maxLen}, LR=${lrLabel(learningRate)}, BATCH=${batchSize}, SUBSET_FRAC=${subsetFrac}, MODEL=${tag}`,
    };
    return this.runConfig(config, `single experiment ${config.label}`);
  }

  openResults(runId?: string, preserveFocus = false): void {
    ResultsPanel.createOrShow(this.context.extensionUri, this, runId, preserveFocus);
  }

  private async showRunDetails(runId: string): Promise<void> {
    const runner = this.needRunner();
    const file = vscode.Uri.file(join(runner.history.runDir(runId), 'run.json'));
    if (!existsSync(file.fsPath)) throw new Error(`run ${runId} has no run.json`);
    await vscode.window.showTextDocument(file, { preview: true, viewColumn: vscode.ViewColumn.Active });
  }

  private async deleteRun(runId: string | undefined): Promise<void> {
    const runner = this.needRunner();
    const r = runId ? this.state.get(runId) : undefined;
    if (!r) return;
    if (r.status === 'running' || r.status === 'queued') throw new Error('cancel the run before deleting it');
    const b = await api.showWarning(`Delete the run "${r.config.label}" of ${r.config.problem} and its files?`, { modal: true, detail: runner.history.runDir(r.id) }, 'Delete');
    if (b !== 'Delete') return;
    runner.history.delete(r.id);
    this.log.info(`deleted run ${r.id}`);
    this.reloadHistory();
  }

  private async revealRun(runId: string | undefined): Promise<void> {
    if (!runId) return;
    const dir = this.needRunner().history.runDir(runId);
    const file = vscode.Uri.file(join(dir, 'run.json'));
    // Local windows can open the OS file manager; remote ones (code-server) reveal in the Explorer.
    if (vscode.env.remoteName) await api.executeCommand('revealInExplorer', file);
    else await api.executeCommand('revealFileInOS', file);
  }

  private async exportRuns(runs: RunRecord[]): Promise<void> {
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
    this.log.info(`exported ${runs.length} runs to ${target.fsPath}`);
    void api.showInfo(`BERT Lab: exported ${runs.length} runs to ${vscode.workspace.asRelativePath(target)}.`);
  }

  private async showEngine(): Promise<void> {
    await api.executeCommand('bertLab.engine.focus');
    const e = this.state.engine?.info;
    const native = installedNative(this.nativeDir);
    const msg = e
      ? `BERT Lab engine: ${e.backend} on ${e.device} (${e.threads} threads). ${e.reason}. Native engine: ${native.length ? native.join(', ') : 'not installed'}.`
      : `BERT Lab: no run has reported its engine yet. Native engine: ${native.length ? native.join(', ') : 'not installed'} (backend setting: ${this.settings().backend}).`;
    this.log.info(msg);
    const b = await api.showInfo(msg, ...(native.length ? [] : ['Install Native Engine']), 'Show Log');
    if (b === 'Install Native Engine') await this.installNativeEngine();
    else if (b === 'Show Log') this.log.show();
  }

  private async installNativeEngine(): Promise<void> {
    const gpu = nvidiaLikely();
    const items: Array<vscode.QuickPickItem & { pkg: NativePackage }> = [
      { pkg: '@tensorflow/tfjs-node', label: 'TensorFlow (CPU)', description: `@tensorflow/tfjs-node@${NATIVE_VERSION}`, detail: 'Native TensorFlow on the CPU: faster than WASM.' },
      { pkg: '@tensorflow/tfjs-node-gpu', label: 'TensorFlow (NVIDIA GPU, CUDA)', description: `@tensorflow/tfjs-node-gpu@${NATIVE_VERSION}`, detail: gpu ? 'An NVIDIA driver was found.' : 'Needs an NVIDIA GPU with CUDA 11.2 and cuDNN 8.1.' },
    ];
    if (gpu) items.reverse();
    const pick = await vscode.window.showQuickPick(items, { title: 'Install Native Engine', placeHolder: `Installs into ${this.nativeDir} (downloads libtensorflow)` });
    if (!pick) return;
    this.log.info(`installing ${pick.pkg}@${NATIVE_VERSION} into ${this.nativeDir}`);
    try {
      const installed = await api.withProgress({ location: vscode.ProgressLocation.Notification, title: `BERT Lab: installing ${pick.label}`, cancellable: true }, (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        let last = 0;
        return installNative({
          dir: this.nativeDir, pkg: pick.pkg, signal: abort.signal,
          onLine: (line) => {
            this.log.info(`npm: ${line}`);
            if (Date.now() - last > 300) { last = Date.now(); progress.report({ message: `${line.slice(0, 100)} — [Show Log](command:bertLab.showLog)` }); }
          },
        });
      });
      this.log.info(`installed: ${installed.join(', ')}`);
      void api.showInfo(`BERT Lab: installed ${installed.join(', ')}. New runs use it (backend "auto" or "${pick.pkg.endsWith('gpu') ? 'tensorflow-gpu' : 'tensorflow'}").`);
    } finally {
      this.scheduleRefresh(true);
    }
  }

  private async openNotebook(): Promise<void> {
    const found = await this.notebooks.scanWorkspace();
    let uri: vscode.Uri | undefined;
    if (found.length === 1) uri = found[0];
    else if (found.length > 1) uri = (await vscode.window.showQuickPick(found.map((u) => ({ label: vscode.workspace.asRelativePath(u), uri: u })), { title: 'Open Homework Notebook' }))?.uri;
    else {
      uri = (await vscode.window.showOpenDialog({ title: 'Open the Homework 9 notebook', filters: { 'Jupyter notebooks': ['ipynb'] }, canSelectMany: false }))?.[0];
    }
    if (!uri) return;
    const nb = await vscode.workspace.openNotebookDocument(uri);
    await vscode.window.showNotebookDocument(nb);
    if (!this.notebooks.analyze(nb).isHomework) void api.showWarning('BERT Lab: this notebook has no "Problem N" headings with answer cells (a1a = …): the run and fill buttons will not appear.', {});
  }

  // ----------------------------------------------------------------------------------------------
  // Filling answers

  private async fillInto(uriText: string | undefined, values: Record<string, number>): Promise<FillOutcome | undefined> {
    const uri = await this.notebooks.pickTarget(uriText);
    if (!uri) return undefined;
    const out = await this.notebooks.fill(uri, values);
    this.log.info(`${out.file}: ${describeFill(out).join('; ')}`);
    if (out.changes.length + out.unchanged.length > 0) this.setContextKey(ANSWERS_FILLED_KEY, true);
    return out;
  }

  private async fillAll(): Promise<void> {
    const answers = this.resultsState().answers;
    const values = Object.fromEntries(answers.filter((a) => a.value !== null).map((a) => [a.variable, a.value as number]));
    if (Object.keys(values).length === 0) {
      const b = await api.showWarning('BERT Lab: no graded value yet: run Problem 1 first.', {}, 'Run Problem 1 Sweep');
      if (b) await this.runProblem('problem1');
      return;
    }
    const out = await this.fillInto(undefined, values);
    if (!out) throw new Error('no homework notebook found in this workspace: open it first (it needs "Problem N" headings and a1a = … answer cells)');
    const pending = answers.filter((a) => a.value === null).map((a) => `${a.variable} (no result yet)`);
    void api.showInfo(`BERT Lab: ${[...describeFill(out), ...pending].join(' · ')}`);
  }

  private async fillOne(uriText: string | undefined, variable: string | undefined): Promise<void> {
    if (!variable) return this.fillAll();
    const answer = this.resultsState().answers.find((a) => a.variable === variable);
    if (!answer || answer.value === null) {
      const problem = answer?.problem ?? 'problem1';
      const b = await api.showWarning(`BERT Lab: ${variable} has no result yet: run ${this.problemTitle(problem).split(/\s+[—–-]\s+/)[0]} first.`, {}, 'Run');
      if (b) await this.runProblem(problem);
      return;
    }
    const out = await this.fillInto(uriText, { [variable]: answer.value });
    if (out) void api.showInfo(`BERT Lab: ${describeFill(out).join(' · ')}`);
  }

  dispose(): void {
    if (this.runner?.busy) this.runner.cancel();
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}
