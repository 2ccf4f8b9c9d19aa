// BERT Lab's extension-side hub: owns the runner, the one in-memory RunState, the sidebar views, the
// status bar and the results panel, and hands the commands (src/ui/commands/*) and the sweep controller
// what they need (LabContext). extension.ts only constructs it.
import * as vscode from 'vscode';
import { join } from 'node:path';
import type { FromWebview, ResultsState, RunConfig } from '../protocol';
import type { Runner } from '../experiments/runner';
import { planProblem, type HomeworkSpec, type Settings } from '../experiments/spec';
import * as api from '../common/vscodeapi';
import { readSettings } from '../common/settings';
import { RunLog } from '../common/logging';
import { RunState } from './runState';
import { NodeTreeProvider, STARTING_VIEW_ID, startingViewProvider } from './views';
import { engineTree, historyTree, problemsTree, type PlannedProblem, type TreeNode } from './treeModel';
import { ResultsPanel, RESULTS_VIEW_TYPE, type ResultsHost } from './resultsPanel';
import { HomeworkNotebooks } from './notebook';
import { installedNative } from './nativeEngine';
import { describeFill } from '../notebook/notebookFile';
import { sweepView, trainingStatusText } from './statusText';
import { ANSWERS_FILLED_KEY, HOMEWORK_NOTEBOOK_KEY, HOMEWORK_OPEN_KEY, isWalkthroughTab, WALKTHROUGH_OPEN_KEY, walkthroughContext } from './walkthrough';
import type { LabContext } from './labContext';
import { SweepController } from './sweepController';
import { registerRunCommands, rerun, showRunDetails, type Register } from './commands/runCommands';
import { overridesOf, registerProblemCommands } from './commands/problemCommands';
import { registerEngineCommands } from './commands/engineCommands';
import { fillAnswers, registerAnswerCommands } from './commands/answerCommands';

export class BertLab implements ResultsHost, LabContext {
  readonly runner?: Runner;
  readonly state: RunState;
  readonly notebooks: HomeworkNotebooks;
  readonly nativeDir: string;
  readonly sweeps: SweepController;
  private readonly problems = new NodeTreeProvider();
  private readonly history = new NodeTreeProvider();
  private readonly engine = new NodeTreeProvider();
  private historyView?: vscode.TreeView<TreeNode>;
  private readonly statusBar: vscode.StatusBarItem;
  private refreshTimer?: ReturnType<typeof setTimeout>;
  private lastTreeRefresh = 0;
  /** Context keys already set (set again only when they change). */
  private readonly contextKeys = new Map<string, boolean>();
  private readonly workspace?: string;
  /** Native engine packages found in nativeDir (cached: a tree refresh reads nothing from disk). */
  private native?: string[];

  constructor(readonly context: vscode.ExtensionContext, readonly log: vscode.LogOutputChannel, readonly spec: HomeworkSpec, makeRunner: (workspace: string, env: NodeJS.ProcessEnv) => Runner) {
    this.nativeDir = join(context.globalStorageUri.fsPath, 'native');
    const folder = api.workspaceFolder();
    this.state = new RunState(spec);
    if (folder && folder.uri.scheme === 'file') {
      this.workspace = folder.uri.fsPath;
      this.runner = makeRunner(folder.uri.fsPath, { ...process.env, BERT_LAB_NATIVE_DIR: this.nativeDir });
      new RunLog(log).attach(this.runner);
      this.state.attach(this.runner);
    }
    this.notebooks = new HomeworkNotebooks(() => this.state.resultsState(false).answers, spec.answers.map((a) => a.variable), (l) => this.log.info(l));
    this.statusBar = api.createStatusBarItem('bertLab.training', 50);
    this.statusBar.name = 'BERT Lab Training';
    this.statusBar.command = 'bertLab.openResults';
    this.sweeps = new SweepController(this);
  }

  activate(): void {
    const c = this.context;
    // The views first, so that no view waits for a provider while the rest starts.
    this.historyView = vscode.window.createTreeView('bertLab.history', { treeDataProvider: this.history, showCollapseAll: true });
    c.subscriptions.push(
      vscode.window.createTreeView('bertLab.problems', { treeDataProvider: this.problems, showCollapseAll: true }),
      this.historyView,
      vscode.window.createTreeView('bertLab.engine', { treeDataProvider: this.engine }),
      vscode.window.registerWebviewViewProvider(STARTING_VIEW_ID, startingViewProvider),
      this.statusBar, this.problems, this.history, this.engine, this.notebooks,
      vscode.notebooks.registerNotebookCellStatusBarItemProvider('jupyter-notebook', this.notebooks),
      vscode.window.registerWebviewPanelSerializer(RESULTS_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel) => { ResultsPanel.revive(panel, c.extensionUri, this); },
      }),
      api.onDidChangeConfiguration((e) => { if (e.affectsConfiguration('bertLab')) this.refresh(true); }),
      vscode.window.onDidChangeActiveNotebookEditor(() => this.updateNotebookContext()),
      vscode.workspace.onDidOpenNotebookDocument(() => { this.updateNotebookContext(); ResultsPanel.current?.postState(); }),
      vscode.workspace.onDidCloseNotebookDocument(() => { this.updateNotebookContext(); ResultsPanel.current?.postState(); }),
      vscode.workspace.onDidChangeNotebookDocument(() => this.updateNotebookContext()),
      vscode.window.tabGroups.onDidChangeTabs((e) => { if (e.opened.some((t) => isWalkthroughTab(t.label))) this.walkthroughOpened(); }),
    );
    if (vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => isWalkthroughTab(t.label)))) this.walkthroughOpened();
    // The status bar follows each change at once (the trees are throttled).
    this.state.on('changed', () => { this.updateStatusBar(); this.refresh(false); });
    this.state.on('progress', () => { this.updateStatusBar(); ResultsPanel.current?.postState(); this.scheduleRefresh(false, 1000); });
    this.loadHistory();

    const folder = api.workspaceFolder();
    if (folder) {
      const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, '.bert-lab/runs/*/run.json'));
      // Runs made by another process (the CLI in a terminal) show up too; this window's own runs come as events.
      const reload = () => { if (!this.runner?.busy) this.scheduleReload(); };
      watcher.onDidCreate(reload); watcher.onDidChange(reload); watcher.onDidDelete(reload);
      const nbWatcher = vscode.workspace.createFileSystemWatcher('**/*.ipynb');
      const rescan = () => { void this.scanNotebooks(); };
      nbWatcher.onDidCreate(rescan); nbWatcher.onDidDelete(rescan); nbWatcher.onDidChange(rescan);
      c.subscriptions.push(watcher, nbWatcher);
      void this.scanNotebooks();
    }
    this.registerCommands();
    this.updateNotebookContext();
    void api.setContext('bertLab.ready', true);
    void api.setContext('bertLab.busy', false);
  }

  // ----------------------------------------------------------------------------------------------
  // Runs and views

  /** Reads the history from disk into RunState: at start, on Refresh, and when another process changed it. */
  private loadHistory(): void {
    if (!this.runner) { this.refreshViews(); return; }
    // The runner's history is an in-memory view of this process's writes: read the disk again here.
    this.runner.history.reload();
    this.state.load(this.runner.history.list());
    for (const w of this.runner.history.warnings) this.log.warn(w);
  }

  private reloadTimer?: ReturnType<typeof setTimeout>;
  private scheduleReload(): void {
    if (this.reloadTimer) return;
    this.reloadTimer = setTimeout(() => { this.reloadTimer = undefined; if (!this.runner?.busy) this.loadHistory(); }, 500);
  }

  private async scanNotebooks(): Promise<void> {
    await this.notebooks.scanWorkspace();
    // The walkthrough's "fill" step completes when a notebook on disk already has answers.
    if (this.notebooks.answeredOnDisk) this.setContextKey(ANSWERS_FILLED_KEY, true);
    ResultsPanel.current?.postState();
    this.notebooks.refresh();
  }

  settings(): Settings {
    const folder = api.workspaceFolder();
    return readSettings(api.getConfiguration('bertLab', folder?.uri), folder?.uri.fsPath);
  }

  plan(problemId: string): RunConfig[] {
    return planProblem(this.spec, problemId, this.settings(), this.state.runs(), this.workspace);
  }

  needRunner(): Runner {
    if (!this.runner) throw new Error('open a folder first: runs and their history are kept in its .bert-lab folder');
    return this.runner;
  }

  problemTitle(id: string): string {
    return this.spec.problems.find((p) => p.id === id)?.title ?? id;
  }

  refresh(now: boolean): void {
    this.scheduleRefresh(now);
  }

  nativeChanged(): void {
    this.native = undefined;
    this.scheduleRefresh(true);
  }

  private scheduleRefresh(now: boolean, minInterval = 150): void {
    // `now` replaces a refresh that waits (e.g. up to a second after a progress message).
    if (this.refreshTimer && now) { clearTimeout(this.refreshTimer); this.refreshTimer = undefined; }
    if (this.refreshTimer) return;
    const wait = now ? 0 : Math.max(0, minInterval - (Date.now() - this.lastTreeRefresh));
    this.refreshTimer = setTimeout(() => { this.refreshTimer = undefined; this.refreshViews(); }, wait);
  }

  private planned(): PlannedProblem[] {
    return this.spec.problems.map((p) => {
      let configs: PlannedProblem['configs'];
      try {
        configs = this.runner ? this.plan(p.id) : { error: 'Open a folder to plan and run this problem' };
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
    this.problems.setNodes(problemsTree(this.planned(), runs, overridesOf(this)));
    const engine = this.state.engine;
    this.native ??= installedNative(this.nativeDir); // read once, again after an install (nativeChanged)
    this.engine.setNodes(engineTree(engine?.info, engine ? this.state.get(engine.runId)?.config.label ?? engine.runId : undefined, { path: this.nativeDir, installed: this.native }));
    this.updateStatusBar();
    this.notebooks.refresh();
    ResultsPanel.current?.postState();
    for (const [key, value] of Object.entries(walkthroughContext(runs, this.spec.problems.map((p) => p.id)))) this.setContextKey(key, value);
  }

  setContextKey(key: string, value: boolean): void {
    if (this.contextKeys.get(key) === value) return;
    this.contextKeys.set(key, value);
    void api.setContext(key, value);
  }

  private updateStatusBar(): void {
    const r = this.state.running();
    if (!this.runner?.busy) { this.statusBar.hide(); return; }
    if (!r) return; // between two runs of a sweep: the next one reports "loading" in a moment
    const view = sweepView(this.state.runs(), r, this.state.progress[r.id]);
    this.statusBar.text = trainingStatusText(view);
    this.statusBar.tooltip = `${r.config.problem} · ${r.config.label}${view.tag ? ` (${view.tag})` : ''}\nClick to open the results`;
    this.statusBar.show();
  }

  /** See WALKTHROUGH_OPEN_KEY: false, then true once the page's walkthrough service has registered the steps. */
  private walkthroughOpened(): void {
    this.setContextKey(WALKTHROUGH_OPEN_KEY, false);
    setTimeout(() => this.setContextKey(WALKTHROUGH_OPEN_KEY, true), 1000);
  }

  private updateNotebookContext(): void {
    const nb = vscode.window.activeNotebookEditor?.notebook;
    this.setContextKey(HOMEWORK_NOTEBOOK_KEY, !!nb && nb.notebookType === 'jupyter-notebook' && this.notebooks.analyze(nb).isHomework);
    // The walkthrough's step: open in any editor (the walkthrough page itself has the focus when it is read).
    this.setContextKey(HOMEWORK_OPEN_KEY, this.notebooks.openHomeworkNotebooks().length > 0);
  }

  openResults(runId?: string, preserveFocus = false): void {
    ResultsPanel.createOrShow(this.context.extensionUri, this, runId, preserveFocus);
  }

  // ----------------------------------------------------------------------------------------------
  // ResultsHost

  resultsState(): ResultsState {
    return this.state.resultsState(this.notebooks.available());
  }

  async onMessage(m: FromWebview, panel: ResultsPanel): Promise<void> {
    switch (m.type) {
      case 'insertAnswer': {
        const answer = this.resultsState().answers.find((a) => a.variable === m.variable);
        if (!answer || answer.value === null) {
          panel.post({ type: 'insertResult', variable: m.variable, ok: false, message: `${m.variable}: ${answer?.note ?? 'no finished run yet'}` });
          return;
        }
        try {
          const out = await fillAnswers(this, undefined, [answer]);
          const ok = !!out && out.missing.length === 0;
          panel.post({ type: 'insertResult', variable: m.variable, ok, message: out ? describeFill(out).join('; ') + ` (${vscode.workspace.asRelativePath(out.file)})` : `${m.variable}: not filled` });
        } catch (e) {
          panel.post({ type: 'insertResult', variable: m.variable, ok: false, message: (e as Error).message });
        }
        return;
      }
      case 'openRun': return showRunDetails(this, m.runId);
      case 'rerun': return rerun(this, this.sweeps, m.runId);
      case 'cancel': return this.sweeps.cancel();
    }
  }

  logLine(line: string): void { this.log.info(line); }

  // ----------------------------------------------------------------------------------------------
  // Commands

  private registerCommands(): void {
    const reg: Register = (id, fn) => this.context.subscriptions.push(api.registerCommand(id, async (...args: unknown[]) => {
      try {
        // The argument types are declared by each command (commandArgs.ts); VS Code passes them through.
        await (fn as (...a: unknown[]) => unknown)(...args);
      } catch (e) {
        const msg = (e as Error).message;
        this.log.error(`${id}: ${msg}`);
        void api.showError(`BERT Lab: ${msg}`, 'Show Log').then((b) => { if (b) this.log.show(); });
      }
    }));
    registerProblemCommands(this, this.sweeps, reg);
    registerRunCommands(this, this.sweeps, reg);
    registerEngineCommands(this, reg);
    registerAnswerCommands(this, this.sweeps, reg);
    reg('bertLab.cancel', () => this.sweeps.cancel());
    reg('bertLab.chooseDataAndModel', () => api.executeCommand('workbench.action.openSettings', '@ext:bert-lab.bert-lab'));
    reg('bertLab.showLog', () => this.log.show());
    reg('bertLab.refresh', () => { this.native = undefined; this.loadHistory(); void this.scanNotebooks(); });
  }

  dispose(): void {
    if (this.runner?.busy) this.runner.cancel();
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
  }
}
