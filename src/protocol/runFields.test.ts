import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRunConfig, checkRunField, configLabel, lrLabel, modelTag, parseRunField, resultFingerprint } from './runFields';
import { HOMEWORK9, planProblem } from '../experiments/spec';

test('one run-field validation: values, typed text, whole configs', () => {
  assert.equal(checkRunField('maxLen', 128), undefined);
  assert.equal(checkRunField('maxLen', 1), 'MAX_LEN must be an integer of at least 2 ([CLS] and [SEP])');
  assert.equal(checkRunField('learningRate', 0), 'LR must be a number in (0, 1), e.g. 2e-5');
  assert.equal(checkRunField('subsetFrac', 1), undefined);
  assert.equal(checkRunField('subsetFrac', 1.5), 'SUBSET_FRAC must be a fraction in (0, 1]');
  assert.equal(checkRunField('batchSize', 2.5), 'BATCH must be an integer of at least 1');
  assert.equal(checkRunField('model', ' '), 'MODEL must be a non-empty string');
  assert.match(checkRunField('colour', 1)!, /^unknown run field "colour"/);
  assert.deepEqual(parseRunField('learningRate', '2e-5'), { value: 2e-5 });
  assert.deepEqual(parseRunField('seed', '0'), { value: 0 });
  for (const t of ['', '0x10', '1,5', 'Infinity', 'abc']) assert.match((parseRunField('batchSize', t) as { error: string }).error, /^BATCH must be a number/, t);
  assert.deepEqual(parseRunField('epochs', '0'), { error: 'EPOCHS must be an integer of at least 1 (got "0")' });
  const [c] = planProblem(HOMEWORK9, 'problem1', { data: '/d', model: '/m' }, []);
  assert.equal(checkRunConfig(c), undefined);
  assert.equal(checkRunConfig({ ...c, evalBatchSize: 0 }), 'EVAL_BATCH must be an integer of at least 1, got 0');
  // Engine fields come over IPC too: the interpreter is spawned, so only an absolute path or a bare command.
  assert.equal(checkRunConfig({ ...c, backend: 'torch-cpu', precision: 'bf16', python: '/usr/bin/python3' }), undefined);
  assert.equal(checkRunConfig({ ...c, python: 'python3' }), undefined);
  assert.match(checkRunConfig({ ...c, python: '../evil/python' })!, /^python must be an absolute path or a command name/);
  assert.match(checkRunConfig({ ...c, python: '/usr/bin/python3\n--x' })!, /^python must be/);
  assert.match(checkRunConfig({ ...c, backend: 'gpu' as never })!, /^backend must be one of auto, torch/);
  assert.match(checkRunConfig({ ...c, precision: 'fp8' as never })!, /^precision must be one of/);
  assert.equal(checkRunConfig({ ...c, limitTrain: -1 }), 'limitTrain must be an integer of at least 1, got -1');
});

test('one label: the spec\'s label and the notebook summary style; the fingerprint ignores labels but not values', () => {
  const c = { maxLen: 256, learningRate: 7.5e-6, batchSize: 16, subsetFrac: 0.5, model: '/models/bert-base-uncased/' };
  assert.equal(configLabel(c), 'MAX_LEN=256, LR=7.5e-06, BATCH=16');
  assert.equal(configLabel(c, { subsetFrac: true, model: true }), 'MAX_LEN=256, LR=7.5e-06, BATCH=16, SUBSET_FRAC=0.5, MODEL=bert-base-uncased');
  assert.equal(configLabel(c, { subsetFrac: true, style: 'summary' }), 'LEN=256 LR=7.5e-06 BATCH=16 FRAC=0.5');
  assert.equal(lrLabel(2e-5), '2.0e-05');
  assert.equal(modelTag('C:\\models\\tiny'), 'tiny');
  const [a] = planProblem(HOMEWORK9, 'problem1', { data: '/d', model: '/m' }, []);
  assert.equal(resultFingerprint({ ...a, label: 'x', key: 'y', backend: 'wasm', cacheDir: '/c' }), resultFingerprint(a));
  for (const patch of [{ data: '/e' }, { evalBatchSize: 1 }, { patience: 0 }, { limitEval: 3 }, { precision: 'bf16' as const }, { problem: 'problem2' }]) {
    assert.notEqual(resultFingerprint({ ...a, ...patch }), resultFingerprint(a), JSON.stringify(patch));
  }
});
