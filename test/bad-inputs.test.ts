// The bad-input corpus (test/fixtures/bad, table in cases.json) through the real CLI, dist/cli.js: for each
// case, the exit code, exactly one stderr line that matches the expected message and names the user's
// file, no stack frame, and the inputs untouched: every file of the corpus copy byte-for-byte and mode
// unchanged, no file added (no temp file left behind).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

const root = resolve(__dirname, '..');
const corpus = join(root, 'test', 'fixtures', 'bad');
const cli = join(root, 'dist', 'cli.js');

interface Case {
  name: string;
  args: string[];
  exit: number;
  /** A regular expression for the one stderr line. */
  message: string;
  /** The user's file (or option) the line must name: its last path component must appear. */
  file: string;
  stdin?: string;
  mode?: Record<string, string>;
}

/** Newest modification time of the CLI's sources: a dist/cli.js older than them is stale. */
function newestSource(dir: string): number {
  let t = 0;
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    const st = statSync(p);
    if (st.isDirectory()) t = Math.max(t, newestSource(p));
    else if (n.endsWith('.ts') && !n.endsWith('.test.ts')) t = Math.max(t, st.mtimeMs);
  }
  return t;
}

/** Every file and folder under `dir`: path -> "mode sha256" (folders: "mode dir"). */
function snapshot(dir: string, rel = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of readdirSync(join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${n}` : n;
    const st = lstatSync(join(dir, r));
    if (st.isDirectory()) {
      out.set(r, `${(st.mode & 0o7777).toString(8)} dir`);
      for (const [k, v] of snapshot(dir, r)) out.set(k, v);
    } else {
      out.set(r, `${(st.mode & 0o7777).toString(8)} ${createHash('sha256').update(readFileSync(join(dir, r))).digest('hex')}`);
    }
  }
  return out;
}

const built = existsSync(cli);
const skip = built ? false : 'dist/cli.js not built (npm run build)';

test('the bad-input corpus: at least 40 files, every case a one-line error naming the file, inputs unchanged', { skip }, () => {
  assert.ok(statSync(cli).mtimeMs >= newestSource(join(root, 'src')), 'dist/cli.js is older than src/: run npm run build');
  const { cases } = JSON.parse(readFileSync(join(corpus, 'cases.json'), 'utf8')) as { cases: Case[] };
  const files = [...snapshot(corpus).entries()].filter(([p, v]) => !v.endsWith(' dir') && p !== 'cases.json' && !p.endsWith('.gitkeep') && p !== 'make.mjs');
  assert.ok(files.length >= 40, `${files.length} corpus files`);
  assert.ok(cases.length >= 40, `${cases.length} cases`);
  assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, 'case names are unique');

  const failures: string[] = [];
  for (const c of cases) {
    const dir = mkdtempSync(join(tmpdir(), 'bert-lab-bad-'));
    try {
      cpSync(corpus, dir, { recursive: true });
      for (const [f, mode] of Object.entries(c.mode ?? {})) chmodSync(join(dir, f), parseInt(mode, 8));
      const before = snapshot(dir);
      const r = spawnSync(process.execPath, [cli, ...c.args], {
        cwd: dir, encoding: 'utf8', timeout: 60_000,
        input: c.stdin ? readFileSync(join(dir, c.stdin)) : '',
        env: { ...process.env, BERT_LAB_DEBUG: '', HF_HUB_OFFLINE: '1' },
      });
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      const problems: string[] = [];
      if (r.status !== c.exit) problems.push(`exit ${r.status ?? r.signal}, expected ${c.exit}`);
      if (lines.length !== 1) problems.push(`${lines.length} stderr lines`);
      if (!new RegExp(c.message).test(lines[0] ?? '')) problems.push(`message does not match /${c.message}/`);
      if (!(lines[0] ?? '').includes(basename(c.file))) problems.push(`message does not name ${basename(c.file)}`);
      if (/^\s+at .+(:\d+:\d+\)?|\(native\))$/m.test(r.stderr) || /^\w*Error: /m.test(r.stderr)) problems.push('a stack frame or raw Error in stderr');
      const after = snapshot(dir);
      for (const [p, v] of before) if (after.get(p) !== v) problems.push(`${p} ${after.has(p) ? 'changed' : 'removed'}`);
      for (const p of after.keys()) if (!before.has(p)) problems.push(`${p} left behind`);
      if (problems.length) failures.push(`${c.name} [bert-lab ${c.args.join(' ')}]: ${problems.join('; ')}\n    stderr: ${JSON.stringify(r.stderr)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`# ${cases.length} bad-input cases over ${files.length} corpus files through dist/cli.js; ${cases.length - failures.length} as expected`);
  assert.deepEqual(failures, []);
});

/** A 64 KiB tmpfs (root only; the test skips elsewhere): a real "no space left" for the atomic writes. */
function smallDisk(): { dir: string; release(): void } | string {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'needs root on Linux to mount a small tmpfs';
  const dir = mkdtempSync(join(tmpdir(), 'bert-lab-full-'));
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
  if (m.status !== 0) { rmSync(dir, { recursive: true, force: true }); return `cannot mount a tmpfs here: ${m.stderr.trim() || m.error?.message}`; }
  return { dir, release: () => { spawnSync('umount', [dir]); rmSync(dir, { recursive: true, force: true }); } };
}

test('a full disk: fill-answers and split --out fail with one line naming the user\'s file; the notebook intact, no temp file', { skip }, (t) => {
  const disk = smallDisk();
  if (typeof disk === 'string') { t.skip(disk); return; }
  const { dir, release } = disk;
  try {
    // A 40 KB notebook fits once; its atomic rewrite (a second copy beside it) does not.
    const nb = join(dir, 'hw.ipynb');
    const pad = 'x'.repeat(40_000);
    const text = `${JSON.stringify({ cells: [
      { cell_type: 'markdown', metadata: {}, source: ['## Problem 1 — Mini sweep\n'] },
      { cell_type: 'code', metadata: {}, outputs: [{ output_type: 'stream', name: 'stdout', text: [pad] }], source: ['a1a = 0.0  # Replace 0.0 with your answer\n'] },
    ], metadata: {}, nbformat: 4, nbformat_minor: 0 }, null, 1)}\n`;
    writeFileSync(nb, text);
    let r = spawnSync(process.execPath, [cli, 'fill-answers', '--notebook', nb, '--values', 'a1a=0.5'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `bert-lab fill-answers: cannot write ${nb}: no space left on the device\n`);
    assert.equal(readFileSync(nb, 'utf8'), text);
    assert.deepEqual(readdirSync(dir), ['hw.ipynb']);
    // split --out onto the full disk: the JSON of the indices does not fit.
    const big = join(tmpdir(), `bert-lab-big-${process.pid}.jsonl`);
    writeFileSync(big, Array.from({ length: 20_000 }, (_, i) => `{"text":"t${i}","label":${i % 2}}`).join('\n'));
    try {
      r = spawnSync(process.execPath, [cli, 'split', '--data', big, '--subset-frac', '1', '--out', join(dir, 'split.json')], { encoding: 'utf8' });
      assert.equal(r.status, 1);
      assert.equal(r.stderr, `bert-lab split: cannot write ${join(dir, 'split.json')}: no space left on the device\n`);
      assert.deepEqual(readdirSync(dir), ['hw.ipynb']);
    } finally {
      rmSync(big, { force: true });
    }
  } finally {
    release();
  }
});
