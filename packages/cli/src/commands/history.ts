import type { EstateClient, HistoryEntry } from '@estate/client';
import { EstateError, type FieldChange } from '@estate/core';
import { assetHistory } from '@estate/git';
import { normalizeId, type CliContext } from '../context.js';
import { createStyles } from '../io.js';
import { resolveServerCommit, serverAt, serverClient, type SourceOptions } from '../remote.js';
import { formatFieldChange } from './diff.js';
import { parseCount, parseFormat } from './formats.js';

/** One entry as `estate history` prints it, wherever it was read. */
interface HistoryLine {
  sha: string;
  change: string;
  date: string;
  author: string;
  subject: string;
  path: string;
  fromPath?: string;
  fields: FieldChange[];
}

/** The API's page size limit: a longer history takes several requests. */
const PAGE_SIZE = 1000;

/**
 * `estate history <kind>/<name>`: every commit that changed the asset, newest first, with the
 * field-level change, following it across file moves and renames.
 */
export async function historyCommand(ctx: CliContext, id: string, options: SourceOptions & { format?: string; limit?: string }): Promise<number> {
  const format = parseFormat(options.format, ['text', 'json'] as const, 'text');
  const limit = options.limit === undefined ? undefined : parseCount(options.limit, '--limit', 1);
  const assetId = normalizeId(id);
  const client = serverClient(ctx.io, options);
  if (client) {
    const entries = await serverHistory(client, assetId, serverAt(options), limit);
    if (format === 'json') ctx.io.stdout(JSON.stringify({ id: assetId, entries }, null, 2) + '\n');
    else printHistory(ctx, entries.map(fromApi));
    return 0;
  }
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
    printHistory(
      ctx,
      entries.map(({ commit, change, path, fromPath, fields }) => ({
        sha: commit.sha,
        change,
        date: commit.authorDate,
        author: `${commit.authorName} <${commit.authorEmail}>`,
        subject: commit.subject,
        path,
        ...(fromPath ? { fromPath } : {}),
        fields,
      })),
    );
    return 0;
  } finally {
    await repo.close();
  }
}

/**
 * The asset's history from the server, newest first, up to `limit` entries. The API's history
 * starts at the head; with `at`, entries of later commits are skipped, as `--rev` does locally.
 */
async function serverHistory(client: EstateClient, id: string, at: string | undefined, limit: number | undefined): Promise<HistoryEntry[]> {
  const until = at === undefined ? undefined : (await resolveServerCommit(client, at)).seq;
  const entries: HistoryEntry[] = [];
  const pageSize = until === undefined && limit !== undefined ? Math.min(limit, PAGE_SIZE) : PAGE_SIZE;
  for await (const entry of client.iterateAssetHistory(id, { limit: pageSize })) {
    if (until !== undefined && entry.commit.seq > until) continue;
    entries.push(entry);
    if (limit !== undefined && entries.length >= limit) break;
  }
  if (entries.length === 0) {
    throw new EstateError('E_ASSET_NOT_FOUND', `asset '${id}' not found at ${at ?? 'the head'} of ${client.url}`, { id, server: client.url });
  }
  return entries;
}

function fromApi({ commit, change, path, fromPath, fields }: HistoryEntry): HistoryLine {
  return {
    sha: commit.sha,
    change,
    date: commit.author.date,
    author: `${commit.author.name} <${commit.author.email}>`,
    subject: commit.subject,
    path,
    ...(fromPath ? { fromPath } : {}),
    fields,
  };
}

function printHistory(ctx: CliContext, entries: HistoryLine[]): void {
  const s = createStyles(ctx.io);
  for (const entry of entries) {
    const where = entry.fromPath ? `${entry.fromPath} → ${entry.path}` : entry.path;
    ctx.io.stdout(`${s.yellow(entry.sha.slice(0, 12))} ${s.bold(entry.change)}  ${entry.date}  ${entry.author}\n`);
    ctx.io.stdout(`    ${entry.subject}\n    ${s.dim(where)}\n`);
    for (const field of entry.fields) ctx.io.stdout(`      ${formatFieldChange(field, s)}\n`);
  }
}
