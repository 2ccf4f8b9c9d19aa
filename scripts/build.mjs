// Bundles the extension host, the training child process, the CLI, the benchmark and the webview.
import * as esbuild from 'esbuild';
import { cpSync, mkdirSync, existsSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

// Native / large runtime packages stay outside the bundle and are resolved from node_modules
// (or, for the native TensorFlow engine, from the extension's storage at run time).
const external = [
  'vscode',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
  '@huggingface/transformers',
  'onnxruntime-node',
  'sharp',
];

const node = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  minify: production,
  external,
  logLevel: 'warning',
};

const builds = [
  { ...node, entryPoints: { extension: 'src/extension.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { worker: 'src/worker/main.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { bench: 'scripts/bench.ts' }, outdir: 'dist' },
  {
    bundle: true, platform: 'browser', format: 'iife', target: 'es2022', sourcemap: true,
    minify: production, entryPoints: { results: 'webview/results/main.ts' }, outdir: 'dist/webview',
    logLevel: 'warning',
  },
];
// A missing entry is a broken build, never a smaller one (a .vsix without dist/worker.js trains nothing).
const missing = builds.flatMap((b) => Object.values(b.entryPoints)).filter((p) => !existsSync(p));
if (missing.length) {
  console.error(`build: entry file${missing.length > 1 ? 's' : ''} missing: ${missing.join(', ')}`);
  process.exit(1);
}

mkdirSync('dist', { recursive: true });
// The WASM backend loads its .wasm binaries from next to the bundle.
for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
  const src = `node_modules/@tensorflow/tfjs-backend-wasm/dist/${f}`;
  if (existsSync(src)) cpSync(src, `dist/${f}`);
}

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
