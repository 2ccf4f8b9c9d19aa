// The graded answers as the extension shows them: the runner's answers (best run, tie rule) with the
// quick/tiny caveat of the run they came from, and no answer at all after a sweep whose runs all failed
// (an older sweep's value, maybe with other data, would mislead). Pure.
import type { AnswerValue, RunRecord } from '../protocol';
import { resultCaveat } from '../protocol';

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
    if (ended && sweep.every((r) => r.status === 'failed')) {
      const { runId: _r, caveat: _c, tie: _t, ...rest } = a;
      return { ...rest, value: null, note: `the latest sweep of ${a.problem}: all ${sweep.length} runs failed` };
    }
    const run = a.runId ? runs.find((r) => r.id === a.runId) : undefined;
    const caveat = run ? resultCaveat(run.config) : undefined;
    return caveat ? { ...a, caveat } : a;
  });
}
