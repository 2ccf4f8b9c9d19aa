// The results page: draws the state the host posts (validated on receipt). All workspace-derived
// text goes through textContent; nothing is built from HTML strings.
import {
  BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement,
  PointElement, ScatterController, Title, Tooltip, type ChartConfiguration,
} from 'chart.js';
import type { FromWebview, ResultsState } from '../../src/protocol/index.js';
import { parseToWebview, isResultsState } from './validate.js';
import {
  confusionCells, fmt4, fmtLr, liveChart, problem1Chart, problem2Chart, problem3Chart, progressViews, tableRows,
} from './viewModel.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, ScatterController, Title, Tooltip, Legend);

declare function acquireVsCodeApi(): { postMessage(m: FromWebview): void; getState(): unknown; setState(s: unknown): void };
const vscode = acquireVsCodeApi();
const post = (m: FromWebview) => vscode.postMessage(m);

let state: ResultsState | undefined;
let focused: string | undefined;
const charts = new Map<string, Chart>();

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Theme colours from VS Code's CSS variables (they change with the theme). */
function palette() {
  const css = getComputedStyle(document.body);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    fg: v('--vscode-foreground', '#888'),
    grid: v('--vscode-editorWidget-border', v('--vscode-panel-border', 'rgba(128,128,128,0.3)')),
    series: [v('--vscode-charts-blue', '#3794ff'), v('--vscode-charts-orange', '#d18616'), v('--vscode-charts-green', '#89d185'),
      v('--vscode-charts-purple', '#b180d7'), v('--vscode-charts-red', '#f14c4c'), v('--vscode-charts-yellow', '#cca700')],
    best: v('--vscode-charts-green', '#89d185'),
    font: v('--vscode-font-family', 'sans-serif'),
  };
}

function upsertChart(id: string, config: ChartConfiguration) {
  const canvas = $<HTMLCanvasElement>(id);
  const existing = charts.get(id);
  if (existing && (existing.config as { type?: string }).type === (config as { type?: string }).type) {
    existing.data = config.data;
    existing.options = config.options ?? {};
    existing.update('none');
    return;
  }
  existing?.destroy();
  charts.set(id, new Chart(canvas, config));
}

function baseOptions(xTitle: string, yTitle: string, extra: Record<string, unknown> = {}) {
  const p = palette();
  Chart.defaults.color = p.fg;
  Chart.defaults.font.family = p.font;
  return {
    animation: false as const,
    responsive: true,
    maintainAspectRatio: false,
    plugins: { legend: { labels: { color: p.fg } } },
    scales: {
      x: { title: { display: true, text: xTitle, color: p.fg }, ticks: { color: p.fg }, grid: { color: p.grid } },
      y: { title: { display: true, text: yTitle, color: p.fg }, ticks: { color: p.fg }, grid: { color: p.grid } },
    },
    ...extra,
  };
}

function setEmpty(section: string, empty: boolean, text: string) {
  const note = $(`${section}-empty`);
  note.textContent = empty ? text : '';
  note.hidden = !empty;
}

function renderProgress(s: ResultsState) {
  const box = $('progress');
  box.replaceChildren();
  for (const p of progressViews(s)) {
    const row = el('div', { class: 'progress-row', 'data-run-id': p.runId });
    const bar = el('progress', { max: '1', value: String(p.fraction) });
    row.append(el('span', { class: 'progress-text' }, p.text), bar, el('span', { class: 'progress-eta' }, `ETA ${p.eta}`));
    const cancel = el('button', { class: 'secondary', 'data-action': 'cancel' }, 'Cancel');
    cancel.addEventListener('click', () => post({ type: 'cancel' }));
    row.append(cancel);
    box.append(row);
  }
}

function renderLive(s: ResultsState) {
  const p = palette();
  const live = liveChart(s, focused);
  setEmpty('live', !live, 'No run yet: start one from the Problems view or the notebook.');
  $('live-label').textContent = live ? live.label : '';
  const d = live ?? { stepLoss: [], trainLoss: [], valLoss: [], trainAccuracy: [], valAccuracy: [], epochs: 1 };
  upsertChart('chart-live', {
    type: 'line',
    data: {
      datasets: [
        { label: 'loss per step', data: d.stepLoss, borderColor: p.series[0], backgroundColor: p.series[0], pointRadius: 0, borderWidth: 1, yAxisID: 'y' },
        { label: 'train loss', data: d.trainLoss, borderColor: p.series[1], backgroundColor: p.series[1], yAxisID: 'y' },
        { label: 'val loss', data: d.valLoss, borderColor: p.series[4], backgroundColor: p.series[4], yAxisID: 'y' },
        { label: 'train acc', data: d.trainAccuracy, borderColor: p.series[2], backgroundColor: p.series[2], borderDash: [4, 3], yAxisID: 'acc' },
        { label: 'val acc', data: d.valAccuracy, borderColor: p.series[3], backgroundColor: p.series[3], borderDash: [4, 3], yAxisID: 'acc' },
      ],
    },
    options: baseOptions('epoch', 'loss', {
      scales: {
        x: { type: 'linear', min: 0, max: d.epochs, title: { display: true, text: 'epoch', color: p.fg }, ticks: { color: p.fg, stepSize: 1 }, grid: { color: p.grid } },
        y: { type: 'linear', position: 'left', title: { display: true, text: 'loss', color: p.fg }, ticks: { color: p.fg }, grid: { color: p.grid } },
        acc: { type: 'linear', position: 'right', min: 0, max: 1, title: { display: true, text: 'accuracy', color: p.fg }, ticks: { color: p.fg }, grid: { drawOnChartArea: false } },
      },
    }),
  });
}

function renderProblem1(s: ResultsState) {
  const p = palette();
  const c = problem1Chart(s);
  setEmpty('problem1', c.datasets.length === 0, 'No finished run of Problem 1 yet.');
  $('problem1-best').textContent = c.best
    ? `Best: MAX_LEN=${c.best.maxLen}, LR=${fmtLr(c.best.learningRate)}, BATCH=${c.best.batchSize} → val accuracy at min val loss ${fmt4(c.best.value)}`
    : '';
  upsertChart('chart-problem1', {
    type: 'bar',
    data: {
      labels: c.maxLens.map((l) => `MAX_LEN=${l}`),
      datasets: c.datasets.map((d, k) => ({
        label: d.label,
        data: d.values,
        skipNull: true,
        backgroundColor: d.runIds.map((id) => (id && id === c.best?.runId ? p.best : p.series[k % p.series.length])),
        borderColor: d.runIds.map((id) => (id && id === c.best?.runId ? p.fg : p.series[k % p.series.length])),
        borderWidth: d.runIds.map((id) => (id && id === c.best?.runId ? 3 : 0)),
      })),
    },
    options: baseOptions('MAX_LEN', 'val accuracy at min val loss'),
  });
}

function renderProblem2(s: ResultsState) {
  const p = palette();
  const c = problem2Chart(s);
  setEmpty('problem2', c.points.length === 0, 'No finished run of Problem 2 yet.');
  const xy = (f: (q: (typeof c.points)[number]) => number) => c.points.map((q) => ({ x: q.subsetFrac, y: f(q) }));
  upsertChart('chart-problem2', {
    type: 'line',
    data: {
      datasets: [
        { label: 'val acc at min val loss', data: xy((q) => q.valAccuracy), borderColor: p.series[0], backgroundColor: p.series[0], yAxisID: 'y',
          pointRadius: c.points.map((q) => (q.runId === c.bestRunId ? 7 : 3)) },
        { label: 'test accuracy', data: xy((q) => q.testAccuracy), borderColor: p.series[2], backgroundColor: p.series[2], yAxisID: 'y' },
        { label: 'training time (s)', data: xy((q) => q.trainSeconds), borderColor: p.series[1], backgroundColor: p.series[1], borderDash: [4, 3], yAxisID: 'time' },
      ],
    },
    options: baseOptions('SUBSET_FRAC', 'accuracy', {
      scales: {
        x: { type: 'linear', min: 0, max: 1, title: { display: true, text: 'SUBSET_FRAC (data fraction)', color: p.fg }, ticks: { color: p.fg }, grid: { color: p.grid } },
        y: { type: 'linear', position: 'left', title: { display: true, text: 'accuracy', color: p.fg }, ticks: { color: p.fg }, grid: { color: p.grid } },
        time: { type: 'linear', position: 'right', min: 0, title: { display: true, text: 'training time (s)', color: p.fg }, ticks: { color: p.fg }, grid: { drawOnChartArea: false } },
      },
    }),
  });
}

function renderProblem3(s: ResultsState) {
  const p = palette();
  const c = problem3Chart(s);
  setEmpty('problem3', c.points.length === 0, 'No finished run of Problem 3 yet.');
  const pts = (f: (q: (typeof c.points)[number]) => number) => c.points.map((q) => ({ x: q.secondsPerEpoch, y: f(q), model: q.model }));
  upsertChart('chart-problem3', {
    type: 'scatter',
    data: {
      datasets: [
        { label: 'test accuracy', data: pts((q) => q.testAccuracy), borderColor: p.series[0], backgroundColor: p.series[0], pointRadius: c.points.map((q) => (q.runId === c.bestRunId ? 8 : 5)) },
        { label: 'test F1', data: pts((q) => q.testF1), borderColor: p.series[1], backgroundColor: p.series[1], pointStyle: 'triangle', pointRadius: 6 },
        { label: 'val acc at min val loss', data: pts((q) => q.valAccuracy), borderColor: p.series[2], backgroundColor: p.series[2], pointStyle: 'rect', pointRadius: 5 },
      ],
    },
    options: baseOptions('seconds per epoch', 'accuracy / F1', {
      plugins: {
        legend: { labels: { color: p.fg } },
        tooltip: { callbacks: { label: (ctx: { raw: unknown; dataset: { label?: string } }) => {
          const r = ctx.raw as { x: number; y: number; model: string };
          return `${r.model}: ${ctx.dataset.label} ${r.y.toFixed(4)} at ${r.x.toFixed(1)} s/epoch`;
        } } },
      },
    }),
  });
}

function renderTable(s: ResultsState) {
  const body = $('runs-table').querySelector('tbody')!;
  body.replaceChildren();
  const rows = tableRows(s);
  if (rows.length === 0) {
    const tr = el('tr', { class: 'empty' });
    tr.append(el('td', { colspan: '9' }, 'No runs yet.'));
    body.append(tr);
    return;
  }
  for (const r of rows) {
    const tr = el('tr', { 'data-run-id': r.runId, class: `status-${r.status}${r.best ? ' best' : ''}${r.runId === focused ? ' focused' : ''}` });
    const status = el('td', { class: 'status' }, r.status);
    if (r.error) status.title = r.error;
    tr.append(el('td', {}, r.problem), el('td', { class: 'label' }, r.label + (r.best ? ' ★' : '')), el('td', {}, r.model), status,
      el('td', { class: 'num' }, r.valAccuracy), el('td', { class: 'num' }, r.testAccuracy), el('td', { class: 'num' }, r.testF1), el('td', { class: 'num' }, r.elapsed));
    const actions = el('td', { class: 'actions' });
    const open = el('button', { class: 'link', 'data-action': 'open' }, 'Details');
    open.addEventListener('click', (e) => { e.stopPropagation(); post({ type: 'openRun', runId: r.runId }); });
    actions.append(open);
    if (r.status !== 'running' && r.status !== 'queued') {
      const rerun = el('button', { class: 'link', 'data-action': 'rerun' }, 'Re-run');
      rerun.addEventListener('click', (e) => { e.stopPropagation(); post({ type: 'rerun', runId: r.runId }); });
      actions.append(rerun);
    }
    tr.append(actions);
    tr.addEventListener('click', () => { focused = r.runId; save(); render(); });
    body.append(tr);
  }
}

function renderConfusion(s: ResultsState) {
  const box = $('confusion-matrices');
  box.replaceChildren();
  const withMatrix = s.runs.filter((r) => r.metrics && r.metrics.confusion.length > 0);
  setEmpty('confusion', withMatrix.length === 0, 'Confusion matrices appear when runs finish.');
  for (const r of withMatrix) {
    const fig = el('figure', { class: 'confusion-matrix', 'data-run-id': r.id });
    fig.append(el('figcaption', {}, `${r.config.problem} · ${r.config.label}`));
    const cells = confusionCells(r.metrics!.confusion);
    const grid = el('div', { class: 'cm-grid', role: 'table', 'aria-label': `Confusion matrix of ${r.config.label}` });
    grid.style.setProperty('--cols', String(cells.length + 1));
    grid.append(el('div', { class: 'cm-head' }, 'true \\ pred'));
    cells.forEach((_, j) => grid.append(el('div', { class: 'cm-head' }, j === 0 ? 'NEG' : j === 1 ? 'POS' : String(j))));
    cells.forEach((row, i) => {
      grid.append(el('div', { class: 'cm-head' }, i === 0 ? 'NEG' : i === 1 ? 'POS' : String(i)));
      for (const c of row) {
        const cell = el('div', { class: 'cm-cell', title: `${(c.intensity * 100).toFixed(1)}% of true ${i === 0 ? 'NEG' : i === 1 ? 'POS' : i}` }, String(c.count));
        // CSSOM custom property (allowed by the CSP, unlike style attributes).
        cell.style.setProperty('--intensity', c.intensity.toFixed(3));
        if (c.intensity > 0.5) cell.classList.add('strong');
        grid.append(cell);
      }
    });
    fig.append(grid);
    box.append(fig);
  }
}

function renderAnswers(s: ResultsState) {
  const list = $('answers-list');
  list.replaceChildren();
  if (s.answers.length === 0) list.append(el('p', { class: 'note' }, 'The graded answers appear here.'));
  for (const a of s.answers) {
    const row = el('div', { class: 'answer', 'data-variable': a.variable });
    // Text nodes between the parts keep the row readable as text too ("a1a = 0.9144 — …").
    row.append(el('code', { class: 'answer-var' }, a.variable), ' = ', el('span', { class: 'answer-value' }, a.value === null ? 'no result yet' : a.value.toFixed(4)),
      ' ', el('span', { class: 'answer-desc' }, `— ${a.description}`), ' ');
    const btn = el('button', { 'data-insert': a.variable }, 'Insert into notebook');
    btn.disabled = a.value === null || !s.notebookAvailable;
    btn.title = a.value === null ? 'No finished run yet' : s.notebookAvailable ? `Write ${a.variable} = ${a.value.toFixed(4)} into the notebook's answer cell` : 'Open the homework notebook first';
    btn.addEventListener('click', () => post({ type: 'insertAnswer', variable: a.variable }));
    row.append(btn);
    list.append(row);
  }
}

function render() {
  if (!state) return;
  for (const p of state.problems) {
    const h = document.getElementById(`${p.id}-title`);
    if (h) h.textContent = p.title;
  }
  renderProgress(state);
  renderLive(state);
  renderProblem1(state);
  renderProblem2(state);
  renderProblem3(state);
  renderTable(state);
  renderConfusion(state);
  renderAnswers(state);
}

function save() { vscode.setState({ state, focused }); }

window.addEventListener('message', (event: MessageEvent) => {
  const m = parseToWebview(event.data);
  if (!m) { console.warn('BERT Lab: ignored an invalid message'); return; }
  if (m.type === 'state') { state = m.state; save(); render(); }
  else if (m.type === 'focusRun') {
    focused = m.runId; save(); render();
    document.querySelector(`tr[data-run-id="${CSS.escape(m.runId)}"]`)?.scrollIntoView({ block: 'center' });
  } else if (m.type === 'insertResult') {
    const status = $('insert-status');
    status.textContent = m.message;
    status.className = m.ok ? 'ok' : 'error';
  }
});

// Re-colour the charts when the theme changes (VS Code swaps the body's class and variables).
new MutationObserver(() => { for (const c of charts.values()) c.destroy(); charts.clear(); render(); })
  .observe(document.body, { attributes: true, attributeFilter: ['class'] });

// Restore what was shown before a reload or while hidden, then ask the host for the current state.
const saved = vscode.getState() as { state?: unknown; focused?: unknown } | undefined;
if (saved && isResultsState(saved.state)) {
  state = saved.state;
  focused = typeof saved.focused === 'string' ? saved.focused : undefined;
}
render();
if (!state) renderTable({ runs: [], liveLoss: {}, progress: {}, answers: [], problems: [], notebookAvailable: false });
post({ type: 'ready' });
