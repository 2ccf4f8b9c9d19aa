// Executes runs, each in its own training child process (child_process.fork of dist/worker.js: no
// shell), relays the child's messages, and keeps the run history up to date with atomic writes.
// Re-running a problem skips the runs already finished (same problem, config key, data and model).
// Used the same way by the VS Code extension and the CLI.
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { isFromWorker, type FromWorker, type RunConfig, type RunRecord, type ToWorker } from '../protocol';
import { RunHistory } from './history';
import { HOMEWORK9, planProblem, type HomeworkSpec, type Settings } from './spec';

export type { Settings } from './spec';
export { RunHistory } from './history';

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
}

/** Same run for skipping: problem + config key + data + model. */
function sameRun(a: RunConfig, b: RunConfig): boolean {
  return a.problem === b.problem && a.key === b.key && a.data === b.data && a.model === b.model;
}

const now = () => new Date().toISOString();

export class Runner extends EventEmitter {
  readonly history: RunHistory;
  readonly spec: HomeworkSpec;
  private child?: ChildProcess;
  private cancelled = false;
  private running = false;
  /** Runs of the current sweep that are queued (created, not started yet), by id: cancelQueued() can skip one. */
  private readonly queued = new Map<string, RunRecord>();

  constructor(private readonly opts: RunnerOptions) {
    super();
    this.spec = opts.spec ?? HOMEWORK9;
    this.history = new RunHistory(opts.workspace, (line) => this.emit('log', line));
  }

  get busy(): boolean {
    return this.running;
  }

  /** The run configs of a problem for these settings (carry-over resolved from the history). */
  planProblem(problemId: string, settings: Partial<Settings>): RunConfig[] {
    return planProblem(this.spec, problemId, settings, this.history.list(), this.opts.cwd);
  }

  /**
   * Runs a problem's sweep ('all': every problem in order, so that carry-over sees the earlier results).
   * Returns the records of the sweep's runs: finished ones reused from the history plus the new ones.
   */
  async runProblem(problemId: string | 'all', settings: Partial<Settings>, opts: { signal?: AbortSignal; force?: boolean } = {}): Promise<RunRecord[]> {
    const ids = problemId === 'all' ? this.spec.problems.map((p) => p.id) : [problemId];
    // Check the problem ids (and the first problem's carry-over) before anything starts.
    this.planProblem(ids[0], settings);
    return this.exclusive(opts.signal, async () => {
      const out: RunRecord[] = [];
      for (const pid of ids) {
        if (this.cancelled) break;
        let configs: RunConfig[];
        try {
          configs = this.planProblem(pid, settings);
        } catch (e) {
          // 'all': a later problem cannot start when what it carries over did not finish.
          if (pid === ids[0]) throw e;
          this.emit('log', `bert-lab: ${(e as Error).message}`);
          break;
        }
        const existing = this.history.list();
        const sweepId = `${pid}-${now().replace(/[-:.]/g, '')}`;
        // In spec order: finished runs reused, the others queued (all visible at once) and run in turn.
        const slots = configs.map((config) => {
          const done = opts.force ? undefined : existing.filter((r) => r.status === 'finished' && sameRun(r.config, config)).pop();
          if (done) this.emit('log', `skipping ${pid} ${config.label}: finished already (run ${done.id})`);
          return done ? { rec: done, todo: false } : { rec: this.create(config, sweepId), todo: true };
        });
        // A run that failed before training started (data, model or backend would not load) fails the
        // same way for every run with that data and model: those are not started again.
        const setupFailed = new Map<string, RunRecord>();
        const setupKey = (c: RunConfig) => JSON.stringify([c.data, c.model, c.tokenizer ?? '', c.backend ?? 'auto']);
        for (const { rec, todo } of slots) if (todo) this.queued.set(rec.id, rec);
        for (const { rec, todo } of slots) {
          this.queued.delete(rec.id);
          const failedBefore = setupFailed.get(setupKey(rec.config));
          // Cancelled on its own while queued (cancelQueued): already recorded as cancelled; the sweep goes on.
          if (todo && rec.status === 'cancelled') { out.push(rec); continue; }
          if (todo && this.cancelled) this.update(rec, { status: 'cancelled', endedAt: now(), error: 'cancelled before it started' });
          else if (todo && failedBefore) this.update(rec, { status: 'failed', endedAt: now(), error: `not started: run ${failedBefore.id} with the same data and model failed: ${failedBefore.error}` });
          else if (todo) {
            await this.execute(rec);
            if (rec.status === 'failed' && rec.failureStage === 'setup') setupFailed.set(setupKey(rec.config), rec);
          }
          out.push(rec);
        }
      }
      return out;
    });
  }

  /** Runs one config (e.g. "Run Single Experiment…" or a re-run). */
  async runSingle(config: RunConfig, opts: { signal?: AbortSignal } = {}): Promise<RunRecord> {
    return this.exclusive(opts.signal, async () => {
      const rec = this.create(config, undefined);
      await this.execute(rec);
      return rec;
    });
  }

  /**
   * Cancels one queued run of the current sweep: it is marked cancelled and skipped, the sweep goes on.
   * False (nothing done) when the run is not queued (running, ended, or not this runner's).
   */
  cancelQueued(runId: string): boolean {
    const rec = this.queued.get(runId);
    if (!rec) return false;
    this.queued.delete(runId);
    this.update(rec, { status: 'cancelled', endedAt: now(), error: 'cancelled before it started' });
    return true;
  }

  /** Cancels the current run (the child stops between steps, or is killed after a grace period) and the rest of the sweep. */
  cancel(): void {
    if (!this.running) return;
    this.cancelled = true;
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

  private async exclusive<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    if (this.running) throw new Error('a run is already in progress');
    this.running = true;
    this.cancelled = false;
    const onAbort = () => this.cancel();
    if (signal?.aborted) this.cancelled = true;
    signal?.addEventListener('abort', onAbort);
    try {
      return await fn();
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.running = false;
      this.child = undefined;
      this.queued.clear();
    }
  }

  private create(config: RunConfig, sweepId: string | undefined): RunRecord {
    const rec: RunRecord = {
      id: this.history.newId(config.problem), ...(sweepId ? { sweepId } : {}), config, status: 'queued',
      createdAt: now(), history: [], pid: process.pid,
    };
    this.history.save(rec);
    this.emit('record', { ...rec });
    return rec;
  }

  private update(rec: RunRecord, patch: Partial<RunRecord>): void {
    Object.assign(rec, patch);
    this.history.save(rec);
    this.emit('record', { ...rec });
  }

  /**
   * Runs one record in a fresh child process. When the child reports an out-of-memory that left its
   * backend unusable (WASM), it exits and the run goes on in another fresh child with half the batch
   * (the homework's advice), down to 1: same record, `oomRetries` appended, config.batchSize unchanged.
   */
  private async execute(rec: RunRecord): Promise<void> {
    this.update(rec, { status: 'running', startedAt: now(), pid: process.pid });
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
