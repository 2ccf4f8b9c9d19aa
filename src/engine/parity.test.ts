// The engine against Hugging Face transformers' numbers (../shared/parity), on WASM and plain CPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from './backend';
import { formatLine, runParity } from './parity';
import { shared } from './testing';

for (const backend of ['wasm', 'cpu'] as const) {
  for (const model of ['distilbert', 'bert']) {
    const fixture = shared('parity', model);
    test(`parity ${model} on ${backend}: logits, loss and every gradient within tolerance`, { skip: fixture.skip }, async () => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      const r = await runParity(fixture.path);
      assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
      const bad = r.lines.filter((l) => !l.ok).map(formatLine);
      assert.deepEqual(bad, []);
      // logits + loss + one gradient per parameter
      assert.equal(r.lines.length, 2 + (model === 'bert' ? 41 : 40));
      assert.ok(r.ok);
    });
  }
}
