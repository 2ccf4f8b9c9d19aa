import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fillAnswersInText, readRawNotebook } from './fill';
import { analyzeHomework, findAnswerAssignments } from './homework';
import { buildIpynb } from './homeworkText';

const HOMEWORK = '../shared/homework/homework-09-notebook.txt';
const skip = existsSync(HOMEWORK) ? false : `${HOMEWORK} not found (shared material absent)`;
const homeworkText = () => readFileSync(HOMEWORK, 'utf8');

/** Asserts that `after` differs from `before` only at the given literal swaps (in file order). */
function assertOnlySwapped(before: string, after: string, swaps: Array<[string, string]>) {
  let b = 0, a = 0;
  for (const [from, to] of swaps) {
    const at = before.indexOf(from, b);
    assert.ok(at >= 0, `"${from}" not found`);
    assert.equal(after.slice(a, a + (at - b)), before.slice(b, at), 'bytes before the edit changed');
    a += at - b;
    assert.equal(after.slice(a, a + to.length), to);
    a += to.length; b = at + from.length;
  }
  assert.equal(after.slice(a), before.slice(b), 'bytes after the last edit changed');
}

test('recognises the homework: three problem headings and three answer cells, never the DO NOT change cells', { skip }, () => {
  const nb = readRawNotebook(buildIpynb(homeworkText()), 'hw.ipynb');
  assert.ok(nb.homework.isHomework);
  assert.deepEqual(nb.homework.problems.map((p) => p.problemId), ['problem1', 'problem2', 'problem3']);
  assert.match(nb.homework.problems[0].title, /^Mini sweep/);
  assert.deepEqual(nb.homework.answers.map((a) => [a.variable, a.valueText]), [['a1a', '0.9144'], ['a2a', '0.9344'], ['a3a', '0.9386']]);
  for (const a of nb.homework.answers) assert.doesNotMatch(nb.cells[a.cellIndex].text, /DO NOT change/);
  // Problem 3's comment says a1a, the assignment is a3a: the variable decides.
  const p3 = nb.cells[nb.homework.answers[2].cellIndex].text;
  assert.match(p3, /Set a1a/);
  assert.match(p3, /^a3a = 0\.9386/m);
});

for (const [name, opts] of [
  ['Colab notebook (indent 2, raw UTF-8)', {}],
  ['Colab notebook with CRLF line endings and \\u escapes', { eol: '\r\n', asciiOnly: true }],
  ['Jupyter notebook (sorted keys, indent 1, final newline)', { flavour: 'jupyter' }],
] as const) {
  test(`fills a1a/a2a/a3a byte-for-byte: ${name}`, { skip }, () => {
    const before = buildIpynb(homeworkText(), { resetAnswers: true, ...opts });
    const r = fillAnswersInText(before, { a1a: 0.91444, a2a: 0.93436, a3a: 0.9 }, 'hw.ipynb');
    assert.deepEqual(r.changes.map((c) => [c.variable, c.before, c.after]), [['a1a', '0.0', '0.9144'], ['a2a', '0.0', '0.9344'], ['a3a', '0.0', '0.9000']]);
    assert.deepEqual(r.missing, []);
    assertOnlySwapped(before, r.text, [['a1a = 0.0', 'a1a = 0.9144'], ['a2a = 0.0', 'a2a = 0.9344'], ['a3a = 0.0', 'a3a = 0.9000']]);
    // Comments kept, protected cells untouched, the notebook still parses to the same structure.
    const parsedBefore = JSON.parse(before), parsedAfter = JSON.parse(r.text);
    assert.equal(parsedAfter.cells.length, parsedBefore.cells.length);
    const i = r.changes[0].cellIndex;
    assert.match(parsedAfter.cells[i].source.join(''), /^a1a = 0\.9144 +# Replace 0\.0 with your answer$/m);
    for (const [k, c] of parsedBefore.cells.entries()) if (k !== i && k !== r.changes[1].cellIndex && k !== r.changes[2].cellIndex) assert.deepEqual(parsedAfter.cells[k], c);
    assert.deepEqual(parsedAfter.metadata, parsedBefore.metadata);
    // Filling again with the same values changes nothing.
    const again = fillAnswersInText(r.text, { a1a: 0.91444, a2a: 0.93436, a3a: 0.9 });
    assert.equal(again.text, r.text);
    assert.equal(again.changes.length, 0);
    assert.equal(again.unchanged.length, 3);
  });
}

test('fills only the variables asked for and reports the missing ones', { skip }, () => {
  const before = buildIpynb(homeworkText());
  const r = fillAnswersInText(before, { a2a: 0.5, b9z: 1 });
  assert.deepEqual(r.changes.map((c) => c.variable), ['a2a']);
  assert.deepEqual(r.missing, ['b9z']);
  assertOnlySwapped(before, r.text, [['a2a = 0.9344', 'a2a = 0.5000']]);
});

test('hand-written edge cases: single-string source, escapes inside the number, no final newline, protected cell', () => {
  const nb = '{"cells":[' +
    '{"cell_type":"markdown","metadata":{},"source":"# Problem 1 \\u2014 Sweep\\n"},' +
    '{"cell_type":"code","metadata":{"id":"x"},"outputs":[],"source":"x = 1\\r\\na1a=\\u0030.5 # a2a\\r\\n"},' +
    '{"cell_type":"code","metadata":{},"outputs":[],"source":["# DO NOT change this cell\\n","a1a = 0.0"]},' +
    '{"cell_type":"code","metadata":{},"outputs":[],"source":["a2a = 1e-3"]}' +
    '],"metadata":{},"nbformat":4,"nbformat_minor":5}';
  const r = fillAnswersInText(nb, { a1a: 0.25, a2a: 0.12345 });
  assert.deepEqual(r.changes.map((c) => [c.variable, c.before, c.after, c.cellIndex]), [['a1a', '0.5', '0.2500', 1], ['a2a', '1e-3', '0.1235', 3]]);
  assert.equal(r.text, nb.replace('a1a=\\u0030.5', 'a1a=0.2500').replace('a2a = 1e-3', 'a2a = 0.1235'));
  const hw = analyzeHomework(readRawNotebook(nb).cells);
  assert.equal(hw.problems[0].title, 'Sweep');
});

test('only `name = number [# comment]` lines are answers', () => {
  const cell = (text: string) => findAnswerAssignments({ kind: 'code', text }, 0).map((a) => a.variable);
  assert.deepEqual(cell('a1a = 0.0   # Replace 0.0 with your answer'), ['a1a']);
  assert.deepEqual(cell('a1a = best[3]'), []);
  assert.deepEqual(cell('a1a = 0.9 + 0.1'), []);
  assert.deepEqual(cell("print(f'a1a = {a1a:.4f}')"), []);
  assert.deepEqual(cell('  a3a=.93  '), ['a3a']);
  assert.deepEqual(cell('# a1a = 0.5'), []);
  assert.deepEqual(cell('a4a = 0.5'), []);
});

test('bad input: one clear error naming the file', () => {
  assert.throws(() => fillAnswersInText('{"cells": [}', { a1a: 1 }, 'broken.ipynb'), /^Error: broken\.ipynb: invalid JSON at line 1, column 12/);
  assert.throws(() => fillAnswersInText('[]', { a1a: 1 }, 'list.ipynb'), /list\.ipynb: not a notebook/);
  assert.throws(() => fillAnswersInText('{"cells":[]}', { a1a: Number.NaN }, 'nan.ipynb'), /not a finite number/);
});
