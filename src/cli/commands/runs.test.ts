import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './runs';
import { capture, sampleWorkspace } from '../testing';

test('runs: one row per run, oldest first, with status, metrics and error; --json is the history', async () => {
  const { workspace, history } = sampleWorkspace();
  try {
    const r = await capture(() => main(['--workspace', workspace]));
    assert.equal(r.code, 0);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^id\s+problem\s+config\s+status\s+val@minloss\s+test acc\s+F1\s+time\s+error$/);
    assert.equal(lines.length, 6, r.stdout);
    assert.match(lines[1], /^r1\s+problem1\s+MAX_LEN=128, LR=2\.0e-5\s+finished\s+0\.8392\s+0\.8125\s+0\.8000\s+12\.3s$/);
    assert.match(lines[2], /^r2\s+problem1\s+=MAX_LEN "256", LR=1\.0e-5\s+finished\s+0\.8584\s+0\.8125\s+0\.8000\s+20\.0s$/);
    assert.match(lines[3], /^r3\s+problem1\s+MAX_LEN=512, LR=5\.0e-6\s+failed\s+out of memory at batch 4$/, "a two-line error stays on its row");
    assert.match(lines[4], /^r4\s+problem2\s+SUBSET_FRAC=0\.5\s+interrupted\s+interrupted: the process \(pid \d+\) that ran it is gone$/);
    assert.match(lines[5], /^r5\s+problem3\s+DistilBERT\s+cancelled$/);
    // Columns line up: every row has its status where the header has "status".
    const col = lines[0].indexOf('status');
    for (const l of lines.slice(1)) assert.match(l.slice(col), /^(finished|failed|interrupted|cancelled)\b/, l);

    const j = await capture(() => main(['--workspace', workspace, '--json']));
    assert.equal(j.code, 0);
    assert.deepEqual(JSON.parse(j.stdout), history.list());
    assert.deepEqual((JSON.parse(j.stdout) as Array<{ status: string }>).map((x) => x.status), ['finished', 'finished', 'failed', 'interrupted', 'cancelled']);
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
});

test('runs: an empty workspace says so; a missing workspace or unknown option is an error', async () => {
  const ws = mkdtempSync(join(tmpdir(), 'bert-lab-cli-'));
  try {
    const r = await capture(() => main(['--workspace', ws]));
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `no runs in ${join(ws, '.bert-lab', 'runs')}\n`);
    await assert.rejects(main(['--workspace', join(ws, 'nope')]), /--workspace .*nope: no such folder/);
    await assert.rejects(main(['--workspace', ws, '--bogus']), /Unknown option '--bogus'/);
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
});
