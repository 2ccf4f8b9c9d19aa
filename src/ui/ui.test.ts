// Tests of the extension's pure parts (no VS Code): tree building, validation, run state, HTML shell, settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { FromWorker, RunRecord } from '../protocol';
import { HOMEWORK9 } from '../experiments/spec';
import { applyOverrides, engineTree, historyTree, problemsTree, validateField } from './treeModel';
import { sweepView } from './statusText';
import { RunState } from './runState';
import { resultsHtml } from './resultsHtml';
import { readSettings, resolveModelSetting } from '../common/settings';
import { npmArgs, npmFailureReason } from './nativeEngine';
import { fillButtonText, runButtonText } from './notebookText';

let n = 0;
function rec(problem: string, status: RunRecord['status'], sweepId?: string, extra: Partial<RunRecord> = {}): RunRecord {
  n++;
  return {
    id: `2026-r${n}`, sweepId, status, createdAt: `2026-01-01T00:00:${String(n).padStart(2, '0')}Z`, startedAt: `2026-01-01T00:00:${String(n).padStart(2, '0')}Z`, history: [],
    config: { problem, key: `k${n}`, label: `MAX_LEN=128, LR=2.0e-5, BATCH=${n}`, model: 'm', maxLen: 128, learningRate: 2e-5, batchSize: n, epochs: 3, evalBatchSize: 64, subsetFrac: 0.25, seed: 42, data: '/d', patience: 2 },
    ...extra,
  };
}
const metrics = { testAccuracy: 0.855, testF1: 0.851, confusion: [[1, 0], [0, 1]], valAccuracyAtMinValLoss: 0.858, bestEpoch: 2, trainSeconds: 150, totalSeconds: 163, stepsPerSecond: 1, examplesPerSecond: 50 };

test('history tree: grouped by problem, by sweep when there are several; icons, context values, descriptions', () => {
  const runs = [
    rec('problem1', 'finished', 's1', { metrics }), rec('problem1', 'failed', 's1', { error: 'out of memory\nstack' }),
    rec('problem2', 'running', 'a'), rec('problem2', 'interrupted', 'b'), rec('single', 'cancelled'),
  ];
  const tree = historyTree(runs, HOMEWORK9.problems, { [runs[2].id]: { type: 'progress', epoch: 2, epochs: 3, step: 5, steps: 10, loss: 0.5, accuracy: 0.8, examplesPerSecond: 3, etaSeconds: 90, phase: 'train' } });
  assert.deepEqual(tree.map((t) => t.label), [HOMEWORK9.problems[0].title, HOMEWORK9.problems[1].title, 'Single experiments']);
  assert.match(tree[0].label, /^Problem 1 — /);
  const p1 = tree[0].children!;
  // Short labels (what differs within the problem), the numbers in the description, the full config in the tooltip.
  assert.deepEqual(p1.map((c) => c.label), ['BATCH 1', 'BATCH 2']);
  assert.equal(p1[0].description, 'val 0.8580 · 0:02:43');
  assert.ok(p1[0].tooltip!.startsWith(`${runs[0].config.label} (finished)`));
  assert.match(p1[0].tooltip!, /MAX_LEN 128 · LR 2\.0e-05 · BATCH 1 · EPOCHS/);
  assert.deepEqual(p1[0].icon, { id: 'pass', color: 'testing.iconPassed' });
  assert.equal(p1[0].contextValue, 'run.finished');
  assert.equal(p1[1].description, 'failed: out of memory');
  assert.equal(tree[0].description, '2 runs · 1 finished · 1 failed');
  // Two sweeps: a level per sweep, newest first and expanded.
  const p2 = tree[1].children!;
  assert.equal(p2.length, 2);
  assert.match(p2[0].label, /^Sweep 2026-01-01 00:00/);
  assert.equal(p2[0].expanded, true);
  assert.equal(p2[1].expanded, false);
  const running = p2[1].children![0];
  assert.equal(running.icon?.id, 'sync~spin');
  assert.equal(running.description, 'running · epoch 2/3 · 50% · ETA 0:01:30');
  assert.equal(p2[0].children![0].icon?.id, 'debug-disconnect');
  assert.equal(tree[2].children![0].contextValue, 'run.cancelled');
  assert.deepEqual(historyTree([], HOMEWORK9.problems), []);
});

test('problems tree: planned configs, carried-over values, edits, and the waiting message', () => {
  const configs = [rec('problem2', 'queued').config, rec('problem2', 'queued').config];
  const done = rec('problem2', 'finished', 'x', { config: configs[0], metrics });
  const tree = problemsTree([
    { id: 'problem1', title: 'Problem 1 — Mini sweep', configs: { error: 'run problem0 first' } },
    { id: 'problem2', title: 'Problem 2 — Data', configs, carryOver: { from: ['problem1'], fields: ['maxLen', 'learningRate', 'batchSize'] } },
  ], [done], { problem2: { [configs[1].key]: { maxLen: 64 } } });
  assert.equal(tree[0].children![0].label, 'run problem0 first');
  const p2 = tree[1];
  assert.equal(p2.description, '2 runs · 1 finished');
  assert.equal(p2.contextValue, 'problem.edited');
  const [c0, c1] = p2.children!;
  assert.equal(c0.description, 'finished');
  assert.equal(c0.children![0].label, 'MAX_LEN = 128');
  assert.equal(c0.children![0].description, 'from Problem 1');
  assert.equal(c0.children![1].label, 'LR = 2.0e-05');
  assert.equal(c0.children![3].description, undefined);
  assert.match(c1.label, /^MAX_LEN 64, .*\(edited\)$/, 'short label (what differs); the full one in the tooltip');
  assert.match(c1.tooltip!, /^MAX_LEN=64, .* \(edited\)$/);
  assert.equal(c1.contextValue, 'config.edited');
  assert.equal(c1.children![0].description, 'edited (planned 128)');
  assert.deepEqual(c1.children![0].command?.arguments, [{ problemId: 'problem2', configKey: configs[1].key, field: 'maxLen' }]);
});

test('value validation: MAX_LEN within the model positions, LR > 0, batch >= 1, fraction in (0, 1]', () => {
  assert.equal(validateField('maxLen', '512', 512), undefined);
  assert.match(validateField('maxLen', '513', 512)!, /at most 512/);
  assert.match(validateField('maxLen', '1')!, /at least 2/);
  assert.match(validateField('maxLen', '12.5')!, /integer/);
  assert.equal(validateField('learningRate', '2e-5'), undefined);
  assert.match(validateField('learningRate', '0')!, /in \(0, 1\)/);
  assert.match(validateField('learningRate', 'fast')!, /must be a number/);
  assert.equal(validateField('batchSize', '1'), undefined);
  assert.match(validateField('batchSize', '0')!, /at least 1/);
  assert.equal(validateField('subsetFrac', '1'), undefined);
  assert.match(validateField('subsetFrac', '0')!, /\(0, 1\]/);
  assert.match(validateField('subsetFrac', '1.5')!, /\(0, 1\]/);
  const c = rec('problem1', 'queued').config;
  assert.equal(applyOverrides(c, { maxLen: 128 }), c, 'an edit equal to the plan changes nothing');
  const e = applyOverrides(c, { learningRate: 1e-5 });
  assert.notEqual(e.key, c.key);
  assert.equal(e.learningRate, 1e-5);
});

test('run state: records, throttle-free live loss with thinning, engine, position, results state with answers', () => {
  const runner = new EventEmitter();
  const s = new RunState(HOMEWORK9);
  s.attach(runner as never);
  const a = rec('problem1', 'finished', 'sw', { metrics });
  const b = rec('problem1', 'running', 'sw');
  s.load([a]);
  runner.emit('record', b);
  const engine = { backend: 'wasm' as const, device: 'CPU (WASM SIMD)', threads: 2, reason: 'tfjs-node not installed: using WASM', versions: { 'tfjs-core': '4.22.0' } };
  runner.emit('message', b.id, { type: 'started', runId: b.id, config: b.config, engine, split: { train: 8, val: 1, test: 1, labelCounts: { train: [4, 4], val: [1, 0], test: [0, 1] }, source: 'x' } } satisfies FromWorker);
  assert.equal(s.engine?.info.backend, 'wasm');
  for (let step = 1; step <= 2000; step++) {
    runner.emit('message', b.id, { type: 'progress', epoch: 1, epochs: 3, step, steps: 2000, loss: 1 / step, accuracy: 0.5, examplesPerSecond: 1, etaSeconds: 10, phase: 'train' } satisfies FromWorker);
  }
  const loss = s.liveLoss[b.id];
  assert.ok(loss.length <= 1500 && loss.length > 700, `kept ${loss.length}`);
  assert.deepEqual(loss[loss.length - 1], [1, 1 / 2000], "x in epochs: the last step of epoch 1 at x = 1");
  assert.ok(loss.every((p, i) => i === 0 || p[0] > loss[i - 1][0]));
  const v = sweepView(s.runs(), b, s.progress[b.id]);
  assert.deepEqual([v.k, v.n, v.phase], [2, 2, 'epoch 1/3']);
  const rs = s.resultsState(true);
  assert.deepEqual(rs.runs.map((r) => r.id), [a.id, b.id]);
  assert.equal(rs.progress[b.id].step, 2000);
  assert.deepEqual(rs.answers.map((x) => [x.variable, x.value]), [['a1a', 0.858], ['a2a', null], ['a3a', null]]);
  runner.emit('record', { ...b, status: 'finished', metrics });
  assert.equal(s.resultsState(true).progress[b.id], undefined);
});

test('results HTML: strict CSP with the nonce, no remote content, the contract ids', () => {
  const html = resultsHtml({ cspSource: 'https://x.vscode-cdn.net', nonce: 'abc123', scriptUri: 'https://x.vscode-cdn.net/dist/webview/results.js', styleUri: 'https://x.vscode-cdn.net/media/results.css' });
  const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)![1];
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-abc123'(;|$)/);
  assert.match(csp, /style-src https:\/\/x\.vscode-cdn\.net(;|$)/);
  assert.doesNotMatch(csp, /unsafe/);
  assert.match(html, /<script nonce="abc123" src="https:\/\/x\.vscode-cdn\.net\/dist\/webview\/results\.js">/);
  assert.doesNotMatch(html, /style="/);
  assert.equal((html.match(/<script/g) ?? []).length, 1);
  for (const id of ['runs-table', 'problems', 'curve-run', 'chart-live', 'answers']) assert.match(html, new RegExp(`id="${id}"`));
  const urls = html.match(/https?:\/\/[^"\s]+/g) ?? [];
  assert.ok(urls.every((u) => u.startsWith('https://x.vscode-cdn.net')), urls.join());
});

test('settings: defaults, relative paths against the workspace, Hub ids kept', () => {
  const cfg = (o: Record<string, unknown>) => ({ get: <T>(k: string) => o[k] as T | undefined });
  const d = readSettings(cfg({}), '/ws');
  assert.deepEqual(d, { data: 'hub:stanfordnlp/imdb', model: 'distilbert-base-uncased', compareModel: 'bert-base-uncased', quick: false, backend: 'auto', seed: 42, epochs: 3, evalBatch: 64, subsetFrac: 0.25, saveModels: false, precision: 'auto' });
  const s = readSettings(cfg({ data: '../shared/data/imdb', model: './models/tiny', cacheDir: 'cache', quick: true, backend: 'wasm', epochs: 0, subsetFrac: 2 }), '/ws/hw');
  assert.equal(s.data, '/ws/shared/data/imdb');
  assert.equal(s.model, '/ws/hw/models/tiny');
  assert.equal(s.cacheDir, '/ws/hw/cache');
  assert.equal(s.backend, 'wasm');
  assert.equal(s.epochs, 3, 'invalid values fall back to the defaults');
  assert.equal(s.subsetFrac, 0.25);
  assert.equal(resolveModelSetting('google/bert_uncased_L-2_H-128_A-2', '/nonexistent'), 'google/bert_uncased_L-2_H-128_A-2');
  assert.equal(resolveModelSetting('distil_bert_base_en_uncased', '/ws'), 'distil_bert_base_en_uncased');
  // The PyTorch engine's settings: backends, precision, the interpreter (a relative path against the workspace).
  const t = readSettings(cfg({ backend: 'torch-cuda', precision: 'bf16', pythonPath: '.venv/bin/python' }), '/ws');
  assert.deepEqual([t.backend, t.precision, t.python], ['torch-cuda', 'bf16', '/ws/.venv/bin/python']);
  for (const b of ['torch', 'torch-mps', 'torch-cpu']) assert.equal(readSettings(cfg({ backend: b }), '/ws').backend, b);
  const u = readSettings(cfg({ backend: 'cuda', precision: 'fp8', pythonPath: 'python3' }), '/ws');
  assert.deepEqual([u.backend, u.precision, u.python], ['auto', 'auto', 'python3'], 'unknown values fall back; a bare command stays a command');
});

test('native engine install: npm arguments and a readable failure reason', () => {
  assert.deepEqual(npmArgs('/s/native', '@tensorflow/tfjs-node'), ['install', '--prefix', '/s/native', '--no-audit', '--no-fund', '--no-save', '--loglevel', 'http', '@tensorflow/tfjs-node@4.22.0']);
  // Shortened from a real failure on this machine (no access to storage.googleapis.com).
  const out = ['npm http fetch GET 200 https://registry.npmjs.org/@tensorflow%2ftfjs-node', 'npm error code 1', 'npm error command sh -c node scripts/install.js',
    'npm error https://storage.googleapis.com/tensorflow/libtensorflow/libtensorflow-cpu-linux-x86_64-2.9.1.tar.gz', 'npm error * Downloading libtensorflow',
    "npm error       throw er; // Unhandled 'error' event", 'npm error Error: getaddrinfo ENOTFOUND storage.googleapis.com',
    'npm error     at GetAddrInfoReqWrap.onlookupall [as oncomplete] (node:dns:122:26)', "npm error   code: 'ENOTFOUND',", 'npm error Node.js v20.20.2',
    'npm error A complete log of this run can be found in: /x.log'].join('\n');
  assert.equal(npmFailureReason(out), 'downloading libtensorflow (the native TensorFlow library) failed: Error: getaddrinfo ENOTFOUND storage.googleapis.com');
  assert.equal(npmFailureReason('npm error code E404\nnpm error 404 Not Found - GET https://registry.npmjs.org/@tensorflow%2ftfjs-nod'), '404 Not Found - GET https://registry.npmjs.org/@tensorflow%2ftfjs-nod');
});

test('engine view: backend, device and why; versions; native engine state', () => {
  const nodes = engineTree({ backend: 'wasm', device: 'CPU (WASM SIMD, 2 threads)', threads: 2, reason: 'tfjs-node-gpu not installed: using WASM', versions: { 'tfjs-core': '4.22.0', node: '20.20.2' } }, 'MAX_LEN=128', { path: '/s/native', installed: [] });
  assert.deepEqual(nodes.map((x) => x.label), ['Backend: wasm', 'tfjs-node-gpu not installed: using WASM', 'Threads: 2', 'Versions', 'Reported by', 'Native engine: not installed']);
  assert.equal(nodes[0].description, 'CPU (WASM SIMD, 2 threads)');
  assert.deepEqual(nodes[3].children!.map((c) => `${c.label}=${c.description}`), ['node=20.20.2', 'tfjs-core=4.22.0']);
  assert.equal(nodes[5].command?.command, 'bertLab.installNativeEngine');
  assert.equal(engineTree(undefined, undefined, { path: '/p', installed: ['@tensorflow/tfjs-node@4.22.0'] })[1].label, 'Native engine: @tensorflow/tfjs-node@4.22.0');
});

test('notebook button texts (ui-contract)', () => {
  assert.equal(runButtonText(1), '▶ Run Problem 1 sweep');
  assert.equal(runButtonText(2), '▶ Run Problem 2 data-size study');
  assert.equal(runButtonText(3), '▶ Run Problem 3 model comparison');
  assert.equal(fillButtonText('a1a', 0.91444), 'Fill a1a = 0.9144');
  assert.equal(fillButtonText('a1a', null), 'Fill a1a (no result yet)');
});

