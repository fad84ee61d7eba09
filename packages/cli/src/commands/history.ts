import { EstateError } from '@estate/core';
import { assetHistory } from '@estate/git';
import { normalizeId, type CliContext } from '../context.js';
import { createStyles } from '../io.js';
import { formatFieldChange } from './diff.js';
import { parseCount, parseFormat } from './formats.js';

/**
 * `estate history <kind>/<name>`: every commit that changed the asset, newest first, with the
 * field-level change, following it across file moves and renames.
 */
export async function historyCommand(ctx: CliContext, id: string, options: { repo?: string; rev?: string; format?: string; limit?: string }): Promise<number> {
  const format = parseFormat(options.format, ['text', 'json'] as const, 'text');
  const limit = options.limit === undefined ? undefined : parseCount(options.limit, '--limit', 1);
  const assetId = normalizeId(id);
  const repo = await ctx.openRepo(options.repo);
  try {
    const entries = await assetHistory(repo, assetId, { cache: ctx.cache, ...(options.rev ? { rev: options.rev } : {}), ...(limit ? { limit } : {}) });
    if (entries.length === 0) {
      throw new EstateError('E_ASSET_NOT_FOUND', `asset '${assetId}' not found at ${options.rev ?? 'HEAD'}`, { id: assetId });
    }
    if (format === 'json') {
      ctx.io.stdout(JSON.stringify({ id: assetId, entries }, null, 2) + '\n');
      return 0;
    }
    const s = createStyles(ctx.io);
    for (const entry of entries) {
      const { commit } = entry;
      const where = entry.fromPath ? `${entry.fromPath} → ${entry.path}` : entry.path;
      ctx.io.stdout(`${s.yellow(commit.sha.slice(0, 12))} ${s.bold(entry.change)}  ${commit.authorDate}  ${commit.authorName} <${commit.authorEmail}>\n`);
      ctx.io.stdout(`    ${commit.subject}\n    ${s.dim(where)}\n`);
      for (const field of entry.fields) ctx.io.stdout(`      ${formatFieldChange(field, s)}\n`);
    }
    return 0;
  } finally {
    await repo.close();
  }
}
