// Helpers shared by the tests (not used by the product).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** ../shared beside the repository root (the project's reference material), found from this file, not the cwd. */
export const SHARED = resolve(__dirname, '..', '..', '..', 'shared');

/** CI always has ../shared and the test tools: there a missing one is a failure, never a skip. */
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

/**
 * The path of a shared file and a skip reason when it is absent — except in CI, where the test runs
 * (and fails on the missing file) instead of skipping.
 */
export function shared(...parts: string[]): { path: string; skip: string | false } {
  const path = join(SHARED, ...parts);
  return { path, skip: existsSync(path) || IN_CI ? false : `${path} is absent (../shared not available)` };
}
