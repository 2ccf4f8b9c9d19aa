// The results page's charts (chart.js), drawn from the pure view model with the theme's colours.
// Accuracy axes span 0..1 (a value of 0.5 must not look "full"); every chart shows values on hover.
import {
  BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement,
  PointElement, ScatterController, Title, Tooltip, type ChartConfiguration,
} from 'chart.js';
import type { ResultsState } from '../../src/protocol/index.js';
import { configsChart, fmt4, fmtLr, fractionChart, gridChart, liveChart, modelsChart, seriesColors, type ChartKind } from './viewModel.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, ScatterController, Title, Tooltip, Legend);

const charts = new Map<string, Chart>();

/** Theme colours from VS Code's CSS variables (they change with the theme). */
export function palette() {
  const css = getComputedStyle(document.body);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    fg: v('--vscode-foreground', '#888'),
    grid: v('--vscode-editorWidget-border', v('--vscode-panel-border', 'rgba(128,128,128,0.3)')),
    series: [v('--vscode-charts-blue', '#3794ff'), v('--vscode-charts-orange', '#d18616'), v('--vscode-charts-purple', '#b180d7'),
      v('--vscode-charts-green', '#89d185'), v('--vscode-charts-red', '#f14c4c'), v('--vscode-charts-yellow', '#cca700')],
    font: v('--vscode-font-family', 'sans-serif'),
  };
}

/** Drops every chart (theme change: they are drawn again with the new colours). */
export function resetCharts(): void {
  for (const c of charts.values()) c.destroy();
  charts.clear();
}

/** The fill colour of each dataset of a chart (the e2e test checks they are distinct). */
export function chartColors(id: string): string[] {
  const c = charts.get(id);
  return (c?.data.datasets ?? []).map((d) => String((d as { backgroundColor?: unknown }).backgroundColor ?? ''));
}

function upsertChart(canvas: HTMLCanvasElement, config: ChartConfiguration) {
  const existing = charts.get(canvas.id);
  if (existing && (existing.config as { type?: string }).type === (config as { type?: string }).type) {
    existing.data = config.data;
    existing.options = config.options ?? {};
    existing.update('none');
    return;
  }
  existing?.destroy();
  charts.set(canvas.id, new Chart(canvas, config));
}

type Axis = Record<string, unknown>;
function axis(title: string, extra: Axis = {}): Axis {
  const p = palette();
  return { title: { display: true, text: title, color: p.fg }, ticks: { color: p.fg }, grid: { color: p.grid }, ...extra };
}
const accuracyAxis = (title = 'accuracy', extra: Axis = {}) => axis(title, { type: 'linear', min: 0, max: 1, ...extra });

type TipCtx = { raw: unknown; dataset: { label?: string }; parsed: { x: number | null; y: number | null } };

function options(scales: Record<string, Axis>, tooltipLabel?: (ctx: TipCtx) => string) {
  const p = palette();
  Chart.defaults.color = p.fg;
  Chart.defaults.font.family = p.font;
  return {
    animation: false as const, responsive: true, maintainAspectRatio: false,
    interaction: { mode: 'nearest' as const, intersect: false },
    plugins: {
      legend: { labels: { color: p.fg } },
      tooltip: { callbacks: { label: tooltipLabel ?? ((ctx: TipCtx) => `${ctx.dataset.label}: ${fmt4(ctx.parsed.y)}`) } },
    },
    scales,
  };
}

export function renderProblemChart(canvas: HTMLCanvasElement, s: ResultsState, problem: string, kind: ChartKind): { empty: boolean; best: string } {
  const p = palette();
  if (kind === 'grid') {
    const c = gridChart(s, problem);
    const colors = seriesColors(c.datasets.length, p.series);
    upsertChart(canvas, {
      type: 'bar',
      data: {
        labels: c.maxLens.map((l) => `MAX_LEN=${l}`),
        // One colour per learning rate; the best bar keeps its colour and gets a thick outline.
        datasets: c.datasets.map((d, k) => ({
          label: d.label, data: d.values, skipNull: true, backgroundColor: colors[k],
          borderColor: d.runIds.map((id) => (id && id === c.best?.runId ? p.fg : colors[k])),
          borderWidth: d.runIds.map((id) => (id && id === c.best?.runId ? 3 : 0)),
        })),
      },
      options: options({ x: axis('MAX_LEN'), y: accuracyAxis('val accuracy at min val loss') }),
    });
    return { empty: c.datasets.length === 0, best: c.best ? `Best: MAX_LEN=${c.best.maxLen}, LR=${fmtLr(c.best.learningRate)}, BATCH=${c.best.batchSize} → ${fmt4(c.best.value)} (outlined)` : '' };
  }
  if (kind === 'fraction') {
    const c = fractionChart(s, problem);
    const [c0, c1, c2] = seriesColors(3, p.series);
    const xy = (f: (q: (typeof c.points)[number]) => number) => c.points.map((q) => ({ x: q.subsetFrac, y: f(q) }));
    upsertChart(canvas, {
      type: 'line',
      data: {
        datasets: [
          { label: 'val acc at min val loss', data: xy((q) => q.valAccuracy), borderColor: c0, backgroundColor: c0, yAxisID: 'y', pointRadius: c.points.map((q) => (q.runId === c.bestRunId ? 7 : 3)) },
          { label: 'test accuracy', data: xy((q) => q.testAccuracy), borderColor: c1, backgroundColor: c1, yAxisID: 'y' },
          { label: 'training time (s)', data: xy((q) => q.trainSeconds), borderColor: c2, backgroundColor: c2, borderDash: [4, 3], yAxisID: 'time' },
        ],
      },
      options: options({
        x: axis('SUBSET_FRAC (data fraction)', { type: 'linear', min: 0, max: 1 }),
        y: accuracyAxis('accuracy', { position: 'left' }),
        time: axis('training time (s)', { type: 'linear', position: 'right', min: 0, grid: { drawOnChartArea: false } }),
      }, (ctx) => `${ctx.dataset.label}: ${ctx.dataset.label?.includes('time') ? `${(ctx.parsed.y ?? 0).toFixed(1)} s` : fmt4(ctx.parsed.y)} at SUBSET_FRAC ${ctx.parsed.x}`),
    });
    const b = c.points.find((q) => q.runId === c.bestRunId);
    return { empty: c.points.length === 0, best: b ? `Best: SUBSET_FRAC=${b.subsetFrac} → ${fmt4(b.valAccuracy)}` : '' };
  }
  if (kind === 'models') {
    const c = modelsChart(s, problem);
    const [c0, c1, c2] = seriesColors(3, p.series);
    const pts = (f: (q: (typeof c.points)[number]) => number) => c.points.map((q) => ({ x: q.secondsPerEpoch, y: f(q), model: q.model }));
    upsertChart(canvas, {
      type: 'scatter',
      data: {
        datasets: [
          { label: 'test accuracy', data: pts((q) => q.testAccuracy), borderColor: c0, backgroundColor: c0, pointRadius: c.points.map((q) => (q.runId === c.bestRunId ? 8 : 5)) },
          { label: 'test F1', data: pts((q) => q.testF1), borderColor: c1, backgroundColor: c1, pointStyle: 'triangle', pointRadius: 6 },
          { label: 'val acc at min val loss', data: pts((q) => q.valAccuracy), borderColor: c2, backgroundColor: c2, pointStyle: 'rect', pointRadius: 5 },
        ],
      },
      options: options({ x: axis('seconds per epoch', { type: 'linear', min: 0 }), y: accuracyAxis('accuracy / F1') }, (ctx) => {
        const r = ctx.raw as { x: number; y: number; model: string };
        return `${r.model}: ${ctx.dataset.label} ${fmt4(r.y)} at ${r.x.toFixed(1)} s/epoch`;
      }),
    });
    const b = c.points.find((q) => q.runId === c.bestRunId);
    return { empty: c.points.length === 0, best: b ? `Best: ${b.model} → ${fmt4(b.valAccuracy)}` : '' };
  }
  const c = configsChart(s, problem);
  const [c0] = seriesColors(1, p.series);
  upsertChart(canvas, {
    type: 'bar',
    data: { labels: c.labels, datasets: [{ label: 'val accuracy at min val loss', data: c.values, backgroundColor: c0, borderColor: c.runIds.map((id) => (id === c.bestRunId ? p.fg : c0)), borderWidth: c.runIds.map((id) => (id === c.bestRunId ? 3 : 0)) }] },
    options: options({ x: axis('run'), y: accuracyAxis('val accuracy at min val loss') }),
  });
  const k = c.runIds.indexOf(c.bestRunId ?? '');
  return { empty: c.values.length === 0, best: k >= 0 ? `Best: ${c.labels[k]} → ${fmt4(c.values[k])}` : '' };
}

/** Learning curves of one run: x = epochs 1..N, the per-step loss as a thin line, loss axis from 0. */
export function renderCurves(canvas: HTMLCanvasElement, s: ResultsState, focused: string | undefined): ReturnType<typeof liveChart> {
  const p = palette();
  const live = liveChart(s, focused);
  const d = live ?? { stepLoss: [], trainLoss: [], valLoss: [], trainAccuracy: [], valAccuracy: [], epochs: 1, lossMax: 1 };
  const [cStep, cTrain, cVal, cTrainAcc, cValAcc] = seriesColors(5, p.series);
  const datasets = [
    ...(d.stepLoss.length ? [{ label: 'loss per step', data: d.stepLoss, borderColor: cStep, backgroundColor: cStep, pointRadius: 0, borderWidth: 1, yAxisID: 'y' }] : []),
    { label: 'train loss', data: d.trainLoss, borderColor: cTrain, backgroundColor: cTrain, yAxisID: 'y' },
    { label: 'val loss', data: d.valLoss, borderColor: cVal, backgroundColor: cVal, yAxisID: 'y' },
    { label: 'train acc', data: d.trainAccuracy, borderColor: cTrainAcc, backgroundColor: cTrainAcc, borderDash: [4, 3], yAxisID: 'acc' },
    { label: 'val acc', data: d.valAccuracy, borderColor: cValAcc, backgroundColor: cValAcc, borderDash: [4, 3], yAxisID: 'acc' },
  ];
  upsertChart(canvas, {
    type: 'line',
    data: { datasets },
    options: options({
      // Epoch e's steps lie in (e-1, e]; the ticks name the epochs 1..N.
      x: axis('epoch', { type: 'linear', min: 0, max: d.epochs, ticks: { color: p.fg, stepSize: 1, callback: (v: number | string) => (Number(v) >= 1 && Number.isInteger(Number(v)) ? String(v) : '') } }),
      y: axis('loss', { type: 'linear', position: 'left', min: 0, max: d.lossMax }),
      acc: accuracyAxis('accuracy', { position: 'right', grid: { drawOnChartArea: false } }),
    }, (ctx) => `${ctx.dataset.label}: ${fmt4(ctx.parsed.y)} (epoch ${(ctx.parsed.x ?? 0).toFixed(2).replace(/\.00$/, '')})`),
  });
  return live;
}
