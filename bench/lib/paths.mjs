/** Paths shared by the bench scripts. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
export const ROOT = dirname(BENCH_DIR);
export const WORK_DIR = join(BENCH_DIR, 'work');
export const RESULTS_DIR = join(BENCH_DIR, 'results');
export const CLI = join(ROOT, 'packages/cli/bin/estate.js');
export const CORE = join(ROOT, 'packages/core/dist/index.js');
export const GIT = join(ROOT, 'packages/git/dist/index.js');
export const CLI_MAIN = join(ROOT, 'packages/cli/dist/main.js');
