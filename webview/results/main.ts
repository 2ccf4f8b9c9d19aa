// The results page: draws the state the host posts (validated on receipt). All workspace-derived
// text goes through textContent; nothing is built from HTML strings. One section per problem of the spec.
import type { FromWebview, ResultsState } from '../../src/protocol/index.js';
import { parseToWebview, isResultsState } from './validate.js';
import { chartColors, renderCurves, renderProblemChart, resetCharts } from './charts.js';
import { chartKind, confusionView, curveRuns, latestFinished, problemCaveat, progressViews, quickTag, tableRows } from './viewModel.js';

declare function acquireVsCodeApi(): { postMessage(m: FromWebview): void; getState(): unknown; setState(s: unknown): void };
const vscode = acquireVsCodeApi();
const post = (m: FromWebview) => vscode.postMessage(m);

let state: ResultsState | undefined;
/** The run the learning curves show (picked in the run picker or the table); undefined = follow the running run. */
let focused: string | undefined;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
/** A problem id as an element id part (spec ids are free text). */
const safeId = (id: string, k: number) => (/^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : `p${k}`);

function renderProgress(s: ResultsState) {
  const box = $('progress');
  box.replaceChildren();
  for (const p of progressViews(s)) {
    const row = el('div', { class: 'progress-row', 'data-run-id': p.runId });
    const track = el('div', { class: 'progress-track', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(Math.round(p.fraction * 100)) });
    const fill = el('div', { class: 'progress-fill' });
    fill.style.setProperty('--fraction', p.fraction.toFixed(4)); // CSSOM (allowed by the CSP, unlike style attributes)
    track.append(fill);
    row.append(el('span', { class: 'progress-text' }, p.text), track, el('span', { class: 'progress-eta' }, `this run: ETA ${p.eta}`));
    const cancel = el('button', { class: 'secondary', 'data-action': 'cancel' }, 'Cancel');
    cancel.addEventListener('click', () => post({ type: 'cancel' }));
    row.append(cancel);
    box.append(row);
  }
}

function renderCurvesSection(s: ResultsState) {
  const picker = $<HTMLSelectElement>('curve-run');
  const options = curveRuns(s);
  picker.replaceChildren(el('option', { value: '' }, 'The running run (or the latest)'), ...options.map((o) => el('option', { value: o.runId }, o.text)));
  picker.value = focused && options.some((o) => o.runId === focused) ? focused : '';
  const live = renderCurves($<HTMLCanvasElement>('chart-live'), s, focused);
  const note = $('live-empty');
  note.hidden = !!live;
  note.textContent = live ? '' : 'No run yet: start one from the Problems view or the notebook.';
  const run = live && s.runs.find((r) => r.id === live.runId);
  $('live-label').textContent = run ? `Showing ${live!.label} (${run.status})${quickTag(run.config) ? ` · ${quickTag(run.config)}` : ''}` : '';
}

function renderProblems(s: ResultsState) {
  const box = $('problems');
  s.problems.forEach((p, k) => {
    const id = safeId(p.id, k);
    let section = document.getElementById(`${id}-section`);
    if (!section) {
      section = el('section', { id: `${id}-section`, class: 'chart-section', 'data-problem': id });
      const canvasBox = el('div', { class: 'chart-box' });
      canvasBox.append(el('canvas', { id: `chart-${id}`, role: 'img', 'aria-label': `${p.title} chart` }));
      section.append(el('h2', { id: `${id}-title` }), el('p', { id: `${id}-caveat`, class: 'caveat' }), el('p', { id: `${id}-best`, class: 'best' }), el('p', { id: `${id}-empty`, class: 'note' }), canvasBox);
      box.append(section);
    }
    $(`${id}-title`).textContent = p.title;
    const runs = latestFinished(s.runs, p.id);
    const canvas = $<HTMLCanvasElement>(`chart-${id}`);
    const out = renderProblemChart(canvas, s, p.id, chartKind(runs));
    canvas.dataset.colors = JSON.stringify(chartColors(canvas.id));
    const answer = s.answers.find((a) => a.problem === p.id);
    $(`${id}-best`).textContent = answer?.note ? `No answer: ${answer.note}` : out.best + (out.best && answer?.tie ? ` — tie: ${answer.tie}` : '');
    const caveat = problemCaveat(s, p.id);
    $(`${id}-caveat`).textContent = caveat ? `⚠ ${caveat}: not the homework's numbers` : '';
    const empty = $(`${id}-empty`);
    empty.hidden = !out.empty;
    empty.textContent = out.empty ? `No finished run of ${p.title.split(/\s+[—–-]\s+/)[0]} yet.` : '';
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
    const tr = el('tr', { 'data-run-id': r.runId, class: `status-${r.status}${r.best ? ' best' : ''}${r.runId === focused ? ' focused' : ''}${r.tag ? ' quick' : ''}` });
    const status = el('td', { class: 'status' }, r.status);
    if (r.error) status.title = r.error;
    const label = el('td', { class: 'label' }, r.label + (r.best ? ' ★' : ''));
    if (r.tag) label.append(' ', el('span', { class: 'badge quick-badge', title: "A quick run or a tiny test model: not the homework's numbers" }, r.tag));
    tr.append(el('td', {}, r.problem), label, el('td', {}, r.model), status,
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
  const note = $('confusion-empty');
  note.hidden = withMatrix.length > 0;
  note.textContent = withMatrix.length ? '' : 'Confusion matrices appear when runs finish.';
  for (const r of withMatrix) {
    const fig = el('figure', { class: 'confusion-matrix', 'data-run-id': r.id });
    const tag = quickTag(r.config);
    fig.append(el('figcaption', {}, `${r.config.problem} · ${r.config.label}${tag ? ` · ${tag}` : ''}`));
    const v = confusionView(r);
    const grid = el('div', { class: 'cm-grid', role: 'table', 'aria-label': `Confusion matrix of ${r.config.label}` });
    grid.style.setProperty('--cols', String(v.labels.length + 1));
    grid.append(el('div', { class: 'cm-head' }, 'true \\ predicted'));
    for (const l of v.labels) grid.append(el('div', { class: 'cm-head' }, l));
    v.cells.forEach((row, i) => {
      grid.append(el('div', { class: 'cm-head' }, v.labels[i]));
      for (const [j, c] of row.entries()) {
        // Colour = share of the true class (row); green on the diagonal (right), red off it (wrong).
        const cell = el('div', { class: `cm-cell ${c.correct ? 'right' : 'wrong'}`, title: `${c.count} of true ${v.labels[i]} predicted ${v.labels[j]} (${c.pct} of the row)` });
        cell.append(el('span', { class: 'cm-count' }, String(c.count)), el('span', { class: 'cm-pct' }, c.pct));
        cell.style.setProperty('--intensity', c.rate.toFixed(3));
        if (c.rate > 0.5) cell.classList.add('strong');
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
    const row = el('div', { class: `answer${a.caveat ? ' quick' : ''}`, 'data-variable': a.variable });
    // Text nodes between the parts keep the row readable as text too ("a1a = 0.9144 — …").
    row.append(el('code', { class: 'answer-var' }, a.variable), ' = ', el('span', { class: 'answer-value' }, a.value === null ? 'no result yet' : a.value.toFixed(4)),
      ' ', el('span', { class: 'answer-desc' }, `— ${a.description}`), ' ');
    const btn = el('button', { 'data-insert': a.variable }, 'Insert into notebook');
    btn.disabled = a.value === null || !s.notebookAvailable;
    btn.title = a.value === null ? a.note ?? 'No finished run yet' : s.notebookAvailable ? `Write ${a.variable} = ${a.value.toFixed(4)} into the notebook's answer cell` : 'Open the homework notebook first';
    btn.addEventListener('click', () => post({ type: 'insertAnswer', variable: a.variable }));
    row.append(btn);
    const notes = el('div', { class: 'answer-notes' });
    if (a.caveat) notes.append(el('span', { class: 'badge quick-badge' }, `⚠ ${a.caveat}: not the homework's number`));
    if (a.tie) notes.append(el('span', { class: 'tie' }, `Tie: ${a.tie}`));
    if (a.note) notes.append(el('span', { class: 'note' }, a.note));
    if (notes.childNodes.length) row.append(notes);
    list.append(row);
  }
}

function render() {
  if (!state) return;
  renderProgress(state);
  renderCurvesSection(state);
  renderProblems(state);
  renderTable(state);
  renderConfusion(state);
  renderAnswers(state);
}

function save() { vscode.setState({ state, focused }); }

$<HTMLSelectElement>('curve-run').addEventListener('change', (e) => {
  focused = (e.target as HTMLSelectElement).value || undefined;
  save(); render();
});

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
new MutationObserver(() => { resetCharts(); render(); }).observe(document.body, { attributes: true, attributeFilter: ['class'] });

// Restore what was shown before a reload or while hidden, then ask the host for the current state.
const saved = vscode.getState() as { state?: unknown; focused?: unknown } | undefined;
if (saved && isResultsState(saved.state)) {
  state = saved.state;
  focused = typeof saved.focused === 'string' ? saved.focused : undefined;
}
render();
if (!state) renderTable({ runs: [], liveLoss: {}, progress: {}, answers: [], problems: [], notebookAvailable: false });
post({ type: 'ready' });
