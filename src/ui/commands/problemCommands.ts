// Problems view commands: run a problem or one config, edit a planned value, reset edits, and the
// "Run Single Experiment…" wizard (a planned config with the student's values). All run through the
// sweep controller (Runner.runProblem with overrides/only).
import * as vscode from 'vscode';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunConfig } from '../../protocol';
import { lrLabel } from '../../experiments/spec';
import { applyOverrides, FIELD_NAMES, validateField, type EditableField, type Overrides } from '../treeModel';
import { problemRefOf, type ProblemArg } from '../commandArgs';
import type { LabContext } from '../labContext';
import type { RunValues, SweepController } from '../sweepController';
import type { Register } from './runCommands';

const OVERRIDES_KEY = 'bertLab.overrides';

export function overridesOf(lab: LabContext): Overrides {
  return lab.context.workspaceState.get<Overrides>(OVERRIDES_KEY) ?? {};
}

export function registerProblemCommands(lab: LabContext, sweeps: SweepController, reg: Register): void {
  for (const p of lab.spec.problems) {
    const n = /^problem(\d+)$/.exec(p.id)?.[1];
    if (n) reg(`bertLab.runProblem${n}`, () => sweeps.runProblem(p.id, overridesOf(lab)[p.id]));
  }
  reg('bertLab.runAll', () => sweeps.runProblem('all'));
  reg('bertLab.runSingle', () => runSingleWizard(lab, sweeps));
  reg('bertLab.problem.run', (arg: ProblemArg) => runFromProblemsView(lab, sweeps, arg));
  reg('bertLab.problem.editValue', (arg: ProblemArg) => editValue(lab, arg));
  reg('bertLab.problem.resetValues', (arg: ProblemArg) => resetValues(lab, arg));
}

function planned(lab: LabContext, problemId: string, key: string): RunConfig {
  const base = lab.plan(problemId).find((c) => c.key === key);
  if (!base) throw new Error(`${problemId}: that configuration is no longer planned (settings changed?)`);
  return base;
}

function runFromProblemsView(lab: LabContext, sweeps: SweepController, arg: ProblemArg): Promise<void> {
  const ref = problemRefOf(arg);
  if (!ref) return Promise.resolve();
  const edits = overridesOf(lab)[ref.problemId] ?? {};
  if (!ref.configKey) return sweeps.runProblem(ref.problemId, edits);
  const config = applyOverrides(planned(lab, ref.problemId, ref.configKey), edits[ref.configKey]);
  return sweeps.runConfig(ref.problemId, ref.configKey, edits[ref.configKey] ?? {}, `${ref.problemId} ${config.label}`);
}

/** Max position embeddings of a local model folder (config.json), else BERT's 512. */
function maxPositions(model: string): number {
  try {
    const cfg = JSON.parse(readFileSync(join(model, 'config.json'), 'utf8')) as { max_position_embeddings?: unknown };
    if (typeof cfg.max_position_embeddings === 'number') return cfg.max_position_embeddings;
  } catch { /* a Hub id, or no config yet */ }
  return 512;
}

const PROMPTS: Record<EditableField, (maxPos: number) => string> = {
  maxLen: (maxPos) => `MAX_LEN (at most ${maxPos}, the model's positions)`,
  learningRate: () => 'Learning rate (> 0), e.g. 2e-5',
  batchSize: () => 'Batch size (>= 1)',
  subsetFrac: () => 'SUBSET_FRAC in (0, 1]',
};

async function askValue(field: EditableField, value: number, title: string, maxPos: number): Promise<number | undefined> {
  const text = await vscode.window.showInputBox({
    title, prompt: PROMPTS[field](maxPos),
    value: field === 'learningRate' ? lrLabel(value) : String(value),
    validateInput: (t) => validateField(field, t, maxPos),
  });
  return text === undefined ? undefined : Number(text.trim());
}

async function editValue(lab: LabContext, arg: ProblemArg): Promise<void> {
  const ref = problemRefOf(arg);
  if (!ref?.configKey || !ref.field) return;
  const base = planned(lab, ref.problemId, ref.configKey);
  const all = overridesOf(lab);
  const edits = all[ref.problemId]?.[ref.configKey] ?? {};
  const v = await askValue(ref.field, applyOverrides(base, edits)[ref.field], `${FIELD_NAMES[ref.field]} of ${base.label}`, maxPositions(base.model));
  if (v === undefined) return;
  const next: RunValues = { ...edits, [ref.field]: v };
  if (v === base[ref.field]) delete next[ref.field];
  all[ref.problemId] = { ...(all[ref.problemId] ?? {}), [ref.configKey]: next };
  if (Object.keys(next).length === 0) delete all[ref.problemId][ref.configKey];
  await lab.context.workspaceState.update(OVERRIDES_KEY, all);
  lab.refresh(true);
}

async function resetValues(lab: LabContext, arg: ProblemArg): Promise<void> {
  const ref = problemRefOf(arg);
  if (!ref) return;
  const all = overridesOf(lab);
  if (ref.configKey && all[ref.problemId]) delete all[ref.problemId][ref.configKey];
  else delete all[ref.problemId];
  await lab.context.workspaceState.update(OVERRIDES_KEY, all);
  lab.refresh(true);
}

/** "Run Single Experiment…": a planned configuration (any problem) with the student's values, run once. */
async function runSingleWizard(lab: LabContext, sweeps: SweepController): Promise<void> {
  const items: Array<vscode.QuickPickItem & { config: RunConfig }> = [];
  for (const p of lab.spec.problems) {
    let configs: RunConfig[] = [];
    try { configs = lab.plan(p.id); } catch { continue; /* waits for an earlier problem's result */ }
    items.push(...configs.map((c) => ({ label: c.label, description: p.title.split(/\s+[—–-]\s+/)[0], detail: c.model, config: c })));
  }
  if (!items.length) throw new Error('no configuration is planned yet: check the data and model settings');
  const pick = await vscode.window.showQuickPick(items, { title: 'Run Single Experiment: start from which configuration?', matchOnDescription: true, matchOnDetail: true });
  if (!pick) return;
  const base = pick.config;
  const maxPos = maxPositions(base.model);
  const values: RunValues = {};
  for (const f of ['maxLen', 'learningRate', 'batchSize', 'subsetFrac'] as EditableField[]) {
    const v = await askValue(f, base[f], `Run Single Experiment: ${FIELD_NAMES[f]}`, maxPos);
    if (v === undefined) return;
    if (v !== base[f]) values[f] = v;
  }
  const config = applyOverrides(base, values);
  return sweeps.runConfig(base.problem, base.key, values, `single experiment ${config.label}`);
}
