// Filling answers into a notebook file on disk: read, edit the literals, write atomically
// (temp file + rename), so a crash leaves either the old or the new file, never half of one.
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fillAnswersInText, FillResult } from './fill';

export async function atomicWriteFile(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  let mode: number | undefined;
  try { mode = (await stat(path)).mode & 0o777; } catch { /* new file */ }
  try {
    await writeFile(tmp, text, { encoding: 'utf8', mode, flag: 'wx' });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Fills `values` into the notebook at `path`; writes only when something changed. */
export async function fillNotebookFile(path: string, values: Record<string, number>, opts: { dryRun?: boolean } = {}): Promise<FillResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`${path}: cannot read the notebook (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const result = fillAnswersInText(text, values, path);
  if (result.changes.length > 0 && !opts.dryRun) await atomicWriteFile(path, result.text);
  return result;
}

/** "a1a: 0.0 -> 0.9144 (cell 17, line 3)" lines for people. */
export function describeFill(result: Pick<FillResult, 'changes' | 'unchanged' | 'missing'>): string[] {
  const lines = result.changes.map((c) => `${c.variable}: ${c.before} -> ${c.after} (cell ${c.cellIndex + 1}, line ${c.line + 1})`);
  lines.push(...result.unchanged.map((c) => `${c.variable}: already ${c.after} (cell ${c.cellIndex + 1})`));
  lines.push(...result.missing.map((v) => `${v}: no answer cell assigns it in this notebook`));
  return lines;
}
