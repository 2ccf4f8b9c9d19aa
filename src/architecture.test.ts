// Architecture checks on the source text: no import cycle between the folders of src/ (each folder
// imports "down" only), and no file in src/ui over 300 lines (the extension's UI stays split by feature).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const SRC = __dirname;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Relative module specifiers of a file: static imports/exports (type-only included), import() and require(). */
export function importsOf(text: string): string[] {
  const specs: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) specs.push(m[1]);
  return specs.filter((s) => s.startsWith('.'));
}

/** The folder of src/ a file belongs to ("ui", "engine", …; "." for files directly in src/). */
const folderOf = (file: string) => { const r = relative(SRC, file).split(sep); return r.length > 1 ? r[0] : '.'; };

/** Folder graph: folder -> folders it imports (with one example edge each, for the message). */
function folderGraph(): Map<string, Map<string, string>> {
  const g = new Map<string, Map<string, string>>();
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(SRC + sep)) continue;
      const to = folderOf(target);
      if (to === from || from === '.') continue; // src/extension.ts is the entry point: it may import anything
      const edges = g.get(from) ?? new Map<string, string>();
      if (!edges.has(to)) edges.set(to, `${relative(SRC, file)} imports ${spec}`);
      g.set(from, edges);
    }
  }
  return g;
}

/** Every cycle's folders (strongly connected components with more than one folder). */
export function cycles(g: Map<string, Map<string, string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], on = new Set<string>(), out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index); low.set(v, index); index++; stack.push(v); on.add(v);
    for (const w of g.get(v)?.keys() ?? []) {
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do { w = stack.pop()!; on.delete(w); comp.push(w); } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) visit(v);
  return out;
}

test('the import check finds imports and cycles (it can fail)', () => {
  assert.deepEqual(importsOf("import a from './a';\nimport type { B } from '../b/index';\nexport { c } from './c';\nconst d = require('./d');\nimport('./e');\nimport 'node:fs';"),
    ['./a', '../b/index', './c', './e', './d']);
  const g = new Map([['a', new Map([['b', '']])], ['b', new Map([['c', '']])], ['c', new Map([['a', '']])], ['d', new Map([['a', '']])]]);
  assert.deepEqual(cycles(g), [['a', 'b', 'c']]);
});

test('no import cycle between the folders of src/', () => {
  const g = folderGraph();
  assert.ok(g.size >= 5, `folders with imports: ${[...g.keys()].join(', ')}`);
  const found = cycles(g);
  const explain = found.map((c) => c.map((f) => [...(g.get(f) ?? new Map()).entries()].filter(([to]) => c.includes(to)).map(([to, why]) => `${f} -> ${to} (${why})`).join('; ')).join('; '));
  assert.deepEqual(found, [], `import cycles between folders: ${explain.join(' | ')}`);
});

test('no file in src/ui is over 300 lines', () => {
  const long = sourceFiles(join(SRC, 'ui')).concat(readdirSync(join(SRC, 'ui')).filter((f) => f.endsWith('.test.ts')).map((f) => join(SRC, 'ui', f)))
    .map((f) => [relative(SRC, f), readFileSync(f, 'utf8').split('\n').length - 1] as const).filter(([, n]) => n > 300);
  assert.deepEqual(long, []);
});
