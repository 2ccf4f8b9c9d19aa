// The results panel's conversation with its page: correct when hidden and reopened during a run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ResultsState, ToWebview } from '../protocol';
import { PanelChannel, STATE_INTERVAL_MS } from './panelChannel';

function setup() {
  const sent: ToWebview[] = [];
  let step = 0;
  // A run in progress: each read of the state sees a later step and a longer loss curve.
  const state = (): ResultsState => {
    step++;
    return {
      runs: [], answers: [], problems: [], notebookAvailable: false,
      liveLoss: { r1: Array.from({ length: step }, (_, i) => [i + 1, 1 / (i + 1)] as [number, number]) },
      progress: { r1: { type: 'progress', epoch: 1, epochs: 3, step, steps: 100, loss: 1 / step, accuracy: 0.5, examplesPerSecond: 1, etaSeconds: 9, phase: 'train' } },
    };
  };
  return { sent, channel: new PanelChannel((m) => sent.push(m), state) };
}
const states = (sent: ToWebview[]) => sent.filter((m): m is Extract<ToWebview, { type: 'state' }> => m.type === 'state');

test('nothing is posted before the page is ready; ready gets the whole state and a focus asked for meanwhile', () => {
  const { sent, channel } = setup();
  channel.postState(true);
  channel.post({ type: 'focusRun', runId: 'r1' });
  assert.equal(sent.length, 0);
  channel.onReady();
  assert.deepEqual(sent.map((m) => m.type), ['state', 'focusRun']);
  channel.dispose();
});

test('hidden during a run, then shown again: the re-created page gets the current state, live losses included', async () => {
  const { sent, channel } = setup();
  channel.onReady();
  channel.postState();           // throttled: a post is pending
  channel.hidden();              // VS Code destroys the hidden page
  await sleep(STATE_INTERVAL_MS + 50);
  channel.postState(true);
  channel.post({ type: 'insertResult', variable: 'a1a', ok: true, message: 'x' });
  assert.equal(states(sent).length, 1, 'no post reaches a hidden page (the pending one was dropped)');
  channel.onReady();             // the page is shown again and says "ready"
  const last = states(sent).at(-1)!.state;
  assert.equal(states(sent).length, 2);
  assert.equal(last.progress.r1.step, last.liveLoss.r1.length, 'the state is read when the page is back, not a stale copy');
  assert.ok(last.liveLoss.r1.length > states(sent)[0].state.liveLoss.r1.length);
  channel.dispose();
});

test('state posts are throttled while training; `now` skips the throttle', async () => {
  const { sent, channel } = setup();
  channel.onReady();
  for (let i = 0; i < 20; i++) channel.postState();
  assert.equal(states(sent).length, 1, 'only the ready post so far');
  await sleep(STATE_INTERVAL_MS + 50);
  assert.equal(states(sent).length, 2, 'the burst became one post');
  channel.postState(true);
  assert.equal(states(sent).length, 3);
  channel.dispose();
});
