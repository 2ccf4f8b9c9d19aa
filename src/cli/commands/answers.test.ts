import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './answers';
import { capture, config, metrics, sampleWorkspace } from '../testing';

test('answers: the best finished run per problem; exit 1 while an answer has no finished run', async () => {
  const { workspace, history } = sampleWorkspace();
  try {
    let r = await capture(() => main(['--workspace', workspace]));
    assert.equal(r.code, 1);
    assert.equal(r.stdout, [
      'a1a = 0.8584    # problem1, =MAX_LEN "256", LR=1.0e-5 (run r2)',
      'a2a = (no finished run of problem2)',
      'a3a = (no finished run of problem3)',
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
