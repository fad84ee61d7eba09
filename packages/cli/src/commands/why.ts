import type { TimelineEntry, TimelinePage } from '@estate/client';
import { EstateError } from '@estate/core';
import type { CliContext } from '../context.js';
import { createStyles, type Styles } from '../io.js';
import { remoteClient, type RemoteOptions } from './change.js';
import { parseCount, parseFormat } from './formats.js';

/** Entries `estate why` shows unless `--limit` says otherwise. */
const DEFAULT_LIMIT = 20;
/** The server's largest page. */
const MAX_PAGE = 1000;

/** Options of `estate why`. */
export interface WhyOptions extends RemoteOptions {
  limit?: string;
  since?: string;
  /** `text` (default) or `json`. */
  format?: string;
}

/**
 * `estate why <kind/name>`: the 3 a.m. answer (docs/drift.md). Prints the verdict (does the asset
 * differ from Git, since when, did that go through Git), then its timeline newest first, one line
 * per entry: declared changes with their change request (or the flag that none was used), drift
 * opened and resolved, restores, first and latest report. Exit 1 when it has open drift.
 */
export async function whyCommand(ctx: CliContext, asset: string, options: WhyOptions): Promise<number> {
  const limit = parseCount(options.limit, '--limit', DEFAULT_LIMIT);
  const format = parseFormat(options.format, ['text', 'json'] as const, 'text');
  const id = assetId(asset);
  const client = remoteClient(ctx, options, 'why');
  let page: TimelinePage | undefined;
  const items: TimelineEntry[] = [];
  let cursor: string | undefined;
  do {
    page = await client.assetTimeline(id, { limit: Math.min(MAX_PAGE, limit - items.length), cursor, since: options.since });
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== undefined && items.length < limit);
  const exitCode = page.openDrift.length > 0 ? 1 : 0;
  if (format === 'json') {
    ctx.io.stdout(JSON.stringify({ asset: page.asset, verdict: page.verdict, openDrift: page.openDrift, items, ...(cursor ? { nextCursor: cursor } : {}) }, null, 2) + '\n');
    return exitCode;
  }
  const styles = createStyles(ctx.io);
  const lines = [styles.bold(page.verdict), ''];
  if (items.length === 0) lines.push(options.since ? `nothing happened to ${page.asset} since ${options.since}` : `nothing recorded for ${page.asset}`);
  for (const entry of items) lines.push(`${showTime(entry.at)}  ${entry.source.padEnd(8)}  ${paint(styles, entry)}`);
  ctx.io.stdout(lines.join('\n') + '\n');
  if (cursor !== undefined && ctx.io.stdoutIsTTY) ctx.io.stdout(styles.dim(`older entries: estate why ${page.asset} --limit ${limit * 2}\n`));
  return exitCode;
}

/** An asset id from `host/web-01`, or a bare name taken as a host (`web-01`). */
function assetId(value: string): string {
  const text = value.trim();
  if (!/^[A-Za-z][A-Za-z0-9]{0,62}\/[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(text) && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(text)) {
    throw new EstateError('E_USAGE', `'${value}' is not an asset; expected <kind>/<name> or a host name, e.g. host/web-01`, { asset: value });
  }
  return text.includes('/') ? text : `host/${text}`;
}

/** `2024-06-01 03:12:05Z`. */
function showTime(iso: string): string {
  return `${iso.slice(0, 19).replace('T', ' ')}Z`;
}

/** The summary, colored on a terminal: changes outside Git and drift in red or yellow, convergence in green. */
function paint(styles: Styles, entry: TimelineEntry): string {
  if (entry.type === 'drift.opened' || entry.type === 'drift.changed' || entry.type === 'host.stale') return styles.red(entry.summary);
  if (entry.type === 'drift.resolved' || entry.type === 'host.enforced') return styles.green(entry.summary);
  if (entry.source === 'declared' && (entry.provenance?.status === 'unreviewed' || entry.provenance?.status === 'emergency')) return styles.yellow(entry.summary);
  return entry.summary;
}
