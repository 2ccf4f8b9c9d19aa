// The results page's HTML shell (pure, testable): strict CSP with a per-load nonce, no remote
// content, the script and stylesheet from the extension's own folders.
import { randomBytes } from 'node:crypto';

export function makeNonce(): string {
  return randomBytes(18).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 24);
}

export interface ResultsHtmlParts {
  /** webview.cspSource */
  cspSource: string;
  scriptUri: string;
  styleUri: string;
  nonce: string;
}

const attr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function resultsHtml(p: ResultsHtmlParts): string {
  const csp = [
    "default-src 'none'",
    `img-src ${p.cspSource} data:`,
    `style-src ${p.cspSource}`,
    `font-src ${p.cspSource}`,
    `script-src 'nonce-${p.nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${attr(csp)}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" href="${attr(p.styleUri)}">
  <title>BERT Lab Results</title>
</head>
<body>
  <header>
    <h1>BERT Lab Results</h1>
    <div id="progress" aria-live="polite"></div>
  </header>
  <section id="live-section" class="chart-section">
    <h2>Learning curves</h2>
    <label class="picker">Run: <select id="curve-run" aria-label="Run whose learning curves are shown"></select></label>
    <p id="live-label" class="shown"></p>
    <p id="live-empty" class="note"></p>
    <div class="chart-box"><canvas id="chart-live" role="img" aria-label="Learning curves"></canvas></div>
  </section>
  <div class="problems" id="problems"></div>
  <section id="runs-section">
    <h2>Runs</h2>
    <table id="runs-table">
      <thead><tr><th>Problem</th><th>Run</th><th>Model</th><th>Status</th><th>Val acc (min val loss)</th><th>Test accuracy</th><th>Test F1</th><th>Time (h:mm:ss)</th><th></th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section id="confusion-section">
    <h2>Confusion matrices (test split)</h2>
    <p id="confusion-empty" class="note"></p>
    <div id="confusion-matrices"></div>
  </section>
  <section id="answers">
    <h2>Graded answers</h2>
    <div id="answers-list"></div>
    <p id="insert-status" role="status"></p>
  </section>
  <script nonce="${p.nonce}" src="${attr(p.scriptUri)}"></script>
</body>
</html>`;
}
