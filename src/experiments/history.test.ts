import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunHistory } from './history';
import { computeAnswers } from './answers';
import { toCsv, toJson, csvCell } from './export';
import { HOMEWORK9, planProblem } from './spec';
import type { RunRecord } from '../protocol';

const [c1, c2] = planProblem(HOMEWORK9, 'problem1', { data: '/d', model: '/m' }, []);
const rec = (id: string, patch: Partial<RunRecord> = {}): RunRecord => ({ id, config: c1, status: 'finished', createdAt: '2026-01-01T00:00:00Z', history: [], ...patch });

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
  h.reload(); // the view was read before the file was damaged by hand
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
  const json = JSON.parse(toJson(runs)) as Array<RunRecord & { quick: boolean; caveat: string | null }>;
  assert.deepEqual(json.map(({ quick: _q, caveat: _c, ...r }) => r), runs);
  assert.deepEqual(json.map((r) => [r.id, r.quick, r.caveat]), [['a', false, null], ['b', false, null], ['c', false, null], ['q', true, 'quick run with model m']]);
  assert.deepEqual(cells(csv[4]).slice(head.indexOf('quick'), head.indexOf('quick') + 2), ['yes', 'quick run with model m']);
  assert.equal(row[head.indexOf('quick')], 'no');
});

test('records are validated on read: valid JSON with missing fields is reported and skipped, never deleted', () => {
  const ws = mkdtempSync(join(tmpdir(), 'hist-'));
  const warnings: string[] = [];
  const h = new RunHistory(ws, (l) => warnings.push(l));
  const m = { testAccuracy: 0.8, testF1: 0.7, confusion: [[1, 0], [0, 1]], valAccuracyAtMinValLoss: 0.9, bestEpoch: 1, trainSeconds: 1, totalSeconds: 2, stepsPerSecond: 3, examplesPerSecond: 4 };
  h.save(rec('good', { metrics: m }));
  const bad: Record<string, unknown> = {
    'empty-metrics': { ...rec('empty-metrics'), metrics: {} },
    'no-config-lr': { ...rec('no-config-lr'), config: { ...c1, learningRate: undefined } },
    'bad-history': { ...rec('bad-history'), history: [{ epoch: 1 }] },
    'nan-metric': { ...rec('nan-metric'), metrics: { ...m, testF1: 'x' } },
    'not-object': [1, 2],
  };
  for (const [id, r] of Object.entries(bad)) {
    mkdirSync(join(h.root, id));
    writeFileSync(join(h.root, id, 'run.json'), JSON.stringify(r));
  }
  h.reload();
  assert.deepEqual(h.list().map((r) => r.id), ['good']);
  assert.equal(warnings.length, 5);
  const w = (id: string) => warnings.find((l) => l.includes(`${id}/run.json`)) ?? '';
  assert.match(w('empty-metrics'), /^bert-lab: skipping .*empty-metrics\/run\.json: metrics\.testAccuracy is missing or not a number$/);
  assert.match(w('no-config-lr'), /config\.learningRate is missing/);
  assert.match(w('bad-history'), /history\[0\]\.trainLoss is missing/);
  assert.match(w('nan-metric'), /metrics\.testF1 is missing or not a number/);
  assert.match(w('not-object'), /not a JSON object/);
  for (const id of Object.keys(bad)) assert.ok(existsSync(join(h.root, id, 'run.json')), `${id} kept`);
});

test('the in-memory view: read once, updated by its own writes, re-read on reload()', () => {
  const ws = mkdtempSync(join(tmpdir(), 'hist-'));
  const h = new RunHistory(ws);
  h.save(rec('r1'));
  // Another process (a second RunHistory here) writes a run: not seen until reload.
  new RunHistory(ws).save(rec('r2', { createdAt: '2026-01-01T00:00:05Z' }));
  assert.deepEqual(h.list().map((r) => r.id), ['r1']);
  h.reload();
  assert.deepEqual(h.list().map((r) => r.id), ['r1', 'r2']);
  // A record read back is a copy: changing it changes nothing in the view.
  h.list()[0].status = 'failed';
  assert.equal(h.get('r1')?.status, 'finished');
  // track(): in the view, not on disk; forget() drops it and its empty folder.
  const id = h.newId('problem1');
  h.track(rec(id, { status: 'queued', pid: process.pid }));
  assert.equal(h.get(id)?.status, 'queued');
  assert.equal(existsSync(join(h.root, id, 'run.json')), false);
  h.reload();
  assert.equal(h.get(id)?.status, 'queued', 'own queued runs survive a reload');
  h.forget(id);
  assert.equal(h.get(id), undefined);
  assert.equal(existsSync(join(h.root, id)), false);
});

test('newId creates the run folder itself (mkdir is the check): taken names are skipped, ids never repeat', () => {
  const ws = mkdtempSync(join(tmpdir(), 'hist-'));
  const h = new RunHistory(ws);
  const ids = new Set<string>();
  for (let i = 0; i < 50; i++) ids.add(h.newId('problem1'));
  assert.equal(ids.size, 50);
  for (const id of ids) assert.ok(existsSync(join(h.root, id)));
  // Another process's folder with the next name exists already: a new one is taken.
  const other = new RunHistory(ws);
  const a = other.newId('p'), b = h.newId('p');
  assert.notEqual(a, b);
});

test('a temp file left by a process killed mid-write goes once that process is gone (a live one\'s stays)', () => {
  const ws = mkdtempSync(join(tmpdir(), 'hist-'));
  const h = new RunHistory(ws);
  h.save(rec('r1'));
  const dead = join(h.root, 'r1', `.run.json.tmp-${2 ** 22 + 12345}-abcdef`);
  const live = join(h.root, 'r1', `.run.json.tmp-${process.pid}-abcdef`);
  writeFileSync(dead, '{"half": ');
  writeFileSync(live, '{"half": ');
  h.reload();
  assert.equal(existsSync(dead), false);
  assert.equal(existsSync(live), true);
  assert.equal(h.get('r1')?.status, 'finished');
});
