// Runs a real VS Code (code-server) and drives it with Debian's Chromium through playwright-core
// (recipe: ../shared/e2e/README.md). Everything it starts runs in its own process group and is killed by
// `stop()`; state (user data, extensions, Chromium profile) lives under a temp folder, never in $HOME.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type FrameLocator, type Locator, type Page } from 'playwright-core';

export const CODE_SERVER_VERSION = '4.100.3';
export const TOOLS_DIR = process.env.BERT_LAB_E2E_TOOLS ?? join(homedir(), '.cache', 'bert-lab-e2e');
export const CODE_SERVER_ENTRY = join(TOOLS_DIR, `code-server-${CODE_SERVER_VERSION}`, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
export const CHROMIUM = process.env.BERT_LAB_E2E_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

/** Why the e2e test cannot run here (one line), or undefined when code-server and Chromium are installed. */
export function missingTools(): string | undefined {
  if (!existsSync(CODE_SERVER_ENTRY)) return `code-server ${CODE_SERVER_VERSION} not installed (run scripts/e2e-setup.sh)`;
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} not installed (run scripts/e2e-setup.sh)`;
  return undefined;
}

export const log = (msg: string): void => console.log(`# e2e ${new Date().toISOString().slice(11, 19)} ${msg}`);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kills a process group we started (detached child), first politely, then for sure. */
async function killGroup(child: ChildProcess | undefined, graceMs = 3000): Promise<void> {
  if (!child?.pid) return;
  const pid = child.pid;
  // The group may outlive its leader (extension host, training process): signal the group either way.
  const alive = child.exitCode === null && child.signalCode === null;
  const exited = alive ? new Promise<void>((r) => child.once('exit', () => r())) : Promise.resolve();
  try { process.kill(-pid, 'SIGTERM'); } catch { return; /* no such group: all gone */ }
  await Promise.race([exited, sleep(graceMs)]);
  try { process.kill(-pid, 'SIGKILL'); } catch { /* already gone */ }
}

export interface CodeServerOptions {
  /** Folder for user data, extensions and logs of this run. */
  stateDir: string;
  workspace: string;
  /** Extra user settings. */
  userSettings?: Record<string, unknown>;
}

export class CodeServer {
  private constructor(readonly url: string, private readonly child: ChildProcess, readonly logFile: string) {}

  private static env(stateDir: string): NodeJS.ProcessEnv {
    return {
      ...process.env,
      XDG_CONFIG_HOME: join(stateDir, 'xdg-config'),
      XDG_DATA_HOME: join(stateDir, 'xdg-data'),
      XDG_CACHE_HOME: join(stateDir, 'xdg-cache'),
      // The extension's worker must not inherit the test runner's loader flags.
      NODE_OPTIONS: '',
    };
  }

  private static dirs(stateDir: string) {
    return ['--user-data-dir', join(stateDir, 'user-data'), '--extensions-dir', join(stateDir, 'extensions')];
  }

  /** `code-server --install-extension <vsix>`; throws with its output when it fails. */
  static installExtension(stateDir: string, vsix: string): string {
    const r = spawnSync(process.execPath, [CODE_SERVER_ENTRY, ...CodeServer.dirs(stateDir), '--install-extension', vsix], {
      env: CodeServer.env(stateDir), encoding: 'utf8', timeout: 120_000,
    });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    if (r.status !== 0 || !/successfully installed/i.test(out)) throw new Error(`code-server --install-extension ${vsix} failed (exit ${r.status}): ${out}`);
    return out;
  }

  static async start(opts: CodeServerOptions): Promise<CodeServer> {
    const { stateDir, workspace } = opts;
    const userDir = join(stateDir, 'user-data', 'User');
    mkdirSync(userDir, { recursive: true });
    writeFileSync(join(userDir, 'settings.json'), JSON.stringify({
      'telemetry.telemetryLevel': 'off',
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'security.workspace.trust.enabled': false,
      'extensions.autoUpdate': false,
      'extensions.autoCheckUpdates': false,
      'update.mode': 'none',
      'workbench.enableExperiments': false,
      ...opts.userSettings,
    }, null, 2));
    const port = await freePort();
    const logFile = join(stateDir, 'code-server.log');
    const out = openSync(logFile, 'a');
    const child = spawn(process.execPath, [
      CODE_SERVER_ENTRY, '--config', '/dev/null', '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none',
      '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
      ...CodeServer.dirs(stateDir), workspace,
    ], { env: CodeServer.env(stateDir), stdio: ['ignore', out, out], detached: true });
    closeSync(out); // the child holds its own copy
    const server = new CodeServer(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`, child, logFile);
    runningServers.add(server);
    installExitHooks();
    const deadline = Date.now() + 60_000;
    try {
      for (;;) {
        if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode} before it was ready; log: ${logFile}`);
        try {
          const res = await fetch(`http://127.0.0.1:${port}/healthz`);
          if (res.ok) break;
        } catch { /* not listening yet */ }
        if (Date.now() > deadline) throw new Error(`code-server not ready after 60 s; log: ${logFile}`);
        await sleep(250);
      }
    } catch (e) {
      await server.stop();
      throw e;
    }
    return server;
  }

  async stop(): Promise<void> {
    runningServers.delete(this);
    await killGroup(this.child);
  }

  /** Sync last resort for process exit. */
  killNow(): void {
    if (this.child.pid) try { process.kill(-this.child.pid, 'SIGKILL'); } catch { /* gone */ }
  }
}

const runningServers = new Set<CodeServer>();
let exitHooks = false;
/** code-server runs in its own process group (so that it can be killed whole): it does not get the terminal's
 *  Ctrl-C, nor die with us. Kill it on our way out, whatever the way. */
function installExitHooks(): void {
  if (exitHooks) return;
  exitHooks = true;
  process.once('exit', () => { for (const s of runningServers) s.killNow(); });
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    process.once(sig, () => {
      for (const s of runningServers) s.killNow();
      process.exit(code);
    });
  }
}

/** Chromium with its config/cache (crash reports included) under `stateDir` (a fresh folder), not in $HOME. */
export async function launchBrowser(stateDir: string): Promise<{ browser: Browser; page: Page }> {
  mkdirSync(stateDir, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, '--disable-breakpad', '--disable-crash-reporter'], headless: true, timeout: 60_000,
    env: { ...process.env, HOME: stateDir, XDG_CONFIG_HOME: join(stateDir, 'config'), XDG_CACHE_HOME: join(stateDir, 'cache') },
  });
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const page = await context.newPage();
  return { browser, page };
}

/**
 * Numbered screenshots in one folder: NN-step.png. It deletes nothing but its own earlier output (NN-*.png files
 * and the `logs` folder it fills) and refuses a folder that holds anything else: a wrong path must never cost
 * more than an error.
 */
export class Screenshots {
  private n = 0;
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    const foreign = readdirSync(dir).filter((f) => !/^\d\d-[\w.-]+\.png$/.test(f) && f !== 'logs');
    if (foreign.length) throw new Error(`screenshot folder ${dir} holds other files (${foreign.slice(0, 3).join(', ')}…): choose an empty or e2e-only folder`);
    for (const f of readdirSync(dir)) if (f.endsWith('.png')) rmSync(join(dir, f));
    rmSync(join(dir, 'logs'), { recursive: true, force: true });
  }
  async take(page: Page, step: string): Promise<string> {
    const file = join(this.dir, `${String(++this.n).padStart(2, '0')}-${step}.png`);
    try {
      await page.screenshot({ path: file, timeout: 15_000 });
    } catch (e) {
      log(`screenshot ${file} failed: ${(e as Error).message.split('\n')[0]}`);
    }
    return file;
  }
}

// ---- Workbench helpers (selectors from ../shared/e2e/README.md) ----

/** Our activity-bar entry (VS Code 1.100 puts the aria-label on the item's `.action-label`, older ones on the item). */
export function activityBarItem(page: Page, containerTitle: string): Locator {
  return page.locator(
    `.part.activitybar .action-item[aria-label^="${containerTitle}"], .part.activitybar .action-item .action-label[aria-label^="${containerTitle}"]`,
  ).first();
}

/** Waits for the workbench and for our activity-bar entry (the extension's contributions are loaded). */
export async function waitForActivityBar(page: Page, containerTitle: string, timeout = 90_000): Promise<void> {
  await page.locator('.monaco-workbench').waitFor({ timeout });
  await activityBarItem(page, containerTitle).waitFor({ timeout });
}

/** Runs a command through the command palette by its title ("BERT Lab: Open Results"). */
export async function runCommand(page: Page, title: string): Promise<void> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  for (let attempt = 0; attempt < 3; attempt++) {
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ timeout: 5000 });
      break;
    } catch {
      await page.keyboard.press('Escape');
    }
  }
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => undefined);
}

/** Opens a workspace file by name with Quick Open (Ctrl+P). */
export async function quickOpen(page: Page, fileName: string): Promise<void> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: fileName }).first();
  // While the workbench is still settling (views appearing as extensions start) the picker can lose the
  // focus and close, as it can for a person: open it again, as a person would.
  for (let attempt = 1; ; attempt++) {
    try {
      await page.keyboard.press('Control+P');
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await input.fill(fileName, { timeout: 5000 });
      await row.waitFor({ timeout: 20_000 });
      await page.keyboard.press('Enter');
      return;
    } catch (e) {
      if (attempt >= 3) throw e;
      await page.keyboard.press('Escape');
      await page.waitForTimeout(500);
    }
  }
}

/** The content frame of our extension's webview (two iframes deep). */
export function webviewFrame(page: Page, extensionId: string): FrameLocator {
  return page.frameLocator(`iframe.webview.ready[src*="extensionId=${extensionId}"]`).frameLocator('iframe#active-frame');
}

export interface CanvasInk {
  width: number;
  height: number;
  /** Pixels that are not fully transparent. */
  ink: number;
  /** Opaque-ish pixels with a clear hue (data series; axes, grid and labels are grey). */
  colored: number;
}

/** Reads a canvas's pixels inside a frame: did a chart really draw? */
export async function canvasInk(frame: FrameLocator, selector: string): Promise<CanvasInk> {
  return frame.locator(selector).first().evaluate((el) => {
    const canvas = el as HTMLCanvasElement;
    const ctx = canvas.getContext('2d');
    const result = { width: canvas.width, height: canvas.height, ink: 0, colored: 0 };
    if (!ctx || canvas.width === 0 || canvas.height === 0) return result;
    const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] === 0) continue;
      result.ink++;
      if (d[i + 3] > 64 && Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60) result.colored++;
    }
    return result;
  });
}

/**
 * Brings the cell of notebook `fileName` whose outline entry (markdown heading) contains `heading` into view, as a user
 * would with Go to Symbol (Ctrl+Shift+O). Mouse-wheel scrolling is unreliable here: the outputs are drawn in
 * a webview that swallows wheel events, and the cell list is virtualised (off-screen cells are not in the DOM).
 */
export async function revealNotebookHeading(page: Page, fileName: string, heading: string): Promise<void> {
  await page.locator('.notebookOverlay.notebook-editor .cell-list-container').first().waitFor({ timeout: 30_000 });
  const input = page.locator('.quick-input-widget .quick-input-box input');
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: heading }).first();
  // A notebook that is still settling can take the focus back and close the picker: retry.
  for (let attempt = 1; ; attempt++) {
    try {
      // Go to Symbol works on the active editor: make it the notebook (not the results webview beside it).
      await page.locator('.tabs-container .tab', { hasText: fileName }).first().click({ timeout: 5000 }).catch(() => undefined);
      await page.keyboard.press('Control+Shift+O');
      await input.waitFor({ timeout: 10_000 });
      await input.fill(`@${heading}`, { timeout: 5000 });
      await row.waitFor({ timeout: 10_000 });
      await page.keyboard.press('Enter');
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => undefined);
      return;
    } catch (e) {
      if (attempt === 3) throw e;
      log(`Go to Symbol "@${heading}" failed (${(e as Error).message.split('\n')[0]}); retrying`);
      await page.keyboard.press('Escape');
      await sleep(1000);
    }
  }
}
