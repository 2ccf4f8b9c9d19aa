#!/usr/bin/env node
// Under load: random SIGKILLs of the CLI or of its training process during `run problem1 --quick`, each
// followed by a re-run, and checks after every kill and at the end:
//   - 0 corrupt files: every run.json parses and is a valid record (`runs --all --json` reports none skipped);
//   - no temp file (.run.json.tmp-*) left after the history is read again (tempsLeftByKills counts those a
//     kill left mid-write before that read);
//   - every configuration finished in the end, exactly one finished record per configuration.
// When a workspace's sweep is complete before the kills are done, the next kills go to a fresh workspace
// (a "cycle"). Not part of `npm test` (minutes). Needs `npm run build` and ../shared (tiny model, IMDB).
//
// usage: node scripts/kill-test.mjs [--kills 20] [--seed 1] [--max-delay 9] [--keep]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { kills: { type: 'string' }, seed: { type: 'string' }, 'max-delay': { type: 'string' }, keep: { type: 'boolean' } } });
const KILLS = Number(values.kills ?? 20), MAX_DELAY = Number(values['max-delay'] ?? 9);
const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const cli = join(root, 'bin', 'bert-lab.js');
const data = resolve(root, '..', 'shared', 'data', 'imdb');
const model = resolve(root, '..', 'shared', 'models', 'distilbert-tiny-random');
for (const p of [data, model, join(root, 'dist', 'cli.js'), join(root, 'dist', 'worker.js')]) {
  if (!existsSync(p)) { console.error(`kill-test: ${p} is missing (npm run build; ../shared)`); process.exit(2); }
}

// A seeded generator (mulberry32): the same --seed kills at the same moments.
let s = Number(values.seed ?? 1) >>> 0;
const rand = () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; } };

const stats = { kills: 0, cliKills: 0, workerKills: 0, missed: 0, reruns: 0, cycles: 0, corrupt: 0, tempsLeftByKills: 0, temps: 0, duplicates: 0, unfinished: 0, checks: 0 };
const problems = [];

const tempsIn = (ws) => {
  const dir = join(ws, '.bert-lab', 'runs');
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).filter((f) => /\.tmp-/.test(String(f))) : [];
};

function check(ws, final) {
  stats.checks++;
  // Temp files a kill left mid-write (the next read of the history removes those of dead processes).
  stats.tempsLeftByKills += tempsIn(ws).length;
  const r = spawnSync(process.execPath, [cli, 'runs', '--all', '--json', '--workspace', ws], { encoding: 'utf8' });
  const skipped = r.stderr.split('\n').filter((l) => /skipping/.test(l));
  if (r.status !== 0 || skipped.length) { stats.corrupt += skipped.length || 1; problems.push(`corrupt in ${ws}: ${r.stderr.trim()}`); }
  const runs = r.status === 0 ? JSON.parse(r.stdout) : [];
  const temps = tempsIn(ws);
  if (temps.length) { stats.temps += temps.length; problems.push(`temp files in ${ws}: ${temps.join(', ')}`); }
  const finished = new Map();
  for (const x of runs) if (x.status === 'finished') finished.set(x.config.key, (finished.get(x.config.key) ?? 0) + 1);
  const dups = [...finished.values()].filter((n) => n > 1).length;
  if (dups) { stats.duplicates += dups; problems.push(`duplicate finished records in ${ws}`); }
  if (final && finished.size !== 6) { stats.unfinished += 6 - finished.size; problems.push(`${ws}: only ${finished.size} of 6 configurations finished`); }
  return { finished: finished.size, runs: runs.length };
}

function startCli(ws) {
  const args = ['run', 'problem1', '--quick', '--data', data, '--model', model, '--workspace', ws, '--verbose'];
  const p = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const st = { p, out: '', worker: undefined, done: false, code: undefined, signal: undefined };
  const onData = (d) => {
    st.out += d;
    for (const m of String(d).matchAll(/training process started \(pid (\d+)\)/g)) st.worker = Number(m[1]);
  };
  p.stdout.on('data', onData);
  p.stderr.on('data', onData);
  st.closed = new Promise((r) => p.on('close', (code, signal) => { st.done = true; st.code = code; st.signal = signal; r(); }));
  return st;
}

const t0 = Date.now();
const workspaces = [];
let ws, cli1;
const newCycle = () => {
  ws = mkdtempSync(join(tmpdir(), 'bert-lab-kill-'));
  workspaces.push(ws);
  stats.cycles++;
};
newCycle();
while (stats.kills < KILLS) {
  if (!cli1 || cli1.done) {
    if (cli1?.done) {
      // The CLI ended by itself: the sweep is complete (or a run failed after a worker kill: re-run).
      const c = check(ws, false);
      if (c.finished === 6) { check(ws, true); newCycle(); }
    }
    cli1 = startCli(ws);
    stats.reruns++;
  }
  await sleep(300 + rand() * MAX_DELAY * 1000);
  if (cli1.done) continue;
  const targetWorker = rand() < 0.5 && cli1.worker && alive(cli1.worker);
  const pid = targetWorker ? cli1.worker : cli1.p.pid;
  try {
    process.kill(pid, 'SIGKILL');
  } catch { stats.missed++; continue; }
  stats.kills++;
  if (targetWorker) stats.workerKills++; else stats.cliKills++;
  process.stdout.write(`kill ${stats.kills}/${KILLS}: ${targetWorker ? 'training process' : 'CLI'} (pid ${pid}) after ${((Date.now() - t0) / 1000).toFixed(1)} s, cycle ${stats.cycles}\n`);
  if (!targetWorker) {
    await cli1.closed;
    // The orphaned training process notices the lost IPC channel and exits: wait for it before checking.
    for (let i = 0; i < 100 && cli1.worker && alive(cli1.worker); i++) await sleep(100);
    if (cli1.worker && alive(cli1.worker)) problems.push(`training process ${cli1.worker} outlived its killed CLI`);
    check(ws, false);
  }
}
// Finish: re-run until the sweep is complete (no kills), then the final checks of every workspace.
if (cli1 && !cli1.done) await cli1.closed;
for (let i = 0; i < 3 && check(ws, false).finished < 6; i++) { cli1 = startCli(ws); stats.reruns++; await cli1.closed; }
for (const w of workspaces) {
  const c = check(w, true);
  console.log(`${w}: ${c.finished}/6 configurations finished, ${c.runs} records (every attempt)`);
}
console.log(JSON.stringify({ ...stats, seconds: Math.round((Date.now() - t0) / 1000) }, null, 2));
if (problems.length) console.log(`PROBLEMS:\n${problems.join('\n')}`);
if (!values.keep) for (const w of workspaces) rmSync(w, { recursive: true, force: true });
process.exit(problems.length ? 1 : 0);
