// Test helpers for the CLI commands (imported by src/cli/commands/*.test.ts only): output capture and a
// small run history in a temp workspace.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunHistory } from '../experiments/history';
import type { RunConfig, RunMetrics, RunRecord } from '../protocol';

export interface Captured { code: number; stdout: string; stderr: string }

/** Runs a command's main() with console.log/console.error/process.stdout.write captured. */
export async function capture(fn: () => Promise<number>): Promise<Captured> {
  const out: string[] = [], err: string[] = [];
  const log = console.log, error = console.error, write = process.stdout.write;
  console.log = (...a: unknown[]) => { out.push(`${a.join(' ')}\n`); };
  console.error = (...a: unknown[]) => { err.push(`${a.join(' ')}\n`); };
  process.stdout.write = ((chunk: string | Uint8Array) => { out.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')); return true; }) as typeof process.stdout.write;
  try {
    return { code: await fn(), stdout: out.join(''), stderr: err.join('') };
  } finally {
    console.log = log; console.error = error; process.stdout.write = write;
  }
}

export function config(problem: string, key: string, label: string, patch: Partial<RunConfig> = {}): RunConfig {
  return {
    problem, key, label, model: '/m', maxLen: 128, learningRate: 2e-5, batchSize: 32, epochs: 3, evalBatchSize: 64,
    subsetFrac: 0.25, seed: 42, data: '/d', patience: 2, ...patch,
  };
}

export function metrics(valAccuracyAtMinValLoss: number, patch: Partial<RunMetrics> = {}): RunMetrics {
  return {
    testAccuracy: 0.8125, testF1: 0.8, confusion: [[40, 10], [5, 45]], valAccuracyAtMinValLoss, bestEpoch: 2,
    trainSeconds: 10, totalSeconds: 12.34, stepsPerSecond: 3, examplesPerSecond: 96, ...patch,
  };
}

/**
 * A workspace with five runs: problem1 finished twice (labels with a comma, and with quotes and a leading
 * "="), problem1 failed (a two-line error), problem2 left "running" by a dead process (reads as
 * interrupted), problem3 cancelled.
 */
export function sampleWorkspace(): { workspace: string; history: RunHistory } {
  const workspace = mkdtempSync(join(tmpdir(), 'bert-lab-cli-'));
  const history = new RunHistory(workspace);
  const epoch = (n: number, valLoss: number) => ({ epoch: n, trainLoss: 0.6 / n, trainAccuracy: 0.7, valLoss, valAccuracy: 0.8, seconds: 4 });
  const runs: RunRecord[] = [
    {
      id: 'r1', sweepId: 's1', status: 'finished', createdAt: '2026-01-01T00:00:01Z', endedAt: '2026-01-01T00:01:01Z',
      config: config('problem1', 'len128-lr2e-05', 'MAX_LEN=128, LR=2.0e-5'),
      history: [epoch(1, 0.5), epoch(2, 0.4)], metrics: metrics(0.8392),
    },
    {
      id: 'r2', sweepId: 's1', status: 'finished', createdAt: '2026-01-01T00:00:02Z', endedAt: '2026-01-01T00:02:01Z',
      config: config('problem1', 'len256-lr1e-05', '=MAX_LEN "256", LR=1.0e-5', { maxLen: 256, learningRate: 1e-5, batchSize: 16 }),
      history: [epoch(1, 0.45)], metrics: metrics(0.8584, { bestEpoch: 1, totalSeconds: 20 }), oomRetries: [8],
    },
    {
      id: 'r3', sweepId: 's1', status: 'failed', createdAt: '2026-01-01T00:00:03Z', endedAt: '2026-01-01T00:02:30Z',
      config: config('problem1', 'len512-lr5e-06', 'MAX_LEN=512, LR=5.0e-6', { maxLen: 512, learningRate: 5e-6, batchSize: 8 }),
      history: [], error: 'out of memory\nat batch 4',
    },
    {
      id: 'r4', status: 'running', pid: 2 ** 22 + 12345, createdAt: '2026-01-01T00:00:04Z', // no such process
      config: config('problem2', 'frac0.5', 'SUBSET_FRAC=0.5', { subsetFrac: 0.5 }), history: [epoch(1, 0.5)],
    },
    {
      id: 'r5', status: 'cancelled', createdAt: '2026-01-01T00:00:05Z', endedAt: '2026-01-01T00:03:00Z',
      config: config('problem3', 'distilbert', 'DistilBERT'), history: [],
    },
  ];
  for (const r of runs) history.save(r);
  return { workspace, history };
}
