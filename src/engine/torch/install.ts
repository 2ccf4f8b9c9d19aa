// "BERT Lab: Install PyTorch Engine": a virtual environment in the extension's storage with torch for
// this machine (a CUDA build where nvidia-smi finds a GPU, the CPU build otherwise). Every step is a
// child process spawned without a shell; its output goes to onLog; a failure is one clear line.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { probeTorch, type TorchProbe } from './python';

export interface InstallOptions {
  onLog?: (line: string) => void;
  signal?: AbortSignal;
  /** Python that creates the venv (default: python3 / python on PATH). */
  basePython?: string;
  /** Extra `python -m venv` flags, e.g. ['--system-site-packages'] to reuse a system torch. */
  venvArgs?: string[];
  /** pip's arguments after `install` (default: torch from the CUDA or CPU index). */
  pipArgs?: string[];
  /** Whether a CUDA GPU is present (default: `nvidia-smi -L` lists one). */
  hasGpu?: () => Promise<boolean>;
}

/** The venv's interpreter inside `storageDir`. */
export function venvPython(storageDir: string): string {
  const venv = join(storageDir, 'torch-venv');
  return process.platform === 'win32' ? join(venv, 'Scripts', 'python.exe') : join(venv, 'bin', 'python');
}

function run(cmd: string, args: string[], o: InstallOptions): Promise<{ code: number; tail: string }> {
  return new Promise((resolve, reject) => {
    o.onLog?.(`$ ${cmd} ${args.join(' ')}`);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const tail: string[] = [];
    const onData = (b: Buffer) => {
      for (const line of b.toString().split(/\r?\n/)) {
        if (!line.trim()) continue;
        o.onLog?.(line);
        tail.push(line);
        if (tail.length > 30) tail.shift();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const abort = () => child.kill('SIGKILL');
    o.signal?.addEventListener('abort', abort, { once: true });
    child.on('error', (e) => { o.signal?.removeEventListener('abort', abort); reject(new Error(`${cmd}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : e.message}`)); });
    child.on('close', (code) => { o.signal?.removeEventListener('abort', abort); resolve({ code: code ?? 1, tail: tail.join('\n') }); });
  });
}

async function nvidiaGpu(): Promise<boolean> {
  try {
    const r = await run('nvidia-smi', ['-L'], {});
    return r.code === 0 && /GPU \d+:/.test(r.tail);
  } catch {
    return false;
  }
}

/** The most telling line of a failed pip/venv run (pip's "ERROR: ..." line, else the last line). */
export function pipFailureLine(tail: string): string {
  const lines = tail.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.filter((l) => /^ERROR:|error:|Could not|No matching distribution/i.test(l)).pop() ?? lines.pop() ?? 'no output';
}

/**
 * Creates `<storageDir>/torch-venv` (kept if it exists), installs torch into it and probes it.
 * Resolves with the probe (set bertLab.pythonPath to `probe.python`); rejects with one line.
 */
export async function installTorchEngine(storageDir: string, o: InstallOptions = {}): Promise<TorchProbe> {
  mkdirSync(storageDir, { recursive: true });
  const venv = join(storageDir, 'torch-venv');
  const py = venvPython(storageDir);
  const cancelled = () => { if (o.signal?.aborted) throw new Error('PyTorch engine install cancelled'); };
  if (!existsSync(py)) {
    const bases = o.basePython ? [o.basePython] : process.platform === 'win32' ? ['python', 'py'] : ['python3', 'python'];
    let made = false, why = '';
    for (const base of bases) {
      try {
        const r = await run(base, ['-m', 'venv', ...(o.venvArgs ?? []), venv], o);
        if (r.code === 0) { made = true; break; }
        why = `${base} -m venv failed: ${pipFailureLine(r.tail)}`;
      } catch (e) { why = (e as Error).message; }
      cancelled();
    }
    if (!made) throw new Error(`could not create the PyTorch environment in ${venv}: ${why} (install Python 3.9+ with its venv module, e.g. apt install python3-venv)`);
  }
  cancelled();
  const gpu = await (o.hasGpu ?? nvidiaGpu)();
  o.onLog?.(gpu ? 'nvidia-smi found a GPU: installing the CUDA build of torch'
    : process.platform === 'darwin' ? 'macOS: installing torch (with Apple MPS)' : 'no NVIDIA GPU found: installing the CPU build of torch');
  // macOS: PyPI's torch has MPS built in; elsewhere PyTorch's own index, CUDA 12.6 build (drivers >= 525)
  // or the CPU-only build (a fraction of the download).
  const args = o.pipArgs ?? (process.platform === 'darwin' ? ['torch']
    : ['torch', '--index-url', gpu ? 'https://download.pytorch.org/whl/cu126' : 'https://download.pytorch.org/whl/cpu']);
  const r = await run(py, ['-m', 'pip', 'install', '--disable-pip-version-check', ...args], o);
  cancelled();
  if (r.code !== 0) throw new Error(`pip could not install torch into ${venv}: ${pipFailureLine(r.tail)}`);
  const probe = await probeTorch(py, { noCache: true, timeoutMs: 120_000 });
  if (probe.error) throw new Error(`torch was installed into ${venv} but does not work: ${probe.error}`);
  o.onLog?.(`PyTorch engine ready: torch ${probe.torch}${probe.cuda ? ` with CUDA (${probe.cudaName})` : probe.mps ? ' with MPS' : ' (CPU)'} in ${py}`);
  return probe;
}
