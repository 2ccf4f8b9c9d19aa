// Recognising the homework notebook: its problem headings and its graded answer cells.
// Pure text logic shared by the editor integration (cells of an open notebook) and the on-disk filler.

export interface CellText {
  kind: 'markdown' | 'code' | 'raw';
  text: string;
}

export interface ProblemHeading {
  cellIndex: number;
  /** 1-based problem number as written in the heading. */
  number: number;
  /** Problem id of the homework spec ("problem1"). */
  problemId: string;
  title: string;
  /**
   * The first code cell of the problem's section (after the heading, before the next problem's
   * heading; "DO NOT change" cells excluded): where the student's code for the problem goes. It
   * carries the run button too, because VS Code hides the status bar of a rendered markdown cell.
   */
  codeCellIndex?: number;
}

/** One `a1a = 0.0   # comment` line in a graded answer cell. */
export interface AnswerAssignment {
  cellIndex: number;
  variable: string;
  /** The numeric literal as written. */
  valueText: string;
  value: number;
  /** Offsets of the literal inside the cell text. */
  valueStart: number;
  valueEnd: number;
  /** 0-based line inside the cell. */
  line: number;
}

export interface HomeworkNotebook {
  problems: ProblemHeading[];
  answers: AnswerAssignment[];
  /** Has at least one problem heading and one answer cell. */
  isHomework: boolean;
}

/** The graded variables of Homework 9 (the spec may pass its own list). */
export const DEFAULT_ANSWER_VARIABLES = ['a1a', 'a2a', 'a3a'];

const HEADING = /^\s{0,3}#{1,6}\s+Problem\s+(\d+)\b\s*(?:[—–:-]\s*)?(.*)$/;
// name = number, then nothing or a comment. The name on the left decides, never the comment.
const ASSIGNMENT = /^(\s*)([A-Za-z_][A-Za-z0-9_]*)(\s*=\s*)([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(\s*(?:#.*)?)$/;
const DO_NOT_CHANGE = /do\s+not\s+change/i;

/** True for cells the homework forbids editing ("DO NOT change this cell in any way"). */
export function isProtectedCell(text: string): boolean {
  return DO_NOT_CHANGE.test(text);
}

export function findProblemHeading(cell: CellText, cellIndex: number): ProblemHeading | undefined {
  if (cell.kind !== 'markdown') return undefined;
  for (const line of cell.text.split('\n')) {
    const m = HEADING.exec(line.replace(/\r$/, ''));
    if (m) {
      const number = Number(m[1]);
      return { cellIndex, number, problemId: `problem${number}`, title: m[2].replace(/[*_`]/g, '').trim() };
    }
  }
  return undefined;
}

/** Assignments of graded variables in one code cell (none in protected cells). */
export function findAnswerAssignments(
  cell: CellText,
  cellIndex: number,
  variables: readonly string[] = DEFAULT_ANSWER_VARIABLES,
): AnswerAssignment[] {
  if (cell.kind !== 'code' || isProtectedCell(cell.text)) return [];
  const found: AnswerAssignment[] = [];
  let offset = 0;
  const lines = cell.text.split('\n');
  lines.forEach((rawLine, line) => {
    const text = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    const m = ASSIGNMENT.exec(text);
    if (m && variables.includes(m[2])) {
      const valueStart = offset + m[1].length + m[2].length + m[3].length;
      found.push({
        cellIndex, variable: m[2], valueText: m[4], value: Number(m[4]),
        valueStart, valueEnd: valueStart + m[4].length, line,
      });
    }
    offset += rawLine.length + 1;
  });
  return found;
}

export function analyzeHomework(cells: readonly CellText[], variables: readonly string[] = DEFAULT_ANSWER_VARIABLES): HomeworkNotebook {
  const problems: ProblemHeading[] = [];
  const answers: AnswerAssignment[] = [];
  const seenProblems = new Set<number>();
  // The problem whose section we are in (set by its first heading, ended by another problem's heading).
  let section: ProblemHeading | undefined;
  cells.forEach((cell, i) => {
    const h = findProblemHeading(cell, i);
    // The first heading of each problem is the one that gets the run button.
    if (h && !seenProblems.has(h.number)) { seenProblems.add(h.number); problems.push(h); section = h; }
    else if (h && h.number !== section?.number) section = undefined;
    if (section && section.codeCellIndex === undefined && cell.kind === 'code' && !isProtectedCell(cell.text)) section.codeCellIndex = i;
    for (const a of findAnswerAssignments(cell, i, variables)) answers.push(a);
  });
  return { problems, answers, isHomework: problems.length > 0 && answers.length > 0 };
}

/** The problems whose run button goes on cell `cellIndex`: its heading cell and its first code cell. */
export function runButtonProblems(hw: HomeworkNotebook, cellIndex: number): ProblemHeading[] {
  return hw.problems.filter((p) => p.cellIndex === cellIndex || p.codeCellIndex === cellIndex);
}

/** The notebook's way of writing a graded value: 4 decimals, like `print(f'a1a = {a1a:.4f}')`. */
export function formatAnswer(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`answer value ${value} is not a finite number`);
  return value.toFixed(4);
}
