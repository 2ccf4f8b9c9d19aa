// End to end, as a student would: build and install the .vsix into a real VS Code (code-server), open the
// homework notebook (answers at 0.0) in a workspace set up for ../shared's IMDB data and tiny DistilBERT
// (quick mode, WASM), click "▶ Run Problem 1 sweep" on the notebook's cell status bar, wait for the six runs,
// check the Run History view and the results webview (rows, a chart that really drew, confusion matrices),
// click "Insert into notebook" for a1a and check the saved .ipynb byte for byte.
// Needs code-server and Chromium (scripts/e2e-setup.sh; .ci/run runs it) and ../shared; skips without them.
// Screenshots of every step: test-results/e2e/NN-step.png (path printed).
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { RunRecord } from '../../src/protocol';
import { buildIpynb } from '../../src/notebook/homeworkText';
import { analyzeHomework } from '../../src/notebook/homework';
import {
  activityBarItem, canvasInk, CodeServer, launchBrowser, log, missingTools, quickOpen, revealNotebookHeading, runCommand,
  Screenshots, sleep, waitForActivityBar, webviewFrame,
} from './harness';

const ROOT = resolve(__dirname, '..', '..');
const SHARED = resolve(ROOT, '..', 'shared');
const HOMEWORK_TEXT = join(SHARED, 'homework', 'homework-09-notebook.txt');
const DATA = join(SHARED, 'data', 'imdb');
const MODEL = join(SHARED, 'models', 'distilbert-tiny-random');
const COMPARE_MODEL = join(SHARED, 'models', 'bert-tiny-random');
const EXTENSION_ID = 'bert-lab.bert-lab';
// (An empty variable counts as unset; Screenshots refuses a folder holding anything but its own output.)
const SHOTS_DIR = resolve(ROOT, process.env.BERT_LAB_E2E_SHOTS || join('test-results', 'e2e'));
const RUNS_TIMEOUT_MS = Number(process.env.BERT_LAB_E2E_RUNS_TIMEOUT_MS ?? 6 * 60_000);
const NOTEBOOK = 'Homework_09.ipynb';
const A1A_LINE = /"a1a = 0\.0( +# Replace 0\.0 with your answer)/g;

const toolsMissing = missingTools();
// CI (.ci/run) sets BERT_LAB_E2E_REQUIRED=1 after installing the tools: there, missing tools are a failure.
const toolsRequired = process.env.BERT_LAB_E2E_REQUIRED === '1';
if (toolsMissing && toolsRequired) test('the e2e tools are installed (BERT_LAB_E2E_REQUIRED=1)', () => assert.fail(toolsMissing));
const skip = process.env.BERT_LAB_SKIP_E2E === '1' ? 'BERT_LAB_SKIP_E2E=1'
  : toolsMissing
  ?? (!existsSync(HOMEWORK_TEXT) || !existsSync(DATA) || !existsSync(MODEL) ? `../shared (homework, data/imdb, models/distilbert-tiny-random) not found at ${SHARED}` : undefined);

/** Every run record in the workspace's run history. */
function allRuns(workspace: string): RunRecord[] {
  const dir = join(workspace, '.bert-lab', 'runs');
  if (!existsSync(dir)) return [];
  const runs: RunRecord[] = [];
  for (const id of readdirSync(dir)) {
    try { runs.push(JSON.parse(readFileSync(join(dir, id, 'run.json'), 'utf8')) as RunRecord); } catch { /* being written, or not a run */ }
  }
  return runs;
}

/** Problem 1's run records in the workspace's run history (.bert-lab/runs/<id>/run.json). */
function problem1Runs(workspace: string): RunRecord[] {
  const dir = join(workspace, '.bert-lab', 'runs');
  if (!existsSync(dir)) return [];
  const runs: RunRecord[] = [];
  for (const id of readdirSync(dir)) {
    const file = join(dir, id, 'run.json');
    if (!existsSync(file)) continue;
    try {
      const r = JSON.parse(readFileSync(file, 'utf8')) as RunRecord;
      if (r.config?.problem === 'problem1') runs.push(r);
    } catch { /* being written (atomic rename makes this rare) */ }
  }
  return runs;
}

/** Where two texts first differ, for a readable assertion message. */
function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const ctx = (s: string) => JSON.stringify(s.slice(Math.max(0, i - 80), i + 80));
  return `lengths ${a.length} vs ${b.length}; first difference at offset ${i}:\n  actual:   ${ctx(a)}\n  expected: ${ctx(b)}`;
}

describe('the homework in a real VS Code (code-server + Chromium)', { skip }, () => {
  let root = '';
  let workspace = '';
  let notebookFile = '';
  let originalNotebook = '';
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let shots: Screenshots;
  let failed = false;
  let insertedValue = '';
  const started = Date.now();

  /** A row of the notebook's cell list (one per cell; virtualised: only rows near the viewport exist). */
  const cellRows = () => page.locator('.notebookOverlay .cell-list-container .monaco-list-row');
  /** The Problem 1 heading cell (markdown), rendered or in edit mode. */
  const problem1HeadingRow = () => cellRows().filter({ hasText: 'Problem 1 — Mini sweep' }).first();
  /**
   * Problem 1's first code cell, by its index in the list (its text cannot identify it: a cell's editor only
   * renders the lines near the viewport, and the item is on its last line).
   */
  const problem1CodeRow = () => {
    const nb = JSON.parse(originalNotebook) as { cells: Array<{ cell_type: string; source: string | string[] }> };
    const cells = nb.cells.map((c) => ({
      kind: c.cell_type === 'code' ? 'code' as const : 'markdown' as const, text: Array.isArray(c.source) ? c.source.join('') : c.source,
    }));
    const index = analyzeHomework(cells).problems.find((p) => p.problemId === 'problem1')?.codeCellIndex;
    assert.ok(index !== undefined, 'the fixture notebook has no Problem 1 code cell');
    return page.locator(`.notebookOverlay .cell-list-container .monaco-list-row.code-cell-row[data-index="${index}"]`);
  };
  const runItemIn = (row: ReturnType<Page['locator']>) => row.locator('.cell-status-item', { hasText: '▶ Run Problem 1 sweep' }).filter({ visible: true }).first();
  /** The visible "▶ Run Problem 1 sweep" cell status-bar item of the Problem 1 heading cell. */
  const runProblem1Item = () => runItemIn(problem1HeadingRow());
  const cellList = () => page.locator('.notebookOverlay.notebook-editor .cell-list-container').first();
  /**
   * Whether an element lies inside the notebook list's viewport: the list renders rows beyond it (still
   * "visible" to Playwright) and scrolls itself (no native scrolling, so scrollIntoViewIfNeeded cannot help).
   */
  const inListViewport = async (item: ReturnType<Page['locator']>) => {
    const list = await cellList().boundingBox();
    const b = list && (await item.isVisible()) ? await item.boundingBox() : null;
    return list !== null && b !== null && b.y >= list.y && b.y + b.height <= list.y + list.height;
  };
  /**
   * Wheels over the notebook list (dy > 0: down) until `item` is inside its viewport; false after 40 tries.
   * (The list scrolls about 50 px per 120 of wheel delta, so |dy| = 600 moves well under its ~860 px height:
   * the item cannot be skipped.)
   */
  const wheelTo = async (item: ReturnType<Page['locator']>, dy: number) => {
    const list = await cellList().boundingBox();
    assert.ok(list, 'the notebook cell list has no bounding box');
    await page.mouse.move(list.x + list.width / 2, list.y + list.height / 2);
    for (let i = 0; i < 40; i++) {
      if (await inListViewport(item)) return true;
      await page.mouse.wheel(0, dy);
      await sleep(250);
    }
    return inListViewport(item);
  };

  /**
   * Brings the Problem 1 heading cell into view and into edit mode: a rendered markdown cell hides its status
   * bar, which shows while the cell is edited (Enter on the selected cell, or a double-click, as a user does).
   */
  const showRunProblem1Item = async () => {
    for (let attempt = 1; ; attempt++) {
      await revealNotebookHeading(page, NOTEBOOK, 'Problem 1');
      await page.keyboard.press('Enter');
      if (await runProblem1Item().waitFor({ timeout: 3000 }).then(() => true, () => false)) return;
      await problem1HeadingRow().dblclick({ position: { x: 120, y: 30 }, timeout: 5000 }).catch(() => undefined);
      if (await runProblem1Item().waitFor({ timeout: 5000 }).then(() => true, () => false)) return;
      if (attempt === 3) throw new Error('"▶ Run Problem 1 sweep" did not show on the Problem 1 heading cell (Enter and double-click tried 3 times)');
      log('"▶ Run Problem 1 sweep" not visible yet; retrying');
      await page.keyboard.press('Escape');
    }
  };

  /** A step of the walk-through: on failure, a screenshot of the moment; after a failure, later steps skip. */
  const step = async (t: TestContext, name: string, fn: () => Promise<void>) => {
    if (failed) {
      t.skip('an earlier step failed');
      return;
    }
    try {
      await fn();
      await shots.take(page, name);
    } catch (e) {
      failed = true;
      if (page) await shots.take(page, `${name}-FAILED`);
      throw e;
    }
  };

  before(async () => {
    shots = new Screenshots(SHOTS_DIR);
    root = mkdtempSync(join(tmpdir(), 'bert-lab-e2e-'));
    try {
      // 1. The .vsix, as a user gets it.
      let vsix = process.env.BERT_LAB_E2E_VSIX ?? '';
      if (!vsix) {
        vsix = join(root, 'bert-lab.vsix');
        const t0 = Date.now();
        const r = spawnSync('npm', ['run', 'package', '--', '--out', vsix], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
        if (r.status !== 0 || !existsSync(vsix)) {
          throw new Error(`npm run package failed (exit ${r.status}):\n${`${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-30).join('\n')}`);
        }
        log(`built ${vsix} (${(statSync(vsix).size / 1e6).toFixed(2)} MB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      }

      // 2. A workspace with the homework notebook (answers at 0.0) and settings for the local data/model.
      workspace = join(root, 'workspace');
      mkdirSync(join(workspace, '.vscode'), { recursive: true });
      originalNotebook = buildIpynb(readFileSync(HOMEWORK_TEXT, 'utf8'), { resetAnswers: true, flavour: 'colab' });
      assert.equal(originalNotebook.match(A1A_LINE)?.length, 1, 'the fixture notebook has exactly one `a1a = 0.0  # Replace …` answer line');
      notebookFile = join(workspace, NOTEBOOK);
      writeFileSync(notebookFile, originalNotebook);
      writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({
        'bertLab.data': DATA,
        'bertLab.model': MODEL,
        'bertLab.compareModel': COMPARE_MODEL,
        'bertLab.quick': true,
        'bertLab.backend': 'wasm',
      }, null, 2));

      // 3. Install it into a fresh code-server and open the workspace in Chromium.
      const state = join(root, 'state');
      log(CodeServer.installExtension(state, vsix).split('\n').pop() ?? '');
      server = await CodeServer.start({ stateDir: state, workspace });
      ({ browser, page } = await launchBrowser(join(root, 'chromium')));
      page.on('pageerror', (e) => log(`page error: ${e.message.split('\n')[0]}`));
      await page.goto(server.url);
      await waitForActivityBar(page, 'BERT Lab');
      await shots.take(page, 'workbench');
    } catch (e) {
      failed = true;
      if (page) await shots.take(page, 'setup-FAILED');
      throw e;
    }
  }, { timeout: 8 * 60_000 });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    if (!shots) return; // the screenshot folder was refused: write nothing there
    // Keep the logs next to the screenshots (the extension's output channel is among them).
    const logs = join(root, 'state', 'user-data', 'logs');
    if (existsSync(logs)) cpSync(logs, join(SHOTS_DIR, 'logs'), { recursive: true });
    if (server && existsSync(server.logFile)) cpSync(server.logFile, join(SHOTS_DIR, 'logs', 'code-server.log'));
    if (failed) log(`kept the workspace and state for inspection: ${root}`);
    // Only ever remove the temp folder this run made.
    else if (root && basename(root).startsWith('bert-lab-e2e-') && dirname(root) === resolve(tmpdir())) rmSync(root, { recursive: true, force: true });
    log(`screenshots and logs: ${SHOTS_DIR} (e2e total ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  });

  test('the notebook shows "▶ Run Problem 1 sweep" on the Problem 1 heading cell', { timeout: 120_000 }, async (t) => {
    await step(t, 'notebook-open', async () => {
      await activityBarItem(page, 'BERT Lab').click();
      await quickOpen(page, NOTEBOOK);
      await page.locator('.notebookOverlay.notebook-editor .cell-list-container').first().waitFor({ timeout: 60_000 });
      // Let the editor settle before driving it with the keyboard: its outline (breadcrumbs) names a cell.
      await page.locator('.breadcrumbs-control .monaco-breadcrumb-item').nth(1).waitFor({ timeout: 30_000 }).catch(() => undefined);
      await sleep(500);
    });
    await step(t, 'problem1-heading', showRunProblem1Item);
    // The same item is on the problem's first code cell (a code cell's status bar always shows): scroll to it.
    await step(t, 'problem1-code-cell', async () => {
      if (!(await wheelTo(runItemIn(problem1CodeRow()), 600))) {
        throw new Error('"▶ Run Problem 1 sweep" did not show on Problem 1\'s first code cell (scrolled down 40 times)');
      }
    });
  });

  test('clicking it trains the six Problem 1 runs to the end', { timeout: RUNS_TIMEOUT_MS + 60_000 }, async (t) => {
    await step(t, 'training', async () => {
      // Back up to the heading cell, still in edit mode (the wheel leaves the focus alone; pressing Enter
      // again could type into the cell).
      await wheelTo(runProblem1Item(), -600);
      // The item can re-render (or the cell leave edit mode) between finding and clicking it: retry.
      for (let attempt = 1; ; attempt++) {
        try {
          if (!(await inListViewport(runProblem1Item()))) await showRunProblem1Item();
          await runProblem1Item().click({ timeout: 10_000 });
          break;
        } catch (e) {
          if (attempt === 3) throw e;
          log(`clicking "▶ Run Problem 1 sweep" failed (${(e as Error).message.split('\n')[0]}); retrying`);
        }
      }
      const t0 = Date.now();
      let shotWhileRunning = false;
      for (;;) {
        const runs = problem1Runs(workspace);
        const bad = runs.filter((r) => r.status === 'failed' || r.status === 'cancelled' || r.status === 'interrupted');
        assert.equal(bad.length, 0, `runs ended badly: ${bad.map((r) => `${r.config.label}: ${r.status}${r.error ? ` (${r.error})` : ''}`).join('; ')}`);
        const finished = runs.filter((r) => r.status === 'finished');
        if (finished.length >= 6) {
          log(`six runs finished in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
          break;
        }
        if (!shotWhileRunning && runs.some((r) => r.status === 'running') && Date.now() - t0 > 8000) {
          shotWhileRunning = true;
          await shots.take(page, 'training-in-progress');
        }
        assert.ok(Date.now() - t0 < RUNS_TIMEOUT_MS,
          `only ${finished.length} of 6 runs finished after ${RUNS_TIMEOUT_MS / 1000} s (history: ${runs.map((r) => `${r.config.label}: ${r.status}`).join('; ') || 'empty'})`);
        await sleep(2000);
      }
      const runs = problem1Runs(workspace);
      assert.equal(runs.length, 6, 'exactly six Problem 1 runs in the history');
      // Really trained, with the workspace's settings: epochs recorded, the test split counted in the
      // confusion matrix, the WASM backend that .vscode/settings.json asks for.
      for (const r of runs) {
        const where = `${r.config.label} (${r.id})`;
        assert.ok((r.history ?? []).length >= 1, `${where}: no epoch in its history`);
        const counted = (r.metrics?.confusion ?? []).flat().reduce((a, b) => a + b, 0);
        assert.ok(r.split && counted === r.split.test, `${where}: confusion matrix counts ${counted} examples, test split has ${r.split?.test}`);
        assert.equal(r.engine?.backend, 'wasm', `${where}: backend`);
      }
    });
  });

  test('the Run History view lists the six runs', { timeout: 60_000 }, async (t) => {
    await step(t, 'run-history', async () => {
      const runs = problem1Runs(workspace);
      assert.equal(runs.length, 6);
      // The Run History pane only (the Problems view lists the same configurations).
      const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: /^\s*Run History/i }) }).first();
      if (!(await pane.isVisible())) await activityBarItem(page, 'BERT Lab').click();
      await pane.waitFor({ timeout: 20_000 });
      for (const r of runs) {
        const item = pane.getByRole('treeitem', { name: r.config.label });
        // Parent items may start collapsed: expand them until the run shows.
        for (let i = 0; i < 10 && !(await item.first().isVisible()); i++) {
          const collapsed = pane.locator('.pane-body [role="treeitem"][aria-expanded="false"]');
          if ((await collapsed.count()) === 0) break;
          await collapsed.first().click();
          await sleep(300);
        }
        await item.first().waitFor({ timeout: 20_000 });
      }
      // Each run's item says it finished (its description holds the status; the view may lag the files a little).
      const items = () => pane.locator('.pane-body [role="treeitem"]').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
      const finishedItems = (labels: string[]) => runs.filter((r) => labels.some((l) => l.includes(r.config.label) && /finished/i.test(l))).length;
      let labels = await items();
      for (let i = 0; i < 40 && finishedItems(labels) < 6; i++) { await sleep(500); labels = await items(); }
      log(`Run History items: ${JSON.stringify(labels.map((l) => l.split('\n')[0]))}`);
      assert.equal(runs.filter((r) => labels.some((l) => l.includes(r.config.label))).length, 6, 'each run has a tree item');
      assert.equal(finishedItems(labels), 6, 'each run\'s tree item says "finished"');
      // Quick runs with the tiny model are marked as such: in the item's description and its tooltip.
      const rowTexts = await pane.locator('.pane-body [role="treeitem"]').evaluateAll((els) => els.map((e) => (e as HTMLElement).innerText.replace(/\s+/g, ' ')));
      log(`Run History rows: ${JSON.stringify(rowTexts)}`);
      assert.equal(rowTexts.filter((t) => /val \d\.\d{4} · quick, tiny · \d+:\d\d:\d\d/.test(t)).length, 6, 'each finished run\'s row says "quick, tiny"');
      assert.equal(labels.filter((l) => l.includes('quick run with distilbert-tiny-random')).length, 6, 'each run\'s tooltip names the quick run and the tiny model');
    });
  });

  test('the results webview shows six runs, a chart that really drew and confusion matrices', { timeout: 90_000 }, async (t) => {
    await step(t, 'results-confusion-matrices', async () => {
      const frame = webviewFrame(page, EXTENSION_ID);
      const rows = frame.locator('#runs-table tr[data-run-id]');
      // Close the panel the sweep opened and open it again from the command palette, as a user coming back
      // later would: it must show the finished runs again.
      const resultsTab = page.locator('.tabs-container .tab', { hasText: 'BERT Lab Results' }).first();
      if (await resultsTab.isVisible()) {
        await resultsTab.hover();
        await resultsTab.locator('.tab-actions .action-label').first().click();
        await resultsTab.waitFor({ state: 'hidden', timeout: 10_000 });
        await shots.take(page, 'results-closed');
      }
      await runCommand(page, 'BERT Lab: Open Results');
      await rows.first().waitFor({ timeout: 30_000 });
      assert.ok(await page.locator('.tabs-container .tab', { hasText: NOTEBOOK }).first().isVisible(), `${NOTEBOOK} is still open`);
      for (let i = 0; i < 30 && (await rows.count()) !== 6; i++) await sleep(500);
      const ids = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-run-id')));
      assert.deepEqual([...ids].sort(), problem1Runs(workspace).map((r) => r.id).sort(), 'the table lists exactly the six recorded runs');

      const chart = frame.locator('canvas#chart-problem1');
      await chart.scrollIntoViewIfNeeded();
      let ink = await canvasInk(frame, 'canvas#chart-problem1');
      for (let i = 0; i < 10 && ink.colored < 50; i++) { await sleep(500); ink = await canvasInk(frame, 'canvas#chart-problem1'); }
      log(`canvas#chart-problem1: ${JSON.stringify(ink)}`);
      assert.ok(ink.ink > 2000, `chart-problem1 drew only ${ink.ink} non-transparent pixels (${ink.width}x${ink.height})`);
      assert.ok(ink.colored > 50, `chart-problem1 has only ${ink.colored} coloured (data) pixels: axes but no data?`);
      await shots.take(page, 'results-chart');
      // One distinct colour per learning rate (the chart's datasets, as drawn).
      const colors = JSON.parse((await chart.getAttribute('data-colors')) ?? '[]') as string[];
      const lrs = new Set(problem1Runs(workspace).map((r) => r.config.learningRate));
      log(`chart-problem1 colours: ${JSON.stringify(colors)} for ${lrs.size} learning rates`);
      assert.equal(colors.length, lrs.size, 'one dataset per learning rate');
      assert.equal(new Set(colors).size, colors.length, `learning-rate colours are not distinct: ${colors.join(', ')}`);
      // Quick results are marked as such: the problem's caveat, a badge on every row, the answer.
      assert.match((await frame.locator('#problem1-caveat').textContent()) ?? '', /quick run with distilbert-tiny-random/);
      assert.equal(await frame.locator('#runs-table tr.quick .quick-badge', { hasText: 'quick' }).count(), 6, 'a "quick" badge on each row');
      assert.match((await frame.locator('.answer[data-variable="a1a"] .quick-badge').textContent()) ?? '', /quick run with distilbert-tiny-random/);

      const matrices = frame.locator('.confusion-matrix');
      assert.ok((await matrices.count()) >= 1, 'no .confusion-matrix in the results page');
      const cmIds = await frame.locator('.confusion-matrix[data-run-id]').evaluateAll((els) => els.map((e) => e.getAttribute('data-run-id')));
      log(`confusion matrices: ${cmIds.length}`);
      const known = new Set(problem1Runs(workspace).map((r) => r.id));
      assert.ok(cmIds.every((id) => id && known.has(id)), `confusion matrices for unknown runs: ${JSON.stringify(cmIds)}`);
      assert.deepEqual([...new Set(cmIds)].sort(), [...known].sort(), 'one confusion matrix per run');
      await matrices.first().scrollIntoViewIfNeeded();
    });
  });

  test('"Insert into notebook" writes a1a into the saved .ipynb and changes nothing else', { timeout: 90_000 }, async (t) => {
    await step(t, 'inserted', async () => {
      const frame = webviewFrame(page, EXTENSION_ID);
      const button = frame.locator('button[data-insert="a1a"]');
      await button.scrollIntoViewIfNeeded();
      for (let i = 0; i < 20 && !(await button.isEnabled()); i++) await sleep(500);
      // The value shown next to the button (`.answer-value` in the real page; any d.dddd in its row otherwise).
      const rowText = await button.evaluate((b) => {
        const row = b.closest('[data-variable], .answer, tr, li') ?? b.parentElement;
        return (row?.querySelector('.answer-value') ?? row)?.textContent ?? '';
      });
      const shown = /(?<![\d.])[01]\.\d{4}(?![\d])/.exec(rowText)?.[0];
      assert.ok(shown, `no 4-decimal a1a value next to the button: ${JSON.stringify(rowText)}`);
      // The homework's definition: validation accuracy at the epoch of minimum validation loss, best run.
      const best = Math.max(...problem1Runs(workspace).map((r) => r.metrics?.valAccuracyAtMinValLoss ?? -1));
      assert.equal(shown, best.toFixed(4), 'a1a shown is the best run\'s validation accuracy at minimum validation loss');
      await shots.take(page, 'before-insert');

      await button.click();
      // A value from a quick run is written only after the student confirms it.
      const dialog = page.locator('.monaco-dialog-box');
      await dialog.waitFor({ timeout: 15_000 });
      const question = (await dialog.innerText()).replace(/\s+/g, ' ');
      log(`confirmation: ${question}`);
      assert.match(question, new RegExp(`Fill a1a with ${shown.replace('.', '\\.')} from a quick run with distilbert-tiny-random\\?`));
      await shots.take(page, 'confirm-quick-fill');
      await dialog.getByRole('button', { name: 'Replace' }).click();
      for (let i = 0; i < 60 && readFileSync(notebookFile, 'utf8') === originalNotebook; i++) await sleep(500);
      await sleep(1500); // let a save followed by a rewrite settle
      const saved = readFileSync(notebookFile, 'utf8');
      const expected = originalNotebook.replace(A1A_LINE, `"a1a = ${shown}$1`);
      assert.notEqual(saved, originalNotebook, 'the notebook file did not change within 30 s');
      assert.ok(saved === expected, `the saved notebook is not the original with only a1a = ${shown}: ${firstDifference(saved, expected)}`);
      log(`${NOTEBOOK} on disk: a1a = ${shown}, every other byte unchanged`);
      insertedValue = shown;
    });
    await step(t, 'notebook-answer-cell', async () => {
      // The open editor shows the same value and holds nothing unsaved.
      await revealNotebookHeading(page, NOTEBOOK, 'Graded Questions');
      await page.locator('.notebookOverlay .view-lines', { hasText: new RegExp(`a1a\\s*=\\s*${insertedValue.replace('.', '\\.')}\\s`) }).first().waitFor({ timeout: 15_000 });
      const dirty = await page.locator('.tabs-container .tab.dirty', { hasText: NOTEBOOK }).count();
      assert.equal(dirty, 0, `${NOTEBOOK} shows unsaved changes after the insert`);
      // The cell's fill item now says the cell holds the current result (its tooltip: the printed output
      // below is from an earlier execution).
      await page.locator('.notebookOverlay .cell-status-item', { hasText: `✓ a1a = ${insertedValue} (current)` }).first().waitFor({ timeout: 15_000 });
    });
  });
  test('replacing an answer that is not the placeholder asks first; Cancel leaves the notebook as it was', { timeout: 90_000 }, async (t) => {
    await step(t, 'confirm-replace', async () => {
      // The student's own value (as in the issue: a1a = 0.9144 already in the notebook), written on disk.
      const own = readFileSync(notebookFile, 'utf8').replace(`"a1a = ${insertedValue}`, '"a1a = 0.9144');
      assert.notEqual(own, readFileSync(notebookFile, 'utf8'));
      writeFileSync(notebookFile, own);
      // The open (saved) editor reloads the file.
      await page.locator('.notebookOverlay .view-lines', { hasText: /a1a\s*=\s*0\.9144\s/ }).first().waitFor({ timeout: 20_000 });
      const frame = webviewFrame(page, EXTENSION_ID);
      const tab = page.locator('.tabs-container .tab', { hasText: 'BERT Lab Results' }).first();
      await tab.click();
      const button = frame.locator('button[data-insert="a1a"]');
      await button.scrollIntoViewIfNeeded();
      await button.click();
      const dialog = page.locator('.monaco-dialog-box');
      await dialog.waitFor({ timeout: 15_000 });
      const question = (await dialog.innerText()).replace(/\s+/g, ' ');
      log(`confirmation: ${question}`);
      assert.match(question, new RegExp(`a1a is 0\\.9144 in the notebook; replace it with ${insertedValue.replace('.', '\\.')} from a quick run with distilbert-tiny-random\\?`));
      await shots.take(page, 'confirm-replace-own-value');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden', timeout: 10_000 });
      await sleep(1500);
      assert.ok(readFileSync(notebookFile, 'utf8') === own, 'Cancel left the notebook byte for byte as it was');
    });
  });

  test('the walkthrough shows the steps done from the state (runs in the history, answers in the notebook)', { timeout: 60_000 }, async (t) => {
    await step(t, 'walkthrough', async () => {
      // Neither "Run Problem 1 Sweep" nor "Fill Answer Cells" was run as a command (the notebook's button and
      // the results page were used): only the context keys set from the runs and the notebook can tick them.
      await runCommand(page, 'Welcome: Open Walkthrough...');
      const input = page.locator('.quick-input-widget .quick-input-box input');
      await input.waitFor({ timeout: 10_000 });
      await input.fill('Homework 9');
      await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'Homework 9' }).first().waitFor({ timeout: 15_000 });
      await page.keyboard.press('Enter');
      const stepButton = (id: string) => page.locator(`button.getting-started-step[data-step-id$="${id}"]`).first();
      await stepButton('runProblem1').waitFor({ timeout: 20_000 });
      const checked = async (id: string) => (await stepButton(id).getAttribute('aria-checked')) === 'true';
      for (let i = 0; i < 20 && !(await checked('runProblem1') && await checked('fillAnswers')); i++) await sleep(500);
      const titles = await page.locator('button.getting-started-step h3.step-title').allInnerTexts();
      log(`walkthrough steps: ${JSON.stringify(titles)}`);
      assert.ok(titles.every((x) => !x.includes('`')), 'no literal backticks in the step titles');
      assert.equal(await checked('openNotebook'), true, 'Open the homework notebook is ticked (it is open)');
      assert.equal(await checked('runProblem1'), true, 'Run Problem 1 is ticked (Problem 1 has finished runs)');
      assert.equal(await checked('fillAnswers'), true, 'Fill the answer cells is ticked (the notebook holds answers)');
      assert.equal(await checked('runProblem2'), false, 'Run Problem 2 is not ticked (no run yet)');
      const text = await page.locator('.gettingStartedContainer').first().innerText();
      assert.ok(!text.includes('`'), 'no literal backticks in the walkthrough');
    });
  });

  test('the results page in light, dark and high-contrast themes', { timeout: 120_000 }, async (t) => {
    // The theme picker (Ctrl+K Ctrl+T), as a user changes it; the workbench's root element then carries the
    // theme's kind ("vs", "vs-dark", "hc-black").
    const theme = async (label: string, uiClass: string) => {
      const applied = () => page.locator('.monaco-workbench').first().evaluate((e, c) => e.classList.contains(c), uiClass);
      for (let attempt = 0; attempt < 3 && !(await applied()); attempt++) {
        await page.locator('.tabs-container .tab', { hasText: NOTEBOOK }).first().click();
        await page.keyboard.press('Control+K');
        await page.keyboard.press('Control+T');
        const input = page.locator('.quick-input-widget .quick-input-box input');
        await input.waitFor({ timeout: 10_000 });
        await input.fill(label);
        const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: label }).first();
        if (await row.waitFor({ timeout: 10_000 }).then(() => true, () => false)) await page.keyboard.press('Enter');
        else await page.keyboard.press('Escape');
        for (let i = 0; i < 10 && !(await applied()); i++) await sleep(500);
      }
      assert.ok(await applied(), `the theme ${label} was not applied`);
      await page.locator('.tabs-container .tab', { hasText: 'BERT Lab Results' }).first().click();
      await sleep(2000); // the page redraws its charts with the new theme colours
    };
    for (const [name, shot, uiClass] of [['Light Modern', 'results-light', 'vs'], ['Dark High Contrast', 'results-high-contrast', 'hc-black'], ['Dark Modern', 'results-dark', 'vs-dark']] as const) {
      await step(t, shot, async () => {
        await theme(name, uiClass);
        const frame = webviewFrame(page, EXTENSION_ID);
        await frame.locator('canvas#chart-problem1').scrollIntoViewIfNeeded();
        const ink = await canvasInk(frame, 'canvas#chart-problem1');
        assert.ok(ink.colored > 50, `${name}: chart-problem1 has only ${ink.colored} coloured pixels`);
        // The page's text uses the theme's foreground: dark text on light, light text on dark.
        const fg = await frame.locator('body').evaluate((b) => getComputedStyle(b).color);
        const lum = (fg.match(/\d+/g) ?? []).slice(0, 3).map(Number).reduce((a, b) => a + b, 0) / 3;
        log(`${name}: body colour ${fg}`);
        assert.ok(name.startsWith('Light') ? lum < 128 : lum > 128, `${name}: text colour ${fg}`);
      });
    }
  });
  test('Run All Problems: Problems 2 and 3 run (Problem 1 is skipped) and their charts draw with real numbers', { timeout: RUNS_TIMEOUT_MS + 60_000 }, async (t) => {
    await step(t, 'problems-2-3', async () => {
      await page.locator('.tabs-container .tab', { hasText: NOTEBOOK }).first().click();
      await runCommand(page, 'BERT Lab: Run All Problems');
      const runsOf = (p: string) => allRuns(workspace).filter((r) => r.config.problem === p);
      const t0 = Date.now();
      for (;;) {
        const bad = allRuns(workspace).filter((r) => r.status === 'failed' || r.status === 'cancelled');
        assert.equal(bad.length, 0, `runs ended badly: ${bad.map((r) => `${r.config.problem} ${r.config.label}: ${r.error}`).join('; ')}`);
        const done = (p: string) => runsOf(p).filter((r) => r.status === 'finished').length;
        if (done('problem2') >= 4 && done('problem3') >= 2) break;
        assert.ok(Date.now() - t0 < RUNS_TIMEOUT_MS, `Problems 2/3 did not finish: ${done('problem2')}/4, ${done('problem3')}/2`);
        await sleep(2000);
      }
      assert.equal(runsOf('problem1').length, 6, 'Problem 1 was not run again');
      const frame = webviewFrame(page, EXTENSION_ID);
      await page.locator('.tabs-container .tab', { hasText: 'BERT Lab Results' }).first().click();
      for (const [p, n] of [['problem2', 4], ['problem3', 2]] as const) {
        const canvas = frame.locator(`canvas#chart-${p}`);
        await canvas.scrollIntoViewIfNeeded();
        let ink = await canvasInk(frame, `canvas#chart-${p}`);
        for (let i = 0; i < 10 && ink.colored < 50; i++) { await sleep(500); ink = await canvasInk(frame, `canvas#chart-${p}`); }
        const colors = JSON.parse((await canvas.getAttribute('data-colors')) ?? '[]') as string[];
        log(`chart-${p}: ${JSON.stringify(ink)} colours ${JSON.stringify(colors)}; runs ${runsOf(p).map((r) => `${r.config.label}=${r.metrics?.valAccuracyAtMinValLoss.toFixed(4)}`).join(', ')}`);
        assert.ok(ink.colored > 50, `chart-${p} drew no data`);
        assert.equal(new Set(colors).size, colors.length, `chart-${p}: colours not distinct`);
        assert.equal(await frame.locator(`#runs-table tr[data-run-id].quick`).filter({ hasText: p }).count(), n, `${p}: ${n} quick rows`);
        await shots.take(page, `chart-${p}`);
      }
      // a2a and a3a: the best runs' values, marked as quick.
      for (const [v, p] of [['a2a', 'problem2'], ['a3a', 'problem3']] as const) {
        const shown = (await frame.locator(`.answer[data-variable="${v}"] .answer-value`).textContent()) ?? '';
        const best = Math.max(...runsOf(p).map((r) => r.metrics?.valAccuracyAtMinValLoss ?? -1));
        assert.equal(shown, best.toFixed(4), `${v} shown`);
        assert.equal(await frame.locator(`.answer[data-variable="${v}"] .quick-badge`).count(), 1, `${v} marked quick`);
      }
    });
  });
  test('a run whose model cannot load: one clear error with "Choose Data and Model…", and no a3a from older runs', { timeout: 120_000 }, async (t) => {
    await step(t, 'setup-failure', async () => {
      const settingsFile = join(workspace, '.vscode', 'settings.json');
      const before = readFileSync(settingsFile, 'utf8');
      const missing = join(root, 'no-such-model');
      writeFileSync(settingsFile, JSON.stringify({ ...JSON.parse(before), 'bertLab.compareModel': missing }, null, 2));
      await sleep(1500); // the settings change reaches the extension
      const failedBefore = allRuns(workspace).filter((r) => r.status === 'failed').length;
      await page.locator('.tabs-container .tab', { hasText: NOTEBOOK }).first().click();
      await runCommand(page, 'BERT Lab: Run Problem 3 Model Comparison');
      const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'could not start' }).first();
      await toast.waitFor({ timeout: 90_000 });
      const text = (await toast.innerText()).replace(/\s+/g, ' ');
      log(`setup failure: ${text}`);
      assert.match(text, /Problem 3 could not start: /);
      assert.ok(text.includes('no-such-model'), 'the error names the model that did not load');
      assert.equal(await toast.getByRole('button', { name: 'Choose Data and Model…' }).count(), 1, 'the fix is one click away');
      assert.equal(await page.locator('.notifications-toasts .notification-toast', { hasText: 'could not start' }).count(), 1, 'one error, not one per run');
      const failed = allRuns(workspace).filter((r) => r.status === 'failed');
      log(`failed runs recorded: ${failed.length - failedBefore} (${failed.map((r) => r.failureStage).join(', ')})`);
      // The sweep is over: the status bar no longer says a run is going on.
      await page.locator('.statusbar-item', { hasText: 'BERT Lab: run' }).first().waitFor({ state: 'hidden', timeout: 5000 });
      await shots.take(page, 'setup-failure');
      // The latest Problem 3 sweep failed with another model: a3a is withheld, with the reason.
      const frame = webviewFrame(page, EXTENSION_ID);
      await page.locator('.tabs-container .tab', { hasText: 'BERT Lab Results' }).first().click();
      const a3a = frame.locator('.answer[data-variable="a3a"]');
      for (let i = 0; i < 20 && !/no result yet/.test((await a3a.textContent()) ?? ''); i++) await sleep(500);
      assert.match((await a3a.textContent()) ?? '', /no result yet.*all \d+ runs? failed/);
      writeFileSync(settingsFile, before);
    });
  });
  test('after a window reload the BERT Lab side bar comes back with the history from disk', { timeout: 120_000 }, async (t) => {
    await step(t, 'after-reload', async () => {
      await runCommand(page, 'Developer: Reload Window');
      await sleep(300);
      // Watch from the moment the window reloads: VS Code draws the restored side bar before the extension
      // host is up. The tree views wait for bertLab.ready and a blank webview placeholder ("Starting") keeps
      // the container open meanwhile, so VS Code's "There is no data provider registered" must never show.
      const history = page.locator('.pane', { has: page.locator('.pane-header', { hasText: /^\s*Run History/i }) }).first();
      let flashes = 0, items = 0, back = false;
      const t0 = Date.now();
      while (Date.now() - t0 < 30_000) {
        flashes += await page.getByText('There is no data provider registered').filter({ visible: true }).count().catch(() => 0);
        back = back || await history.isVisible().catch(() => false);
        items = back ? await history.locator('.pane-body [role="treeitem"]').count().catch(() => 0) : 0;
        if (items >= 2 && Date.now() - t0 > 5000) break;
        await sleep(200);
      }
      log(`after reload: side bar back by itself: ${back}; ${items} Run History items; "no data provider" visible in ${flashes} polls of 200 ms`);
      if (!back) await activityBarItem(page, 'BERT Lab').click(); // for the screenshot
      assert.equal(back, true, 'the BERT Lab side bar came back by itself after the reload');
      assert.equal(flashes, 0, 'no "There is no data provider registered" text while BERT Lab starts');
      assert.ok(items >= 2, 'the Run History shows the runs (read from disk) after the reload');
    });
  });

  // The PyTorch engine ships inside the .vsix (python/bert_lab_torch) and runs from the installed extension:
  // the installed copy's own CLI trains a quick Problem 1 sweep with it, from a folder outside the repository.
  test('the installed extension trains with the PyTorch engine it ships (python/ in the .vsix)', { timeout: 240_000 }, async () => {
    const extDir = join(root, 'state', 'extensions');
    const ext = readdirSync(extDir).find((n) => n.startsWith('bert-lab.bert-lab-'));
    assert.ok(ext, `no installed bert-lab extension in ${extDir}`);
    const home = join(extDir, ext);
    assert.ok(existsSync(join(home, 'python', 'bert_lab_torch', 'model.py')), 'the .vsix ships python/bert_lab_torch');
    const ws = join(root, 'torch-workspace');
    mkdirSync(ws);
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [join(home, 'bin', 'bert-lab.js'), 'run', 'problem1', '--quick', '--backend', 'torch-cpu',
      '--python', '/usr/bin/python3', '--data', DATA, '--model', MODEL, '--workspace', ws], { cwd: ws, encoding: 'utf8', timeout: 230_000 });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`.split('\n').slice(-15).join('\n'));
    const runsDir = join(ws, '.bert-lab', 'runs');
    const records = readdirSync(runsDir).map((id) => JSON.parse(readFileSync(join(runsDir, id, 'run.json'), 'utf8')) as RunRecord);
    assert.equal(records.length, 6);
    for (const rec of records) {
      assert.equal(rec.status, 'finished', rec.error);
      assert.equal(rec.engine?.engine, 'pytorch');
      assert.equal(rec.engine?.backend, 'torch-cpu');
    }
    log(`installed extension, PyTorch engine: six quick runs in ${((Date.now() - t0) / 1000).toFixed(0)} s on ${records[0].engine?.device} (torch ${records[0].engine?.versions?.torch})`);
  });
});
