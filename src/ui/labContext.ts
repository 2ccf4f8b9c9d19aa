// What the command modules and the sweep controller share of the extension (the BertLab object).
import type * as vscode from 'vscode';
import type { RunConfig } from '../protocol';
import type { Runner } from '../experiments/runner';
import type { HomeworkSpec, Settings } from '../experiments/spec';
import type { RunState } from './runState';
import type { HomeworkNotebooks } from './notebook';

export interface LabContext {
  readonly context: vscode.ExtensionContext;
  readonly log: vscode.LogOutputChannel;
  readonly state: RunState;
  readonly spec: HomeworkSpec;
  readonly runner?: Runner;
  readonly notebooks: HomeworkNotebooks;
  /** Folder of the optional native engines (extension storage). */
  readonly nativeDir: string;
  settings(): Settings;
  /** The planned configs of a problem, from the in-memory runs (no disk read). */
  plan(problemId: string): RunConfig[];
  needRunner(): Runner;
  problemTitle(id: string): string;
  refresh(now: boolean): void;
  /** The native engine folder changed (an install): read it again. */
  nativeChanged(): void;
  openResults(runId?: string, preserveFocus?: boolean): void;
  setContextKey(key: string, value: boolean): void;
}
