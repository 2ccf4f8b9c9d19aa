// Executes runs, each in its own training child process (child_process.fork of dist/worker.js: no
// shell), relays the child's messages, and keeps the run history up to date with atomic writes.
// runProblem() is the one way to run anything (a problem's sweep, every problem, edited values of a config,
// one config again): same sweep id, "run k of n", cancellable queued runs and setup short-circuit for all.
// A config whose exact experiment (resultFingerprint: data, model, every hyper-parameter, caps…) finished
// already is not run again. Used the same way by the VS Code extension and the CLI.
//
// Events: 'record' (a copy of a run record after every change), 'removed' (id: a queued run that never
// started left the history view), 'sweepRun' (SweepRunEvent: run k of n of a sweep is starting),
// 'message' (runId, FromWorker), 'log' (line), 'waiting' (LockOwner: another process holds the workspace).
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { isFromWorker, type FromWorker, type RunConfig, type RunRecord, type ToWorker } from '../protocol';
import { RunHistory } from './history';
import { acquireLock, type HeldLock } from './lock';
import { resultFingerprint, type RunValues } from '../protocol/runFields';
import { HOMEWORK9, planProblem, type HomeworkSpec, type PlanOptions, type Settings } from './spec';

export type { Settings } from './spec';
export type { RunValues } from '../protocol/runFields';
export { RunHistory } from './history';
export { WorkspaceBusyError, type LockOwner } from './lock';

export interface RunnerOptions {
  workspace: string;
  /** The bundled worker (dist/worker.js). */
  workerPath: string;
  /** Node executable for the child (default: this process's). */
  execPath?: string;
  env?: NodeJS.ProcessEnv;
  /** Homework spec (default: the built-in Homework 9). */
  spec?: HomeworkSpec;
  /** Folder that relative data/model paths are resolved against (default: process.cwd()). */
  cwd?: string;
  /** Seconds a cancelled child gets to stop by itself before it is killed (default 10). */
  cancelGraceSeconds?: number;
  /**
   * Another process running a sweep in the same workspace: 'fail' (default) rejects with a
   * WorkspaceBusyError naming it; 'wait' waits until it is done (cancellable with the signal).
   */
  whenBusy?: 'fail' | 'wait';
}

export interface SweepOptions {
  signal?: AbortSignal;
  /** Run again even the configs whose experiment finished already. */
  force?: boolean;
  /** Edited values per planned config key. */
  overrides?: Record<string /* config key */, RunValues>;
  /** Planned config keys to run; the others are left out. */
  only?: string[];
}

export interface SweepRunEvent {
  sweepId: string;
  problem: string;
  runId: string;
  /** 1-based position among the runs this sweep really runs, and their number. */
  index: number;
  total: number;
  config: RunConfig;
}

/** The run history could not be written: the run failed and the sweep stopped. One line. */
export class HistoryWriteError extends Error {}

/** A run that failed before training (its data, model or engine would not load); nothing else was started. */
export class SetupFailedError extends Error {}

const now = () => new Date().toISOString();
/** What a setup failure is about: every run with the same value fails the same way. */
const setupKey = (c: RunConfig) => JSON.stringify([c.data, c.model, c.tokenizer ?? '', c.backend ?? 'auto', c.precision ?? 'auto', c.python ?? '', c.cacheDir ?? '']);

export class Runner extends EventEmitter {
  /** The run history's in-memory view: read it instead of the disk (reload() re-reads). */
  readonly history: RunHistory;
  readonly spec: HomeworkSpec;
  private child?: ChildProcess;
  private cancelled = false;
  private running = false;
  /** Set by the first failed history write of the current sweep: nothing more is written, the sweep stops. */
  private writeFailure?: HistoryWriteError;
  /** Runs of the current sweep that are queued (not started yet), by id: cancelQueued() can skip one. */
  private readonly queued = new Map<string, RunRecord>();
  private stopWaiting?: AbortController;

  constructor(private readonly opts: RunnerOptions) {
    super();
    this.spec = opts.spec ?? HOMEWORK9;
    this.history = new RunHistory(opts.workspace, (line) => this.emit('log', line));
  }

  get busy(): boolean {
    return this.running;
  }

  /** The run configs of a problem for these settings (carry-over resolved from the history; edits applied). */
  planProblem(problemId: string, settings: Partial<Settings>, plan: PlanOptions = {}): RunConfig[] {
    return planProblem(this.spec, problemId, settings, this.history.list(), this.opts.cwd, plan);
  }

  /**
   * Runs a problem's sweep ('all': every problem in order, so that carry-over sees the earlier results),
   * with edited values (`overrides`) or only some of its configs (`only`).
   * Returns the records of the sweep's runs in plan order: finished ones reused from the history, the new
   * ones, and (not kept in the history) the ones that never started: cancelled while queued, or skipped
   * after a setup failure. Rejects with a HistoryWriteError when the history cannot be written (the
   * current run failed, the rest did not start), a WorkspaceBusyError when another process holds the
   * workspace (whenBusy 'fail').
   */
  async runProblem(
    problemId: string | 'all', settings: Partial<Settings>,
    opts: { signal?: AbortSignal; force?: boolean; overrides?: Record<string /* config key */, RunValues>; only?: string[] } = {},
  ): Promise<RunRecord[]> {
    const ids = problemId === 'all' ? this.spec.problems.map((p) => p.id) : [problemId];
    // Check the problem ids, the edits and the first problem's carry-over before anything starts.
    this.planProblem(ids[0], settings, problemId === 'all' ? {} : { overrides: opts.overrides, only: opts.only });
    return this.exclusive(opts.signal, `run ${problemId}`, async () => {
      const out: RunRecord[] = [];
      for (const pid of ids) {
        if (this.cancelled) break;
        let configs: RunConfig[];
        try {
          configs = this.planProblem(pid, settings, this.planFor(pid, problemId === 'all', settings, opts));
        } catch (e) {
          // 'all': a later problem cannot start when what it carries over did not finish.
          if (pid === ids[0]) throw e;
          this.emit('log', `bert-lab: ${(e as Error).message}`);
          break;
        }
        out.push(...(await this.sweep(pid, configs, opts.force ?? false)));
        if (this.writeFailure) throw this.writeFailure;
      }
      return out;
    });
  }

  /** The edits/selection of `opts` that belong to problem `pid` (with 'all', each problem takes its own keys). */
  private planFor(pid: string, all: boolean, settings: Partial<Settings>, opts: SweepOptions): PlanOptions {
    if (!all) return { overrides: opts.overrides, only: opts.only };
    const keys = new Set(this.planProblem(pid, settings).map((c) => c.key));
    const overrides = Object.fromEntries(Object.entries(opts.overrides ?? {}).filter(([k]) => keys.has(k)));
    return { overrides, ...(opts.only ? { only: opts.only.filter((k) => keys.has(k)) } : {}) };
  }

  private async sweep(pid: string, configs: RunConfig[], force: boolean): Promise<RunRecord[]> {
    const existing = this.history.list();
    const sweepId = `${pid}-${now().replace(/[-:.]/g, '')}`;
    // In plan order: finished runs reused, the others queued (all visible at once) and run in turn.
    const slots = configs.map((config) => {
      const fp = resultFingerprint(config);
      const done = force ? undefined : existing.filter((r) => r.status === 'finished' && resultFingerprint(r.config) === fp).pop();
      if (done) this.emit('log', `skipping ${pid} ${config.label}: finished already (run ${done.id})`);
      return done ? { rec: done, todo: false } : { rec: this.create(config, sweepId), todo: true };
    });
    const total = slots.filter((s) => s.todo).length;
    let index = 0;
    // A run that failed before training started (data, model or engine would not load) fails the same way
    // for every run with that data and model: those are not started (and not kept in the history).
    const setupFailed = new Map<string, RunRecord>();
    const out: RunRecord[] = [];
    for (const { rec, todo } of slots) {
      this.queued.delete(rec.id);
      if (!todo) { out.push(rec); continue; }
      const failedBefore = setupFailed.get(setupKey(rec.config));
      // Cancelled on its own while queued (cancelQueued): already dropped; the sweep goes on.
      if (rec.status === 'cancelled') { out.push(rec); continue; }
      if (this.cancelled) this.drop(rec, { status: 'cancelled', error: 'cancelled before it started' });
      else if (failedBefore) {
        this.drop(rec, { status: 'failed', failureStage: 'setup', error: `not started: ${failedBefore.config.label} could not start with the same data and model: ${failedBefore.error}` });
      } else {
        index++;
        this.emit('sweepRun', { sweepId, problem: pid, runId: rec.id, index, total, config: rec.config } satisfies SweepRunEvent);
        await this.execute(rec);
        if (rec.status === 'failed' && rec.failureStage === 'setup') setupFailed.set(setupKey(rec.config), rec);
      }
      out.push(rec);
    }
    return out;
  }

  /**
   * The runProblem() arguments that run exactly `config` again (a re-run from the history, an ad-hoc
   * config): its problem (the spec's first for a config of no spec problem), its own settings, and its
   * values as edits of the problem's first planned config.
   */
  argsFor(config: RunConfig, force = true): { problemId: string; settings: Partial<Settings>; opts: SweepOptions } {
    const problemId = this.spec.problems.some((p) => p.id === config.problem) ? config.problem : this.spec.problems[0].id;
    const settings: Partial<Settings> = {
      data: config.data, model: config.model, quick: false, seed: config.seed, epochs: config.epochs, evalBatch: config.evalBatchSize,
      subsetFrac: config.subsetFrac, saveModels: Boolean(config.saveModel), limitTrain: config.limitTrain, limitEval: config.limitEval,
      ...(config.backend ? { backend: config.backend } : {}), ...(config.precision ? { precision: config.precision } : {}),
      ...(config.python ? { python: config.python } : {}), ...(config.cacheDir ? { cacheDir: config.cacheDir } : {}),
    };
    const first = this.planProblem(problemId, settings)[0];
    const { maxLen, learningRate, batchSize, subsetFrac, model } = config;
    return { problemId, settings, opts: { force, only: [first.key], overrides: { [first.key]: { maxLen, learningRate, batchSize, subsetFrac, model } } } };
  }

  /**
   * Cancels one queued run of the current sweep: it is skipped (and leaves the history: it never ran), the
   * sweep goes on. False (nothing done) when the run is not queued (running, ended, or not this runner's).
   */
  cancelQueued(runId: string): boolean {
    const rec = this.queued.get(runId);
    if (!rec) return false;
    this.queued.delete(runId);
    this.drop(rec, { status: 'cancelled', error: 'cancelled before it started' });
    return true;
  }

  /** Cancels the current run (the child stops between steps, or is killed after a grace period) and the rest of the sweep. */
  cancel(): void {
    if (!this.running) return;
    this.cancelled = true;
    this.stopWaiting?.abort();
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) child.send({ type: 'cancel' } satisfies ToWorker);
    const grace = (this.opts.cancelGraceSeconds ?? 10) * 1000;
    const timer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) {
        this.emit('log', 'the training process did not stop in time: killing it');
        child.kill('SIGKILL');
      }
    }, grace);
    timer.unref();
  }

  // -------------------------------------------------------------------------------------------

  private async exclusive<T>(signal: AbortSignal | undefined, what: string, fn: () => Promise<T>): Promise<T> {
    if (this.running) throw new Error('a run is already in progress');
    this.running = true;
    this.cancelled = false;
    this.writeFailure = undefined;
    // Waiting for the workspace ends with the caller's signal or with cancel().
    this.stopWaiting = new AbortController();
    const onAbort = () => { this.cancelled = true; this.cancel(); };
    if (signal?.aborted) { this.cancelled = true; this.stopWaiting.abort(); }
    signal?.addEventListener('abort', onAbort);
    let lock: HeldLock | undefined;
    try {
      lock = await acquireLock(this.history.lockFile, what, {
        wait: this.opts.whenBusy === 'wait', signal: this.stopWaiting.signal,
        onWait: (owner) => {
          this.emit('log', `bert-lab: waiting for the sweep of pid ${owner.pid} in this workspace to end (since ${owner.since})…`);
          this.emit('waiting', owner);
        },
      });
      // Another process may have run (or be leaving) runs meanwhile: start from the disk as it is now.
      this.history.reload();
      return await fn();
    } finally {
      lock?.release();
      signal?.removeEventListener('abort', onAbort);
      this.running = false;
      this.child = undefined;
      // A sweep that stopped on an error (a failed history write) leaves no queued run behind.
      for (const rec of [...this.queued.values()]) this.drop(rec, { status: 'cancelled', error: 'not started: the sweep stopped' });
      this.queued.clear();
    }
  }

  /** A queued run: in the history view (not on disk until it starts), with its folder reserved. */
  private create(config: RunConfig, sweepId: string): RunRecord {
    let id: string;
    try {
      id = this.history.newId(config.problem);
    } catch (e) {
      throw new HistoryWriteError(`cannot save the run history: ${(e as Error).message}`);
    }
    const rec: RunRecord = { id, sweepId, config, status: 'queued', createdAt: now(), history: [], pid: process.pid };
    this.queued.set(id, rec);
    this.history.track(rec);
    this.emit('record', { ...rec });
    return rec;
  }

  /** A queued run that will never start: its final state is reported once, then it leaves the history. */
  private drop(rec: RunRecord, patch: Partial<RunRecord>): void {
    Object.assign(rec, patch, { endedAt: now() });
    this.emit('record', { ...rec });
    this.history.forget(rec.id);
    this.emit('removed', rec.id);
  }

  private update(rec: RunRecord, patch: Partial<RunRecord>): void {
    Object.assign(rec, patch);
    if (this.writeFailure) {
      // Nothing more is written this sweep: the run is failed (in memory; its run.json keeps its last state).
      Object.assign(rec, { status: 'failed', error: this.writeFailure.message, endedAt: rec.endedAt ?? now() });
      this.history.track(rec);
    } else {
      try {
        this.history.save(rec);
      } catch (e) {
        this.writeFailure = new HistoryWriteError(`cannot save the run history: ${(e as Error).message}; run ${rec.config.problem} ${rec.config.label} failed and the sweep stopped`);
        this.cancelled = true;
        Object.assign(rec, { status: 'failed', error: this.writeFailure.message, endedAt: now() });
        this.history.track(rec);
        const child = this.child;
        if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    }
    this.emit('record', { ...rec });
  }

  /**
   * Runs one record in a fresh child process. When the child reports an out-of-memory that left its
   * backend unusable (WASM), it exits and the run goes on in another fresh child with half the batch
   * (the homework's advice), down to 1: same record, `oomRetries` appended, config.batchSize unchanged.
   */
  private async execute(rec: RunRecord): Promise<void> {
    this.update(rec, { status: 'running', startedAt: now(), pid: process.pid });
    if (this.writeFailure) return;
    let batchSize = rec.config.batchSize;
    for (;;) {
      const next = await this.attempt(rec, batchSize);
      if (next === undefined) return;
      if (this.cancelled) {
        this.update(rec, { status: 'cancelled', endedAt: now(), error: 'cancelled' });
        return;
      }
      batchSize = next;
    }
  }

  /**
   * One child process for a record; resolves when it has exited: with the batch size to restart with
   * (out-of-memory restart), else undefined (the record is then finished, failed or cancelled).
   */
  private attempt(rec: RunRecord, batchSize: number): Promise<number | undefined> {
    return new Promise<number | undefined>((resolve) => {
      let restartWith: number | undefined;
      let child: ChildProcess;
      try {
        child = fork(this.opts.workerPath, [], {
          execPath: this.opts.execPath, env: this.opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'json',
        });
      } catch (e) {
        this.update(rec, { status: 'failed', endedAt: now(), error: `cannot start the training process: ${(e as Error).message}` });
        resolve(undefined);
        return;
      }
      this.child = child;
      this.emit('log', `training process started (pid ${child.pid}) for run ${rec.id}`);
      let terminal = false;
      const stderrTail: string[] = [];
      const lines = (stream: NodeJS.ReadableStream | null, keep: boolean) => {
        let buf = '';
        stream?.setEncoding('utf8');
        stream?.on('data', (chunk: string) => {
          buf += chunk;
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i).trimEnd();
            buf = buf.slice(i + 1);
            if (!line) continue;
            this.emit('log', line);
            if (keep) { stderrTail.push(line); if (stderrTail.length > 20) stderrTail.shift(); }
          }
        });
      };
      lines(child.stdout, false);
      lines(child.stderr, true);

      const finish = (patch: Partial<RunRecord>) => {
        if (terminal) return;
        terminal = true;
        this.update(rec, { ...patch, endedAt: now() });
        // The child exits by itself after its last message; make sure it does.
        setTimeout(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); }, 5000).unref();
      };

      child.on('message', (m: unknown) => {
        if (!isFromWorker(m)) {
          this.emit('log', 'ignored a malformed message from the training process');
          return;
        }
        this.emit('message', rec.id, m);
        if (m.type === 'outOfMemory' && !terminal) {
          // Only a smaller batch counts: a restart loop cannot go on forever.
          if (Number.isInteger(m.nextBatchSize) && m.nextBatchSize >= 1 && m.nextBatchSize < batchSize) restartWith = m.nextBatchSize;
          else {
            this.emit('log', `ignored an out-of-memory restart with batch size ${m.nextBatchSize} (running with ${batchSize})`);
            return;
          }
          // The child exits by itself after this message; make sure it does.
          setTimeout(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); }, 5000).unref();
        }
        this.onWorkerMessage(rec, m, finish);
      });
      child.on('error', (err) => {
        this.emit('log', `training process error: ${err.message}`);
      });
      child.on('exit', (code, signal) => {
        if (!terminal) {
          if (this.cancelled) finish({ status: 'cancelled', error: 'cancelled' });
          else if (restartWith !== undefined) {
            if (this.child === child) this.child = undefined;
            resolve(restartWith);
            return;
          } else {
            const why = signal ? `was killed (${signal})` : `exited with code ${code}`;
            const tail = stderrTail.filter((l) => !/^\s+at /.test(l)).slice(-3).join(' | ');
            finish({ status: 'failed', error: `the training process ${why}${tail ? `: ${tail}` : ''}` });
          }
        }
        if (this.child === child) this.child = undefined;
        resolve(undefined);
      });
      const start: ToWorker = {
        type: 'start', runId: rec.id, runDir: this.history.runDir(rec.id), config: rec.config,
        ...(batchSize !== rec.config.batchSize ? { batchSize } : {}),
      };
      child.send(start);
      if (this.cancelled) this.cancel();
    });
  }

  private onWorkerMessage(rec: RunRecord, m: FromWorker, finish: (patch: Partial<RunRecord>) => void): void {
    switch (m.type) {
      case 'started':
        this.update(rec, { engine: m.engine, split: m.split });
        break;
      case 'epochEnd':
        this.update(rec, { history: [...rec.history, m.metrics] });
        break;
      case 'outOfMemory':
        this.emit('log', `out of memory at batch size ${m.batchSize}: retrying with ${m.nextBatchSize} in a fresh training process (${m.reason})`);
        this.update(rec, { history: [], metrics: undefined, oomRetries: [...(rec.oomRetries ?? []), m.nextBatchSize] });
        break;
      case 'evaluation':
        this.update(rec, { metrics: m.metrics });
        break;
      case 'log':
        this.emit('log', `[${m.level}] ${m.message}`);
        break;
      case 'finished':
        finish({
          status: 'finished', error: undefined,
          ...(m.modelDir && /^[A-Za-z0-9._-]+$/.test(m.modelDir) ? { modelDir: m.modelDir } : {}),
        });
        break;
      case 'failed':
        finish({ status: 'failed', error: m.reason, failureStage: m.stage === 'setup' ? 'setup' : 'run' });
        break;
      case 'cancelled':
        finish({ status: 'cancelled', error: 'cancelled' });
        break;
      case 'progress':
        break;
    }
  }
}
