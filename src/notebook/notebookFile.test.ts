// Filling a notebook file: duplicate assignments refused (both lines named), answers outside [0, 1]
// refused, read-only notebooks refused (file untouched, no temp file), mode kept, the fill decision
// guard (refuse without force, write with it), and a 5 MB line (a Colab inline image) in a cell's
// source and in its outputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fillAnswersInText } from './fill';
import { fillNotebookFile } from './notebookFile';
import { miniNotebook } from './testing';

function withTmp(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bert-lab-nbfile-'));
    try { await fn(dir); } finally { chmodSync(dir, 0o755); rmSync(dir, { recursive: true, force: true }); }
  };
}

test('a cell that assigns the same answer twice is refused, naming both lines', () => {
  const text = miniNotebook(['# Set a1a\n', 'a1a = 0.0  # Replace 0.0 with your answer\n', 'print(a1a)\n', 'a1a = 0.5\n']);
  assert.throws(() => fillAnswersInText(text, { a1a: 0.9 }, 'hw.ipynb'),
    (e: Error) => e.message === 'hw.ipynb: cell 3 assigns a1a twice (lines 2 and 4); keep one assignment and fill again');
  // Another variable of the same cell is not affected by a1a's duplicate... but the cell is still ambiguous for a1a only.
  const ok = miniNotebook(['a1a = 0.0\n', 'a2a = 0.0\n']);
  assert.equal(fillAnswersInText(ok, { a1a: 0.9, a2a: 0.8 }).changes.length, 2);
});

test('answers outside [0, 1] are refused', () => {
  const text = miniNotebook(['a1a = 0.0\n']);
  for (const v of [-0.5, 1.5, Number.NaN]) assert.throws(() => fillAnswersInText(text, { a1a: v }, 'hw.ipynb'), /the value for a1a .* (is not in \[0, 1\]|not a finite number)/);
  assert.equal(fillAnswersInText(text, { a1a: 1 }).changes[0]!.after, '1.0000');
  assert.equal(fillAnswersInText(text, { a1a: 0 }).unchanged.length, 0, '0.0000 differs from the literal 0.0');
});

test('a read-only notebook is refused: file untouched, no temp file; a writable one keeps its mode', withTmp(async (dir) => {
  const nb = join(dir, 'hw.ipynb');
  const before = miniNotebook(['a1a = 0.0  # Replace 0.0 with your answer\n']);
  writeFileSync(nb, before);
  chmodSync(nb, 0o444);
  await assert.rejects(fillNotebookFile(nb, { a1a: 0.9 }), (e: Error) => e.message === `cannot write ${nb}: permission denied (the file or its folder is read-only)`);
  assert.equal(readFileSync(nb, 'utf8'), before);
  assert.equal(statSync(nb).mode & 0o777, 0o444);
  assert.deepEqual(readdirSync(dir), ['hw.ipynb']);

  chmodSync(nb, 0o640);
  const r = await fillNotebookFile(nb, { a1a: 0.9 });
  assert.equal(r.written, true);
  assert.equal(readFileSync(nb, 'utf8'), before.replace('a1a = 0.0', 'a1a = 0.9000'));
  assert.equal(statSync(nb).mode & 0o777, 0o640, 'mode kept');
  assert.equal(statSync(nb).uid, process.getuid!(), 'owner kept');
  assert.deepEqual(readdirSync(dir), ['hw.ipynb']);
  if (process.getuid!() === 0) {
    // Root can show that another user's notebook stays theirs (the rename would otherwise make it root's).
    chownSync(nb, 1234, 2345);
    await fillNotebookFile(nb, { a1a: 0.8 });
    assert.deepEqual([statSync(nb).uid, statSync(nb).gid, statSync(nb).mode & 0o777], [1234, 2345, 0o640]);
    assert.match(readFileSync(nb, 'utf8'), /a1a = 0\.8000/);
  }
}));

test('the guard: a non-placeholder or a quick/tiny value is refused without force (nothing written), written with it', withTmp(async (dir) => {
  const nb = join(dir, 'hw.ipynb');
  const before = miniNotebook(['a1a = 0.9144  # Replace 0.0 with your answer\n', 'a2a = 0.0\n']);
  writeFileSync(nb, before);
  let r = await fillNotebookFile(nb, { a1a: 0.5, a2a: 0.6 }, { guard: { caveats: { a2a: 'quick run with distilbert-tiny-random' } } });
  assert.equal(r.written, false);
  assert.deepEqual(r.refused.map((c) => [c.variable, c.reasons]), [
    ['a1a', ['a1a is 0.9144 in the notebook, not the 0.0 placeholder']],
    ['a2a', ['the new value comes from a quick run with distilbert-tiny-random']],
  ]);
  assert.equal(readFileSync(nb, 'utf8'), before, 'byte for byte untouched');
  // Placeholder and no caveat: written without asking.
  r = await fillNotebookFile(nb, { a2a: 0.6 }, { guard: {} });
  assert.equal(r.written, true);
  assert.deepEqual(r.refused, []);
  r = await fillNotebookFile(nb, { a1a: 0.5 }, { guard: { force: true } });
  assert.equal(r.written, true);
  assert.equal(r.refused.length, 1);
  assert.equal(readFileSync(nb, 'utf8'), before.replace('a1a = 0.9144', 'a1a = 0.5000').replace('a2a = 0.0', 'a2a = 0.6000'));
}));

test('a 5 MB line in a cell source and in an output (Colab inline image) fills without a stack overflow', () => {
  const image = 'iVBORw0KGgo'.repeat(Math.ceil(5_000_000 / 11)).slice(0, 5_000_000);
  const text = miniNotebook(['a1a = 0.0\n'], {
    bigSource: `img = "${image}"`,
    outputs: [{ output_type: 'display_data', data: { 'image/png': image, 'text/plain': ['<Figure>'] }, metadata: {} }],
  });
  assert.ok(text.length > 10_000_000);
  const t0 = performance.now();
  const r = fillAnswersInText(text, { a1a: 0.9144 }, 'big.ipynb');
  console.log(`# filled a ${(text.length / 1e6).toFixed(1)} MB notebook (two 5 MB lines) in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  assert.equal(r.changes.length, 1);
  assert.equal(r.text, text.replace('a1a = 0.0', 'a1a = 0.9144'));
});
