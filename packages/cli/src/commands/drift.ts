import { EstateError } from '@estate/core';
import type { CliContext } from '../context.js';
import { createStyles } from '../io.js';
import { remoteClient, type RemoteOptions } from './change.js';
import { parseFormat } from './formats.js';
import { formatTable } from './read.js';

type DriftState = 'open' | 'resolved' | 'all';

/** Options of `estate drift list`. */
export interface DriftListOptions extends RemoteOptions {
  asset?: string;
  selector?: string;
  state?: string;
  format?: string;
}

/**
 * `estate drift list`: drift items (open by default) in the order they opened, as a table or JSON
 * (viewer). Exit 1 when an open item is listed: the estate and its hosts disagree.
 */
export async function driftListCommand(ctx: CliContext, options: DriftListOptions): Promise<number> {
  const format = parseFormat(options.format, ['table', 'json'] as const, 'table');
  const state = parseFormat(options.state, ['open', 'resolved', 'all'] as const, 'open') as DriftState;
  const client = remoteClient(ctx, options, 'drift list');
  const items = await collect(client.iterateDrift({ asset: options.asset === undefined ? undefined : hostAsset(options.asset), selector: options.selector, state }));
  const exitCode = items.some((item) => item.state === 'open') ? 1 : 0;
  if (format === 'json') {
    ctx.io.stdout(JSON.stringify(items, null, 2) + '\n');
    return exitCode;
  }
  if (items.length === 0) {
    ctx.io.stdout(state === 'all' ? 'no drift\n' : `no ${state} drift\n`);
    return exitCode;
  }
  const rows = items.map((i) => [i.asset, i.field, showValue(i.declared), showValue(i.observed), i.state, i.mode, i.firstSeen, i.lastSeen]);
  ctx.io.stdout(formatTable(['ASSET', 'FIELD', 'DECLARED', 'OBSERVED', 'STATE', 'MODE', 'FIRST SEEN', 'LAST SEEN'], rows));
  if (ctx.io.stdoutIsTTY) ctx.io.stdout(createStyles(ctx.io).dim(`${items.length} item${items.length === 1 ? '' : 's'}; estate drift show <asset> has one host's details\n`));
  return exitCode;
}

/**
 * `estate drift show <asset>`: one host's drift items (open by default), declared against observed,
 * with when and by which report they were seen (viewer). Exit 1 when it has open drift.
 */
export async function driftShowCommand(ctx: CliContext, asset: string, options: RemoteOptions & { state?: string; format?: string }): Promise<number> {
  const format = parseFormat(options.format, ['text', 'json'] as const, 'text');
  const state = parseFormat(options.state, ['open', 'resolved', 'all'] as const, 'open') as DriftState;
  const id = hostAsset(asset);
  const client = remoteClient(ctx, options, 'drift show');
  const items = await collect(client.iterateDrift({ asset: id, state }));
  const exitCode = items.some((item) => item.state === 'open') ? 1 : 0;
  if (format === 'json') {
    ctx.io.stdout(JSON.stringify({ asset: id, items }, null, 2) + '\n');
    return exitCode;
  }
  if (items.length === 0) {
    ctx.io.stdout(`no ${state === 'all' ? '' : `${state} `}drift on ${id}\n`);
    return exitCode;
  }
  const styles = createStyles(ctx.io);
  // The mode is the asset's, so every item carries the same one.
  const lines = [`${styles.bold(id)}  mode ${items[0]!.mode}`];
  for (const item of items) {
    const details: Array<[string, string]> = [
      ['declared', showValue(item.declared)],
      ['observed', showValue(item.observed)],
      ['first seen', item.firstSeen],
      ['last seen', `${item.lastSeen} (report ${item.reportId})`],
    ];
    if (item.resolvedAt !== undefined) details.push(['resolved', item.resolvedAt]);
    lines.push('', `  ${item.field}  ${item.state}`, ...details.map(([label, value]) => `    ${label.padEnd(10)}  ${value}`));
  }
  ctx.io.stdout(lines.join('\n') + '\n');
  return exitCode;
}

/** An asset id from `host/web-01` or a bare host name (`web-01`). */
function hostAsset(value: string): string {
  const text = value.trim();
  if (text === '' || /\s/.test(text)) throw new EstateError('E_USAGE', `'${value}' is not an asset; expected <kind>/<name> or a host name, e.g. host/web-01`, { asset: value });
  return text.includes('/') ? text : `host/${text}`;
}

/** A declared or observed value on one line: strings as they are, `absent` for null (not installed, missing). */
function showValue(value: unknown): string {
  if (value === null || value === undefined) return 'absent';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}
