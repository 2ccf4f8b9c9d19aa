// The results webview panel (one instance): strict CSP with a nonce, resources only from dist/webview
// and media/, a "ready" handshake before the host posts anything, every message validated on receipt,
// and a serializer that revives it after a reload.
import * as vscode from 'vscode';
import { isFromWebview, type FromWebview, type ResultsState, type ToWebview } from '../experiments/protocol';
import { makeNonce, resultsHtml } from './resultsHtml';

export const RESULTS_VIEW_TYPE = 'bertLab.results';

export interface ResultsHost {
  resultsState(): ResultsState;
  onMessage(m: FromWebview, panel: ResultsPanel): void | Promise<void>;
  logLine(line: string): void;
}

export class ResultsPanel {
  static current: ResultsPanel | undefined;
  private ready = false;
  private pending?: ReturnType<typeof setTimeout>;
  private lastPost = 0;
  private pendingFocus?: string;
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
    webview.html = resultsHtml({
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', 'results.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'results.css')).toString(),
    });
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      // A hidden webview is torn down: it says "ready" again when shown, and gets the state then.
      panel.onDidChangeViewState(() => { if (!panel.visible) this.ready = false; }),
      webview.onDidReceiveMessage((m: unknown) => {
        if (!isFromWebview(m)) { host.logLine(`results page: ignored an invalid message ${JSON.stringify(m).slice(0, 200)}`); return; }
        if (m.type === 'ready') {
          this.ready = true;
          this.postState(true);
          if (this.pendingFocus) { this.post({ type: 'focusRun', runId: this.pendingFocus }); this.pendingFocus = undefined; }
          return;
        }
        Promise.resolve(host.onMessage(m, this)).catch((e: unknown) => host.logLine(`results page: ${(e as Error).message}`));
      }),
    );
  }

  /** Posts the whole state (throttled to ~4 per second while training; `now` skips the throttle). */
  postState(now = false): void {
    if (!this.ready) return;
    const send = () => { this.pending = undefined; this.lastPost = Date.now(); this.post({ type: 'state', state: this.host.resultsState() }); };
    if (now) { if (this.pending) clearTimeout(this.pending); send(); return; }
    if (this.pending) return;
    const wait = Math.max(0, 250 - (Date.now() - this.lastPost));
    this.pending = setTimeout(send, wait);
  }

  post(m: ToWebview): void {
    if (!this.ready) {
      if (m.type === 'focusRun') this.pendingFocus = m.runId;
      return;
    }
    void this.panel.webview.postMessage(m);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (ResultsPanel.current === this) ResultsPanel.current = undefined;
    if (this.pending) clearTimeout(this.pending);
    this.panel.dispose();
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}
