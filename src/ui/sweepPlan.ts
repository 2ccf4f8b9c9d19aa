// The sweep controller's pure part: how a selection (edited values, one config, a re-run) becomes one
// Runner.runProblem call with overrides/only. No vscode import (tested directly).
import type { RunConfig, RunRecord } from '../protocol';
import type { Runner } from '../experiments/runner';
import type { Settings } from '../experiments/spec';
import { applyOverrides, type EditableField } from './treeModel';

/** Edited values of one run config (the runner's RunValues). */
export type RunValues = Partial<Record<EditableField, number>>;

export interface SweepOptions {
  /** Run again even when a finished run of the same config exists. */
  force?: boolean;
  /** Edited values, by config key. */
  overrides?: Record<string, RunValues>;
  /** Config keys to run (others are skipped); undefined = all of the problem's. */
  only?: string[];
}

type RunProblemOpts = SweepOptions & { signal?: AbortSignal };

/** The fields of `c` that differ from the planned `base` (a re-run's overrides). */
export function valuesDiff(c: RunConfig, base: RunConfig): RunValues {
  const out: RunValues = {};
  for (const f of ['maxLen', 'learningRate', 'batchSize', 'subsetFrac'] as EditableField[]) if (c[f] !== base[f]) out[f] = c[f];
  return out;
}

/** The planned config a recorded run came from: same key, or its key plus "-edited-…". */
export function plannedBase(c: RunConfig, planned: readonly RunConfig[]): RunConfig | undefined {
  return planned.find((p) => p.key === c.key) ?? planned.find((p) => c.key.startsWith(`${p.key}-edited-`));
}

/**
 * Runner.runProblem with overrides/only. TODO(merge): runner gains overrides/only — delete the fallback
 * branch (for a runner that still has runSingle) once the runner engineer's branch is merged.
 */
export async function runThroughRunner(runner: Runner, problemId: string, settings: Partial<Settings>, opts: RunProblemOpts): Promise<RunRecord[]> {
  const legacy = (runner as unknown as { runSingle?: (c: RunConfig, o: { signal?: AbortSignal }) => Promise<RunRecord> }).runSingle;
  const needsNew = opts.only !== undefined || (opts.overrides && Object.keys(opts.overrides).length > 0);
  if (!needsNew || typeof legacy !== 'function') {
    return (runner.runProblem as (p: string, s: Partial<Settings>, o: RunProblemOpts) => Promise<RunRecord[]>).call(runner, problemId, settings, opts);
  }
  // Fallback (old runner): the selected configs one by one.
  const done = new Set(runner.history.list().filter((r) => r.status === 'finished').map((r) => `${r.config.problem}\0${r.config.key}\0${r.config.data}\0${r.config.model}`));
  const out: RunRecord[] = [];
  for (const base of runner.planProblem(problemId, settings)) {
    if (opts.only && !opts.only.includes(base.key)) continue;
    if (opts.signal?.aborted) break;
    const c = applyOverrides(base, opts.overrides?.[base.key]);
    if (!opts.force && done.has(`${c.problem}\0${c.key}\0${c.data}\0${c.model}`)) continue;
    out.push(await legacy.call(runner, c, { signal: opts.signal }));
  }
  return out;
}
