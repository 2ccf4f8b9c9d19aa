// The results webview panel (one instance): strict CSP with a nonce, resources only from dist/webview
// and media/, a "ready" handshake before the host posts anything, every message validated on receipt,
// and a serializer that revives it after a reload.
import * as vscode from 'vscode';
import { isFromWebview, type FromWebview, type ResultsState, type ToWebview } from '../protocol';
import { makeNonce, resultsHtml } from './resultsHtml';
import { PanelChannel } from './panelChannel';

export const RESULTS_VIEW_TYPE = 'bertLab.results';

export interface ResultsHost {
  resultsState(): ResultsState;
  onMessage(m: FromWebview, panel: ResultsPanel): void | Promise<void>;
  logLine(line: string): void;
}

export class ResultsPanel {
  static current: ResultsPanel | undefined;
  private readonly channel: PanelChannel;
  private disposed = false;
  private readonly disposables: vscode.Disposable[] = [];

  static createOrShow(extensionUri: vscode.Uri, host: ResultsHost, focusRunId?: string, preserveFocus = false): ResultsPanel {
    if (ResultsPanel.current) {
      ResultsPanel.current.panel.reveal(undefined, preserveFocus);
    } else {
      const panel = vscode.window.createWebviewPanel(RESULTS_VIEW_TYPE, 'BERT Lab Results', { viewColumn: vscode.ViewColumn.Beside, preserveFocus }, ResultsPanel.options(extensionUri));
      ResultsPanel.current = new ResultsPanel(panel, extensionUri, host);
    }
    if (focusRunId) ResultsPanel.current.post({ type: 'focusRun', runId: focusRunId });
    return ResultsPanel.current;
  }

  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, host: ResultsHost): void {
    panel.webview.options = ResultsPanel.options(extensionUri);
    ResultsPanel.current?.dispose();
    ResultsPanel.current = new ResultsPanel(panel, extensionUri, host);
  }

  private static options(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return {
      enableScripts: true,
      enableCommandUris: false,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
    };
  }

  private constructor(readonly panel: vscode.WebviewPanel, extensionUri: vscode.Uri, private readonly host: ResultsHost) {
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'bert-lab.svg');
    const webview = panel.webview;
    this.channel = new PanelChannel((m) => { void webview.postMessage(m); }, () => host.resultsState());
    webview.html = resultsHtml({
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', 'results.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'results.css')).toString(),
    });
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      // A hidden webview is torn down: it says "ready" again when shown, and gets the state then.
      panel.onDidChangeViewState(() => { if (!panel.visible) this.channel.hidden(); }),
      webview.onDidReceiveMessage((m: unknown) => {
        if (!isFromWebview(m)) { host.logLine(`results page: ignored an invalid message ${JSON.stringify(m).slice(0, 200)}`); return; }
        if (m.type === 'ready') { this.channel.onReady(); return; }
        Promise.resolve(host.onMessage(m, this)).catch((e: unknown) => host.logLine(`results page: ${(e as Error).message}`));
      }),
    );
  }

  /** Posts the whole state (throttled to ~4 per second while training; `now` skips the throttle). */
  postState(now = false): void {
    this.channel.postState(now);
  }

  /** Posted only to a page that is listening (a focus asked for meanwhile is kept for it). */
  post(m: ToWebview): void {
    this.channel.post(m);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (ResultsPanel.current === this) ResultsPanel.current = undefined;
    this.channel.dispose();
    this.panel.dispose();
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}
