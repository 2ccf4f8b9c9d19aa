// The manifest against the UI contract (/work/ui-contract.md) and against the commands the code registers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { HOMEWORK9 } from '../experiments/spec';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const c = pkg.contributes;

test('ids, container, views and command titles of the UI contract', () => {
  assert.equal(`${pkg.publisher}.${pkg.name}`, 'bert-lab.bert-lab');
  assert.equal(pkg.displayName, 'BERT Lab');
  assert.deepEqual(c.viewsContainers.activitybar.map((v: { id: string; title: string }) => [v.id, v.title]), [['bertLab', 'BERT Lab']]);
  assert.deepEqual(c.views.bertLab.map((v: { id: string; name: string; when?: string }) => [v.id, v.name, v.when]), [
    ['bertLab.starting', 'Starting', '!bertLab.ready'], ['bertLab.problems', 'Problems', 'bertLab.ready'],
    ['bertLab.history', 'Run History', 'bertLab.ready'], ['bertLab.engine', 'Engine', 'bertLab.ready']]);
  // The placeholder is a webview view: unresolved, VS Code leaves it blank (a tree view says "no data provider").
  assert.equal(c.views.bertLab[0].type, 'webview');
  const titles = Object.fromEntries(c.commands.map((x: { command: string; title: string; category: string }) => [x.command, `${x.category}: ${x.title}`]));
  const contract: Record<string, string> = {
    'bertLab.runProblem1': 'Run Problem 1 Sweep', 'bertLab.runProblem2': 'Run Problem 2 Data-Size Study', 'bertLab.runProblem3': 'Run Problem 3 Model Comparison',
    'bertLab.runAll': 'Run All Problems', 'bertLab.runSingle': 'Run Single Experiment…', 'bertLab.cancel': 'Cancel Run', 'bertLab.openResults': 'Open Results',
    'bertLab.fillAnswers': 'Fill Answer Cells', 'bertLab.exportRuns': 'Export Runs', 'bertLab.showEngine': 'Show Engine Info', 'bertLab.installNativeEngine': 'Install Native Engine',
  };
  for (const [id, title] of Object.entries(contract)) assert.equal(titles[id], `BERT Lab: ${title}`, id);
});

test('settings of the UI contract with their defaults', () => {
  const p = c.configuration.properties;
  const defaults = Object.fromEntries(Object.entries(p).map(([k, v]) => [k, (v as { default: unknown }).default]));
  assert.deepEqual(defaults, {
    'bertLab.data': 'hub:stanfordnlp/imdb', 'bertLab.model': 'distilbert-base-uncased', 'bertLab.compareModel': 'bert-base-uncased', 'bertLab.quick': false,
    'bertLab.backend': 'auto', 'bertLab.precision': 'auto', 'bertLab.pythonPath': '', 'bertLab.cacheDir': '', 'bertLab.seed': 42, 'bertLab.epochs': 3, 'bertLab.evalBatch': 64,
    'bertLab.subsetFrac': 0.25, 'bertLab.saveModels': false,
  });
  assert.deepEqual(p['bertLab.backend'].enum, ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu', 'torch', 'torch-cuda', 'torch-mps', 'torch-cpu']);
  assert.equal(p['bertLab.backend'].enum.length, p['bertLab.backend'].enumDescriptions.length);
  assert.deepEqual(p['bertLab.precision'].enum, ['auto', 'fp32', 'mixed_float16', 'bf16']);
});

test('every registered command is declared, every declared command is registered; menus name declared commands', () => {
  const files = ['lab.ts', ...readdirSync(join(__dirname, 'commands')).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => join('commands', f))];
  const src = files.map((f) => readFileSync(join(__dirname, f), 'utf8')).join('\n');
  const registered = new Set([...src.matchAll(/reg\('([\w.]+)'/g)].map((m) => m[1]));
  // bertLab.runProblemN: registered for each problem of the spec (problemCommands.ts).
  assert.match(src, /reg\(`bertLab\.runProblem\$\{n\}`/);
  for (const p of HOMEWORK9.problems) registered.add(`bertLab.runProblem${p.id.replace('problem', '')}`);
  const declared = new Set(c.commands.map((x: { command: string }) => x.command));
  assert.deepEqual([...registered].sort(), [...declared].sort());
  for (const [menu, items] of Object.entries(c.menus)) {
    for (const item of items as Array<{ command: string }>) assert.ok(declared.has(item.command), `${menu}: ${item.command}`);
  }
});

test('walkthrough steps complete on the matching commands; media files exist', () => {
  const [w] = c.walkthroughs;
  assert.equal(w.title, 'Homework 9: fine-tune BERT');
  const events = w.steps.map((s: { completionEvents: string[] }) => s.completionEvents[0]);
  assert.deepEqual(events, ['onCommand:bertLab.openNotebook', 'onCommand:bertLab.chooseDataAndModel', 'onCommand:bertLab.runProblem1', 'onCommand:bertLab.runProblem2',
    'onCommand:bertLab.runProblem3', 'onCommand:bertLab.openResults', 'onCommand:bertLab.fillAnswers']);
  for (const s of w.steps) assert.ok(existsSync(join(ROOT, s.media.markdown)), s.media.markdown);
  // Step texts are rendered as plain text with links: no literal backticks; titles fit the walkthrough's column.
  for (const s of w.steps) {
    assert.doesNotMatch(`${s.title} ${s.description}`, /`/, s.id);
    assert.ok(s.title.length <= 30, `${s.id}: "${s.title}" is ${s.title.length} characters`);
  }
  assert.ok(existsSync(join(ROOT, pkg.icon)));
  assert.ok(existsSync(join(ROOT, c.viewsContainers.activitybar[0].icon)));
});
