// Finding Python and probing its torch: `--python` / config.python, BERT_LAB_PYTHON, the
// bertLab.pythonPath setting (the extension passes it as `python`), then python3 / python on PATH.
// The probe (`python -m bert_lab_torch --probe`: torch version, CUDA, MPS) is cached per interpreter
// (in memory; on disk, when torch works, keyed by the interpreter's file, size and mtime) and times out cleanly.
import { writeFileAtomic } from '../../files/atomic';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';

export interface TorchProbe {
  python: string;
  /** Python's version, e.g. "3.11.2". */
  pythonVersion?: string;
  /** torch.__version__; absent when torch does not import. */
  torch?: string;
  cuda: boolean;
  cudaName?: string;
  mps: boolean;
  threads: number;
  /** Why torch is not usable (one line). */
  error?: string;
}

/** The folder that holds the `bert_lab_torch` package: next to dist/ in the .vsix, at the repo root in development. */
export function pythonPackageDir(): string {
  const env = process.env.BERT_LAB_PYTHON_DIR;
  if (env) return resolve(env);
  let d = __dirname;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(d, 'python', 'bert_lab_torch', '__main__.py'))) return join(d, 'python');
    d = dirname(d);
  }
  throw new Error(`the PyTorch engine's Python files (python/bert_lab_torch) were not found above ${__dirname}`);
}

/** Interpreters to try, in order (explicit first; duplicates removed). */
export function pythonCandidates(explicit?: string): string[] {
  // Last, the system interpreter: distributions package torch for it (Debian's python3-torch) while a
  // python3 earlier on PATH (pyenv, /usr/local) may lack it.
  const list = [explicit, process.env.BERT_LAB_PYTHON, ...(process.platform === 'win32' ? ['python', 'py'] : ['python3', 'python', '/usr/bin/python3'])];
  return [...new Set(list.filter((x): x is string => !!x))];
}

const memo = new Map<string, Promise<TorchProbe>>();

function cacheFile(): string {
  const base = process.env.XDG_CACHE_HOME || (existsSync(homedir()) ? join(homedir(), '.cache') : tmpdir());
  return join(base, 'bert-lab', 'torch-probe.json');
}

/** A PATH name (python3) as the file it runs, so that its probe can be cached on disk. */
export function onPath(name: string): string | undefined {
  if (isAbsolute(name) || name.includes('/') || name.includes('\\')) return existsSync(name) ? name : undefined;
  const exts = process.platform === 'win32' ? ['.exe', '.cmd', ''] : [''];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const ext of exts) {
      const f = join(dir, name + ext);
      if (dir && existsSync(f)) return f;
    }
  }
  return undefined;
}

function interpreterStamp(python: string): string | undefined {
  try {
    const file = onPath(python);
    if (!file) return undefined;
    const s = statSync(file); // pyenv shims and venvs: the file run for this name (a new venv = a new stamp)
    return `${file}:${s.size}:${s.mtimeMs}:${process.env.PYENV_VERSION ?? ''}:${process.env.VIRTUAL_ENV ?? ''}`;
  } catch {
    return undefined;
  }
}

function readCache(python: string, stamp: string): TorchProbe | undefined {
  try {
    const all = JSON.parse(readFileSync(cacheFile(), 'utf8')) as Record<string, { stamp: string; probe: TorchProbe }>;
    const hit = all[python];
    return hit && hit.stamp === stamp ? hit.probe : undefined;
  } catch {
    return undefined;
  }
}

function writeCache(python: string, stamp: string, probe: TorchProbe): void {
  try {
    const f = cacheFile();
    mkdirSync(dirname(f), { recursive: true });
    let all: Record<string, unknown> = {};
    try { all = JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>; } catch { /* first entry */ }
    all[python] = { stamp, probe };
    writeFileAtomic(f, JSON.stringify(all)); // a concurrent reader sees the old or the new file
  } catch { /* a cache only */ }
}

/** Runs the probe of one interpreter (no shell; killed after `timeoutMs`). */
export function probeTorch(python: string, opts: { timeoutMs?: number; noCache?: boolean } = {}): Promise<TorchProbe> {
  const stamp = interpreterStamp(python);
  if (!opts.noCache) {
    const m = memo.get(python);
    if (m) return m;
    if (stamp) {
      const hit = readCache(python, stamp);
      if (hit) return Promise.resolve(hit);
    }
  }
  const p = new Promise<TorchProbe>((resolveProbe) => {
    let pkg: string;
    try { pkg = pythonPackageDir(); } catch (e) { resolveProbe({ python, cuda: false, mps: false, threads: 0, error: (e as Error).message }); return; }
    const timeout = opts.timeoutMs ?? 30_000;
    execFile(python, ['-m', 'bert_lab_torch', '--probe'], { cwd: pkg, env: { ...process.env, PYTHONPATH: pkg }, timeout, killSignal: 'SIGKILL', windowsHide: true },
      (err, stdout, stderr) => {
        const fail = (why: string) => resolveProbe({ python, cuda: false, mps: false, threads: 0, error: why });
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return fail(`${python}: not found`);
        if (err && (err as { killed?: boolean }).killed) return fail(`${python}: the torch probe did not answer within ${timeout / 1000} s`);
        let j: { python?: string; torch?: string; cuda?: boolean; cudaName?: string; mps?: boolean; threads?: number; error?: string };
        try { j = JSON.parse(stdout.trim().split('\n').pop() ?? ''); } catch {
          return fail(`${python}: the torch probe failed (${(stderr || String(err ?? 'no output')).trim().split('\n').pop()})`);
        }
        const probe: TorchProbe = { python, pythonVersion: j.python, torch: j.torch, cuda: !!j.cuda, cudaName: j.cudaName, mps: !!j.mps, threads: j.threads ?? 1, error: j.error && `${python}: ${j.error}` };
        const [maj, min] = (j.python ?? '0.0').split('.').map(Number);
        if (!probe.error && (maj < 3 || (maj === 3 && min < 9))) probe.error = `${python}: Python ${j.python} is too old (the PyTorch engine needs 3.9 or later)`;
        const [tmaj, tmin] = (j.torch ?? '0.0').split('.').map((x) => parseInt(x, 10));
        if (!probe.error && (tmaj < 1 || (tmaj === 1 && tmin < 13))) probe.error = `${python}: torch ${j.torch} is too old (the PyTorch engine needs 1.13 or later)`;
        // Only a working torch is remembered across processes: one installed later is found at once.
        if (stamp && !opts.noCache && !probe.error) writeCache(python, stamp, probe);
        resolveProbe(probe);
      });
  });
  if (!opts.noCache) memo.set(python, p);
  return p;
}

/**
 * The first interpreter whose torch works, or an error saying what is missing and how to get it.
 */
export async function findTorch(explicit?: string, opts: { timeoutMs?: number } = {}): Promise<TorchProbe> {
  const tried: string[] = [];
  for (const py of pythonCandidates(explicit)) {
    const p = await probeTorch(py, opts);
    if (!p.error) return p;
    tried.push(p.error);
    if (explicit && py === explicit) break; // an explicit interpreter is not silently replaced
  }
  throw new Error(`PyTorch engine not available (${tried.join('; ')}): install torch for that Python (pip install torch), set --python / bertLab.pythonPath, or run "BERT Lab: Install PyTorch Engine"`);
}
