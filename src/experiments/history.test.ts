import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunHistory, writeFileAtomic } from './history';
import { computeAnswers } from './answers';
import { toCsv, toJson, csvCell } from './export';
import { HOMEWORK9, planProblem } from './spec';
import type { RunRecord } from '../protocol';

const [c1, c2] = planProblem(HOMEWORK9, 'problem1', { data: '/d', model: '/m' }, []);
const rec = (id: string, patch: Partial<RunRecord> = {}): RunRecord => ({ id, config: c1, status: 'finished', createdAt: '2026-01-01T00:00:00Z', history: [], ...patch });

test('atomic write leaves no temp file and replaces the content', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hist-'));
  const f = join(dir, 'a', 'run.json');
  writeFileAtomic(f, 'one');
  writeFileAtomic(f, 'two');
  assert.equal(readFileSync(f, 'utf8'), 'two');
  assert.deepEqual(readdirSync(join(dir, 'a')), ['run.json']);
});

test('save/list/get/delete; dead owner -> interrupted; corrupt file reported, skipped, kept', () => {
  const ws = mkdtempSync(join(tmpdir(), 'hist-'));
  const warnings: string[] = [];
  const h = new RunHistory(ws, (l) => warnings.push(l));
  assert.deepEqual(h.list(), []);
  h.save(rec('r1', { createdAt: '2026-01-01T00:00:02Z' }));
  h.save(rec('r2', { status: 'running', pid: process.pid, createdAt: '2026-01-01T00:00:01Z' }));
  h.save(rec('r3', { status: 'running', pid: 2 ** 22 + 12345, createdAt: '2026-01-01T00:00:03Z' })); // no such pid
  h.save(rec('r4', { status: 'queued', pid: 2 ** 22 + 12345, createdAt: '2026-01-01T00:00:04Z' }));
  mkdirSync(join(h.root, 'bad'));
  writeFileSync(join(h.root, 'bad', 'run.json'), '{"id": "bad", "status": "fini');
  const list = h.list();
  assert.deepEqual(list.map((r) => [r.id, r.status]), [['r2', 'running'], ['r1', 'finished'], ['r3', 'interrupted'], ['r4', 'interrupted']]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /bad[\\/]run\.json/);
  assert.ok(existsSync(join(h.root, 'bad', 'run.json')), 'corrupt file kept');
  assert.equal(h.get('r1')?.status, 'finished');
  assert.equal(h.get('../x'), undefined);
  h.delete('r1');
  assert.equal(h.get('r1'), undefined);
  assert.throws(() => h.runDir('..'), /invalid run id/);
});

test('answers: best val accuracy at min val loss within the latest setup; export CSV/JSON', () => {
  const m = (v: number) => ({ testAccuracy: 0.8, testF1: 0.7, confusion: [[40, 10], [5, 45]], valAccuracyAtMinValLoss: v, bestEpoch: 1, trainSeconds: 1, totalSeconds: 2, stepsPerSecond: 3, examplesPerSecond: 4 });
  const quick = { ...c2, limitTrain: 64, limitEval: 32, key: `${c2.key}-q` };
  const runs = [
    rec('a', { metrics: m(0.85), endedAt: '2026-01-01T00:00:01Z' }),
    rec('b', { config: c2, metrics: m(0.88), endedAt: '2026-01-01T00:00:02Z' }),
    rec('c', { config: c2, status: 'failed', endedAt: '2026-01-01T00:00:05Z' }),
    rec('q', { config: quick, metrics: m(0.99), endedAt: '2026-01-01T00:00:00Z' }),
  ];
  const ans = computeAnswers(runs);
  assert.deepEqual(ans.map((a) => [a.variable, a.value, a.runId]), [['a1a', 0.88, 'b'], ['a2a', null, undefined], ['a3a', null, undefined]]);
  // After a newer quick run, the answer comes from the quick setup.
  const ans2 = computeAnswers([...runs, rec('q2', { config: quick, metrics: m(0.5), endedAt: '2026-01-01T00:00:09Z' })]);
  assert.equal(ans2[0].value, 0.99);

  const csv = toCsv(runs).split('\r\n');
  assert.equal(csv.length, runs.length + 2);
  // A minimal RFC 4180 reader (quoted cells may hold commas).
  const cells = (line: string) => {
    const out: string[] = [];
    let cur = '', q = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i];
      if (q) { if (ch === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') q = false; else cur += ch; }
      else if (ch === '"') q = true;
      else if (ch === ',') { out.push(cur); cur = ''; }
      else cur += ch;
    }
    return [...out, cur];
  };
  const head = cells(csv[0]);
  const row = cells(csv[1]);
  assert.equal(row.length, head.length);
  assert.equal(row[head.indexOf('label')], c1.label);
  assert.equal(row[head.indexOf('valAccuracyAtMinValLoss')], '0.85');
  assert.equal(row[head.indexOf('tp')], '45');
  assert.equal(csvCell('=cmd|x'), "'=cmd|x");
  assert.equal(csvCell('a,"b"'), '"a,""b"""');
  assert.deepEqual(JSON.parse(toJson(runs)), runs);
});
