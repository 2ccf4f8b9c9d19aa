// Whether filling a graded answer may go ahead at once, needs the student's confirmation, or has nothing
// to do. One definition for the CLI (`fill-answers` refuses without --force) and VS Code (a modal asks).
import { formatAnswer } from './homework';

/** The notebook's own placeholder: "a1a = 0.0  # Replace 0.0 with your answer". */
export function isPlaceholder(valueText: string): boolean {
  return Number(valueText) === 0;
}

export interface FillSource {
  variable: string;
  value: number;
  /** Why this result is not the homework's number, e.g. "quick run with distilbert-tiny-random" (resultCaveat). */
  caveat?: string;
}

export type FillDecision =
  | { kind: 'write' }
  /** `question` is one sentence a person can answer yes/no to; `reasons` the short causes (for --force messages). */
  | { kind: 'confirm'; question: string; reasons: string[] }
  | { kind: 'unchanged'; message: string };

/** `current`: the literal assigned in the notebook now (e.g. "0.9144"), undefined when the cell is missing. */
export function decideFill(current: string | undefined, src: FillSource): FillDecision {
  const after = formatAnswer(src.value);
  if (current !== undefined && current === after) {
    return { kind: 'unchanged', message: `${src.variable} already holds ${after}` };
  }
  const reasons: string[] = [];
  if (current !== undefined && !isPlaceholder(current)) reasons.push(`${src.variable} is ${current} in the notebook, not the 0.0 placeholder`);
  if (src.caveat) reasons.push(`the new value comes from a ${src.caveat}`);
  if (!reasons.length) return { kind: 'write' };
  const was = current !== undefined && !isPlaceholder(current) ? `${src.variable} is ${current} in the notebook; replace it` : `Fill ${src.variable}`;
  return { kind: 'confirm', question: `${was} with ${after}${src.caveat ? ` from a ${src.caveat}` : ''}?`, reasons };
}
