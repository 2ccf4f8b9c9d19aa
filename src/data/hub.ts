// Downloads files of a Hugging Face Hub repository into the standard Hugging Face cache, the same
// layout Python's `huggingface_hub` uses, so both share one copy:
//
//   <cache>/models--org--name/ (or datasets--org--name/)
//     blobs/<etag>                 the file contents (etag = sha256 for LFS files, git sha1 otherwise)
//     blobs/<etag>.incomplete      a download in progress (resumed with a Range request next time)
//     refs/<revision>              the commit hash the revision (e.g. "main") resolved to
//     snapshots/<commit>/<path>    relative symlink to ../../blobs/<etag> (a copy where links fail)
//
// The cache location and repo folder names come from `@huggingface/hub`. Its own
// `downloadFileToCacheDir` is not used: it has no progress, no resume, no hash check, does not write
// refs/ (so a cached "main" cannot be reused offline) and names snapshots by the file's last commit
// rather than the repo commit Python uses. The protocol below follows `huggingface_hub.hf_hub_download`:
// a HEAD on the resolve endpoint (not following cross-host redirects) gives X-Repo-Commit,
// X-Linked-Etag/ETag and X-Linked-Size; the body comes from the redirect target.
import { writeFileAtomic } from '../files/atomic';
import { pidAlive } from '../files/process';
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { getHFHubCachePath, getRepoFolderName } from '@huggingface/hub';

export interface HubProgress {
  file: string;
  loaded: number;
  total?: number;
}

export interface EnsureHubFilesOptions {
  repoType: 'model' | 'dataset';
  /** Hub cache folder; default HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. */
  cacheDir?: string;
  /** Branch, tag or commit hash; default "main". */
  revision?: string;
  /** Files (also listed in `files`) that may be absent from the repo; absent ones are skipped. */
  optional?: string[];
  onProgress?: (p: HubProgress) => void;
  /** Hub endpoint; default HF_ENDPOINT or https://huggingface.co. */
  hubUrl?: string;
  /** Access token for private/gated repos; default HF_TOKEN. */
  token?: string;
  /** Never touch the network (default: HF_HUB_OFFLINE=1). */
  offline?: boolean;
  /** Seconds to wait for the Hub's answer to a metadata request (default 15). */
  timeoutSeconds?: number;
  fetch?: typeof fetch;
}

/** The Hub could not be reached and the files are not (all) in the cache. */
export class HubUnreachableError extends Error {}

export function defaultHubCacheDir(): string {
  return getHFHubCachePath();
}

/** Folder of one repo inside the cache, e.g. `<cache>/datasets--stanfordnlp--imdb`. */
export function repoCacheFolder(cacheDir: string, repoId: string, repoType: 'model' | 'dataset'): string {
  return join(cacheDir, getRepoFolderName({ name: repoId, type: repoType }));
}

// The preset map lives in presets.ts (shared with the run spec); re-exported for the Hub callers.
export { KERAS_HUB_PRESETS, toHubModelId } from './presets';

const COMMIT = /^[0-9a-f]{40}$/;
const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/;

/**
 * Makes sure `files` of the repo are in the cache (downloading what is missing) and returns the
 * snapshot folder that holds them (`.../snapshots/<commit>`). Files already cached for the revision
 * are reused without any network access; if the Hub cannot be reached, a complete cached snapshot
 * of the revision is used, otherwise a `HubUnreachableError` explains what is missing.
 */
export async function ensureHubFiles(repoId: string, files: string[], opts: EnsureHubFilesOptions): Promise<string> {
  if (!REPO_ID.test(repoId) || repoId.includes('..')) throw new Error(`invalid Hugging Face repo id "${repoId}"`);
  for (const f of files) validateRepoPath(f);
  if (opts.revision !== undefined && (!/^[\w.\-/]+$/.test(opts.revision) || opts.revision.split('/').includes('..'))) {
    throw new Error(`invalid revision "${opts.revision}"`);
  }
  const cacheDir = resolve(opts.cacheDir ?? defaultHubCacheDir());
  const repoDir = repoCacheFolder(cacheDir, repoId, opts.repoType);
  const revision = opts.revision ?? 'main';
  const optional = new Set(opts.optional ?? []);
  const required = files.filter((f) => !optional.has(f));
  const what = `${opts.repoType === 'dataset' ? 'dataset ' : ''}${repoId}@${revision}`;

  // 1. Cache first: everything required already in the snapshot this revision points to.
  const cachedCommit = await cachedCommitOf(repoDir, revision);
  if (cachedCommit) {
    const snap = join(repoDir, 'snapshots', cachedCommit);
    if (await allExist(snap, required)) return snap;
  }
  const offline = opts.offline ?? isTruthy(process.env.HF_HUB_OFFLINE);
  if (offline) {
    throw new HubUnreachableError(
      `${what}: ${required.join(', ')} not found in the Hugging Face cache ${cacheDir} and offline mode is on (HF_HUB_OFFLINE)`,
    );
  }

  // 2. Ask the Hub; the first answer pins the commit so all files come from one snapshot.
  const ctx: Ctx = {
    hubUrl: (opts.hubUrl ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, ''),
    token: opts.token ?? process.env.HF_TOKEN ?? process.env.HUGGING_FACE_HUB_TOKEN,
    fetch: opts.fetch ?? fetch,
    timeoutMs: (opts.timeoutSeconds ?? 15) * 1000,
    repoId,
    repoType: opts.repoType,
  };
  let commit: string | undefined = COMMIT.test(revision) ? revision : undefined;
  let snapshot: string | undefined;
  for (const file of files) {
    let meta: FileMeta | null;
    try {
      meta = await headFile(ctx, commit ?? revision, file);
    } catch (err) {
      if (err instanceof NetworkError) {
        throw new HubUnreachableError(
          `cannot reach the Hugging Face Hub at ${ctx.hubUrl} (${err.message}) and ${what} ${file} is not in the cache ${cacheDir}; ` +
            'connect to the internet, set HF_ENDPOINT to a mirror, or use a local copy of the files',
        );
      }
      throw err;
    }
    if (!meta) {
      if (optional.has(file)) continue;
      throw new Error(`${what}: file "${file}" does not exist in the repository`);
    }
    if (!commit) {
      commit = meta.commit;
      if (revision !== commit) {
        const ref = join(repoDir, 'refs', ...revision.split('/'));
        await mkdir(dirname(ref), { recursive: true });
        writeFileAtomic(ref, commit);
      }
    }
    snapshot = join(repoDir, 'snapshots', commit);
    try {
      await downloadToCache(ctx, repoDir, commit, file, meta, opts.onProgress);
    } catch (err) {
      if (err instanceof NetworkError) throw new Error(`download of ${repoId}/${file} failed (${err.message}); run again to resume`);
      throw err;
    }
  }
  if (!commit) throw new Error(`${what}: none of ${files.join(', ')} exist in the repository`);
  return snapshot ?? join(repoDir, 'snapshots', commit);
}

// ---------------------------------------------------------------------------------------------

interface Ctx {
  hubUrl: string;
  token?: string;
  fetch: typeof fetch;
  timeoutMs: number;
  repoId: string;
  repoType: 'model' | 'dataset';
}

interface FileMeta {
  commit: string;
  /** Normalised etag: sha256 (64 hex) for LFS files, git blob sha1 (40 hex) for regular files. */
  etag: string;
  size: number;
  /** Where the bytes are (the redirect target for LFS files). */
  url: string;
}

class NetworkError extends Error {}
/** A download stopped part-way; the .incomplete file stays for a resume. */
class ResumableError extends Error {}

function resolveUrl(ctx: Ctx, revision: string, file: string): string {
  const prefix = ctx.repoType === 'dataset' ? 'datasets/' : '';
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `${ctx.hubUrl}/${prefix}${ctx.repoId}/resolve/${encodeURIComponent(revision)}/${path}`;
}

function authHeaders(ctx: Ctx, url: string): Record<string, string> {
  // The token only goes to the Hub itself, never to the CDN a redirect points at.
  return ctx.token && url.startsWith(ctx.hubUrl) ? { authorization: `Bearer ${ctx.token}` } : {};
}

async function request(ctx: Ctx, url: string, init: RequestInit, timeoutMs?: number): Promise<Response> {
  try {
    return await ctx.fetch(url, {
      ...init,
      headers: { 'user-agent': 'bert-lab', ...authHeaders(ctx, url), ...(init.headers as Record<string, string>) },
      signal: timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined,
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const codes: Record<string, string> = {
      ENOTFOUND: 'host not found', EAI_AGAIN: 'DNS lookup failed', ECONNREFUSED: 'connection refused',
      ECONNRESET: 'connection reset', ETIMEDOUT: 'connection timed out', EHOSTUNREACH: 'host unreachable', ENETUNREACH: 'network unreachable',
    };
    const reason = (err as Error).name === 'TimeoutError' ? `no answer in ${Math.round((timeoutMs ?? 0) / 1000)} s`
      : cause?.code ? `${codes[cause.code] ?? cause.code}` : cause?.message ?? (err as Error).message;
    throw new NetworkError(reason);
  }
}

/** HEAD on the resolve endpoint; null when the file does not exist. */
async function headFile(ctx: Ctx, revision: string, file: string): Promise<FileMeta | null> {
  let url = resolveUrl(ctx, revision, file);
  for (let hops = 0; ; hops++) {
    const res = await request(ctx, url, { method: 'HEAD', redirect: 'manual', headers: { 'accept-encoding': 'identity' } }, ctx.timeoutMs);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      const next = new URL(location, url);
      // Same-host redirects (renamed repos) are followed; a cross-host one points at the CDN holding
      // the bytes, and this response carries the metadata.
      if (next.origin === new URL(url).origin && hops < 5) {
        url = next.href;
        continue;
      }
      return parseMeta(ctx, res, next.href, file);
    }
    if (res.ok) return parseMeta(ctx, res, url, file);
    const code = res.headers.get('x-error-code');
    if (res.status === 404 && code === 'EntryNotFound') return null;
    if (res.status === 404 && code === 'RevisionNotFound') throw new Error(`${ctx.repoId}: revision "${revision}" does not exist`);
    if (res.status === 401 || res.status === 403 || (res.status === 404 && code === 'RepositoryNotFound')) {
      throw new Error(
        `${ctx.repoType} repository "${ctx.repoId}" not found on ${ctx.hubUrl}, or it is private/gated (HTTP ${res.status}); check the name or set HF_TOKEN`,
      );
    }
    if (res.status === 404) return null;
    throw new Error(`Hugging Face Hub error for ${ctx.repoId}/${file}: HTTP ${res.status} ${res.statusText}`);
  }
}

function parseMeta(ctx: Ctx, res: Response, url: string, file: string): FileMeta {
  const commit = res.headers.get('x-repo-commit') ?? '';
  const etag = normaliseEtag(res.headers.get('x-linked-etag') ?? res.headers.get('etag') ?? '');
  const size = Number(res.headers.get('x-linked-size') ?? res.headers.get('content-length') ?? NaN);
  if (!COMMIT.test(commit)) throw new Error(`${ctx.repoId}/${file}: the Hub's answer has no commit hash (X-Repo-Commit); is ${ctx.hubUrl} a Hugging Face Hub?`);
  if (!etag) throw new Error(`${ctx.repoId}/${file}: the Hub's answer has no ETag`);
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`${ctx.repoId}/${file}: the Hub's answer has no file size`);
  return { commit, etag, size, url };
}

function normaliseEtag(e: string): string {
  return e.replace(/^W\//, '').replace(/^"|"$/g, '');
}

async function downloadToCache(
  ctx: Ctx, repoDir: string, commit: string, file: string, meta: FileMeta, onProgress?: (p: HubProgress) => void,
): Promise<void> {
  const pointer = join(repoDir, 'snapshots', commit, ...file.split('/'));
  const blob = join(repoDir, 'blobs', meta.etag);
  if (await exists(pointer)) return;
  await mkdir(dirname(blob), { recursive: true });
  await mkdir(dirname(pointer), { recursive: true });
  if (!(await exists(blob))) {
    const lock = join(dirname(repoDir), '.locks', basename(repoDir), `${meta.etag}.bert-lab.lock`);
    await withDownloadLock(lock, async () => {
      // Another process may have finished it while we waited.
      // A dropped connection is resumed from the partial file, a few times, before giving up.
      for (let attempt = 1; !(await exists(blob)); attempt++) {
        try {
          await downloadBlob(ctx, file, meta, blob, onProgress);
        } catch (err) {
          if (attempt >= 3 || !(err instanceof ResumableError || err instanceof NetworkError)) throw err;
        }
      }
    });
  } else {
    onProgress?.({ file, loaded: meta.size, total: meta.size });
  }
  await linkPointer(blob, pointer);
}

/** Downloads into `<blob>.incomplete` (resuming a broken earlier download), checks size and hash, renames. */
async function downloadBlob(ctx: Ctx, file: string, meta: FileMeta, blob: string, onProgress?: (p: HubProgress) => void): Promise<void> {
  const incomplete = `${blob}.incomplete`;
  let offset = 0;
  try {
    offset = (await stat(incomplete)).size;
  } catch { /* no earlier attempt */ }
  if (offset >= meta.size && meta.size > 0) {
    // Complete-looking leftovers are verified below like any download; oversized ones are garbage.
    if (offset > meta.size) { await rm(incomplete, { force: true }); offset = 0; }
  }

  const hasher = newHasher(meta);
  if (offset > 0 && offset < meta.size) {
    const res = await request(ctx, meta.url, { headers: { range: `bytes=${offset}-`, 'accept-encoding': 'identity' } });
    if (res.status === 206 && res.headers.get('content-range')?.startsWith(`bytes ${offset}-`)) {
      await hashFile(incomplete, hasher.update);
      await writeBody(res, incomplete, 'a', offset, file, meta.size, hasher.update, onProgress);
    } else {
      // The server ignored the range: start over from the first byte.
      await res.body?.cancel();
      await rm(incomplete, { force: true });
      return downloadBlob(ctx, file, meta, blob, onProgress);
    }
  } else if (offset === meta.size && meta.size > 0) {
    await hashFile(incomplete, hasher.update);
  } else {
    const res = await request(ctx, meta.url, { headers: { 'accept-encoding': 'identity' } });
    if (!res.ok) throw new Error(`download of ${ctx.repoId}/${file} failed: HTTP ${res.status} ${res.statusText}`);
    await writeBody(res, incomplete, 'w', 0, file, meta.size, hasher.update, onProgress);
  }

  const got = (await stat(incomplete)).size;
  if (got !== meta.size) {
    // Keep a short file for the next attempt to resume; a long one is useless.
    if (got > meta.size) await rm(incomplete, { force: true });
    throw new ResumableError(`download of ${ctx.repoId}/${file} is incomplete (${got} of ${meta.size} bytes); run again to resume`);
  }
  const digest = hasher.digest();
  if (digest !== undefined && digest !== meta.etag) {
    await rm(incomplete, { force: true });
    throw new Error(`download of ${ctx.repoId}/${file} is corrupt (hash ${digest} != expected ${meta.etag}); the partial file was removed, run again`);
  }
  await rename(incomplete, blob);
}

/** sha256 for LFS etags; git's blob sha1 ("blob <size>\0" + content) for regular files; else none. */
function newHasher(meta: FileMeta): { update: (b: Uint8Array) => void; digest: () => string | undefined } {
  let h: Hash | undefined;
  if (/^[0-9a-f]{64}$/.test(meta.etag)) h = createHash('sha256');
  else if (/^[0-9a-f]{40}$/.test(meta.etag)) {
    h = createHash('sha1');
    h.update(`blob ${meta.size}\0`);
  }
  return { update: (b) => h?.update(b), digest: () => h?.digest('hex') };
}

async function hashFile(path: string, update: (b: Uint8Array) => void): Promise<void> {
  for await (const chunk of createReadStream(path)) update(chunk as Buffer);
}

async function writeBody(
  res: Response, path: string, flags: 'w' | 'a', start: number, file: string, total: number,
  update: (b: Uint8Array) => void, onProgress?: (p: HubProgress) => void,
): Promise<void> {
  const out = createWriteStream(path, { flags });
  let loaded = start;
  let lastReport = 0;
  onProgress?.({ file, loaded, total });
  try {
    if (!res.body) throw new Error('empty response body');
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      update(chunk);
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', r));
      loaded += chunk.byteLength;
      const now = Date.now();
      if (onProgress && now - lastReport >= 100) { lastReport = now; onProgress({ file, loaded, total }); }
    }
  } catch (err) {
    await new Promise<void>((r) => out.end(r));
    throw new ResumableError(`download of ${file} was interrupted after ${loaded} of ${total} bytes (${(err as Error).message}); run again to resume`);
  }
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
  onProgress?.({ file, loaded, total });
}

async function linkPointer(blob: string, pointer: string): Promise<void> {
  await rm(pointer, { force: true });
  try {
    await symlink(relative(dirname(pointer), blob), pointer);
  } catch {
    // Symlinks can be unavailable (e.g. Windows without developer mode): keep a copy, as Python does.
    await copyFile(blob, pointer);
  }
}

async function cachedCommitOf(repoDir: string, revision: string): Promise<string | undefined> {
  if (COMMIT.test(revision)) return revision;
  try {
    const c = (await readFile(join(repoDir, 'refs', ...revision.split('/')), 'utf8')).trim();
    return COMMIT.test(c) ? c : undefined;
  } catch {
    return undefined;
  }
}

async function allExist(dir: string, files: string[]): Promise<boolean> {
  for (const f of files) if (!(await exists(join(dir, ...f.split('/'))))) return false;
  return true;
}

/** True when the path exists, following symlinks (a dangling link does not count). */
async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `fn` holding `<cache>/.locks/<repo>/<etag>.bert-lab.lock`, so two processes (the extension and a
 * CLI run, say) never write the same .incomplete file. The lock holds the owner's pid; a lock whose
 * owner is gone is taken over. (Python's own lock files there are flock-based; we use another name.)
 */
async function withDownloadLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(dirname(lockPath), { recursive: true });
  for (;;) {
    try {
      const fh = await open(lockPath, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(await readFile(lockPath, 'utf8').catch(() => ''));
      const age = await stat(lockPath).then((s) => Date.now() - s.mtimeMs, () => 0);
      if ((owner > 0 && !pidAlive(owner)) || (!owner && age > 10_000)) {
        await rm(lockPath, { force: true });
        continue;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}



function validateRepoPath(f: string): void {
  if (!f || f.startsWith('/') || f.includes('\\') || f.split('/').some((s) => s === '' || s === '.' || s === '..') || f.includes(sep + sep)) {
    throw new Error(`invalid file path in repo: "${f}"`);
  }
}

function isTruthy(v: string | undefined): boolean {
  return !!v && ['1', 'true', 'yes', 'on'].includes(v.toLowerCase());
}
