// The one way BERT Lab writes a file it must not lose (run records, notebooks, checkpoints, splits):
// a temp file beside the target, fsync, rename over it, fsync the folder. A crash at any point leaves
// either the old file or the new one, never half of one, and never a temp file from a failed write.
// Errors name the user's file (not our temp file) and say what went wrong in one line.
import { chmodSync, chownSync, closeSync, constants, accessSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** Create missing parent folders (default true). */
  mkdir?: boolean;
  /** Mode of a new file (default 0o644); an existing file keeps its own mode and owner. */
  mode?: number;
}

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied (the file or its folder is read-only)',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  ENOENT: 'its folder does not exist',
  EEXIST: 'a file of that name appeared while writing',
};

/** One line for a failed write of `file`: "cannot write <file>: <why>". */
export function writeError(file: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  const why = (code && REASONS[code]) ?? (err instanceof Error ? err.message.split('\n')[0] : String(err));
  const e = new Error(`cannot write ${file}: ${why}`);
  (e as NodeJS.ErrnoException).code = code;
  return e;
}

/** Writes `data` to `file` atomically; throws writeError(file, …) and leaves no temp file on failure. */
export function writeFileAtomic(file: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const dir = dirname(file);
  let existing: { mode: number; uid: number; gid: number } | undefined;
  try {
    const st = statSync(file);
    if (st.isDirectory()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
    existing = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    // A read-only file stays read-only: renaming over it would silently replace it. The mode bits are
    // checked too, since root passes access(W_OK) on any file.
    if ((st.mode & 0o222) === 0) throw Object.assign(new Error('read-only'), { code: 'EACCES' });
    accessSync(file, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw writeError(file, e);
  }
  try {
    if (opts.mkdir !== false) mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw writeError(file, e);
  }
  const tmp = join(dir, `.${basename(file)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    const fd = openSync(tmp, 'wx', existing?.mode ?? opts.mode ?? 0o644);
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (existing) {
      chmodSync(tmp, existing.mode); // the umask may have narrowed it
      try { chownSync(tmp, existing.uid, existing.gid); } catch { /* only root may give files away */ }
    }
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw writeError(file, e);
  }
  try {
    const dfd = openSync(dir, 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch {
    // Folders cannot be opened for fsync on some platforms (Windows); the rename is still atomic.
  }
}
