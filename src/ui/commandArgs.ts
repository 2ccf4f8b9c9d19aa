// Typed command arguments. Tree items pass their TreeNode (VS Code does so for context menus); clicks
// and notebook buttons pass a plain reference. Each command takes one of these shapes, nothing else.
import type { EditableField, TreeNode } from './treeModel';

/** A run: its id (click on a history item, webview) or its tree node (context menu). */
export type RunArg = string | TreeNode | undefined;
/** A problem, one of its configs, or one value of a config. */
export interface ProblemRef { problemId: string; configKey?: string; field?: EditableField }
export type ProblemArg = ProblemRef | TreeNode | undefined;
/** A notebook answer cell's fill button: the notebook's URI and the answer variable. */
export type FillArgs = [uri?: string, variable?: string];

const isNode = (a: object): a is TreeNode => 'id' in a && 'label' in a;

export function runIdOf(arg: RunArg): string | undefined {
  if (typeof arg === 'string') return arg;
  return arg?.ref?.runId;
}

/** The runs a history node stands for: one run, a sweep, a problem, or (no node) all. */
export function runScopeOf(arg: RunArg): { runId?: string; sweepId?: string; problemId?: string } {
  if (typeof arg === 'string') return { runId: arg };
  const ref = arg?.ref ?? {};
  return ref.runId ? { runId: ref.runId } : ref.sweepId ? { sweepId: ref.sweepId } : ref.problemId ? { problemId: ref.problemId } : {};
}

export function problemRefOf(arg: ProblemArg): ProblemRef | undefined {
  if (!arg) return undefined;
  if (isNode(arg)) return arg.ref?.problemId ? { problemId: arg.ref.problemId, configKey: arg.ref.configKey, field: arg.ref.field } : undefined;
  return typeof arg.problemId === 'string' ? arg : undefined;
}
