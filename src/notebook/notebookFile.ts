// Filling answers into a notebook file on disk: read, edit the literals, write atomically through the
// one atomic writer (src/files/atomic.ts): a crash leaves either the old or the new file, a read-only
// notebook is refused, its mode and owner are kept, and errors name the notebook, not a temp file.
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../files/atomic';
import { fillAnswersInText, type AnswerChange, type FillResult } from './fill';
import { decideFill } from './fillDecision';

/** Writes `text` to `path` atomically (kept for callers of the earlier helper; see writeFileAtomic). */
export async function atomicWriteFile(path: string, text: string): Promise<void> {
  writeFileAtomic(path, text, { mkdir: false });
}

export interface FillFileOptions {
  /** Compute and report, write nothing. */
  dryRun?: boolean;
  /**
   * Apply decideFill to every change: one that needs the student's confirmation (a quick/tiny result,
   * or a value that is not the notebook's 0.0 placeholder) is refused, and then nothing is written,
   * unless `force`. `caveats` per variable come from resultCaveat of the run the value comes from.
   */
  guard?: { force?: boolean; caveats?: Record<string, string | undefined> };
}

export interface RefusedChange extends AnswerChange {
  question: string;
  reasons: string[];
}

export interface FileFillResult extends FillResult {
  /** Changes that need confirmation (empty without `guard`). With `force` they are written anyway. */
  refused: RefusedChange[];
  /** Whether the file was written. */
  written: boolean;
}

/** Fills `values` into the notebook at `path`; writes only when something changed and nothing was refused. */
export async function fillNotebookFile(path: string, values: Record<string, number>, opts: FillFileOptions = {}): Promise<FileFillResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`${path}: cannot read the notebook (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const result = fillAnswersInText(text, values, path);
  const refused: RefusedChange[] = [];
  if (opts.guard) {
    for (const c of result.changes) {
      const d = decideFill(c.before, { variable: c.variable, value: values[c.variable]!, caveat: opts.guard.caveats?.[c.variable] });
      if (d.kind === 'confirm') refused.push({ ...c, question: d.question, reasons: d.reasons });
    }
  }
  const blocked = refused.length > 0 && !opts.guard?.force;
  const written = result.changes.length > 0 && !opts.dryRun && !blocked;
  if (written) writeFileAtomic(path, result.text, { mkdir: false });
  return { ...result, refused, written };
}

/** "a1a: 0.0 -> 0.9144 (cell 17, line 3)" lines for people. */
export function describeFill(result: Pick<FillResult, 'changes' | 'unchanged' | 'missing'>): string[] {
  const lines = result.changes.map((c) => `${c.variable}: ${c.before} -> ${c.after} (cell ${c.cellIndex + 1}, line ${c.line + 1})`);
  for (const c of result.unchanged) lines.push(`${c.variable}: already ${c.after} (cell ${c.cellIndex + 1})`);
  for (const v of result.missing) lines.push(`${v}: no answer cell assigns it in this notebook`);
  return lines;
}
