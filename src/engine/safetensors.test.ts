import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSafetensors, readSafetensors, serializeSafetensors, writeSafetensors } from './safetensors';
import { shared } from './testing';

function rawFile(header: Record<string, unknown>, data: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const out = Buffer.alloc(8 + json.length + data.length);
  out.writeBigUInt64LE(BigInt(json.length));
  json.copy(out, 8);
  out.set(data, 8 + json.length);
  return out;
}

test('F32 round trip keeps names, shapes, values and metadata', () => {
  const dir = mkdtempSync(join(tmpdir(), 'st-'));
  const f = join(dir, 'm.safetensors');
  const a = { shape: [2, 3], data: new Float32Array([1, -2, 3.5, 1e-30, -0, 7]) };
  const b = { shape: [1], data: new Float32Array([42]) };
  writeSafetensors(f, new Map([['z.weight', a], ['a.bias', b]]), { format: 'pt' });
  const buf = readFileSync(f);
  const headerLen = Number(buf.readBigUInt64LE(0));
  assert.equal((8 + headerLen) % 8, 0, 'data is 8-byte aligned');
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString());
  assert.deepEqual(header.__metadata__, { format: 'pt' });
  assert.deepEqual(header['a.bias'], { dtype: 'F32', shape: [1], data_offsets: [0, 4] });
  const back = readSafetensors(f);
  assert.deepEqual(back.tensors.get('z.weight'), a);
  assert.deepEqual(back.tensors.get('a.bias'), b);
});

test('F16 and BF16 are converted to float32', () => {
  const f16 = new Uint16Array([0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00]); // 1, -2, ~0.33325, 2^-24, inf
  const bf16 = new Uint16Array([0x3f80, 0xc040]); // 1, -3
  const data = new Uint8Array([...new Uint8Array(f16.buffer), ...new Uint8Array(bf16.buffer)]);
  const file = parseSafetensors(rawFile({
    h: { dtype: 'F16', shape: [5], data_offsets: [0, 10] },
    b: { dtype: 'BF16', shape: [2], data_offsets: [10, 14] },
  }, data));
  const h = file.tensors.get('h')!.data;
  assert.equal(h[0], 1); assert.equal(h[1], -2); assert.ok(Math.abs(h[2] - 0.33325195) < 1e-7);
  assert.equal(h[3], 2 ** -24); assert.equal(h[4], Infinity);
  assert.deepEqual([...file.tensors.get('b')!.data], [1, -3]);
});

test('mismatches are errors naming the tensor and the file', () => {
  const bad = rawFile({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, new Uint8Array(12));
  assert.throws(() => parseSafetensors(bad, 'x.safetensors'), (e: Error) => /^x\.safetensors: tensor "w"/.test(e.message));
  const i64 = rawFile({ ids: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8));
  assert.throws(() => parseSafetensors(i64, 'y.safetensors'), /y\.safetensors: tensor "ids" has dtype I64/);
  assert.throws(() => parseSafetensors(new Uint8Array(4), 'z'), /z: too short/);
  assert.throws(() => serializeSafetensors(new Map([['q', { shape: [3], data: new Float32Array(2) }]])), /"q"/);
});

const parity = shared('parity', 'bert', 'model.safetensors');
test('reads the reference files written by the Python writer', { skip: parity.skip }, () => {
  const f = readSafetensors(parity.path);
  assert.deepEqual(f.metadata, { format: 'pt' });
  assert.deepEqual(f.tensors.get('bert.embeddings.word_embeddings.weight')!.shape, [1000, 32]);
});

test('header errors: the 64-bit header length printed exactly, non-object headers and entries named', () => {
  const big = Buffer.alloc(16);
  big.writeBigUInt64LE(2n ** 63n - 1n);
  assert.throws(() => parseSafetensors(big, 'h.safetensors'),
    (e: Error) => e.message === 'h.safetensors: header length 9223372036854775807 exceeds the file size (16 bytes): not a safetensors file, or truncated');
  big.writeBigUInt64LE(2n ** 64n - 1n);
  assert.throws(() => parseSafetensors(big, 'h.safetensors'), /header length 18446744073709551615 exceeds/);
  const list = Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('[]')]);
  assert.throws(() => parseSafetensors(list, 'l.safetensors'), /^Error: l\.safetensors: the header is a list, not a JSON object of tensors$/);
  const nul = rawFile({ w: null }, new Uint8Array(0));
  assert.throws(() => parseSafetensors(nul, 'n.safetensors'), /n\.safetensors: tensor "w" is not an object/);
});
