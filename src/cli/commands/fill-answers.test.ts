import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, parseValues } from './fill-answers';
import { RunHistory } from '../../experiments/history';
import type { RunRecord } from '../../protocol';
import { buildIpynb } from '../../notebook/homeworkText';
import { miniNotebook } from '../../notebook/testing';
import { capture as captureStreams, config, metrics } from '../testing';

const HOMEWORK = '../shared/homework/homework-09-notebook.txt';
const skip = existsSync(HOMEWORK) ? false : `${HOMEWORK} not found (shared material absent)`;

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = console.log, err = console.error;
  console.log = (...a: unknown[]) => { lines.push(a.join(' ')); };
  console.error = (...a: unknown[]) => { lines.push(a.join(' ')); };
  try { return { code: await fn(), out: lines.join('\n') }; } finally { console.log = log; console.error = err; }
}

function finishedRun(id: string, problem: string, key: string, valAcc: number, createdAt: string): RunRecord {
  return {
    id, status: 'finished', createdAt, endedAt: createdAt, history: [],
    config: { problem, key, label: key, model: 'm', maxLen: 128, learningRate: 2e-5, batchSize: 32, epochs: 3, evalBatchSize: 64, subsetFrac: 0.25, seed: 42, data: '/d', patience: 2 },
    metrics: { testAccuracy: 0.8, testF1: 0.8, confusion: [[1, 0], [0, 1]], valAccuracyAtMinValLoss: valAcc, bestEpoch: 1, trainSeconds: 1, totalSeconds: 2, stepsPerSecond: 1, examplesPerSecond: 1 },
  };
}

test('parseValues', () => {
  assert.deepEqual(parseValues('a1a=0.9, a2a = .93'), { a1a: 0.9, a2a: 0.93 });
  assert.throws(() => parseValues('a1a=zero'), /a1a=zero is not an answer: give a decimal number in \[0, 1\]/);
  assert.throws(() => parseValues('a1a 0.5'), /"a1a 0.5" is not NAME=NUMBER/);
  assert.throws(() => parseValues(''), /no values/);
});

test('fill-answers: --values, then from the run history; prints what changed; file otherwise identical', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bert-lab-fill-'));
  try {
    const nb = join(dir, 'Homework_09.ipynb');
    const original = buildIpynb(readFileSync(HOMEWORK, 'utf8'), { resetAnswers: true });
    writeFileSync(nb, original);

    let r = await capture(() => main(['--notebook', nb, '--values', 'a2a=0.93436']));
    assert.equal(r.code, 0);
    assert.match(r.out, /a2a: 0\.0 -> 0\.9344 \(cell \d+, line 4\)/);
    assert.equal(readFileSync(nb, 'utf8'), original.replace('a2a = 0.0', 'a2a = 0.9344'));

    const history = new RunHistory(dir);
    history.save(finishedRun('r1', 'problem1', 'k1', 0.8392, '2026-01-01T00:00:01Z'));
    history.save(finishedRun('r2', 'problem1', 'k2', 0.8584, '2026-01-01T00:00:02Z'));
    r = await capture(() => main(['--notebook', nb, '--workspace', dir, '--dry-run']));
    assert.equal(r.code, 0);
    assert.match(r.out, /a1a: 0\.0 -> 0\.8584/);
    assert.match(r.out, /a3a: no finished run of problem3/);
    assert.match(r.out, /would change 1 answer/);
    assert.equal(readFileSync(nb, 'utf8'), original.replace('a2a = 0.0', 'a2a = 0.9344'), 'dry run wrote');

    r = await capture(() => main(['--notebook', nb, '--workspace', dir]));
    assert.equal(r.code, 0);
    assert.equal(readFileSync(nb, 'utf8'), original.replace('a2a = 0.0', 'a2a = 0.9344').replace('a1a = 0.0', 'a1a = 0.8584'));

    r = await capture(() => main(['--notebook', join(dir, 'missing.ipynb'), '--values', 'a1a=1']));
    assert.fail('expected an error');
  } catch (e) {
    assert.match((e as Error).message, /missing\.ipynb: cannot read the notebook \(ENOENT\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--values: an answer is a decimal number in [0, 1]', () => {
  assert.deepEqual(parseValues('a1a=1,a2a=0,a3a=0.9144'), { a1a: 1, a2a: 0, a3a: 0.9144 });
  for (const bad of ['a1a=-0.5', 'a1a=1.5', 'a1a=0x1', 'a1a=1e-1', 'a1a=+0.5', 'a1a=Infinity', 'a1a=0.5.1']) {
    assert.throws(() => parseValues(bad), /is not an answer: give a decimal number in \[0, 1\]/, bad);
  }
  assert.throws(() => parseValues('a1a=0.5,a1a=0.6'), /a1a is given twice/);
});

test('fill-answers refuses a quick/tiny result or a non-placeholder without --force (file untouched, exit 1); --force writes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bert-lab-fill-guard-'));
  try {
    const nb = join(dir, 'hw.ipynb');
    const before = miniNotebook(['a1a = 0.0  # Replace 0.0 with your answer\n']);
    writeFileSync(nb, before);
    const history = new RunHistory(dir);
    history.save({
      id: 'q1', status: 'finished', createdAt: '2026-01-01T00:00:01Z', endedAt: '2026-01-01T00:00:09Z', history: [],
      config: config('problem1', 'len16-lr2e-05', 'MAX_LEN=16', { model: '/x/models/distilbert-tiny-random', limitTrain: 64, limitEval: 32 }),
      metrics: metrics(0.5),
    });
    let r = await captureStreams(() => main(['--notebook', nb, '--workspace', dir]));
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `bert-lab fill-answers: ${nb}: not changed: the new value comes from a quick run with distilbert-tiny-random; pass --force to write anyway\n`);
    assert.equal(readFileSync(nb, 'utf8'), before, 'byte for byte untouched');
    r = await captureStreams(() => main(['--notebook', nb, '--workspace', dir, '--force']));
    assert.equal(r.code, 0, r.stderr);
    const filled = before.replace('a1a = 0.0', 'a1a = 0.5000');
    assert.equal(readFileSync(nb, 'utf8'), filled);
    // Now a1a holds 0.5000: a user value over it is a replacement, refused without --force.
    r = await captureStreams(() => main(['--notebook', nb, '--values', 'a1a=0.9']));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^bert-lab fill-answers: .*hw\.ipynb: not changed: a1a is 0\.5000 in the notebook, not the 0\.0 placeholder; pass --force to write anyway\n$/);
    assert.equal(readFileSync(nb, 'utf8'), filled);
    r = await captureStreams(() => main(['--notebook', nb, '--values', 'a1a=1.5']));
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'bert-lab fill-answers: --values: a1a=1.5 is not an answer: give a decimal number in [0, 1], e.g. a1a=0.9144\n');
    r = await captureStreams(() => main(['--notebook', nb, '--values', 'a1a=0.9', '--force']));
    assert.equal(r.code, 0);
    assert.equal(readFileSync(nb, 'utf8'), before.replace('a1a = 0.0', 'a1a = 0.9000'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
