// Builds a realistic .ipynb (Colab-style metadata, cell ids, outputIds, widget state) from the
// rendered text of a notebook: markdown paragraphs, "In [n]:" code cells and their printed outputs.
// Used by tests and the end-to-end fixture; the shared homework text itself is never committed.

export interface BuildOptions {
  /** Set every graded answer (`a1a = 0.9144   # ...`) back to `0.0`, as the notebook is handed out. */
  resetAnswers?: boolean;
  /** JSON indentation (Colab: 2, Jupyter: 1). */
  indent?: number;
  /** Line ending of the JSON file. */
  eol?: '\n' | '\r\n';
  /** Escape non-ASCII characters as \uXXXX (Python's json.dumps default). */
  asciiOnly?: boolean;
  /** Colab (key order: nbformat first, cell ids and outputIds in metadata) or Jupyter (sorted keys). */
  flavour?: 'colab' | 'jupyter';
}

interface Cell { type: 'markdown' | 'code'; source: string; output?: string; count?: number }

const IN_MARKER = /^In \[(\d*)\]:\s*$/;
const MD_HEADING = /^(#{2,6} \S|# Problem \d)/;

function isOutputStart(line: string, prevCode: string): boolean {
  if (MD_HEADING.test(line)) return true;
  // A printed `a1a = 0.9144` right after a print(...) is that print's output, not code.
  if (/^\s*print\(/.test(prevCode) && /^[A-Za-z_]\w* = -?\d/.test(line)) return true;
  const codeLike = /^(\s+\S|[A-Za-z_][\w.]*\s*(=|\(|\[|,)|(import|from|for|if|def|class|return|with|while|try|except|else|elif)\b|#\s|%|[\])}])/;
  return !codeLike.test(line);
}

/** Splits the rendered text into cells (heuristic, good for this homework's text). */
export function parseRenderedNotebook(text: string): Cell[] {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const cells: Cell[] = [];
  const pushMarkdown = (block: string[]) => {
    // One markdown cell per heading-led section, as notebooks are usually written.
    let cur: string[] = [];
    const flush = () => {
      while (cur.length && cur[cur.length - 1].trim() === '') cur.pop();
      while (cur.length && cur[0].trim() === '') cur.shift();
      if (cur.length) cells.push({ type: 'markdown', source: cur.join('\n') });
      cur = [];
    };
    for (const l of block) {
      if (/^#{1,6} /.test(l) && cur.some((c) => c.trim() !== '')) flush();
      cur.push(l);
    }
    flush();
  };
  let i = 0;
  let md: string[] = [];
  while (i < lines.length) {
    const m = IN_MARKER.exec(lines[i]);
    if (!m) { md.push(lines[i]); i++; continue; }
    pushMarkdown(md); md = [];
    i++;
    let end = i;
    while (end < lines.length && !IN_MARKER.test(lines[end])) end++;
    const block = lines.slice(i, end);
    while (block.length && block[0].trim() === '') block.shift();
    // Code runs until a blank line followed by something that is not code.
    let cut = block.length;
    let lastCode = '';
    for (let k = 1; k < block.length; k++) {
      if (block[k].trim() !== '' && block[k - 1].trim() === '' && isOutputStart(block[k], lastCode)) { cut = k; break; }
      if (block[k - 1].trim() !== '') lastCode = block[k - 1];
    }
    const code = block.slice(0, cut);
    while (code.length && code[code.length - 1].trim() === '') code.pop();
    const rest = block.slice(cut);
    // After the output, markdown may follow (a heading ends the output).
    let o = 0;
    while (o < rest.length && !(MD_HEADING.test(rest[o]) && (o === 0 || rest[o - 1].trim() === ''))) o++;
    const out = rest.slice(0, o);
    while (out.length && out[out.length - 1].trim() === '') out.pop();
    cells.push({ type: 'code', source: code.join('\n'), output: out.length ? out.join('\n') + '\n' : undefined, count: m[1] ? Number(m[1]) : undefined });
    md = rest.slice(o);
    i = end;
  }
  pushMarkdown(md);
  return cells;
}

/** `"a\nb"` -> ["a\n", "b"], as nbformat stores multi-line strings. */
function lines(s: string): string[] {
  const parts = s.split('\n');
  return parts.map((p, k) => (k < parts.length - 1 ? p + '\n' : p)).filter((p) => p !== '');
}

/** A deterministic Colab-looking id from a counter. */
function fakeId(n: number, len = 12): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-';
  let x = (n + 1) * 2654435761;
  let id = '';
  for (let k = 0; k < len; k++) { x = (x * 1103515245 + 12345) % 2147483648; id += alphabet[x % alphabet.length]; }
  return id;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  }
  return v;
}

/** The .ipynb text of the rendered notebook. */
export function buildIpynb(renderedText: string, opts: BuildOptions = {}): string {
  const flavour = opts.flavour ?? 'colab';
  const cells = parseRenderedNotebook(renderedText).map((c, k) => {
    let source = c.source;
    if (opts.resetAnswers && c.type === 'code' && !/do not change/i.test(source)) {
      source = source.replace(/^(a\d+[a-z]\s*=\s*)[-+]?\d+(?:\.\d+)?/gm, '$10.0');
    }
    if (c.type === 'markdown') {
      return { cell_type: 'markdown', source: lines(source), metadata: { id: fakeId(k) } };
    }
    const outputs = c.output ? [{ output_type: 'stream', name: 'stdout', text: lines(c.output) }] : [];
    const metadata = flavour === 'colab'
      ? { id: fakeId(k), ...(outputs.length ? { outputId: `${fakeId(k + 1000, 8)}-${fakeId(k + 2000, 4)}-4${fakeId(k + 3000, 3)}-a${fakeId(k + 4000, 3)}-${fakeId(k + 5000, 12)}` } : {}), colab: { base_uri: 'https://localhost:8080/' } }
      : { id: fakeId(k) };
    return { cell_type: 'code', execution_count: c.count ?? null, source: lines(source), metadata, outputs };
  });
  const notebook = flavour === 'colab'
    ? {
        nbformat: 4,
        nbformat_minor: 0,
        metadata: {
          colab: { provenance: [], gpuType: 'T4', include_colab_link: true },
          kernelspec: { name: 'python3', display_name: 'Python 3' },
          language_info: { name: 'python' },
          accelerator: 'GPU',
          widgets: {
            'application/vnd.jupyter.widget-state+json': {
              [fakeId(9001, 32)]: { model_module: '@jupyter-widgets/controls', model_name: 'HBoxModel', model_module_version: '1.5.0', state: { _dom_classes: [], children: ['IPY_MODEL_x'], layout: 'IPY_MODEL_y' } },
            },
          },
        },
        cells,
      }
    : sortKeys({ cells, metadata: { kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' }, language_info: { name: 'python', version: '3.12.0' } }, nbformat: 4, nbformat_minor: 5 });
  let json = JSON.stringify(notebook, null, opts.indent ?? (flavour === 'colab' ? 2 : 1));
  if (opts.asciiOnly) json = json.replace(/[\u007f-\uffff]/g, (ch) => '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0'));
  if (opts.eol === '\r\n') json = json.replace(/\n/g, '\r\n');
  return flavour === 'jupyter' ? json + (opts.eol ?? '\n') : json;
}
