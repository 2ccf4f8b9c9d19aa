// The workspace folder a CLI command reads its run history from (--workspace, default: the current folder).
import { statSync } from 'node:fs';
import { resolve } from 'node:path';

/** The absolute workspace folder; a missing one is an error (a typo would otherwise read as "no runs"). */
export function workspaceDir(arg: string | undefined): string {
  const ws = resolve(arg ?? process.cwd());
  if (!statSync(ws, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`--workspace ${ws}: no such folder`);
  return ws;
}
