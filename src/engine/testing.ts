// Helpers shared by the engine's tests (not used by the product).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** ../shared from the repository root (the project's shared reference material), when present. */
export const SHARED = resolve(__dirname, '..', '..', '..', 'shared');

/** The path of a shared file, and a skip reason when it is absent. */
export function shared(...parts: string[]): { path: string; skip: string | false } {
  const path = join(SHARED, ...parts);
  return { path, skip: existsSync(path) ? false : `${path} is absent (../shared not available)` };
}
