// The run history of a workspace: `<workspace>/.bert-lab/runs/<id>/run.json` (+ `model/` when saved).
// Every write is atomic (temp file + fsync + rename), so a process killed mid-write leaves the previous
// run.json intact. A run left 'running' or 'queued' by a process that no longer exists reads as
// 'interrupted'. A corrupt run.json is reported and skipped, never deleted.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isValidRunId, type RunRecord, type RunStatus } from '../protocol';

export const HISTORY_DIR = '.bert-lab';

/** Writes a file atomically: a temp file in the same folder, fsync, rename over the target, fsync the folder. */
export function writeFileAtomic(file: string, data: string): void {
  const dir = join(file, '..');
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  try {
    const dfd = openSync(dir, 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch {
    // Directories cannot be opened for fsync on some platforms (Windows); the rename is still atomic.
  }
}

/** Whether a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function pidAlive(pid: number | undefined): boolean {
  if (!pid || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const STATUSES: ReadonlySet<RunStatus> = new Set(['queued', 'running', 'finished', 'failed', 'cancelled', 'interrupted']);

function checkRecord(r: unknown, id: string): RunRecord {
  const o = r as RunRecord;
  if (typeof o !== 'object' || o === null) throw new Error('not an object');
  if (o.id !== id) throw new Error(`id "${String(o.id)}" does not match its folder "${id}"`);
  if (!STATUSES.has(o.status)) throw new Error(`unknown status "${String(o.status)}"`);
  if (typeof o.config !== 'object' || o.config === null || typeof o.config.problem !== 'string' || typeof o.config.key !== 'string') throw new Error('missing config');
  if (!Array.isArray(o.history)) throw new Error('missing history');
  if (typeof o.createdAt !== 'string') throw new Error('missing createdAt');
  return o;
}

export class RunHistory {
  readonly root: string;
  /** One line per unreadable run.json of the last list() (also sent to `onWarning`). */
  warnings: string[] = [];

  constructor(readonly workspace: string, private readonly onWarning: (line: string) => void = () => {}) {
    this.root = join(workspace, HISTORY_DIR, 'runs');
  }

  runDir(id: string): string {
    if (!isValidRunId(id)) throw new Error(`invalid run id "${id}"`);
    return join(this.root, id);
  }

  /** All readable runs, oldest first. */
  list(): RunRecord[] {
    this.warnings = [];
    if (!existsSync(this.root)) return [];
    const out: RunRecord[] = [];
    for (const id of readdirSync(this.root).sort()) {
      if (!isValidRunId(id) || id.startsWith('.')) continue;
      const r = this.read(id);
      if (r) out.push(r);
    }
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  get(id: string): RunRecord | undefined {
    if (!isValidRunId(id)) return undefined;
    return this.read(id);
  }

  private read(id: string): RunRecord | undefined {
    const file = join(this.root, id, 'run.json');
    if (!existsSync(file)) return undefined;
    try {
      const r = checkRecord(JSON.parse(readFileSync(file, 'utf8')), id);
      // The owner died: the run can never finish.
      if ((r.status === 'running' || r.status === 'queued') && !pidAlive(r.pid)) {
        return { ...r, status: 'interrupted', error: r.error ?? `interrupted: the process (pid ${r.pid ?? '?'}) that ran it is gone` };
      }
      return r;
    } catch (e) {
      const line = `bert-lab: skipping unreadable run file ${file}: ${(e as Error).message}`;
      this.warnings.push(line);
      this.onWarning(line);
      return undefined;
    }
  }

  /** Writes a run record atomically (creating its folder). */
  save(r: RunRecord): void {
    writeFileAtomic(join(this.runDir(r.id), 'run.json'), `${JSON.stringify(r, null, 2)}\n`);
  }

  /** Deletes a run and its folder (saved model included). */
  delete(id: string): void {
    const dir = this.runDir(id);
    if (!existsSync(dir)) throw new Error(`no run "${id}" in ${this.root}`);
    // Rename first so that a crash mid-delete never leaves a half-deleted run that still lists.
    const trash = join(this.root, `.deleted-${id}-${process.pid}`);
    renameSync(dir, trash);
    rmSync(trash, { recursive: true, force: true });
  }

  /** A new, unique, sortable run id: <UTC timestamp>-<problem>-<n>. */
  newId(problem: string): string {
    const ts = new Date().toISOString().replace(/[-:]/g, '').replace(/\.(\d{3})Z$/, '$1Z');
    const p = problem.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40);
    for (let n = 1; ; n++) {
      const id = `${ts}-${p}-${n}`;
      if (!existsSync(join(this.root, id))) return id;
    }
  }
}
