// Filling graded answers into a .ipynb file's raw JSON text: only the numeric literal assigned to the
// answer variable changes; every other byte (other cells, outputs, ids, Colab metadata, key order,
// indentation, escapes, line endings) stays as it was.
import { analyzeHomework, type AnswerAssignment, CellText, DEFAULT_ANSWER_VARIABLES, formatAnswer, HomeworkNotebook } from './homework';
import { JsonNode, member, parseJsonWithPositions } from './jsonPositions';

export interface RawNotebook {
  cells: CellText[];
  /** Per cell: for each character of the cell text, its first and one-past-last offset in the file. */
  maps: Array<{ starts: number[]; ends: number[] } | undefined>;
  homework: HomeworkNotebook;
}

export interface AnswerChange {
  variable: string;
  cellIndex: number;
  line: number;
  before: string;
  after: string;
}

export interface FillResult {
  text: string;
  changes: AnswerChange[];
  /** Assignments already holding the value (4 decimals). */
  unchanged: AnswerChange[];
  /** Variables asked for but with no answer cell in the notebook. */
  missing: string[];
}

function cellSource(node: JsonNode | undefined, file: string, index: number): { text: string; starts: number[]; ends: number[] } | undefined {
  if (!node) return undefined;
  const parts = node.kind === 'string' ? [node] : node.kind === 'array' ? node.items : undefined;
  if (!parts) throw new Error(`${file}: cell ${index + 1} has a "source" that is neither a string nor a list`);
  let text = '';
  const starts: number[] = [];
  const ends: number[] = [];
  for (const p of parts) {
    if (p.kind !== 'string') throw new Error(`${file}: cell ${index + 1} has a non-string line in "source"`);
    text += p.value;
    // A loop, not push(...p.starts): a 300k-character line (a Colab inline image) overflows the stack.
    for (let k = 0; k < p.starts.length; k++) {
      starts.push(p.starts[k]!);
      ends.push(p.ends[k]!);
    }
  }
  return { text, starts, ends };
}

/** Reads the cells of a notebook's JSON text, keeping where each cell's characters sit in the file. */
export function readRawNotebook(text: string, file = 'notebook', variables: readonly string[] = DEFAULT_ANSWER_VARIABLES): RawNotebook {
  const root = parseJsonWithPositions(text, file);
  if (root.kind !== 'object') throw new Error(`${file}: not a notebook (the top level is not a JSON object)`);
  const cellsNode = member(root, 'cells');
  if (!cellsNode || cellsNode.kind !== 'array') throw new Error(`${file}: not a notebook (no "cells" list)`);
  const cells: CellText[] = [];
  const maps: RawNotebook['maps'] = [];
  cellsNode.items.forEach((c, i) => {
    if (c.kind !== 'object') throw new Error(`${file}: cell ${i + 1} is not an object`);
    const type = member(c, 'cell_type');
    const kind = type?.kind === 'string' && (type.value === 'markdown' || type.value === 'code') ? type.value : 'raw';
    const src = cellSource(member(c, 'source'), file, i);
    cells.push({ kind, text: src?.text ?? '' });
    maps.push(src && { starts: src.starts, ends: src.ends });
  });
  return { cells, maps, homework: analyzeHomework(cells, variables) };
}

/**
 * A cell that assigns the same answer twice is ambiguous (which line does the grader read?): refused,
 * naming both lines, rather than silently rewriting both.
 */
export function checkDuplicateAssignments(nb: RawNotebook, file: string): void {
  const seen = new Map<string, AnswerAssignment>();
  for (const a of nb.homework.answers) {
    const key = `${a.cellIndex}\0${a.variable}`;
    const first = seen.get(key);
    if (first) {
      throw new Error(`${file}: cell ${a.cellIndex + 1} assigns ${a.variable} twice (lines ${first.line + 1} and ${a.line + 1}); keep one assignment and fill again`);
    }
    seen.set(key, a);
  }
}

/**
 * Returns `text` with each graded variable in `values` set (4 decimals). Every assignment of the
 * variable in a non-protected code cell is updated (the notebook has one per answer cell); a cell that
 * assigns it twice is an error.
 */
export function fillAnswersInText(text: string, values: Record<string, number>, file = 'notebook'): FillResult {
  const variables = Object.keys(values);
  for (const v of variables) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) throw new Error(`"${v}" is not a notebook variable name`);
    if (!Number.isFinite(values[v])) throw new Error(`the value for ${v} (${values[v]}) is not a finite number`);
    // Every graded answer is an accuracy.
    if (values[v]! < 0 || values[v]! > 1) throw new Error(`the value for ${v} (${values[v]}) is not in [0, 1]`);
  }
  const nb = readRawNotebook(text, file, variables);
  checkDuplicateAssignments(nb, file);
  const edits: Array<{ start: number; end: number; value: string }> = [];
  const changes: AnswerChange[] = [];
  const unchanged: AnswerChange[] = [];
  for (const a of nb.homework.answers) {
    const after = formatAnswer(values[a.variable]);
    const change = { variable: a.variable, cellIndex: a.cellIndex, line: a.line, before: a.valueText, after };
    if (a.valueText === after) { unchanged.push(change); continue; }
    const map = nb.maps[a.cellIndex]!;
    edits.push({ start: map.starts[a.valueStart], end: map.ends[a.valueEnd - 1], value: after });
    changes.push(change);
  }
  edits.sort((x, y) => y.start - x.start);
  let out = text;
  for (const e of edits) out = out.slice(0, e.start) + e.value + out.slice(e.end);
  const present = new Set(nb.homework.answers.map((a) => a.variable));
  return { text: out, changes, unchanged, missing: variables.filter((v) => !present.has(v)) };
}
