// Texts of the notebook's cell status-bar buttons (ui-contract; pure so that tests check them).
import { formatAnswer } from '../notebook/homework';

const RUN_TITLES: Record<number, string> = { 1: 'sweep', 2: 'data-size study', 3: 'model comparison' };

/** The text of the run button of problem `n` (ui-contract: "▶ Run Problem 1 sweep"). */
export function runButtonText(n: number): string {
  return `▶ Run Problem ${n} ${RUN_TITLES[n] ?? 'sweep'}`;
}

/** The text of the fill button (ui-contract: "Fill a1a = 0.9144" / "Fill a1a (no result yet)"). */
export function fillButtonText(variable: string, value: number | null | undefined): string {
  return value === null || value === undefined ? `Fill ${variable} (no result yet)` : `Fill ${variable} = ${formatAnswer(value)}`;
}


/** The fill button when the cell already holds the current result: "✓ a1a = 0.9144 (current)". */
export function filledButtonText(variable: string, value: number): string {
  return `✓ ${variable} = ${formatAnswer(value)} (current)`;
}
