// Context keys that complete the walkthrough's steps however the student did the step (palette,
// notebook button, Problems view, results page or the CLI in a terminal), not only through the
// one command a step's button runs. Pure: lab.ts sets the keys, package.json's `onContext:` events read them.
import type { RunRecord } from '../protocol';

/** Set while the active notebook editor shows the homework notebook. */
export const HOMEWORK_NOTEBOOK_KEY = 'bertLab.homeworkNotebook';
/** Set while the homework notebook is open in any editor (the walkthrough's first step). */
export const HOMEWORK_OPEN_KEY = 'bertLab.homeworkNotebookOpen';
/**
 * Set (again) each time a walkthrough tab opens. Every onContext completion event is "<key> && this key":
 * VS Code (1.100) registers walkthroughs when its walkthrough service starts, often only when the page
 * opens; a completion key already true at that moment is recorded as seen but never ticks its step, and
 * later changes of it are ignored. With this key false at that moment and set right after, the steps tick
 * from the state found when the page opens (runs in the history, answers in the notebook).
 */
export const WALKTHROUGH_OPEN_KEY = 'bertLab.walkthroughOpen';

/** A tab of VS Code's walkthrough / welcome page (by its title). */
export function isWalkthroughTab(label: string): boolean {
  return /^(Walkthrough\b|Welcome\b)/i.test(label);
}

/** Set once an answer cell has been filled in this window (any way), or a notebook on disk has answers. */
export const ANSWERS_FILLED_KEY = 'bertLab.answersFilled';

/** `bertLab.finished.problem1`: the problem has at least one finished run in the history. */
export function finishedKey(problemId: string): string {
  return `bertLab.finished.${problemId}`;
}

/** The value of each problem's "finished" key for these runs. */
export function walkthroughContext(runs: readonly RunRecord[], problemIds: readonly string[]): Record<string, boolean> {
  const done = new Set(runs.filter((r) => r.status === 'finished').map((r) => r.config.problem));
  return Object.fromEntries(problemIds.map((id) => [finishedKey(id), done.has(id)]));
}
