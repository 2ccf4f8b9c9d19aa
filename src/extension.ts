// BERT Lab's entry point: wires the parts together (the logic lives in src/ui, src/experiments).
import * as vscode from 'vscode';
import { Runner } from './experiments/runner';
import { HOMEWORK9 } from './experiments/spec';
import { createLogOutputChannel } from './common/vscodeapi';
import { BertLab } from './ui/lab';

let lab: BertLab | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = createLogOutputChannel('BERT Lab');
  context.subscriptions.push(log);
  const workerPath = context.asAbsolutePath('dist/worker.js');
  lab = new BertLab(context, log, HOMEWORK9, (workspace, env) => new Runner({ workspace, workerPath, env, cwd: workspace }));
  lab.activate();
  context.subscriptions.push({ dispose: () => lab?.dispose() });
  log.info(`BERT Lab ${context.extension.packageJSON.version as string} activated (worker ${workerPath})`);
}

export function deactivate(): void {
  lab?.dispose();
  lab = undefined;
}
