import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './runs';
import { capture, sampleWorkspace } from '../testing';

test('runs: one row per configuration, oldest first, with status, tries, metrics and error; --json is what is shown', async () => {
  const { workspace, history } = sampleWorkspace();
  try {
    const r = await capture(() => main(['--workspace', workspace]));
    assert.equal(r.code, 0);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^id\s+problem\s+config\s+status\s+tries\s+val@minloss\s+test acc\s+F1\s+time\s+note\s+error$/);
    assert.equal(lines.length, 6, r.stdout);
    assert.match(lines[1], /^r1\s+problem1\s+MAX_LEN=128, LR=2\.0e-5\s+finished\s+1\s+0\.8392\s+0\.8125\s+0\.8000\s+12\.3s$/);
    assert.match(lines[2], /^r2\s+problem1\s+=MAX_LEN "256", LR=1\.0e-5\s+finished\s+1\s+0\.8584\s+0\.8125\s+0\.8000\s+20\.0s$/);
    assert.match(lines[3], /^r3\s+problem1\s+MAX_LEN=512, LR=5\.0e-6\s+failed\s+1\s+out of memory at batch 4$/, "a two-line error stays on its row");
    assert.match(lines[4], /^r4\s+problem2\s+SUBSET_FRAC=0\.5\s+interrupted\s+1\s+interrupted: the process \(pid \d+\) that ran it is gone$/);
    assert.match(lines[5], /^r5\s+problem3\s+DistilBERT\s+cancelled\s+1$/);
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

test('runs: the latest attempt per configuration by default, --all for every attempt; quick/tiny results marked', async () => {
  const { workspace, history } = sampleWorkspace();
  try {
    // r4 (interrupted) and r3 (failed) were tried again; the retry of r4 finished.
    const r3 = history.get('r3')!, r4 = history.get('r4')!;
    history.save({ ...r3, id: 'r3b', createdAt: '2026-01-01T00:01:03Z', status: 'interrupted', pid: 2 ** 22 + 12345 });
    history.save({ ...r4, id: 'r4b', createdAt: '2026-01-01T00:01:04Z', status: 'finished', pid: undefined, metrics: history.get('r1')!.metrics });
    const tiny = { ...history.get('r1')!, id: 'q1', createdAt: '2026-01-01T00:02:00Z', config: { ...history.get('r1')!.config, model: '/models/distilbert-tiny-random', limitTrain: 64, limitEval: 32 } };
    history.save(tiny);
    const r = await capture(() => main(['--workspace', workspace]));
    const lines = r.stdout.trimEnd().split('\n');
    assert.deepEqual(lines.slice(1, 7).map((l) => l.split(/\s{2,}/)[0]), ['r1', 'r2', 'r5', 'r3b', 'r4b', 'q1']);
    assert.match(lines.find((l) => l.startsWith('r3b'))!, /\sinterrupted\s+2\s/);
    assert.match(lines.find((l) => l.startsWith('r4b'))!, /\sfinished\s+2\s+0\.8392/);
    assert.match(lines.find((l) => l.startsWith('q1'))!, /\s12\.3s\s+quick, tiny model$/);
    assert.ok(lines.includes("note: quick run with distilbert-tiny-random — a first try, not the homework's numbers"), r.stdout);
    assert.ok(lines.includes('(2 earlier attempts not shown: --all lists every attempt)'), r.stdout);

    const all = await capture(() => main(['--workspace', workspace, '--all']));
    const allLines = all.stdout.trimEnd().split('\n');
    assert.doesNotMatch(allLines[0], /tries/);
    assert.deepEqual(allLines.slice(1, 9).map((l) => l.split(/\s{2,}/)[0]), ['r1', 'r2', 'r3', 'r4', 'r5', 'r3b', 'r4b', 'q1']);
    const json = JSON.parse((await capture(() => main(['--workspace', workspace, '--all', '--json']))).stdout) as unknown[];
    assert.equal(json.length, 8);
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
});

test('runs: a run.json that is valid JSON but lacks fields is reported on stderr and skipped', async () => {
  const { workspace } = sampleWorkspace();
  try {
    const file = join(workspace, '.bert-lab', 'runs', 'r1', 'run.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), metrics: {} }));
    const r = await capture(() => main(['--workspace', workspace]));
    assert.equal(r.code, 0);
    assert.equal(r.stderr, `bert-lab: skipping ${file}: metrics.testAccuracy is missing or not a number\n`);
    assert.equal(r.stdout.trimEnd().split('\n').length, 5);
    assert.doesNotMatch(r.stdout, /^r1\s/m);
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
