// The workspace lock: one sweep at a time per workspace, across processes (the extension and any number
// of `bert-lab run`s). `.bert-lab/lock` holds the owner's pid; it is created atomically (a hard link of a
// complete temp file, so it is never seen half-written) and a lock whose owner is gone (killed, crashed)
// is stale and taken over — under a second, short-lived lock so that two processes never both take it.
import { linkSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync, closeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { pidAlive } from '../files/process';
import { writeError } from '../files/atomic';

export interface LockOwner {
  pid: number;
  host: string;
  since: string;
  /** What the owner is doing, e.g. "run problem1". */
  what: string;
}

export class WorkspaceBusyError extends Error {
  constructor(readonly file: string, readonly owner: LockOwner) {
    super(`the workspace is in use by another BERT Lab sweep (${owner.what}, pid ${owner.pid}${owner.host !== hostname() ? ` on ${owner.host}` : ''}, since ${owner.since}; lock ${file})`);
  }
}

export interface HeldLock {
  file: string;
  release(): void;
}

function readOwner(file: string): LockOwner | undefined | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw writeError(file, e);
  }
  try {
    const o = JSON.parse(text) as LockOwner;
    return Number.isInteger(o.pid) ? o : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

/** Whether a lock's owner is gone. Another host's lock is never taken as stale (its pids mean nothing here). */
function stale(file: string, o: LockOwner | 'unreadable'): boolean {
  if (o === 'unreadable') {
    // Written by something else or truncated: stale once it is old enough not to be in the middle of a write.
    try { return Date.now() - statSync(file).mtimeMs > 10_000; } catch { return true; }
  }
  return o.host === hostname() && !pidAlive(o.pid);
}

/** Creates `file` with `content` only if it does not exist; never visible half-written. False: it exists. */
function createExclusive(file: string, content: string): boolean {
  const tmp = `${file}.${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    writeFileSync(tmp, content, { flag: 'wx' });
    try {
      linkSync(tmp, file);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw e;
      // No hard links on this file system (e.g. FAT): exclusive create (the content follows at once).
      let fd: number;
      try { fd = openSync(file, 'wx'); } catch (e2) { if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') return false; throw e2; }
      try { writeFileSync(fd, content); } finally { closeSync(fd); }
      return true;
    }
  } catch (e) {
    throw writeError(file, e);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** One try: the lock, or its live owner. */
export function tryLock(file: string, what: string): HeldLock | { owner: LockOwner } {
  try {
    mkdirSync(dirname(file), { recursive: true });
  } catch (e) {
    throw writeError(file, e);
  }
  const me: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString(), what };
  const content = `${JSON.stringify(me)}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createExclusive(file, content)) return held(file, content);
    const owner = readOwner(file);
    if (owner === undefined) continue; // released meanwhile
    if (!stale(file, owner)) return { owner: owner as LockOwner };
    // Stale: take it over under the break lock, re-checking that it is still the same stale lock.
    const brk = `${file}.break`;
    const breaker = readOwner(brk);
    if (breaker !== undefined && stale(brk, breaker)) rmSync(brk, { force: true });
    if (!createExclusive(brk, content)) continue;
    try {
      const again = readOwner(file);
      if (again !== undefined && JSON.stringify(again) === JSON.stringify(owner)) rmSync(file, { force: true });
    } finally {
      rmSync(brk, { force: true });
    }
  }
  const owner = readOwner(file);
  return { owner: owner && owner !== 'unreadable' ? owner : { pid: 0, host: hostname(), since: '?', what: 'unknown' } };
}

function held(file: string, content: string): HeldLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      // Only our own lock is removed (a stale-lock takeover may have replaced it).
      if (readFileSync(file, 'utf8') === content) rmSync(file, { force: true });
    } catch { /* gone already */ }
  };
  // A normal exit (also process.exit on a second Ctrl-C) releases it; a kill leaves a stale lock.
  process.on('exit', release);
  return { file, release };
}

/**
 * The lock, waiting while a live process holds it when `wait` is set (polling; `onWait` is told once
 * who holds it); a WorkspaceBusyError otherwise. Undefined when `signal` aborts the wait.
 */
export async function acquireLock(
  file: string, what: string, opts: { wait?: boolean; signal?: AbortSignal; onWait?: (owner: LockOwner) => void; pollMs?: number } = {},
): Promise<HeldLock | undefined> {
  let told = false;
  for (;;) {
    if (opts.signal?.aborted) return undefined;
    const r = tryLock(file, what);
    if ('release' in r) return r;
    if (!opts.wait) throw new WorkspaceBusyError(file, r.owner);
    if (!told) { told = true; opts.onWait?.(r.owner); }
    await new Promise((res) => setTimeout(res, opts.pollMs ?? 500));
  }
}
