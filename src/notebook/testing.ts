// Test helper (imported by *.test.ts only): a minimal homework-like notebook without ../shared.

/** A small homework-like notebook: a Problem 1 heading and an answer cell. */
export function miniNotebook(answerSource: string[], extra: { outputs?: unknown[]; bigSource?: string } = {}): string {
  return JSON.stringify({
    cells: [
      { cell_type: 'markdown', metadata: {}, source: ['## Problem 1 — Mini sweep\n'] },
      { cell_type: 'code', metadata: {}, execution_count: null, outputs: extra.outputs ?? [], source: extra.bigSource ? [extra.bigSource, '\n', 'x = 1\n'] : ['x = 1\n'] },
      { cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source: answerSource },
    ],
    metadata: { colab: { provenance: [] } }, nbformat: 4, nbformat_minor: 0,
  }, null, 2);
}
