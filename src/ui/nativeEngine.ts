// "Install Native Engine": npm installs @tensorflow/tfjs-node[-gpu] into the extension's storage
// (spawned without a shell), and the training process finds it there through BERT_LAB_NATIVE_DIR.
// Its install script downloads libtensorflow, which fails on machines without access to it: the
// error then says so and training keeps using WASM.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const NATIVE_VERSION = '4.22.0';
export type NativePackage = '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu';
export const NATIVE_PACKAGES: NativePackage[] = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

/** Installed native packages (with versions) in `dir`. */
export function installedNative(dir: string): string[] {
  const out: string[] = [];
  for (const pkg of NATIVE_PACKAGES) {
    const file = join(dir, 'node_modules', pkg, 'package.json');
    try { out.push(`${pkg}@${JSON.parse(readFileSync(file, 'utf8')).version}`); } catch { /* absent */ }
  }
  return out;
}

/** A CUDA-capable NVIDIA driver looks present (Linux/Windows); only then is the GPU package offered first. */
export function nvidiaLikely(): boolean {
  if (process.platform === 'linux') return existsSync('/proc/driver/nvidia/version');
  if (process.platform === 'win32') return existsSync('C:\\Windows\\System32\\nvidia-smi.exe');
  return false;
}

export function npmArgs(dir: string, pkg: NativePackage): string[] {
  return ['install', '--prefix', dir, '--no-audit', '--no-fund', '--no-save', '--loglevel', 'http', `${pkg}@${NATIVE_VERSION}`];
}

/** The most useful line of a failed npm install's output (the error, and what it was doing). */
export function npmFailureReason(output: string): string {
  // "code E404" / "code 1" lines only repeat the status: the lines around them say what happened.
  const lines = output.split(/\r?\n/).map((l) => l.replace(/^npm (ERR!|error)\s*/, '').trim()).filter((l) => l && !/^code \S+$/.test(l));
  const last = (re: RegExp) => [...lines].reverse().find((l) => re.test(l));
  const error = last(/^[A-Za-z]*Error: /) ?? last(/ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|E403|E404|EACCES|ENOSPC/) ?? lines[lines.length - 1] ?? 'no output';
  const libtf = /libtensorflow/i.test(output);
  return `${libtf ? 'downloading libtensorflow (the native TensorFlow library) failed: ' : ''}${error}`.slice(0, 300);
}

export interface InstallOptions {
  dir: string;
  pkg: NativePackage;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
  /** The npm executable (default "npm"; on Windows "npm.cmd" cannot be spawned without a shell: give npm-cli.js through `node`). */
  command?: { file: string; prefixArgs: string[] };
}

/** Runs the install; resolves with the installed packages, rejects with a one-line reason. */
export function installNative(opts: InstallOptions): Promise<string[]> {
  mkdirSync(opts.dir, { recursive: true });
  // A package.json of its own keeps npm from walking up into another project.
  const pj = join(opts.dir, 'package.json');
  if (!existsSync(pj)) writeFileSync(pj, JSON.stringify({ name: 'bert-lab-native', private: true, description: 'Native TensorFlow engine installed by BERT Lab' }, null, 2));
  const cmd = opts.command ?? { file: process.platform === 'win32' ? 'npm.cmd' : 'npm', prefixArgs: [] };
  return new Promise((resolve, reject) => {
    let output = '';
    const child = spawn(cmd.file, [...cmd.prefixArgs, ...npmArgs(opts.dir, opts.pkg)], {
      cwd: opts.dir, shell: false, env: { ...process.env, npm_config_yes: 'true' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output += text;
      if (output.length > 200_000) output = output.slice(-100_000);
      for (const l of text.split(/\r?\n/)) if (l.trim()) opts.onLine?.(l);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const abort = () => child.kill('SIGTERM');
    opts.signal?.addEventListener('abort', abort);
    child.on('error', (e) => { opts.signal?.removeEventListener('abort', abort); reject(new Error(`cannot run npm: ${e.message}`)); });
    child.on('close', (code, sig) => {
      opts.signal?.removeEventListener('abort', abort);
      if (opts.signal?.aborted) return reject(new Error('installation cancelled'));
      const installed = installedNative(opts.dir);
      if (code === 0 && installed.some((p) => p.startsWith(`${opts.pkg}@`))) return resolve(installed);
      reject(new Error(`npm install ${opts.pkg}@${NATIVE_VERSION} failed (${sig ?? `exit code ${code}`}): ${npmFailureReason(output)}`));
    });
  });
}
