import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './answers';
import { capture, config, metrics, sampleWorkspace } from '../testing';
import { RunHistory } from '../../experiments/history';

test('answers: the best finished run per problem; exit 1 while an answer has no finished run', async () => {
  const { workspace, history } = sampleWorkspace();
  try {
    let r = await capture(() => main(['--workspace', workspace]));
    assert.equal(r.code, 1);
    assert.equal(r.stdout, [
      'a1a = 0.8584    # problem1, =MAX_LEN "256", LR=1.0e-5 (run r2)',
      'a2a = (none: no finished run of problem2)',
      'a3a = (none: no finished run of problem3)',
      '',
    ].join('\n'));

    const j = await capture(() => main(['--workspace', workspace, '--json']));
    assert.equal(j.code, 0);
    const answers = JSON.parse(j.stdout) as Array<{ variable: string; value: number | null; runId?: string }>;
    assert.deepEqual(answers.map((a) => [a.variable, a.value, a.runId]), [['a1a', 0.8584, 'r2'], ['a2a', null, undefined], ['a3a', null, undefined]]);

    history.save({ id: 'r6', status: 'finished', createdAt: '2026-01-01T00:00:06Z', endedAt: '2026-01-01T00:04:00Z', config: config('problem2', 'frac1', 'SUBSET_FRAC=1'), history: [], metrics: metrics(0.91234) });
    history.save({ id: 'r7', status: 'finished', createdAt: '2026-01-01T00:00:07Z', endedAt: '2026-01-01T00:05:00Z', config: config('problem3', 'bert', 'BERT-base'), history: [], metrics: metrics(0.87655) });
    r = await capture(() => main(['--workspace', workspace]));
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^a2a = 0\.9123    # problem2, SUBSET_FRAC=1 \(run r6\)$/m);
    assert.match(r.stdout, /^a3a = 0\.8766    # problem3, BERT-base \(run r7\)$/m);
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
});

test('answers: a missing workspace or a bad --spec file is a one-line error', async () => {
  const ws = mkdtempSync(join(tmpdir(), 'bert-lab-cli-'));
  try {
    await assert.rejects(main(['--workspace', join(ws, 'nope')]), /--workspace .*nope: no such folder/);
    const spec = join(ws, 'spec.json');
    writeFileSync(spec, '{ not json');
    await assert.rejects(main(['--workspace', ws, '--spec', spec]), (e: Error) => e.message.includes(spec) && !e.message.includes('\n'));
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
});

test('answers: a quick or tiny-model value says so; a tie says which rule broke it; an all-failed latest sweep has no answer', async () => {
  const ws = mkdtempSync(join(tmpdir(), 'bert-lab-cli-'));
  try {
    const history = new RunHistory(ws);
    const tiny = '/models/distilbert-tiny-random';
    history.save({ id: 'q1', status: 'finished', createdAt: '2026-01-01T00:00:01Z', endedAt: '2026-01-01T00:01:00Z', config: config('problem1', 'k1', 'MAX_LEN=16, LR=2.0e-05, BATCH=32', { model: tiny, limitTrain: 64, limitEval: 32 }), history: [], metrics: metrics(0.5) });
    history.save({ id: 'q2', status: 'finished', createdAt: '2026-01-01T00:00:02Z', endedAt: '2026-01-01T00:02:00Z', config: config('problem1', 'k2', 'MAX_LEN=16, LR=1.0e-05, BATCH=32', { model: tiny, limitTrain: 64, limitEval: 32, learningRate: 1e-5 }), history: [], metrics: metrics(0.5) });
    let r = await capture(() => main(['--workspace', ws]));
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'a1a = 0.5000    # problem1, MAX_LEN=16, LR=2.0e-05, BATCH=32 (run q1) — quick run with distilbert-tiny-random, not the homework\'s numbers');
    assert.equal(lines[1], "      # tie at 0.5000 between MAX_LEN=16, LR=2.0e-05, BATCH=32 and MAX_LEN=16, LR=1.0e-05, BATCH=32: the earlier run wins (as the notebook's max() keeps the first of equal values)");
    const j = JSON.parse((await capture(() => main(['--workspace', ws, '--json']))).stdout) as Array<{ caveat?: string; tie?: string }>;
    assert.equal(j[0].caveat, 'quick run with distilbert-tiny-random');
    assert.match(j[0].tie!, /^tie at 0\.5000/);

    // A later sweep with other data whose runs all failed: no answer (not the earlier data's).
    history.save({ id: 'f1', status: 'failed', failureStage: 'setup', createdAt: '2026-01-01T00:00:03Z', endedAt: '2026-01-01T00:03:00Z', config: config('problem1', 'k1', 'x', { data: '/other' }), history: [], error: 'no such data folder' });
    r = await capture(() => main(['--workspace', ws]));
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^a1a = \(none: the latest runs of problem1 \(data \/other\) failed and none with that setup finished\)$/m);
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
});

test('answers: a run.json with "metrics": {} is reported and skipped, not a crash', async () => {
  const { workspace } = sampleWorkspace();
  try {
    const file = join(workspace, '.bert-lab', 'runs', 'r2', 'run.json');
    const rec = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...rec, metrics: {} }));
    const r = await capture(() => main(['--workspace', workspace]));
    assert.equal(r.stderr, `bert-lab: skipping ${file}: metrics.testAccuracy is missing or not a number\n`);
    assert.match(r.stdout, /^a1a = 0\.8392 .*\(run r1\)$/m);
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
});
