import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from './export';
import { CSV_COLUMNS } from '../../experiments/export';
import { capture, sampleWorkspace } from '../testing';

/** An RFC 4180 reader (quoted fields, doubled quotes, CRLF inside quotes), independent of the writer. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], cell = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') {
      assert.equal(cell, '', `a quote inside an unquoted field at offset ${i}`);
      quoted = true;
    } else if (ch === ',') { row.push(cell); cell = ''; }
    else if (ch === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i++; }
    else cell += ch;
  }
  assert.equal(quoted, false, 'unterminated quoted field');
  assert.deepEqual([row, cell], [[], ''], 'the last row does not end with CRLF');
  return rows;
}

test('export --format csv: header + one row per run, labels with commas/quotes/leading "=" quoted and safe', async () => {
  const { workspace } = sampleWorkspace();
  try {
    const r = await capture(() => main(['--workspace', workspace, '--format', 'csv']));
    assert.equal(r.code, 0);
    const rows = parseCsv(r.stdout);
    assert.deepEqual(rows[0], [...CSV_COLUMNS]);
    assert.equal(rows.length, 6);
    for (const row of rows) assert.equal(row.length, CSV_COLUMNS.length);
    const recs = rows.slice(1).map((row) => Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, row[i]])));
    assert.deepEqual(recs.map((x) => [x.id, x.problem, x.status]), [
      ['r1', 'problem1', 'finished'], ['r2', 'problem1', 'finished'], ['r3', 'problem1', 'failed'], ['r4', 'problem2', 'interrupted'], ['r5', 'problem3', 'cancelled'],
    ]);
    assert.equal(recs[0].label, 'MAX_LEN=128, LR=2.0e-5');
    assert.equal(recs[1].label, `'=MAX_LEN "256", LR=1.0e-5`, 'a leading "=" is defused, quotes survive');
    assert.ok(r.stdout.includes('"\'=MAX_LEN ""256"", LR=1.0e-5"'), 'RFC 4180 quoting of the raw text');
    assert.deepEqual([recs[0].valAccuracyAtMinValLoss, recs[0].testAccuracy, recs[0].tn, recs[0].fp, recs[0].fn, recs[0].tp], ['0.8392', '0.8125', '40', '10', '5', '45']);
    assert.deepEqual([recs[1].maxLen, recs[1].learningRate, recs[1].batchSize, recs[1].batchSizeUsed, recs[1].epochsRun], ['256', '0.00001', '16', '8', '1']);
    assert.equal(recs[2].error, 'out of memory\nat batch 4');
    assert.equal(recs[2].valAccuracyAtMinValLoss, '');
    assert.match(recs[3].error, /^interrupted: the process/);
    assert.deepEqual(JSON.parse(recs[0].history).map((e: { valLoss: number }) => e.valLoss), [0.5, 0.4]);

    const p1 = await capture(() => main(['--workspace', workspace, '--problem', 'problem1']));
    assert.deepEqual(parseCsv(p1.stdout).slice(1).map((row) => row[0]), ['r1', 'r2', 'r3'], 'csv is the default; --problem filters');
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
});

test('export --format json --out: the file round-trips to the run history; .json implies json', async () => {
  const { workspace, history } = sampleWorkspace();
  try {
    const out = join(workspace, 'out', 'runs.json');
    let r = await capture(() => main(['--workspace', workspace, '--format', 'json', '--out', out]));
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `wrote 5 runs to ${out}\n`);
    const exported = JSON.parse(readFileSync(out, 'utf8')) as Array<Record<string, unknown>>;
    assert.deepEqual(exported.map(({ quick: _q, caveat: _c, ...rest }) => rest), history.list());
    assert.deepEqual(exported.map((x) => [x.quick, x.caveat]), Array(5).fill([false, null]));
    assert.deepEqual(readdirSync(join(workspace, 'out')), ['runs.json'], 'no temp file left');

    const implied = join(workspace, 'p3.json');
    r = await capture(() => main(['--workspace', workspace, '--out', implied, '--problem', 'problem3']));
    assert.equal(r.code, 0);
    assert.deepEqual((JSON.parse(readFileSync(implied, 'utf8')) as Array<{ id: string }>).map((x) => x.id), ['r5']);

    const csv = join(workspace, 'runs.csv');
    r = await capture(() => main(['--workspace', workspace, '--out', csv]));
    assert.equal(r.code, 0);
    assert.equal(parseCsv(readFileSync(csv, 'utf8')).length, 6);
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
});

test('export: a bad --format, an unwritable --out or a missing workspace is a one-line error naming it', async () => {
  const { workspace } = sampleWorkspace();
  try {
    const oneLine = (re: RegExp) => (e: Error) => { assert.match(e.message, re); assert.ok(!e.message.includes('\n'), e.message); return true; };
    await assert.rejects(main(['--workspace', workspace, '--format', 'xml']), oneLine(/^--format: csv or json, not "xml"$/));
    await assert.rejects(main(['--workspace', workspace, '--format', 'xml', '--out', join(workspace, 'x.xml')]), oneLine(/--format/));
    assert.ok(!existsSync(join(workspace, 'x.xml')));

    // A folder in the way of the file, and a file in the way of the folder.
    const dirOut = join(workspace, 'adir');
    mkdirSync(dirOut);
    await assert.rejects(main(['--workspace', workspace, '--format', 'csv', '--out', dirOut]), oneLine(/^--out: cannot write .*adir: it is a folder, not a file$/));
    writeFileSync(join(workspace, 'afile'), 'keep');
    const under = join(workspace, 'afile', 'runs.csv');
    await assert.rejects(main(['--workspace', workspace, '--out', under]), oneLine(/^--out: cannot write .*afile[\\/]runs\.csv: (a part of the path is not a folder|a file of that name appeared while writing)$/));
    assert.equal(readFileSync(join(workspace, 'afile'), 'utf8'), 'keep');
    if (process.platform !== 'win32' && process.getuid?.() !== 0) {
      const ro = join(workspace, 'ro');
      mkdirSync(ro);
      chmodSync(ro, 0o555);
      try {
        await assert.rejects(main(['--workspace', workspace, '--out', join(ro, 'runs.csv')]), oneLine(/^--out: cannot write .*ro[\\/]runs\.csv: permission denied/));
        assert.deepEqual(readdirSync(ro), []);
      } finally {
        chmodSync(ro, 0o755);
      }
    }
    await assert.rejects(main(['--workspace', join(workspace, 'nope'), '--format', 'csv']), oneLine(/--workspace .*nope: no such folder/));
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
});

test('export: a quick or tiny-model run is marked in the quick and caveat columns (CSV) and fields (JSON)', async () => {
  const { workspace, history } = sampleWorkspace();
  try {
    const base = history.get('r1')!;
    history.save({ ...base, id: 'q1', createdAt: '2026-01-01T00:00:09Z', config: { ...base.config, model: '/models/distilbert-tiny-random', limitTrain: 64, limitEval: 32 } });
    history.save({ ...base, id: 't1', createdAt: '2026-01-01T00:00:10Z', config: { ...base.config, model: '/models/distilbert-tiny-random' } });
    const rows = parseCsv((await capture(() => main(['--workspace', workspace, '--format', 'csv']))).stdout);
    const col = (name: string) => rows[0].indexOf(name);
    assert.deepEqual(rows.slice(1).map((r) => [r[0], r[col('quick')], r[col('caveat')]]), [
      ['r1', 'no', ''], ['r2', 'no', ''], ['r3', 'no', ''], ['r4', 'no', ''], ['r5', 'no', ''],
      ['q1', 'yes', 'quick run with distilbert-tiny-random'], ['t1', 'yes', 'run with distilbert-tiny-random (a tiny test model)'],
    ]);
    const json = JSON.parse((await capture(() => main(['--workspace', workspace, '--format', 'json']))).stdout) as Array<{ id: string; quick: boolean }>;
    assert.deepEqual(json.filter((x) => x.quick).map((x) => x.id), ['q1', 't1']);
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
});
