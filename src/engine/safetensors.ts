// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?},
// then the raw little-endian tensor bytes. Hand-written: the npm package "safetensors" is an
// unmaintained 0.0.1, and the format is small.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../files/atomic';

export interface NamedTensor {
  shape: number[];
  /** Always float32 after reading (F16/BF16 are converted; F64 narrowed). */
  data: Float32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

/** IEEE half -> float. */
function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Parses safetensors bytes. `file` names the source in error messages. Only float tensors are accepted. */
export function parseSafetensors(buf: Uint8Array, file = 'model.safetensors'): SafetensorsFile {
  if (buf.byteLength < 8) throw new Error(`${file}: too short to be a safetensors file (${buf.byteLength} bytes; the header length alone takes 8)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  // Compared and printed as a BigInt: Number() would round a corrupt 64-bit length (2^63 - 1 -> 9223372036854775808).
  const rawLen = view.getBigUint64(0, true);
  if (rawLen > BigInt(buf.byteLength - 8)) {
    throw new Error(`${file}: header length ${rawLen} exceeds the file size (${buf.byteLength} bytes): not a safetensors file, or truncated`);
  }
  const headerLen = Number(rawLen);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new Error(`${file}: invalid JSON header (${(e as Error).message.split('\n')[0]})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new Error(`${file}: the header is ${header === null ? 'null' : Array.isArray(header) ? 'a list' : `a ${typeof header}`}, not a JSON object of tensors`);
  }
  const dataStart = 8 + headerLen;
  const dataLen = buf.byteLength - dataStart;
  const tensors = new Map<string, NamedTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') { metadata = (entry ?? {}) as Record<string, string>; continue; }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new Error(`${file}: tensor "${name}" is not an object {dtype, shape, data_offsets}`);
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = String(e.dtype);
    const bytes = BYTES[dtype];
    if (!bytes) throw new Error(`${file}: tensor "${name}" has dtype ${dtype}; only F32, F16, BF16 and F64 are supported`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`${file}: tensor "${name}" has an invalid shape ${JSON.stringify(e.shape)}`);
    const shape = e.shape as number[];
    if (!Array.isArray(e.data_offsets) || e.data_offsets.length !== 2) throw new Error(`${file}: tensor "${name}" has invalid data_offsets`);
    const [begin, end] = e.data_offsets as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end > dataLen || end - begin !== size * bytes) {
      throw new Error(`${file}: tensor "${name}" (${dtype} ${JSON.stringify(shape)}) has data_offsets [${begin}, ${end}] that do not match its size ${size * bytes} bytes or the data length ${dataLen}`);
    }
    const at = dataStart + begin;
    const data = new Float32Array(size);
    if (dtype === 'F32') {
      // Copy through bytes: the source may not be 4-byte aligned. Node and browsers are little-endian.
      new Uint8Array(data.buffer).set(buf.subarray(at, at + size * 4));
    } else if (dtype === 'F64') {
      for (let i = 0; i < size; i++) data[i] = view.getFloat64(at + 8 * i, true);
    } else if (dtype === 'F16') {
      for (let i = 0; i < size; i++) data[i] = f16ToF32(view.getUint16(at + 2 * i, true));
    } else {
      // BF16 is the upper half of a float32.
      const u = new Uint32Array(data.buffer);
      for (let i = 0; i < size; i++) u[i] = view.getUint16(at + 2 * i, true) << 16;
    }
    tensors.set(name, { shape, data });
  }
  return { tensors, metadata };
}

export function readSafetensors(file: string): SafetensorsFile {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseSafetensors(buf, file);
}

/** Serialises F32 tensors (in the given order; the header is sorted by name, as the Python writer does). */
export function serializeSafetensors(tensors: Map<string, NamedTensor> | Iterable<[string, NamedTensor]>, metadata: Record<string, string> = { format: 'pt' }): Buffer {
  const entries = [...tensors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of entries) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) throw new Error(`tensor "${name}": shape ${JSON.stringify(t.shape)} does not match ${t.data.length} values`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + size * 4] };
    offset += size * 4;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  // Pad the header with spaces so that the data starts 8-byte aligned (as the reference writer does).
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = Buffer.alloc(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  let at = 8 + json.length;
  for (const [, t] of entries) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** Writes a safetensors file atomically (src/files/atomic: a crash leaves the old file or the new one). */
export function writeSafetensors(file: string, tensors: Map<string, NamedTensor> | Iterable<[string, NamedTensor]>, metadata?: Record<string, string>): void {
  writeFileAtomic(file, serializeSafetensors(tensors, metadata));
}
