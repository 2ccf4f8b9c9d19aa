// Faults of `bert-lab run` with real processes: the real CLI (dist/cli.js) and a stand-in training process
// (BERT_LAB_WORKER) that speaks the protocol, so that each fault is quick and certain:
//  - the history cannot be written during a run (a full tmpfs as the workspace, where this machine lets
//    us mount one): that run fails, the sweep stops with one line, no temp file, no stack trace;
//  - two `run` processes on one workspace: one waits for the other; one finished record per configuration;
//  - a setup failure (data/model cannot be loaded): one line naming --data/--model, one history entry;
//  - bad flags: one line, no stack; a missing --workspace is created with a message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RunHistory } from '../src/experiments/history';

const root = resolve(__dirname, '..');
const cli = join(root, 'bin', 'bert-lab.js');
const skip = !existsSync(join(root, 'dist', 'cli.js')) ? 'dist/ not built (npm run build)' : false;

// FAKE_MODE: ok (each run takes FAKE_MS, then finishes), setup-fail, hold (waits for a file, then finishes).
const FAKE_WORKER = `
const fs = require('node:fs');
const mode = process.env.FAKE_MODE;
process.on('disconnect', () => process.exit(0));
process.on('message', (m) => {
  if (m.type === 'cancel') { process.send({ type: 'cancelled' }, () => process.exit(0)); return; }
  const c = m.config;
  if (mode === 'setup-fail') {
    process.send({ type: 'failed', reason: c.data + ': no such data folder', stage: 'setup' }, () => process.exit(0));
    return;
  }
  const engine = { backend: 'cpu', device: 'fake', threads: 1, reason: 'test', versions: {} };
  const split = { train: 10, val: 2, test: 2, labelCounts: { train: [5, 5], val: [1, 1], test: [1, 1] }, source: c.data };
  process.send({ type: 'started', runId: m.runId, config: c, engine, split });
  const finish = () => {
    const v = c.learningRate * 1e4;
    const metrics = { testAccuracy: 0.5, testF1: 0.5, confusion: [[1, 0], [1, 0]], valAccuracyAtMinValLoss: v, bestEpoch: 1, trainSeconds: 1, totalSeconds: 1, stepsPerSecond: 1, examplesPerSecond: 1 };
    process.send({ type: 'epochEnd', metrics: { epoch: 1, trainLoss: 1, trainAccuracy: 0.5, valLoss: 0.5, valAccuracy: v, seconds: 0.1 } });
    process.send({ type: 'evaluation', metrics });
    process.send({ type: 'finished' }, () => process.exit(0));
  };
  if (mode === 'hold') {
    const t = setInterval(() => { if (fs.existsSync(process.env.FAKE_GO)) { clearInterval(t); finish(); } }, 20);
    return;
  }
  setTimeout(finish, Number(process.env.FAKE_MS ?? 0));
});
`;

function setup(): { dir: string; worker: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bert-lab-faults-'));
  const worker = join(dir, 'fake-worker.js');
  writeFileSync(worker, FAKE_WORKER);
  return { dir, worker };
}
const env = (worker: string, extra: Record<string, string> = {}) => ({ ...process.env, BERT_LAB_WORKER: worker, ...extra });
const runArgs = (ws: string) => ['run', 'problem1', '--data', '/d', '--model', '/m', '--workspace', ws];
const noStack = (s: string) => !/^\s+at /m.test(s);

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name));
}

test('two run processes on one workspace: the second waits for the first; one finished record per configuration', { skip, timeout: 120_000 }, async () => {
  const { dir, worker } = setup();
  const ws = join(dir, 'ws');
  mkdirSync(ws);
  try {
    const start = () => {
      const p = spawn(process.execPath, [cli, ...runArgs(ws)], { env: env(worker, { FAKE_MODE: 'ok', FAKE_MS: '150' }), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d) => { out += d; });
      p.stderr.on('data', (d) => { out += d; });
      return new Promise<{ code: number | null; out: string }>((res) => p.on('close', (code) => res({ code, out })));
    };
    const [a, b] = await Promise.all([start(), start()]);
    assert.equal(a.code, 0, a.out);
    assert.equal(b.code, 0, b.out);
    const waited = [a, b].filter((x) => /waiting for the sweep of pid \d+ in this workspace to end/.test(x.out));
    assert.equal(waited.length, 1, `exactly one waited:\n${a.out}\n---\n${b.out}`);
    // The one that waited ran nothing: every configuration had finished.
    assert.equal((waited[0].out.match(/^skipping problem1/gm) ?? []).length, 6);
    const history = new RunHistory(ws);
    const runs = history.list();
    assert.equal(runs.length, 6);
    assert.ok(runs.every((r) => r.status === 'finished'));
    assert.equal(new Set(runs.map((r) => r.config.key)).size, 6);
    assert.equal(existsSync(history.lockFile), false, 'the lock is released');

    // --no-wait: a held workspace is a one-line error naming the owner.
    const holder = spawn(process.execPath, [cli, ...runArgs(ws), '--force'], { env: env(worker, { FAKE_MODE: 'hold', FAKE_GO: join(dir, 'go') }), stdio: 'ignore' });
    for (let i = 0; i < 200 && !existsSync(history.lockFile); i++) await new Promise((r) => setTimeout(r, 25));
    const busy = spawnSync(process.execPath, [cli, ...runArgs(ws), '--no-wait'], { env: env(worker), encoding: 'utf8' });
    assert.equal(busy.status, 1);
    assert.match(busy.stderr, new RegExp(`^bert-lab run: the workspace is in use by another BERT Lab sweep \\(run problem1, pid ${holder.pid}, since [^)]+; lock .*lock\\)\\n$`));
    // A holder killed with SIGKILL leaves a stale lock: the next run takes it over at once.
    holder.kill('SIGKILL');
    await new Promise((r) => holder.on('close', r));
    assert.ok(existsSync(history.lockFile), 'stale lock left behind');
    const after = spawnSync(process.execPath, [cli, ...runArgs(ws), '--no-wait'], { env: env(worker, { FAKE_MODE: 'ok' }), encoding: 'utf8' });
    assert.equal(after.status, 0, after.stderr);
    assert.equal(existsSync(history.lockFile), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a setup failure is one line naming --data and --model, and one history entry', { skip, timeout: 60_000 }, () => {
  const { dir, worker } = setup();
  try {
    const ws = join(dir, 'ws');
    mkdirSync(ws);
    const r = spawnSync(process.execPath, [cli, ...runArgs(ws)], { env: env(worker, { FAKE_MODE: 'setup-fail' }), encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'bert-lab run: problem1 could not start: /d: no such data folder — check --data (/d) and --model (/m); 5 more runs with them not started\n');
    assert.equal((r.stdout + r.stderr).match(/no such data folder/g)?.length, 1, 'said once');
    assert.doesNotMatch(r.stdout, /SUMMARY|FAILED/);
    const runs = new RunHistory(ws).list();
    assert.deepEqual(runs.map((x) => [x.status, x.failureStage]), [['failed', 'setup']]);
    // Trying again adds one entry, not six.
    spawnSync(process.execPath, [cli, ...runArgs(ws)], { env: env(worker, { FAKE_MODE: 'setup-fail' }), encoding: 'utf8' });
    assert.equal(new RunHistory(ws).list().length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the README\'s first command without the Hub: one line naming --data and --model, once; one history entry', { skip, timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bert-lab-faults-'));
  try {
    const ws = join(dir, 'ws');
    mkdirSync(ws);
    // The real training process; the Hub made unreachable (a closed local port) and an empty cache.
    const e: NodeJS.ProcessEnv = { ...process.env, HF_ENDPOINT: 'http://127.0.0.1:9' };
    delete e.BERT_LAB_WORKER;
    const r = spawnSync(process.execPath, [cli, 'run', 'problem1', '--quick', '--workspace', ws, '--cache-dir', join(dir, 'cache')], { env: e, encoding: 'utf8', timeout: 50_000 });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^bert-lab run: problem1 could not start: cannot reach the Hugging Face Hub .* — check --data \(hub:stanfordnlp\/imdb\) and --model \(distilbert-base-uncased\); 5 more runs with them not started\n$/);
    assert.equal((r.stdout + r.stderr).match(/cannot reach the Hugging Face Hub/g)?.length, 1, `said once:\n${r.stdout}${r.stderr}`);
    assert.deepEqual(new RunHistory(ws).list().map((x) => [x.status, x.failureStage]), [['failed', 'setup']]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run: bad flags are one line without a stack; a missing --workspace is created, with a message', { skip, timeout: 60_000 }, () => {
  const { dir, worker } = setup();
  try {
    const bad: Array<[string[], RegExp]> = [
      [['--backend', 'gpu'], /^bert-lab run: --backend: "gpu" is not one of auto, torch, torch-cuda, torch-mps, torch-cpu, tensorflow-gpu, tensorflow, wasm, cpu\n$/],
      [['--precision', 'fp8'], /^bert-lab run: --precision: "fp8" is not one of auto, fp32, mixed_float16, bf16\n$/],
      [['--epochs', '0'], /^bert-lab run: --epochs: EPOCHS must be an integer of at least 1 \(got "0"\)\n$/],
      [['--subset-frac', '0x1'], /^bert-lab run: --subset-frac: SUBSET_FRAC must be a number \(got "0x1"\)\n$/],
      [['--eval-batch', '2.5'], /^bert-lab run: --eval-batch: EVAL_BATCH must be an integer of at least 1 \(got "2\.5"\)\n$/],
      [['--bogus'], /^bert-lab run: Unknown option '--bogus'.*\n$/],
    ];
    for (const [args, re] of bad) {
      const r = spawnSync(process.execPath, [cli, 'run', 'problem1', '--workspace', dir, ...args], { env: env(worker), encoding: 'utf8' });
      // A usage error (an unknown option) exits 2, as the CLI's other parse errors do; a bad value, 1.
      assert.equal(r.status, args[0] === '--bogus' ? 2 : 1, args.join(' '));
      assert.match(r.stderr, re);
      assert.ok(noStack(r.stderr));
    }
    const ws = join(dir, 'new', 'ws');
    const r = spawnSync(process.execPath, [cli, ...runArgs(ws)], { env: env(worker, { FAKE_MODE: 'ok' }), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^bert-lab: created the workspace folder ${ws.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    const fileAsWs = join(dir, 'fake-worker.js');
    const f = spawnSync(process.execPath, [cli, ...runArgs(fileAsWs)], { env: env(worker), encoding: 'utf8' });
    assert.equal(f.stderr, `bert-lab run: --workspace ${fileAsWs}: not a folder\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run: --precision and --python (default $BERT_LAB_PYTHON) reach the run config; --backend takes the PyTorch devices', { skip, timeout: 60_000 }, () => {
  const { dir, worker } = setup();
  try {
    const ws = join(dir, 'ws');
    mkdirSync(ws);
    let r = spawnSync(process.execPath, [cli, ...runArgs(ws), '--precision', 'bf16', '--python', '/opt/py/bin/python3', '--backend', 'torch-cpu', '--limit-train', '8'],
      { env: env(worker, { FAKE_MODE: 'ok', BERT_LAB_PYTHON: '/env/python' }), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    let c = new RunHistory(ws).list()[0].config;
    assert.deepEqual([c.precision, c.python, c.backend, c.limitTrain], ['bf16', '/opt/py/bin/python3', 'torch-cpu', 8]);
    r = spawnSync(process.execPath, [cli, ...runArgs(ws), '--limit-train', '9'], { env: env(worker, { FAKE_MODE: 'ok', BERT_LAB_PYTHON: '/env/python' }), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    c = new RunHistory(ws).list().find((x) => x.config.limitTrain === 9)!.config;
    assert.deepEqual([c.precision, c.python, c.backend], [undefined, '/env/python', 'auto']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A real full disk: a small tmpfs as the workspace (needs root and mount; otherwise runner.test.ts covers
// the same code path with an injected write error).
function mountTmpfs(dir: string, size: string): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  return spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]).status === 0;
}

test('the history cannot be written during a run (a full disk): the run fails, the sweep stops with one line, no temp file', { skip, timeout: 60_000 }, async (t) => {
  const { dir, worker } = setup();
  const ws = join(dir, 'ws');
  mkdirSync(ws);
  if (!mountTmpfs(ws, '256k')) { t.skip('cannot mount a tmpfs here (needs root on Linux)'); rmSync(dir, { recursive: true, force: true }); return; }
  try {
    const go = join(dir, 'go');
    const p = spawn(process.execPath, [cli, ...runArgs(ws)], { env: env(worker, { FAKE_MODE: 'hold', FAKE_GO: go }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const runsDir = join(ws, '.bert-lab', 'runs');
    // Once the first run is training (its run.json says running, with the engine), fill the disk.
    for (let i = 0; i < 400; i++) {
      const f = files(runsDir).find((x) => x.endsWith('run.json'));
      if (f && /"engine"/.test(readFileSync(f, 'utf8'))) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const before = files(runsDir).filter((x) => x.endsWith('run.json'));
    assert.equal(before.length, 1);
    const saved = readFileSync(before[0], 'utf8');
    try { writeFileSync(join(ws, 'filler'), Buffer.alloc(1024 * 1024)); } catch (e) { assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC'); }
    writeFileSync(go, '');
    const code = await new Promise((r) => p.on('close', r));
    assert.equal(code, 1, stdout + stderr);
    const lines = stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0], /^bert-lab run: cannot save the run history: cannot write .*[\\/]run\.json: no space left on the device; run problem1 MAX_LEN=128, LR=2\.0e-05, BATCH=32 failed and the sweep stopped$/);
    assert.ok(noStack(stderr));
    // No temp file anywhere; the run's file is the last complete one (it reads as interrupted now).
    assert.deepEqual(files(runsDir).filter((x) => /\.tmp-/.test(x)), []);
    assert.equal(readFileSync(before[0], 'utf8'), saved);
    rmSync(join(ws, 'filler'));
    const history = new RunHistory(ws);
    assert.deepEqual(history.list().map((r) => r.status), ['interrupted']);
    assert.deepEqual(history.warnings, []);
    // With space again, the sweep completes.
    const again = spawnSync(process.execPath, [cli, ...runArgs(ws)], { env: env(worker, { FAKE_MODE: 'ok' }), encoding: 'utf8' });
    assert.equal(again.status, 0, again.stderr);
    assert.equal(history.reload().size, 7);
    assert.equal(history.list().filter((r) => r.status === 'finished').length, 6);
  } finally {
    spawnSync('umount', [ws]);
    rmSync(dir, { recursive: true, force: true });
  }
});
