// The sidebar's trees as plain data (no vscode import), built from run records, the homework spec
// and the engine report; src/ui/views.ts turns these nodes into TreeItems.
import { parseRunField } from '../protocol/runFields';
import { applyRunValues } from '../experiments/spec';
import type { EngineInfo, ProgressMessage, RunConfig, RunRecord, RunStatus } from '../protocol';
import { lrLabel } from '../experiments/spec';
import { formatDuration, quickTag, runCaveat, shortLabel } from './labels';

export interface TreeNode {
  id: string;
  label: string;
  description?: string;
  tooltip?: string;
  /** A codicon id (ThemeIcon), optionally with a theme colour id. */
  icon?: { id: string; color?: string };
  contextValue?: string;
  expanded?: boolean;
  children?: TreeNode[];
  /** Command run on click: [command id, ...arguments]. */
  command?: { command: string; title: string; arguments: unknown[] };
  /** What the node stands for (passed to context-menu commands). */
  ref?: { runId?: string; problemId?: string; sweepId?: string; configKey?: string; field?: EditableField };
}

export { formatDuration } from './labels';

export const STATUS_ICONS: Record<RunStatus, { id: string; color?: string }> = {
  queued: { id: 'clock' },
  running: { id: 'sync~spin', color: 'charts.blue' },
  finished: { id: 'pass', color: 'testing.iconPassed' },
  failed: { id: 'error', color: 'testing.iconFailed' },
  cancelled: { id: 'circle-slash' },
  interrupted: { id: 'debug-disconnect', color: 'list.warningForeground' },
};

/** The run's description: status-specific, with key metrics and time. */
export function runDescription(r: RunRecord, progress?: ProgressMessage, now = Date.now()): string {
  const end = r.endedAt ? Date.parse(r.endedAt) : r.status === 'running' ? now : undefined;
  const elapsed = r.metrics?.totalSeconds ?? (r.startedAt && end !== undefined ? (end - Date.parse(r.startedAt)) / 1000 : undefined);
  switch (r.status) {
    case 'finished': {
      const m = r.metrics;
      // Short enough for the default sidebar width (the quick flag before the time, so that it shows);
      // test accuracy, F1 and the full caveat are in the tooltip.
      const tag = quickTag(r.config).replace(' · tiny model', ', tiny').replace('tiny model', 'tiny');
      return m ? `val ${m.valAccuracyAtMinValLoss.toFixed(4)}${tag ? ` · ${tag}` : ''} · ${formatDuration(elapsed)}` : 'finished';
    }
    case 'running': {
      if (!progress) return `running · ${formatDuration(elapsed)}`;
      const pct = progress.steps > 0 && progress.epochs > 0 ? Math.round((((progress.epoch - 1) + progress.step / progress.steps) / progress.epochs) * 100) : 0;
      const phase = progress.phase === 'train' ? `epoch ${progress.epoch}/${progress.epochs} · ${pct}%` : progress.phase;
      return `running · ${phase} · ETA ${formatDuration(progress.etaSeconds)}`;
    }
    case 'failed': return `failed${r.error ? `: ${firstLine(r.error)}` : ''}`;
    case 'interrupted': return 'interrupted';
    case 'cancelled': return `cancelled${elapsed !== undefined ? ` · ${formatDuration(elapsed)}` : ''}`;
    case 'queued': return 'queued';
  }
}

const firstLine = (s: string) => s.split('\n')[0].slice(0, 120);

function runTooltip(r: RunRecord): string {
  const c = r.config;
  const caveat = runCaveat(r);
  const lines = [
    `${c.label} (${r.status})`,
    ...(caveat ? [`⚠ ${caveat}: not the homework's number`] : []),
    `problem ${c.problem} · model ${c.model}`,
    `MAX_LEN ${c.maxLen} · LR ${lrLabel(c.learningRate)} · BATCH ${c.batchSize} · EPOCHS ${c.epochs} · SUBSET_FRAC ${c.subsetFrac} · SEED ${c.seed}`,
    `data ${c.data}`,
  ];
  if (r.engine) lines.push(`engine ${r.engine.backend} on ${r.engine.device}`);
  if (r.split) lines.push(`split train ${r.split.train} · val ${r.split.val} · test ${r.split.test}`);
  if (r.metrics) {
    const m = r.metrics;
    lines.push(`val acc at min val loss ${m.valAccuracyAtMinValLoss.toFixed(4)} (epoch ${m.bestEpoch}) · test acc ${m.testAccuracy.toFixed(4)} · F1 ${m.testF1.toFixed(4)}`);
    lines.push(`time ${formatDuration(m.totalSeconds)} · ${m.examplesPerSecond.toFixed(1)} examples/s`);
  }
  if (r.oomRetries?.length) lines.push(`out of memory: retried with batch ${r.oomRetries.join(', ')}`);
  if (r.error) lines.push(`${r.failureStage === 'setup' ? 'could not start (data, model or engine): ' : ''}${r.error}`);
  lines.push(`run ${r.id}`);
  return lines.join('\n');
}

/** A run of the history: short label (what differs within its problem), numbers in the description, all in the tooltip. */
export function runNode(r: RunRecord, progress?: ProgressMessage, now?: number, siblings: readonly RunConfig[] = []): TreeNode {
  return {
    id: `run:${r.id}`, label: shortLabel(r.config, siblings), description: runDescription(r, progress, now), tooltip: runTooltip(r),
    icon: STATUS_ICONS[r.status], contextValue: `run.${r.status}`, ref: { runId: r.id, problemId: r.config.problem, sweepId: r.sweepId },
    command: { command: 'bertLab.run.openResults', title: 'Open Results', arguments: [r.id] },
  };
}

function summarize(runs: RunRecord[]): string {
  const count = (s: RunStatus) => runs.filter((r) => r.status === s).length;
  const parts = [`${runs.length} run${runs.length === 1 ? '' : 's'}`];
  for (const s of ['running', 'finished', 'failed', 'cancelled', 'interrupted'] as RunStatus[]) if (count(s)) parts.push(`${count(s)} ${s}`);
  return parts.join(' · ');
}

const when = (iso: string) => iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');

/**
 * Run history grouped by problem (in spec order, then others), and within a problem by sweep when it
 * has more than one (newest sweep first, expanded).
 */
export function historyTree(
  runs: readonly RunRecord[], problems: ReadonlyArray<{ id: string; title: string }>,
  progress: Readonly<Record<string, ProgressMessage>> = {}, now?: number,
): TreeNode[] {
  const byProblem = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const list = byProblem.get(r.config.problem) ?? [];
    list.push(r);
    byProblem.set(r.config.problem, list);
  }
  const order = [...problems.map((p) => p.id).filter((id) => byProblem.has(id)), ...[...byProblem.keys()].filter((id) => !problems.some((p) => p.id === id)).sort()];
  return order.map((pid) => {
    const list = byProblem.get(pid)!;
    const title = problems.find((p) => p.id === pid)?.title ?? (pid === 'single' ? 'Single experiments' : pid);
    const siblings = list.map((r) => r.config);
    const sweeps = new Map<string, RunRecord[]>();
    for (const r of list) {
      const k = r.sweepId ?? `run-${r.id}`;
      sweeps.set(k, [...(sweeps.get(k) ?? []), r]);
    }
    let children: TreeNode[];
    if (sweeps.size <= 1) children = list.map((r) => runNode(r, progress[r.id], now, siblings));
    else {
      const ordered = [...sweeps.entries()].sort((a, b) => b[1][0].createdAt.localeCompare(a[1][0].createdAt));
      children = ordered.map(([sid, rs], k) => ({
        id: `sweep:${pid}:${sid}`, label: `Sweep ${when(rs[0].createdAt)}`, description: summarize(rs) + (rs.some((r) => quickTag(r.config)) ? ` · ${quickTag(rs[0].config)}` : ''),
        icon: { id: 'layers' }, contextValue: 'group.sweep', expanded: k === 0, ref: { problemId: pid, sweepId: sid },
        children: rs.map((r) => runNode(r, progress[r.id], now, siblings)),
      }));
    }
    return {
      id: `problem:${pid}`, label: title, description: summarize(list), icon: { id: 'beaker' },
      contextValue: 'group.problem', expanded: true, ref: { problemId: pid }, children,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Problems tree: each problem's planned run configs and their values (editable).

export type EditableField = 'maxLen' | 'learningRate' | 'batchSize' | 'subsetFrac';
export const FIELD_NAMES: Record<EditableField, string> = { maxLen: 'MAX_LEN', learningRate: 'LR', batchSize: 'BATCH', subsetFrac: 'SUBSET_FRAC' };

/** Edited values of a run config: problemId -> config key -> field -> value. */
export type Overrides = Record<string, Record<string, Partial<Record<EditableField, number>>>>;

/** An error message, or undefined when `text` is a valid value of `field` (the one run-field rule, plus the model's length). */
export function validateField(field: EditableField, text: string, maxPositions = 512): string | undefined {
  const r = parseRunField(field, text);
  if ('error' in r) return r.error;
  if (field === 'maxLen' && r.value > maxPositions) return `MAX_LEN must be at most ${maxPositions} (the model's max_position_embeddings)`;
  return undefined;
}

/** A planned config with the user's edits applied: the runner's own rule (new key and "(edited)" label). */
export function applyOverrides(c: RunConfig, edits: Partial<Record<EditableField, number>> | undefined): RunConfig {
  return applyRunValues(c, edits, {});
}

export interface PlannedProblem {
  id: string;
  title: string;
  /** The planned configs, or why there are none yet (e.g. "run problem1 first"). */
  configs: RunConfig[] | { error: string };
  /** Fields carried over from earlier problems, and from which. */
  carryOver?: { from: string[]; fields: string[] };
}

export function problemsTree(planned: readonly PlannedProblem[], runs: readonly RunRecord[], overrides: Overrides = {}): TreeNode[] {
  return planned.map((p) => {
    const problemRuns = runs.filter((r) => r.config.problem === p.id);
    const carried = new Set(p.carryOver?.fields ?? []);
    const from = p.carryOver?.from.map((f) => f.replace(/^problem(\d+)$/, 'Problem $1')).join(' and ');
    let children: TreeNode[];
    let description: string;
    if (!Array.isArray(p.configs)) {
      children = [{ id: `plan-error:${p.id}`, label: p.configs.error, icon: { id: 'info' }, contextValue: 'message' }];
      description = 'waiting for earlier results';
    } else {
      const finishedKeys = new Set(problemRuns.filter((r) => r.status === 'finished').map((r) => r.config.key));
      const configs = p.configs.map((c) => applyOverrides(c, overrides[p.id]?.[c.key]));
      description = `${configs.length} run${configs.length === 1 ? '' : 's'} · ${configs.filter((c) => finishedKeys.has(c.key)).length} finished`;
      children = configs.map((c, k) => {
        const original = (p.configs as RunConfig[])[k];
        const edited = c !== original;
        const done = finishedKeys.has(c.key);
        const values: TreeNode[] = (['maxLen', 'learningRate', 'batchSize', 'subsetFrac'] as EditableField[]).map((f) => ({
          id: `value:${p.id}:${original.key}:${f}`,
          label: `${FIELD_NAMES[f]} = ${f === 'learningRate' ? lrLabel(c[f]) : c[f]}`,
          description: c[f] !== original[f] ? `edited (planned ${original[f]})` : carried.has(f) ? `from ${from}` : undefined,
          tooltip: carried.has(f) ? `Carried over: the best configuration of ${from}` : `Click to edit ${FIELD_NAMES[f]}`,
          icon: { id: carried.has(f) ? 'arrow-small-right' : 'symbol-number' },
          contextValue: 'value',
          ref: { problemId: p.id, configKey: original.key, field: f },
          command: { command: 'bertLab.problem.editValue', title: 'Edit Value…', arguments: [{ problemId: p.id, configKey: original.key, field: f }] },
        }));
        values.push({ id: `value:${p.id}:${original.key}:model`, label: `model = ${c.model}`, description: carried.has('model') ? `from ${from}` : undefined, icon: { id: 'symbol-class' }, contextValue: 'info' });
        return {
          id: `config:${p.id}:${original.key}`, label: shortLabel(c, p.configs as RunConfig[]), tooltip: c.label, description: [done ? 'finished' : undefined, edited ? 'edited' : undefined].filter(Boolean).join(' · ') || undefined,
          icon: { id: done ? 'pass' : 'circle-large-outline', color: done ? 'testing.iconPassed' : undefined },
          contextValue: edited ? 'config.edited' : 'config', expanded: false, children: values,
          ref: { problemId: p.id, configKey: original.key },
        };
      });
    }
    return {
      id: `problem:${p.id}`, label: p.title, description, icon: { id: 'beaker' },
      contextValue: Object.keys(overrides[p.id] ?? {}).length ? 'problem.edited' : 'problem', expanded: true,
      ref: { problemId: p.id }, children,
      tooltip: p.carryOver ? `Uses ${[...carried].join(', ')} of the best run of ${from}` : undefined,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Engine view

export function engineTree(engine: EngineInfo | undefined, source: string | undefined, nativeDir: { path: string; installed: string[] }): TreeNode[] {
  const nodes: TreeNode[] = [];
  if (engine) {
    nodes.push({ id: 'engine:backend', label: `Backend: ${engine.backend}`, description: engine.device, tooltip: engine.reason, icon: { id: 'chip' } });
    nodes.push({ id: 'engine:reason', label: engine.reason, icon: { id: 'info' }, tooltip: engine.reason });
    nodes.push({ id: 'engine:threads', label: `Threads: ${engine.threads}`, icon: { id: 'server-process' } });
    nodes.push({
      id: 'engine:versions', label: 'Versions', icon: { id: 'versions' }, expanded: false,
      children: Object.entries(engine.versions).sort().map(([k, v]) => ({ id: `engine:v:${k}`, label: k, description: v })),
    });
    if (source) nodes.push({ id: 'engine:source', label: 'Reported by', description: source, icon: { id: 'history' } });
  } else {
    nodes.push({ id: 'engine:none', label: 'No run yet: the engine is reported by the first run', icon: { id: 'info' } });
  }
  nodes.push({
    id: 'engine:native', label: nativeDir.installed.length ? `Native engine: ${nativeDir.installed.join(', ')}` : 'Native engine: not installed',
    description: nativeDir.installed.length ? undefined : 'Install for speed (where the machine can)',
    tooltip: nativeDir.path, icon: { id: nativeDir.installed.length ? 'check' : 'cloud-download' }, contextValue: 'native',
    command: nativeDir.installed.length ? undefined : { command: 'bertLab.installNativeEngine', title: 'Install Native Engine', arguments: [] },
  });
  return nodes;
}
