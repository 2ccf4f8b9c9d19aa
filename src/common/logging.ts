// The log of the runs: every worker line once. The runner relays a worker's 'log' message both as a
// 'message' event (with its run id) and as a 'log' line "[level] text"; the run-tagged one is kept.
import type { FromWorker } from '../protocol';

export interface LogSink {
  info(line: string): void;
  warn(line: string): void;
  error(line: string): void;
}

export interface RunnerLogEvents {
  on(event: 'log', fn: (line: string) => void): unknown;
  on(event: 'message', fn: (runId: string, m: FromWorker) => void): unknown;
}

/** The one log line (and level) of a worker message, or undefined for messages not logged (progress). */
export function workerLine(runId: string, m: FromWorker): { level: 'info' | 'warn' | 'error'; line: string } | undefined {
  switch (m.type) {
    case 'log': return { level: m.level, line: `[${runId}] ${m.message}` };
    case 'started': return { level: 'info', line: `[${runId}] ${m.config.label}: ${m.engine.backend} on ${m.engine.device} (${m.engine.reason}); split train ${m.split.train} · val ${m.split.val} · test ${m.split.test}` };
    case 'epochEnd': {
      const e = m.metrics;
      return { level: 'info', line: `[${runId}] epoch ${e.epoch}: loss ${e.trainLoss.toFixed(4)} acc ${e.trainAccuracy.toFixed(4)} · val_loss ${e.valLoss.toFixed(4)} val_acc ${e.valAccuracy.toFixed(4)} · ${e.seconds.toFixed(1)} s` };
    }
    case 'failed': return { level: 'error', line: `[${runId}] failed (${m.stage}): ${m.reason}` };
    case 'outOfMemory': return { level: 'warn', line: `[${runId}] out of memory at batch ${m.batchSize}: retrying with ${m.nextBatchSize}` };
    default: return undefined;
  }
}

/** Wires a runner's events to the log so that each line appears once. */
export class RunLog {
  /** Lines the runner will relay again as plain 'log' lines (a worker's log and OOM messages), to drop once. */
  private readonly relayed: string[] = [];

  constructor(private readonly sink: LogSink) {}

  attach(runner: RunnerLogEvents): void {
    runner.on('message', (runId, m) => this.onMessage(runId, m));
    runner.on('log', (line) => this.onLine(line));
  }

  onMessage(runId: string, m: FromWorker): void {
    const out = workerLine(runId, m);
    if (!out) return;
    if (m.type === 'log') this.remember(`[${m.level}] ${m.message}`);
    if (m.type === 'outOfMemory') this.remember(`out of memory at batch size ${m.batchSize}: retrying with ${m.nextBatchSize} in a fresh training process (${m.reason})`);
    this.sink[out.level](out.line);
  }

  onLine(line: string): void {
    const k = this.relayed.indexOf(line);
    if (k >= 0) { this.relayed.splice(k, 1); return; }
    this.sink.info(line);
  }

  private remember(line: string): void {
    this.relayed.push(line);
    if (this.relayed.length > 100) this.relayed.shift();
  }
}
