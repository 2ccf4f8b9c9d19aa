import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { analyzeHomework, runButtonProblems, type CellText } from './homework';
import { readRawNotebook } from './fill';
import { buildIpynb } from './homeworkText';

const HOMEWORK = '../shared/homework/homework-09-notebook.txt';
const skip = existsSync(HOMEWORK) ? false : `${HOMEWORK} not found (shared material absent)`;

const md = (text: string): CellText => ({ kind: 'markdown', text });
const code = (text: string): CellText => ({ kind: 'code', text });

test('run button cells: each problem\'s heading and the first code cell of its section', () => {
  const cells = [
    md('# Intro\n* **Problem 1:** sweep'),        // 0
    code('SEED = 42'),                              // 1: before any problem
    md('# Problem 1 — Sweep'),                      // 2
    md('### Run these 6 configurations'),           // 3
    code('# Your code here'),                       // 4: Problem 1's code
    code('more = 1'),                               // 5
    code('a1a = 0.0  # Replace 0.0'),               // 6
    md('## Problem 2 — Data'),                      // 7
    code('# Graded Answer\n# DO NOT change this cell in any way\nprint(a2a)'), // 8: protected, skipped
    code('a2a = 0.0'),                              // 9: Problem 2's first editable code cell
    md('# Problem 3 — Models'),                     // 10
    md('text only'),                                // 11: Problem 3 has no code cell
  ];
  const hw = analyzeHomework(cells);
  assert.deepEqual(hw.problems.map((p) => [p.problemId, p.cellIndex, p.codeCellIndex]), [
    ['problem1', 2, 4], ['problem2', 7, 9], ['problem3', 10, undefined],
  ]);
  const at = (i: number) => runButtonProblems(hw, i).map((p) => p.problemId);
  assert.deepEqual(cells.map((_, i) => at(i)), [
    [], [], ['problem1'], [], ['problem1'], [], [], ['problem2'], [], ['problem2'], ['problem3'], [],
  ]);
});

test('a repeated heading of the same problem keeps its section; another problem\'s heading ends it', () => {
  const hw = analyzeHomework([
    md('# Problem 1'), md('## Problem 1 — setup'), code('x = 1'),   // 0-2: code cell 2 is Problem 1's
    md('# Problem 2'), md('# Problem 1 recap'), code('y = 2'),      // 3-5: a later Problem 1 heading is not a new section
    code('a1a = 0.0'),
  ]);
  assert.deepEqual(hw.problems.map((p) => [p.cellIndex, p.codeCellIndex]), [[0, 2], [3, undefined]]);
});

test('in the homework notebook the run button also sits on each problem\'s "Your code here" cell', { skip }, () => {
  const nb = readRawNotebook(buildIpynb(readFileSync(HOMEWORK, 'utf8')), 'hw.ipynb');
  const hw = nb.homework;
  assert.equal(hw.problems.length, 3);
  for (const p of hw.problems) {
    assert.ok(p.codeCellIndex !== undefined && p.codeCellIndex > p.cellIndex, `${p.problemId}: no code cell`);
    assert.match(nb.cells[p.codeCellIndex].text, /Your code here/, `${p.problemId}: cell ${p.codeCellIndex}`);
    assert.deepEqual(runButtonProblems(hw, p.codeCellIndex).map((x) => x.problemId), [p.problemId]);
    assert.deepEqual(runButtonProblems(hw, p.cellIndex).map((x) => x.problemId), [p.problemId]);
  }
});
