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

/** The one sweep path: Runner.runProblem with overrides (edited values) and only (the configs to run). */
export async function runThroughRunner(runner: Runner, problemId: string, settings: Partial<Settings>, opts: RunProblemOpts): Promise<RunRecord[]> {
  return runner.runProblem(problemId, settings, opts);
}
