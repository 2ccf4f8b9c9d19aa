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
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), history.list());
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
    await assert.rejects(main(['--workspace', workspace, '--format', 'csv', '--out', dirOut]), oneLine(/^--out .*adir: cannot write \(EISDIR\)/));
    writeFileSync(join(workspace, 'afile'), 'keep');
    const under = join(workspace, 'afile', 'runs.csv');
    await assert.rejects(main(['--workspace', workspace, '--out', under]), oneLine(/^--out .*afile[\\/]runs\.csv: cannot write \((ENOTDIR|EEXIST)\)/));
    assert.equal(readFileSync(join(workspace, 'afile'), 'utf8'), 'keep');
    if (process.platform !== 'win32' && process.getuid?.() !== 0) {
      const ro = join(workspace, 'ro');
      mkdirSync(ro);
      chmodSync(ro, 0o555);
      try {
        await assert.rejects(main(['--workspace', workspace, '--out', join(ro, 'runs.csv')]), oneLine(/^--out .*ro[\\/]runs\.csv: cannot write \(EACCES\)/));
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
