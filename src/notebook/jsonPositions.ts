// A small JSON parser that remembers where every value sits in the source text, so that an edit can
// replace exactly the bytes of one value and leave the rest of the file (indentation, key order,
// escapes, line endings) untouched. JSON.parse loses all of that.

export type JsonNode =
  | { kind: 'object'; start: number; end: number; entries: Array<{ key: string; value: JsonNode }> }
  | { kind: 'array'; start: number; end: number; items: JsonNode[] }
  | {
      kind: 'string'; start: number; end: number; value: string;
      /** For each decoded UTF-16 unit: raw offset of its first and one past its last source character. */
      starts: number[]; ends: number[];
    }
  | { kind: 'number'; start: number; end: number; value: number }
  | { kind: 'literal'; start: number; end: number; value: boolean | null };

export class JsonSyntaxError extends Error {}

/** Parses `text`; errors name `file` and the line/column. */
export function parseJsonWithPositions(text: string, file = 'input'): JsonNode {
  let i = 0;
  const fail = (what: string): never => {
    const before = text.slice(0, i);
    const line = before.split('\n').length;
    const col = i - before.lastIndexOf('\n');
    throw new JsonSyntaxError(`${file}: invalid JSON at line ${line}, column ${col}: ${what}`);
  };
  const ws = () => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  const str = (): JsonNode & { kind: 'string' } => {
    const start = i;
    i++; // opening quote
    let value = '';
    const starts: number[] = [];
    const ends: number[] = [];
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text[i];
      if (c === '"') break;
      if (c === '\\') {
        const e = text[i + 1];
        const at = i;
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && e in simple) { value += simple[e]; starts.push(at); i += 2; ends.push(i); continue; }
        if (e === 'u') {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
          value += String.fromCharCode(parseInt(hex, 16)); starts.push(at); i += 6; ends.push(i); continue;
        }
        fail('bad escape');
      }
      // A run of plain characters at once (a 5 MB inline image is one string): one slice, tight loops.
      const run = i;
      for (;;) {
        const code = text.charCodeAt(i);
        if (code === 0x22 || code === 0x5c || Number.isNaN(code)) break;
        if (code < 0x20) fail('control character in string');
        starts.push(i); i++; ends.push(i);
      }
      value += text.slice(run, i);
    }
    i++;
    return { kind: 'string', start, end: i, value, starts, ends };
  };
  const val = (depth: number): JsonNode => {
    if (depth > 512) fail('nesting too deep');
    ws();
    const start = i;
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: Array<{ key: string; value: JsonNode }> = [];
      ws();
      if (text[i] === '}') { i++; return { kind: 'object', start, end: i, entries }; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a key');
        const key = str().value;
        ws();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        entries.push({ key, value: val(depth + 1) });
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return { kind: 'object', start, end: i, entries }; }
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const items: JsonNode[] = [];
      ws();
      if (text[i] === ']') { i++; return { kind: 'array', start, end: i, items }; }
      for (;;) {
        items.push(val(depth + 1));
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return { kind: 'array', start, end: i, items }; }
        fail('expected "," or "]"');
      }
    }
    if (c === '"') return str();
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/.exec(text.slice(i, i + 64));
    if (m) { i += m[0].length; return { kind: 'number', start, end: i, value: Number(m[0]) }; }
    for (const [lit, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(lit, i)) { i += lit.length; return { kind: 'literal', start, end: i, value: v }; }
    }
    return fail(i >= text.length ? 'unexpected end of file' : `unexpected character ${JSON.stringify(c)}`);
  };
  // A UTF-8 byte-order mark is tolerated (and kept by the caller, who edits the original text).
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  const root = val(0);
  ws();
  if (i < text.length) fail('unexpected content after the end');
  return root;
}

export function member(node: JsonNode | undefined, key: string): JsonNode | undefined {
  if (!node || node.kind !== 'object') return undefined;
  for (const e of node.entries) if (e.key === key) return e.value;
  return undefined;
}
