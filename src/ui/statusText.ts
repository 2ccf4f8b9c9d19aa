// Texts of the training status-bar item and of the progress notification (pure, so tests check them).
import type { ProgressMessage } from '../protocol';
import { formatDuration } from './treeModel';

/** "epoch 2/3" while training, else the phase ("validate", "test", …); then "ETA 1:05" when known. */
function phaseParts(p: ProgressMessage | undefined, withSteps: boolean): string[] {
  if (!p) return [];
  const parts = [p.phase === 'train' ? `epoch ${p.epoch}/${p.epochs}${withSteps ? ` · step ${p.step}/${p.steps}` : ''}` : p.phase];
  if (p.etaSeconds > 0) parts.push(`ETA ${formatDuration(p.etaSeconds)}`);
  return parts;
}

/** Status bar while training: "$(sync~spin) BERT Lab: run 2/6 · epoch 1/3 · ETA 1:05". */
export function trainingStatusText(k: number, n: number, p: ProgressMessage | undefined): string {
  return `$(sync~spin) BERT Lab: ${[`run ${k}/${n}`, ...phaseParts(p, false)].join(' · ')}`;
}

/** Progress notification: "run 2/6: <label> · epoch 1/3 · step 4/10 · ETA 1:05 — [Show Log](…)". */
export function progressNotificationText(run: { k: number; n: number; label: string } | undefined, p: ProgressMessage | undefined): string {
  const message = run ? [`run ${run.k}/${run.n}: ${run.label}`, ...phaseParts(p, true)].join(' · ') : 'starting…';
  return `${message} — [Show Log](command:bertLab.showLog)`;
}
