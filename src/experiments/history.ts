// The run history of a workspace: `<workspace>/.bert-lab/runs/<id>/run.json` (+ `model/` when saved), and
// an in-memory view of it. The view is read from disk once (and again on reload()), then kept up to date
// by this process's own writes, so the extension and the CLI read runs from memory, not from disk on every
// refresh. Every write is atomic (src/files/atomic.ts), so a process killed mid-write leaves the previous
// run.json intact. A run left 'running' or 'queued' by a process that no longer exists reads as
// 'interrupted'. A run.json that is not a valid record (bad JSON, missing fields) is reported and skipped,
// never deleted.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isValidRunId, type RunRecord } from '../protocol';
import { writeError, writeFileAtomic } from '../files/atomic';
import { pidAlive } from '../files/process';
import { recordProblem } from '../protocol/records';

export { pidAlive } from '../files/process';

export const HISTORY_DIR = '.bert-lab';

export class RunHistory {
  readonly root: string;
  /** One line per unreadable run.json of the last read from disk (also sent to `onWarning`). */
  warnings: string[] = [];
  /** id -> record as saved (or tracked, for queued runs that are not on disk yet). */
  private view?: Map<string, RunRecord>;

  constructor(readonly workspace: string, private readonly onWarning: (line: string) => void = () => {}) {
    this.root = join(workspace, HISTORY_DIR, 'runs');
  }

  /** The workspace lock file (see lock.ts). */
  get lockFile(): string {
    return join(this.workspace, HISTORY_DIR, 'lock');
  }

  runDir(id: string): string {
    if (!isValidRunId(id)) throw new Error(`invalid run id "${id}"`);
    return join(this.root, id);
  }

  /** All valid runs, oldest first (from the in-memory view; the first call reads the disk). */
  list(): RunRecord[] {
    const view = this.view ?? this.reload();
    return [...view.values()].map(derive).sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  get(id: string): RunRecord | undefined {
    if (!isValidRunId(id)) return undefined;
    const r = (this.view ?? this.reload()).get(id);
    return r && derive(r);
  }

  /** Reads the whole history from disk again (runs written by other processes, files edited by hand). */
  reload(): Map<string, RunRecord> {
    this.warnings = [];
    const view = new Map<string, RunRecord>();
    // Queued runs of this process live only in memory until they start: keep them across a reload.
    for (const r of this.view?.values() ?? []) if (r.status === 'queued' && r.pid === process.pid) view.set(r.id, r);
    if (existsSync(this.root)) {
      for (const id of readdirSync(this.root).sort()) {
        if (!isValidRunId(id) || id.startsWith('.')) continue;
        const r = this.read(id);
        if (r) view.set(id, r);
      }
    }
    this.view = view;
    return view;
  }

  private read(id: string): RunRecord | undefined {
    const file = join(this.root, id, 'run.json');
    removeDeadTemps(join(this.root, id));
    if (!existsSync(file)) return undefined;
    let bad: string | undefined;
    let r: unknown;
    try {
      r = JSON.parse(readFileSync(file, 'utf8'));
      bad = recordProblem(r, id);
    } catch (e) {
      bad = (e as Error).message.split('\n')[0];
    }
    if (bad === undefined) return r as RunRecord;
    const line = `bert-lab: skipping ${file}: ${bad}`;
    this.warnings.push(line);
    this.onWarning(line);
    return undefined;
  }

  /**
   * Writes a run record atomically and updates the view. Throws one line ("cannot write …/run.json: no
   * space left on the device") and leaves no temp file when the write fails; the view keeps the old record.
   */
  save(r: RunRecord): void {
    writeFileAtomic(join(this.runDir(r.id), 'run.json'), `${JSON.stringify(r, null, 2)}\n`);
    (this.view ?? this.reload()).set(r.id, structuredClone(r));
  }

  /** Puts a record in the view without writing it (a queued run: on disk once it starts). */
  track(r: RunRecord): void {
    (this.view ?? this.reload()).set(r.id, structuredClone(r));
  }

  /** Drops a run that never started from the view, and its reserved (empty) folder. */
  forget(id: string): void {
    this.view?.delete(id);
    try {
      if (!existsSync(join(this.runDir(id), 'run.json'))) rmdirSync(this.runDir(id));
    } catch { /* not empty or gone: leave it */ }
  }

  /** Deletes a run and its folder (saved model included). */
  delete(id: string): void {
    const dir = this.runDir(id);
    if (!existsSync(dir)) throw new Error(`no run "${id}" in ${this.root}`);
    // Rename first so that a crash mid-delete never leaves a half-deleted run that still lists.
    const trash = join(this.root, `.deleted-${id}-${process.pid}`);
    renameSync(dir, trash);
    rmSync(trash, { recursive: true, force: true });
    this.view?.delete(id);
  }

  /**
   * A new, unique, sortable run id (<UTC timestamp>-<problem>-<n>) with its folder created: mkdir is the
   * check, so two processes can never pick the same folder.
   */
  newId(problem: string): string {
    const ts = new Date().toISOString().replace(/[-:]/g, '').replace(/\.(\d{3})Z$/, '$1Z');
    const p = problem.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40);
    try {
      mkdirSync(this.root, { recursive: true });
    } catch (e) {
      throw writeError(this.root, e);
    }
    for (let n = 1; ; n++) {
      const id = `${ts}-${p}-${n}`;
      try {
        mkdirSync(join(this.root, id));
        return id;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError(join(this.root, id), e);
      }
    }
  }
}

/**
 * A process killed in the middle of an atomic write leaves its temp file (`.run.json.tmp-<pid>-…`, never
 * the run.json itself): once that process is gone, the temp file is litter and goes.
 */
function removeDeadTemps(dir: string): void {
  try {
    for (const f of readdirSync(dir)) {
      const m = /^\.run\.json\.tmp-(\d+)-/.exec(f);
      if (m && !pidAlive(Number(m[1]))) rmSync(join(dir, f), { force: true });
    }
  } catch { /* not a folder, or read-only: nothing to tidy */ }
}

/** A run whose owner process is gone can never finish: it reads as interrupted. */
function derive(r: RunRecord): RunRecord {
  if ((r.status === 'running' || r.status === 'queued') && !pidAlive(r.pid)) {
    return { ...r, status: 'interrupted', error: r.error ?? `interrupted: the process (pid ${r.pid ?? '?'}) that ran it is gone` };
  }
  return structuredClone(r);
}
