// End to end, with the real CLI and training child processes on a tiny setup: a sweep finishes and
// prints its table and answer; killing the CLI with SIGKILL mid-run leaves every run file readable
// (the killed run shows as interrupted) and the worker exits with it; running again skips the
// finished runs and completes the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RunHistory, pidAlive } from '../src/experiments/history';
import { HOMEWORK9 } from '../src/experiments/spec';

const root = resolve(__dirname, '..');
const data = resolve(root, '..', 'shared', 'data', 'imdb');
const model = resolve(root, '..', 'shared', 'models', 'distilbert-tiny-random');
const cli = join(root, 'bin', 'bert-lab.js');
const skip = !existsSync(data) ? `${data} absent` : !existsSync(model) ? `${model} absent`
  : !existsSync(join(root, 'dist', 'worker.js')) || !existsSync(join(root, 'dist', 'cli.js')) ? 'dist/ not built (npm run build)' : false;

// Three tiny runs of Problem 1's shape (the built-in spec's settings, smaller grid).
function writeSpec(dir: string): string {
  const spec = JSON.parse(JSON.stringify(HOMEWORK9));
  spec.problems = [{ id: 'problem1', title: 'tiny sweep', runs: [
    { maxLen: 16, learningRate: 1e-3, batchSize: 8 }, { maxLen: 16, learningRate: 5e-4, batchSize: 8 }, { maxLen: 24, learningRate: 5e-4, batchSize: 8 },
  ] }];
  spec.answers = [spec.answers[0]];
  const f = join(dir, 'spec.json');
  writeFileSync(f, JSON.stringify(spec));
  return f;
}

const args = (ws: string, spec: string) => ['run', 'problem1', '--spec', spec, '--data', data, '--model', model, '--workspace', ws,
  '--epochs', '2', '--limit-train', '24', '--limit-eval', '16', '--backend', 'wasm'];

function readAll(ws: string): unknown[] {
  const runs = join(ws, '.bert-lab', 'runs');
  if (!existsSync(runs)) return [];
  return readdirSync(runs).filter((d) => existsSync(join(runs, d, 'run.json'))).map((d) => JSON.parse(readFileSync(join(runs, d, 'run.json'), 'utf8')));
}

test('SIGKILL mid-sweep, then run again: finished runs skipped, the rest completed, no corrupt file', { skip, timeout: 300_000 }, async () => {
  const ws = mkdtempSync(join(tmpdir(), 'bert-lab-e2e-'));
  const spec = writeSpec(ws);
  const child = spawn(process.execPath, [cli, ...args(ws, spec), '--verbose'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  // Kill once the first run has finished and the second one has started training.
  await new Promise<void>((resolveWait, reject) => {
    const t = setInterval(() => {
      const recs = readAll(ws) as Array<{ status: string; engine?: unknown }>;
      // `engine` is set once the run's training process has reported 'started'.
      if (recs.filter((r) => r.status === 'finished').length >= 1 && recs.some((r) => r.status === 'running' && r.engine)) {
        clearInterval(t);
        child.kill('SIGKILL');
        resolveWait();
      }
    }, 100);
    child.on('exit', (code, signal) => { if (signal !== 'SIGKILL') { clearInterval(t); reject(new Error(`the CLI ended before it could be killed:\n${out}`)); } });
  });
  // 'close', not 'exit': the output pipes are drained by then.
  await new Promise((r) => child.once('close', r));
  // The orphaned worker notices the lost IPC channel and exits.
  const pids = [...out.matchAll(/training process started \(pid (\d+)\)/g)].map((m) => Number(m[1]));
  assert.ok(pids.length >= 2, out);
  const worker = pids[pids.length - 1];
  for (let i = 0; i < 300 && pidAlive(worker); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(pidAlive(worker), false, `the worker (pid ${worker}) outlived the killed CLI`);

  const warnings: string[] = [];
  const history = new RunHistory(ws, (l) => warnings.push(l));
  const after = history.list();
  assert.deepEqual(warnings, [], 'every run.json readable');
  const statuses = after.map((r) => r.status).sort();
  assert.ok(statuses.includes('finished') && statuses.includes('interrupted'), statuses.join(','));
  assert.ok(!statuses.includes('running'));
  // Runs that were still queued never reached the disk: only what ran is in the history.
  assert.equal(after.length, statuses.filter((s) => s === 'finished').length + 1, statuses.join(','));

  const second = spawnSync(process.execPath, [cli, ...args(ws, spec)], { cwd: root, encoding: 'utf8', timeout: 240_000 });
  assert.equal(second.status, 0, second.stdout + second.stderr);
  const finishedBefore = after.filter((r) => r.status === 'finished').length;
  assert.equal((second.stderr.match(/^skipping problem1/gm) ?? []).length, finishedBefore);
  assert.match(second.stdout, /SUMMARY/);
  assert.match(second.stdout, /^1\. LEN=16 LR=1\.0e-03 BATCH=8 → Val=\d\.\d{4} Test=\d\.\d{4} F1=\d\.\d{4}/m);
  // A capped run with the tiny model: the answer says it is not the homework's number.
  assert.match(second.stdout, /^a1a = \d\.\d{4}    # quick run with distilbert-tiny-random$/m);
  history.reload(); // the view was read before the second process wrote
  const final = history.list();
  const finishedKeys = new Set(final.filter((r) => r.status === 'finished').map((r) => r.config.key));
  assert.equal(finishedKeys.size, 3, 'every config finished once');
  assert.equal(history.warnings.length, 0);

  // A third invocation runs nothing.
  const third = spawnSync(process.execPath, [cli, ...args(ws, spec)], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.equal(third.status, 0);
  assert.equal((third.stderr.match(/^skipping problem1/gm) ?? []).length, 3);
  history.reload();
  assert.equal(history.list().length, final.length);
  const answers = spawnSync(process.execPath, [cli, 'answers', '--workspace', ws, '--spec', spec], { cwd: root, encoding: 'utf8' });
  assert.match(answers.stdout, /^a1a = \d\.\d{4}/m);
});
