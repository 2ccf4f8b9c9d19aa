// The graded answers (a1a, a2a, a3a): for each answer of the spec, the best finished run of its
// problem — highest "validation accuracy at the epoch of minimum validation loss" — within the setup
// (data, seed, epochs, example caps) of the problem's most recent finished run, so that a quick try
// and a full sweep never mix.
import type { AnswerValue, RunRecord } from '../protocol';
import { HOMEWORK9, bestRun, contextKey, type HomeworkSpec } from './spec';

export function computeAnswers(runs: RunRecord[], spec: HomeworkSpec = HOMEWORK9): AnswerValue[] {
  return spec.answers.map((a) => {
    const finished = runs
      .filter((r) => r.status === 'finished' && r.metrics && r.config.problem === a.problem)
      .sort((x, y) => (x.endedAt ?? x.createdAt).localeCompare(y.endedAt ?? y.createdAt));
    const latest = finished[finished.length - 1];
    const best = latest ? bestRun(finished, [a.problem], contextKey(latest.config)) : undefined;
    return {
      variable: a.variable,
      problem: a.problem,
      value: best ? best.metrics!.valAccuracyAtMinValLoss : null,
      ...(best ? { runId: best.id } : {}),
      description: a.description,
    };
  });
}
