import type { Change, EstateClient } from '@estate/client';
import { EstateError } from '@estate/core';
import type { CliContext } from '../context.js';
import { createStyles } from '../io.js';
import { formatChange, remoteClient, type RemoteOptions } from './change.js';
import { parseFormat } from './formats.js';
import { formatTable } from './read.js';

type DriftState = 'open' | 'ignored' | 'resolved' | 'all';
const STATES = ['open', 'ignored', 'resolved', 'all'] as const;

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
  const state = parseFormat(options.state, STATES, 'open') as DriftState;
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
  const state = parseFormat(options.state, STATES, 'open') as DriftState;
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
    if (item.ignored !== undefined) details.push(['ignored', `by ${item.ignored.by} at ${item.ignored.at}: ${item.ignored.reason}`]);
    lines.push('', `  ${item.field}  ${item.state}`, ...details.map(([label, value]) => `    ${label.padEnd(10)}  ${value}`));
  }
  ctx.io.stdout(lines.join('\n') + '\n');
  return exitCode;
}

/** Options of the drift actions: `--format json` prints the API's answer. */
export interface DriftActionOptions extends RemoteOptions {
  format?: string;
}

/**
 * `estate drift adopt <asset> [--field F]… [--title T]`: opens a change request adopting the
 * observed values of the asset's open drift items (all, or the fields given) and prints it with
 * the fields left out (editor). `E_NOTHING_TO_ADOPT` (exit 1) when none can be adopted.
 */
export async function driftAdoptCommand(ctx: CliContext, asset: string, options: DriftActionOptions & { field?: string[]; title?: string }): Promise<number> {
  const format = parseFormat(options.format, ['text', 'json'] as const, 'text');
  const client = remoteClient(ctx, options, 'drift adopt');
  const answer = await client.adoptDrift({ asset: hostAsset(asset), ...(options.field?.length ? { fields: options.field.map(fieldPointer) } : {}), ...(options.title !== undefined ? { title: options.title } : {}) });
  if (format === 'json') {
    ctx.io.stdout(JSON.stringify(answer, null, 2) + '\n');
    return 0;
  }
  printOpened(ctx, client, answer.change);
  if (answer.skipped.length > 0) ctx.io.stdout(['not adopted:', ...answer.skipped.map((s) => `  ${s.field}: ${s.reason}`)].join('\n') + '\n');
  return 0;
}

/**
 * `estate drift revert <asset> <field>`: asks an enforcing agent to restore a managed file's field
 * from Git (editor). Other fields are `E_NOT_REVERTIBLE` (exit 1): change the host, or adopt.
 */
export async function driftRevertCommand(ctx: CliContext, asset: string, field: string, options: DriftActionOptions): Promise<number> {
  const format = parseFormat(options.format, ['text', 'json'] as const, 'text');
  const client = remoteClient(ctx, options, 'drift revert');
  const answer = await client.revertDrift(hostAsset(asset), fieldPointer(field));
  if (format === 'json') ctx.io.stdout(JSON.stringify(answer, null, 2) + '\n');
  else {
    ctx.io.stdout(`revert requested: ${answer.asset} ${answer.field} (by ${answer.requestedBy} at ${answer.requestedAt})\n`);
    ctx.io.stdout(`the host's agent restores it from Git when it runs with enforcement on (mode ${answer.mode})\n`);
  }
  return 0;
}

/**
 * `estate drift ignore <asset> <field> --reason R`: the open item is ignored while its observed
 * value stays the same (editor); a DriftIgnore policy is the permanent way.
 */
export async function driftIgnoreCommand(ctx: CliContext, asset: string, field: string, options: DriftActionOptions & { reason?: string }): Promise<number> {
  const format = parseFormat(options.format, ['text', 'json'] as const, 'text');
  if (options.reason === undefined || options.reason.trim() === '') throw new EstateError('E_USAGE', 'estate drift ignore needs --reason: why may the item stay as it is?', {});
  const client = remoteClient(ctx, options, 'drift ignore');
  const answer = await client.ignoreDrift(hostAsset(asset), fieldPointer(field), options.reason);
  if (format === 'json') ctx.io.stdout(JSON.stringify(answer, null, 2) + '\n');
  else ctx.io.stdout(`ignored: ${answer.item.asset} ${answer.item.field} (observed ${showValue(answer.item.observed)})\n${answer.note}\n`);
  return 0;
}

/**
 * `estate drift declare <host> [--name N] [--label K=V]…`: opens the change request declaring an
 * unmanaged host as a Host asset from its latest report (editor).
 */
export async function driftDeclareCommand(ctx: CliContext, host: string, options: DriftActionOptions & { name?: string; label?: string[] }): Promise<number> {
  const format = parseFormat(options.format, ['text', 'json'] as const, 'text');
  const labels: Record<string, string> = {};
  for (const label of options.label ?? []) {
    const at = label.indexOf('=');
    if (at <= 0) throw new EstateError('E_USAGE', `--label '${label}' is not KEY=VALUE`, { label });
    labels[label.slice(0, at)] = label.slice(at + 1);
  }
  const client = remoteClient(ctx, options, 'drift declare');
  const answer = await client.declareHost(host, { ...(options.name !== undefined ? { name: options.name } : {}), ...(Object.keys(labels).length > 0 ? { labels } : {}) });
  if (format === 'json') ctx.io.stdout(JSON.stringify(answer, null, 2) + '\n');
  else printOpened(ctx, client, answer.change);
  return 0;
}

/** `opened change request N: title`, its URL and summary. */
function printOpened(ctx: CliContext, client: EstateClient, change: Change): void {
  const s = createStyles(ctx.io);
  ctx.io.stdout(`opened change request ${s.bold(String(change.id))}: ${change.title}\n`);
  ctx.io.stdout(`  ${s.dim('url'.padEnd(10))}${client.url.replace(/\/+$/, '')}/api/v1/changes/${change.id}\n`);
  ctx.io.stdout(formatChange(change, s, false));
}

/** A field as a JSON pointer: `/spec/...` as given, or a path below spec (`packages/nginx`). */
function fieldPointer(value: string): string {
  const text = value.trim();
  if (text === '') throw new EstateError('E_USAGE', 'a field is a JSON pointer, e.g. /spec/packages/nginx', {});
  return text.startsWith('/') ? text : `/spec/${text}`;
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
