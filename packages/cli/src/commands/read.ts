import type { RelatedAsset } from '@estate/client';
import { EstateError, matchesSelector, parseLabelSelector, traverseRelations, type Asset, type LabelSelector } from '@estate/core';
import { stringify } from 'yaml';
import { normalizeId, requireAsset, warnIfInvalid, type CliContext } from '../context.js';
import { createStyles } from '../io.js';
import { serverAt, serverClient, type SourceOptions } from '../remote.js';
import { parseCount, parseFormat } from './formats.js';

/** Options shared by the read commands: a local repo (`--repo`, `--rev`) or a server (`--server`, `--at`). */
export type ReadOptions = SourceOptions;

/** Page size of server-mode lists: the API's maximum, so big estates take few round trips. */
const PAGE_SIZE = 1000;

/**
 * `estate get <kind>/<name>`: one asset, as written (YAML, comments kept) or as JSON. From a
 * server, the YAML is rendered from the stored document (the server keeps no comments).
 */
export async function getCommand(ctx: CliContext, id: string, options: ReadOptions & { output?: string }): Promise<number> {
  const output = parseFormat(options.output, ['yaml', 'json'] as const, 'yaml');
  const assetId = normalizeId(id);
  const client = serverClient(ctx.io, options);
  if (client) {
    const { asset } = await client.getAsset(assetId, { at: serverAt(options) });
    ctx.io.stdout(output === 'json' ? JSON.stringify(asset.document, null, 2) + '\n' : stringify(asset.document));
    return 0;
  }
  const loaded = await ctx.loadEstate(options.repo, options.rev);
  warnIfInvalid(ctx.io, loaded);
  const asset = requireAsset(loaded, id);
  if (output === 'json') ctx.io.stdout(JSON.stringify(asset.document.value, null, 2) + '\n');
  else ctx.io.stdout(documentText(asset) + '\n');
  return 0;
}

/** The document's own text, without the blanked `---` line that separated it from the previous one. */
function documentText(asset: Asset): string {
  return asset.document.source.replace(/^\s*\n/, '').replace(/\s+$/, '');
}

/** What `estate list` prints of an asset, wherever it was read. */
export interface ListedAsset {
  id: string;
  path: string;
  /** The whole document, as JSON. */
  document: unknown;
  owner: string | undefined;
  labels: Record<string, string> | undefined;
}

/** `estate list`: assets filtered by kind and label selectors, sorted by id, as a table, JSON or YAML. */
export async function listCommand(ctx: CliContext, options: ReadOptions & { kind?: string; selector?: string[]; output?: string }): Promise<number> {
  const output = parseFormat(options.output, ['table', 'json', 'yaml'] as const, 'table');
  // Parsed here in both modes, so a bad selector fails the same way (E_SELECTOR) before any request.
  const selectors: LabelSelector[] = (options.selector ?? []).map(parseLabelSelector);
  const client = serverClient(ctx.io, options);
  if (client) {
    const assets: ListedAsset[] = [];
    // Requirements of a selector are ANDed, so repeated -l join into one selector.
    const query = { kind: options.kind, selector: options.selector?.length ? options.selector.join(',') : undefined, at: serverAt(options), limit: PAGE_SIZE };
    for await (const a of client.iterateAssets(query)) {
      assets.push({ id: a.id, path: a.path, document: a.document, owner: a.document.metadata.owner, labels: a.document.metadata.labels });
    }
    printAssets(ctx, output, assets);
    return 0;
  }
  const loaded = await ctx.loadEstate(options.repo, options.rev);
  warnIfInvalid(ctx.io, loaded);
  const { estate } = loaded;
  let kindName: string | undefined;
  if (options.kind !== undefined) {
    const kind = estate.kinds.get(options.kind) ?? estate.kinds.byIdPrefix(options.kind.toLowerCase());
    if (!kind) {
      throw new EstateError('E_USAGE', `unknown kind '${options.kind}'; known kinds: ${estate.kinds.list().map((k) => k.name).join(', ')}`, { kind: options.kind });
    }
    kindName = kind.name;
  }
  const assets = [...estate.assets.values()]
    .filter((a) => (kindName === undefined || a.kind === kindName) && selectors.every((s) => matchesSelector(s, a.metadata.labels)))
    .map((a): ListedAsset => ({ id: a.id, path: a.path, document: a.document.value, owner: a.metadata.owner, labels: a.metadata.labels }))
    // By id, as the server answers: the same estate lists the same way from either.
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  printAssets(ctx, output, assets);
  return 0;
}

function printAssets(ctx: CliContext, output: 'table' | 'json' | 'yaml', assets: ListedAsset[]): void {
  if (output === 'json') {
    ctx.io.stdout(JSON.stringify(assets.map((a) => ({ id: a.id, path: a.path, document: a.document })), null, 2) + '\n');
  } else if (output === 'yaml') {
    ctx.io.stdout(assets.map((a) => stringify(a.document)).join('---\n'));
  } else {
    const rows = assets.map((a) => [a.id, a.owner ?? '', formatLabels(a.labels), a.path]);
    ctx.io.stdout(formatTable(['ID', 'OWNER', 'LABELS', 'FILE'], rows));
    if (ctx.io.stdoutIsTTY) ctx.io.stdout(createStyles(ctx.io).dim(`${assets.length} asset${assets.length === 1 ? '' : 's'}\n`));
  }
}

function formatLabels(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Left-aligned columns separated by two spaces, like kubectl. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd() + '\n';
  return [headers, ...rows].map(line).join('');
}

/**
 * `estate relations <kind>/<name>`: related assets, transitively, with the path to each. With
 * `--direction in` it answers "what depends on this (what breaks if it dies)".
 */
export async function relationsCommand(
  ctx: CliContext,
  id: string,
  options: ReadOptions & { direction?: string; depth?: string; type?: string[]; format?: string },
): Promise<number> {
  const direction = parseFormat(options.direction, ['in', 'out', 'both'] as const, 'both');
  const format = parseFormat(options.format, ['text', 'json'] as const, 'text');
  const depth = parseCount(options.depth, '--depth', 1);
  const types = options.type?.length ? options.type : undefined;
  const client = serverClient(ctx.io, options);
  if (client) {
    const answer = await client.relations(normalizeId(id), { direction, depth, ...(types ? { type: types } : {}), at: serverAt(options), limit: MAX_RELATED });
    printRelations(ctx, format, { id: answer.asset, direction, depth, related: answer.items });
    if (answer.truncated) ctx.io.stderr(`warning: the server lists the nearest ${MAX_RELATED} related assets only; narrow with --depth or --type\n`);
    return 0;
  }
  const loaded = await ctx.loadEstate(options.repo, options.rev);
  warnIfInvalid(ctx.io, loaded);
  const asset = requireAsset(loaded, id);
  const related = traverseRelations(loaded.estate.relations, asset.id, { direction, depth, ...(types ? { types } : {}) });
  printRelations(ctx, format, { id: asset.id, direction, depth, related });
  return 0;
}

/** The most related assets a server lists in one answer. */
const MAX_RELATED = 10_000;

function printRelations(ctx: CliContext, format: 'text' | 'json', result: { id: string; direction: string; depth: number; related: RelatedAsset[] }): void {
  if (format === 'json') {
    ctx.io.stdout(JSON.stringify(result, null, 2) + '\n');
    return;
  }
  const { id, direction, depth, related } = result;
  const s = createStyles(ctx.io);
  ctx.io.stdout(`${s.bold(id)} ${s.dim(`(${direction}, depth ${depth}): ${related.length} related`)}\n`);
  for (const item of related) {
    const path = item.path.map((step) => `${s.dim(`-[${step.relation}]->`)} ${step.to}`).join(' ');
    ctx.io.stdout(`  ${item.id.padEnd(32)} ${s.dim(`${item.depth}`)}  ${id} ${path}\n`);
  }
}
