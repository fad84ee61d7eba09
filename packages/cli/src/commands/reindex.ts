import { resolve } from 'node:path';
import type { CliContext } from '../context.js';
import { createProgress } from '../io.js';
import { loadServer } from '../serverPackage.js';
import { DEFAULT_DATA_DIR } from './serve.js';

/**
 * `estate reindex`: rebuilds the server's read model from its repository (tokens stay), with
 * progress on a terminal and a one-line summary. Refused while a server uses the data dir.
 */
export async function reindexCommand(ctx: CliContext, options: { data?: string; repo?: string; format?: string }): Promise<number> {
  const dataDir = resolve(ctx.io.cwd, options.data ?? DEFAULT_DATA_DIR);
  const { reindex } = await loadServer();
  const progress = createProgress(ctx.io, 'indexing', { unit: 'commits', minTotal: 1 });
  let result;
  try {
    result = await reindex({ dataDir, ...(options.repo !== undefined ? { repo: resolve(ctx.io.cwd, options.repo) } : {}), onProgress: progress.update });
  } finally {
    progress.done();
  }
  if (options.format === 'json') {
    ctx.io.stdout(`${JSON.stringify(result)}\n`);
    return 0;
  }
  const { commits, assets, seconds } = result;
  ctx.io.stdout(`reindexed ${commits} commit${commits === 1 ? '' : 's'} (${assets} asset${assets === 1 ? '' : 's'}) in ${seconds.toFixed(1)} s\n`);
  return 0;
}
