// Engine commands: what the last run used, installing the native TensorFlow engine, and installing the
// PyTorch engine (a Python environment in the extension's storage, built by src/engine/torch/install).
import * as vscode from 'vscode';
import { join } from 'node:path';
import * as api from '../../common/vscodeapi';
import { installedNative, installNative, nvidiaLikely, NATIVE_VERSION, type NativePackage } from '../nativeEngine';
import type { LabContext } from '../labContext';
import { installTorchEngine } from '../../engine/torch/install';
import type { Register } from './runCommands';

/** The PyTorch engine installer's contract (src/engine/torch/install.ts, built by the engine engineer). */
export interface TorchInstaller {
  installTorchEngine(storageDir: string, opts: { onLog: (line: string) => void; signal?: AbortSignal }): Promise<{ python: string }>;
}

async function loadTorchInstaller(): Promise<TorchInstaller> {
  return { installTorchEngine };
}

export function registerEngineCommands(lab: LabContext, reg: Register): void {
  reg('bertLab.showEngine', () => showEngine(lab));
  reg('bertLab.installNativeEngine', () => installNativeEngine(lab));
  reg('bertLab.installPytorchEngine', () => installPytorchEngine(lab));
}

async function showEngine(lab: LabContext): Promise<void> {
  await api.executeCommand('bertLab.engine.focus');
  const e = lab.state.engine?.info;
  const native = installedNative(lab.nativeDir);
  const nativeText = native.length ? native.join(', ') : 'not installed';
  const msg = e
    ? `BERT Lab engine: ${e.engine ?? 'tensorflow.js'} ${e.backend} on ${e.device} (${e.threads} threads${e.precision ? `, ${e.precision}` : ''}). ${e.reason}. Native engine: ${nativeText}.`
    : `BERT Lab: no run has reported its engine yet. Native engine: ${nativeText} (backend setting: ${lab.settings().backend}).`;
  lab.log.info(msg);
  const b = await api.showInfo(msg, ...(native.length ? [] : ['Install Native Engine']), 'Show Log');
  if (b === 'Install Native Engine') await installNativeEngine(lab);
  else if (b === 'Show Log') lab.log.show();
}

/** A cancellable notification whose message follows the installer's log lines (all lines go to the log). */
function withInstallProgress<T>(lab: LabContext, title: string, work: (onLine: (line: string) => void, signal: AbortSignal) => Promise<T>): Thenable<T> {
  return api.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
    const abort = new AbortController();
    token.onCancellationRequested(() => abort.abort());
    let last = 0;
    return work((line) => {
      lab.log.info(line);
      if (Date.now() - last > 300) { last = Date.now(); progress.report({ message: `${line.slice(0, 100)} — [Show Log](command:bertLab.showLog)` }); }
    }, abort.signal);
  });
}

async function installNativeEngine(lab: LabContext): Promise<void> {
  const gpu = nvidiaLikely();
  const items: Array<vscode.QuickPickItem & { pkg: NativePackage }> = [
    { pkg: '@tensorflow/tfjs-node', label: 'TensorFlow (CPU)', description: `@tensorflow/tfjs-node@${NATIVE_VERSION}`, detail: 'Native TensorFlow on the CPU: faster than WASM.' },
    { pkg: '@tensorflow/tfjs-node-gpu', label: 'TensorFlow (NVIDIA GPU, CUDA)', description: `@tensorflow/tfjs-node-gpu@${NATIVE_VERSION}`, detail: gpu ? 'An NVIDIA driver was found.' : 'Needs an NVIDIA GPU with CUDA 11.2 and cuDNN 8.1.' },
  ];
  if (gpu) items.reverse();
  const pick = await vscode.window.showQuickPick(items, { title: 'Install Native Engine', placeHolder: `Installs into ${lab.nativeDir} (downloads libtensorflow)` });
  if (!pick) return;
  lab.log.info(`installing ${pick.pkg}@${NATIVE_VERSION} into ${lab.nativeDir}`);
  try {
    const installed = await withInstallProgress(lab, `BERT Lab: installing ${pick.label}`, (onLine, signal) =>
      installNative({ dir: lab.nativeDir, pkg: pick.pkg, signal, onLine: (line) => onLine(`npm: ${line}`) }));
    lab.log.info(`installed: ${installed.join(', ')}`);
    void api.showInfo(`BERT Lab: installed ${installed.join(', ')}. New runs use it (backend "auto" or "${pick.pkg.endsWith('gpu') ? 'tensorflow-gpu' : 'tensorflow'}").`);
  } finally {
    lab.nativeChanged();
  }
}

async function installPytorchEngine(lab: LabContext): Promise<void> {
  const installer = await loadTorchInstaller();
  const storageDir = join(lab.context.globalStorageUri.fsPath, 'torch');
  lab.log.info(`installing the PyTorch engine into ${storageDir}`);
  try {
    const { python } = await withInstallProgress(lab, 'BERT Lab: installing the PyTorch engine', (onLine, signal) =>
      installer.installTorchEngine(storageDir, { onLog: onLine, signal }));
    await api.getConfiguration('bertLab', api.workspaceFolder()?.uri).update('pythonPath', python, vscode.ConfigurationTarget.Global);
    lab.log.info(`PyTorch engine installed: ${python}`);
    void api.showInfo(`BERT Lab: PyTorch engine installed (${python}); bertLab.pythonPath points to it. Choose the "torch" backend to use it.`);
  } finally {
    lab.refresh(true);
  }
}
