// The UI's one source of truth for runs, kept up to date from the runner's events (no vscode import):
// the records, the latest progress and step losses of running runs, and the engine last reported.
// The history on disk is read once at start (and when another process, e.g. the CLI, changes it).
import { EventEmitter } from 'node:events';
import type { EngineInfo, FromWorker, ProgressMessage, ResultsState, RunRecord } from '../protocol';
import { computeAnswers } from '../experiments/answers';
import type { HomeworkSpec } from '../experiments/spec';

/** The part of the runner the UI listens to. */
export interface RunEvents {
  on(event: 'record', fn: (r: RunRecord) => void): unknown;
  on(event: 'message', fn: (runId: string, m: FromWorker) => void): unknown;
  on(event: 'log', fn: (line: string) => void): unknown;
  /** A run that never started left the history (cancelled while queued, skipped after a setup failure). */
  on(event: 'removed', fn: (runId: string) => void): unknown;
}

/** Most step-loss points kept per run (older points are thinned out, keeping the curve's shape). */
export const MAX_LOSS_POINTS = 1500;
/** Runs whose step losses stay in memory (the newest). */
const MAX_LIVE_RUNS = 12;

export class RunState extends EventEmitter {
  private records = new Map<string, RunRecord>();
  readonly progress: Record<string, ProgressMessage> = {};
  readonly liveLoss: Record<string, Array<[number, number]>> = {};
  engine?: { info: EngineInfo; runId: string };

  constructor(private readonly spec: HomeworkSpec) {
    super();
  }

  /** Replaces the known records with the history on disk (keeps live data of running runs). */
  load(records: readonly RunRecord[]): void {
    this.records = new Map(records.map((r) => [r.id, r]));
    const latestEngine = [...records].reverse().find((r) => r.engine);
    if (latestEngine && !this.engine) this.engine = { info: latestEngine.engine!, runId: latestEngine.id };
    for (const id of Object.keys(this.progress)) if (this.records.get(id)?.status !== 'running') delete this.progress[id];
    this.emit('changed');
  }

  attach(runner: RunEvents): void {
    runner.on('record', (r) => this.onRecord(r));
    runner.on('message', (id, m) => this.onMessage(id, m));
    runner.on('removed', (id) => this.remove(id));
  }

  onRecord(r: RunRecord): void {
    this.records.set(r.id, r);
    if (r.status !== 'running') delete this.progress[r.id];
    if (r.engine) this.engine = { info: r.engine, runId: r.id };
    this.emit('changed', r.id);
  }

  onMessage(runId: string, m: FromWorker): void {
    if (m.type === 'progress') {
      this.progress[runId] = m;
      if (m.phase === 'train' && m.steps > 0 && Number.isFinite(m.loss)) {
        const list = (this.liveLoss[runId] ??= []);
        // x in epochs (step s of epoch e at e - 1 + s/steps): drawable after the run ended, when its progress is gone.
        const x = (m.epoch - 1) + m.step / m.steps;
        // A new epoch restarts the step count of an out-of-memory retry: drop points past x.
        while (list.length && list[list.length - 1][0] >= x) list.pop();
        list.push([x, m.loss]);
        if (list.length > MAX_LOSS_POINTS) this.liveLoss[runId] = list.filter((_, i) => i % 2 === 0 || i === list.length - 1);
        const ids = Object.keys(this.liveLoss);
        if (ids.length > MAX_LIVE_RUNS) for (const old of ids.slice(0, ids.length - MAX_LIVE_RUNS)) delete this.liveLoss[old];
      }
      this.emit('progress', runId);
    } else if (m.type === 'started') {
      this.engine = { info: m.engine, runId };
      delete this.liveLoss[runId];
      this.emit('changed', runId);
    } else if (m.type === 'outOfMemory') {
      delete this.liveLoss[runId];
    }
  }

  /** Forgets a deleted run. */
  remove(id: string): void {
    if (!this.records.delete(id)) return;
    delete this.progress[id];
    delete this.liveLoss[id];
    this.emit('changed', id);
  }

  runs(): RunRecord[] {
    return [...this.records.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  get(id: string): RunRecord | undefined {
    return this.records.get(id);
  }

  running(): RunRecord | undefined {
    return this.runs().find((r) => r.status === 'running');
  }

  resultsState(notebookAvailable: boolean): ResultsState {
    const runs = this.runs();
    return {
      runs,
      liveLoss: { ...this.liveLoss },
      progress: Object.fromEntries(Object.entries(this.progress).filter(([id]) => this.records.get(id)?.status === 'running')),
      answers: computeAnswers(runs, this.spec),
      problems: this.spec.problems.map((p) => ({ id: p.id, title: p.title })),
      notebookAvailable,
    };
  }
}
