// The graded answers as the extension shows them: the runner's answers (best run, tie rule) with the
// quick/tiny caveat of the run they came from, and no answer at all after a sweep whose runs all failed
// with other data or another model (an older sweep's value would then mislead). Pure.
import type { AnswerValue, RunRecord } from '../protocol';
import { resultCaveat } from '../protocol';
import { contextKey } from '../experiments/spec';

/** The latest sweep of a problem (runs sharing the newest sweepId), or [] when it has none. */
export function latestSweep(runs: readonly RunRecord[], problem: string): RunRecord[] {
  const own = runs.filter((r) => r.config.problem === problem && r.sweepId);
  if (!own.length) return [];
  const newest = own.reduce((a, b) => (b.createdAt > a.createdAt || (b.createdAt === a.createdAt && b.id > a.id) ? b : a));
  return own.filter((r) => r.sweepId === newest.sweepId);
}

export function answersView(answers: readonly AnswerValue[], runs: readonly RunRecord[]): AnswerValue[] {
  return answers.map((a) => {
    const sweep = latestSweep(runs, a.problem);
    const ended = sweep.length > 0 && sweep.every((r) => r.status !== 'running' && r.status !== 'queued');
    const run = a.runId ? runs.find((r) => r.id === a.runId) : undefined;
    // Same setup (data, seed, epochs, caps) and model as the answer's run: the failure says nothing against it.
    const sameSetup = run && sweep.some((r) => contextKey(r.config) === contextKey(run.config) && r.config.model === run.config.model);
    if (ended && sweep.every((r) => r.status === 'failed') && !sameSetup) {
      const { runId: _r, caveat: _c, tie: _t, ...rest } = a;
      return { ...rest, value: null, note: `the latest sweep of ${a.problem}: all ${sweep.length} runs failed` };
    }
    const caveat = run ? resultCaveat(run.config) : undefined;
    return caveat ? { ...a, caveat } : a;
  });
}
