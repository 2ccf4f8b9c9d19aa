// The graded answers (a1a, a2a, a3a): for each answer of the spec, the best finished run of its
// problem — highest "validation accuracy at the epoch of minimum validation loss" — within the setup
// (data, seed, epochs, example caps) of the problem's latest attempt, so that a quick try and a full sweep
// never mix, and a sweep whose runs all failed shows no answer (never an earlier sweep's with other data or
// another model). The one definition: the CLI, the extension and the results page all show these.
import { resultCaveat, type AnswerValue, type RunRecord } from '../protocol';
import { HOMEWORK9, bestRun, contextKey, type HomeworkSpec } from './spec';

/** An answer with its caveat (quick/tiny run), tie rule and, without a value, the note saying why. */
export type Answer = AnswerValue;

/** The latest sweep of a problem (the runs sharing its newest sweepId), or [] when it has none. */
export function latestSweep(runs: readonly RunRecord[], problem: string): RunRecord[] {
  const own = runs.filter((r) => r.config.problem === problem && r.sweepId);
  if (!own.length) return [];
  const newest = own.reduce((a, b) => (b.createdAt > a.createdAt || (b.createdAt === a.createdAt && b.id > a.id) ? b : a));
  return own.filter((r) => r.sweepId === newest.sweepId);
}

export function computeAnswers(runs: readonly RunRecord[], spec: HomeworkSpec = HOMEWORK9): Answer[] {
  return spec.answers.map((a) => {
    const base = { variable: a.variable, problem: a.problem, description: a.description };
    // A latest sweep that ended with every run failed, none of them with the setup and model of a run that
    // finished before: the older value would pass for this sweep's.
    const sweep = latestSweep(runs, a.problem);
    if (sweep.length && sweep.every((r) => r.status === 'failed')) {
      const earlier = runs.some((r) => r.status === 'finished' && r.config.problem === a.problem
        && sweep.some((f) => contextKey(f.config) === contextKey(r.config) && f.config.model === r.config.model));
      if (!earlier) return { ...base, value: null, note: `the latest sweep of ${a.problem}: all ${sweep.length} runs failed` };
    }
    // The latest attempt that ended with an outcome (finished or failed; a cancel or a kill says nothing).
    const attempts = runs
      .filter((r) => r.config.problem === a.problem && (r.status === 'finished' || r.status === 'failed'))
      .sort((x, y) => (x.endedAt ?? x.createdAt).localeCompare(y.endedAt ?? y.createdAt) || x.createdAt.localeCompare(y.createdAt));
    const latest = attempts[attempts.length - 1];
    const best = latest ? bestRun(runs, [a.problem], contextKey(latest.config)) : undefined;
    if (!best) {
      const note = !latest ? `no finished run of ${a.problem}`
        : `the latest runs of ${a.problem} (data ${latest.config.data}) failed and none with that setup finished`;
      return { ...base, value: null, note };
    }
    const caveat = resultCaveat(best.run.config);
    return {
      ...base, value: best.run.metrics!.valAccuracyAtMinValLoss, runId: best.run.id,
      ...(caveat ? { caveat } : {}), ...(best.tie ? { tie: best.tie } : {}),
    };
  });
}
