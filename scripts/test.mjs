// Runs every *.test.ts under src/, test/ and webview/ with Node's test runner (Node 20 has no --test globs).
// Usage: node scripts/test.mjs [filter...]   e.g. node scripts/test.mjs engine splits
// In CI (CI=true) a skipped test fails the run: CI always has ../shared, Python + torch and the e2e tools,
// so a skip there means something is broken, not absent.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const filters = process.argv.slice(2);
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules' || name.startsWith('.')) continue;
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.test.ts') && (filters.length === 0 || filters.some((f) => p.includes(f)))) files.push(p);
  }
};
for (const d of ['src', 'test', 'webview']) walk(d);
files.sort();
if (files.length === 0) {
  console.error(`test: no test file matches ${filters.join(' ')}`);
  process.exit(1);
}
const tapDir = mkdtempSync(join(tmpdir(), 'bert-lab-tests-'));
const tap = join(tapDir, 'results.tap');
const r = spawnSync(process.execPath, [
  '--import', 'tsx', '--test',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=tap', `--test-reporter-destination=${tap}`,
  ...files,
], { stdio: 'inherit' });
let status = r.status ?? 1;
const inCi = process.env.CI === 'true' || process.env.CI === '1';
const skipped = readFileSync(tap, 'utf8').split('\n').filter((l) => /^\s*ok \d+ - .*# SKIP/.test(l)).map((l) => l.trim());
rmSync(tapDir, { recursive: true, force: true });
if (inCi && skipped.length) {
  console.error(`\nCI: ${skipped.length} test(s) skipped; in CI every test must run (../shared and the tools are always there):`);
  for (const l of skipped) console.error(`  ${l}`);
  status = status || 1;
}
process.exit(status);
