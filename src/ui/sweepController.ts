// The one path for a sweep in VS Code: every run (a problem, all problems, edited values, one config,
// a re-run, the single-experiment wizard) goes through Runner.runProblem with overrides/only, under one
// cancellable progress notification whose text matches the status bar; then one summary.
import * as vscode from 'vscode';
import type { RunRecord } from '../protocol';
import type { Settings } from '../experiments/spec';
import * as api from '../common/vscodeapi';
import { findPython } from '../common/python';
import { progressNotificationText, sweepView } from './statusText';
import { quickTag } from './labels';
import type { LabContext } from './labContext';
import { plannedBase, runThroughRunner, valuesDiff, type RunValues, type SweepOptions } from './sweepPlan';

export type { RunValues, SweepOptions } from './sweepPlan';

export class SweepController {
  private abort?: AbortController;

  constructor(private readonly lab: LabContext) {}

  /** Settings of a run: bertLab.* plus the Python interpreter for the PyTorch engine. */
  private async runSettings(): Promise<Settings> {
    const s = this.lab.settings();
    if (s.python || !(s.backend === 'auto' || s.backend.startsWith('torch'))) return s;
    const python = await findPython(undefined, api.workspaceFolder()?.uri);
    return python ? { ...s, python } : s;
  }

  /** Runs a problem ('all': every problem) with the given options, with progress and a summary. */
  async run(problemId: string, title: string, opts: SweepOptions = {}): Promise<void> {
    const runner = this.lab.needRunner();
    if (runner.busy) {
      const b = await api.showWarning('BERT Lab is already running an experiment.', {}, 'Cancel Run', 'Show Log');
      if (b === 'Cancel Run') this.cancel(); else if (b === 'Show Log') this.lab.log.show();
      return;
    }
    const settings = await this.runSettings();
    this.lab.openResults(undefined, true);
    const abort = new AbortController();
    this.abort = abort;
    void api.setContext('bertLab.busy', true);
    this.lab.log.info(`${title}: started`);
    let records: RunRecord[] | undefined;
    try {
      records = await api.withProgress({ location: vscode.ProgressLocation.Notification, title: `BERT Lab: ${title}`, cancellable: true }, async (progress, token) => {
        token.onCancellationRequested(() => abort.abort());
        const state = this.lab.state;
        let lastText = '';
        const report = () => {
          const r = state.running();
          const text = progressNotificationText(r && sweepView(state.runs(), r, state.progress[r.id]));
          if (text !== lastText) { lastText = text; progress.report({ message: text }); }
        };
        report();
        let last = 0;
        const onProgress = () => { if (Date.now() - last > 500) { last = Date.now(); report(); } };
        state.on('progress', onProgress);
        state.on('changed', report);
        try {
          return await runThroughRunner(runner, problemId, settings, { ...opts, signal: abort.signal });
        } finally {
          state.off('progress', onProgress);
          state.off('changed', report);
        }
      });
    } finally {
      this.abort = undefined;
      void api.setContext('bertLab.busy', false);
      this.lab.refresh(true);
    }
    void this.summarize(title, records);
  }

  /** One message at the end: counts, answers (with their caveat), or the one setup failure and its fix. */
  private async summarize(title: string, records: RunRecord[] | undefined): Promise<void> {
    if (!records) return;
    const log = this.lab.log;
    const count = (s: string) => records.filter((r) => r.status === s).length;
    const problems = new Set(records.map((r) => r.config.problem));
    const answers = this.lab.state.resultsState(false).answers.filter((a) => a.value !== null && problems.has(a.problem));
    const parts = [`${count('finished')} of ${records.length} runs finished`];
    if (count('failed')) parts.push(`${count('failed')} failed`);
    if (count('cancelled')) parts.push(`${count('cancelled')} cancelled`);
    parts.push(...answers.map((a) => `${a.variable} = ${a.value!.toFixed(4)}${a.caveat ? ` (${a.caveat})` : ''}`));
    const tag = records.map((r) => quickTag(r.config)).find(Boolean);
    const text = `${title}: ${parts.join(' · ')}${tag && !answers.some((a) => a.caveat) ? ` (${tag})` : ''}`;
    log.info(text);
    const setup = records.find((r) => r.status === 'failed' && r.failureStage === 'setup');
    if (setup) {
      // Its data, model or engine did not load: every run with them fails the same way. One error, with the
      // action that fixes it (and what did finish, if anything).
      const what = this.lab.problemTitle(setup.config.problem).split(/\s+[—–-]\s+/)[0];
      const done = count('finished') ? `${title}: ${parts.join(' · ')}. ` : '';
      log.error(`${what} could not start: ${setup.error ?? 'failed'}`);
      const b = await api.showError(`BERT Lab: ${done}${what} could not start: ${setup.error ?? 'its data or model did not load'}`, 'Choose Data and Model…', 'Show Log');
      if (b === 'Choose Data and Model…') await api.executeCommand('bertLab.chooseDataAndModel');
      else if (b === 'Show Log') log.show();
      return;
    }
    const failed = records.find((r) => r.status === 'failed');
    const b = failed
      ? await api.showWarning(`BERT Lab: ${text}. ${failed.config.label}: ${failed.error ?? 'failed'}`, {}, 'Open Results', 'Show Log')
      : await api.showInfo(`BERT Lab: ${text}`, 'Open Results', ...(answers.length ? ['Fill Answer Cells'] : []));
    if (b === 'Open Results') this.lab.openResults();
    else if (b === 'Show Log') log.show();
    else if (b === 'Fill Answer Cells') await api.executeCommand('bertLab.fillAnswers');
  }

  /** A problem's sweep with the student's edited values. */
  runProblem(problemId: string, overrides: Record<string, RunValues> = {}): Promise<void> {
    const title = problemId === 'all' ? 'all problems' : this.lab.problemTitle(problemId).split(/\s+[—–-]\s+/)[0];
    return this.run(problemId, title, problemId === 'all' ? {} : { overrides });
  }

  /** One planned config (with its edits), run even if it finished before. */
  runConfig(problemId: string, key: string, values: RunValues, title: string): Promise<void> {
    return this.run(problemId, title, { only: [key], overrides: Object.keys(values).length ? { [key]: values } : {}, force: true });
  }

  /** Runs a recorded run's configuration again (its planned config with its values). */
  rerun(r: RunRecord): Promise<void> {
    const base = plannedBase(r.config, this.lab.plan(r.config.problem));
    if (!base) throw new Error(`${r.config.label}: this configuration is not planned with the current settings (data, model or quick mode changed?); run its problem instead`);
    return this.runConfig(r.config.problem, base.key, valuesDiff(r.config, base), `re-run ${r.config.label}`);
  }

  cancel(): void {
    const runner = this.lab.runner;
    if (!runner?.busy) { void api.showInfo('BERT Lab: nothing is running.'); return; }
    this.lab.log.info('cancelling…');
    this.abort?.abort();
    runner.cancel();
  }

  /** "Cancel" on a run of the Run History: a queued run is skipped (the sweep goes on); the running one cancels the sweep. */
  cancelRun(runId: string | undefined): void {
    if (runId && this.lab.runner?.cancelQueued(runId)) this.lab.log.info(`cancelled queued run ${runId}; the sweep goes on`);
    else this.cancel();
  }
}
