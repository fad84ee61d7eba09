import { EstateError, matchesSelector, parseLabelSelector, traverseRelations, type Asset, type LabelSelector } from '@estate/core';
import { stringify } from 'yaml';
import { normalizeId, requireAsset, warnIfInvalid, type CliContext } from '../context.js';
import { createStyles } from '../io.js';
import { parseCount, parseFormat } from './formats.js';

/** Options shared by the read commands. */
export interface ReadOptions {
  repo?: string;
  rev?: string;
}

/** `estate get <kind>/<name>`: one asset, as written (YAML, comments kept) or as JSON. */
export async function getCommand(ctx: CliContext, id: string, options: ReadOptions & { output?: string }): Promise<number> {
  const output = parseFormat(options.output, ['yaml', 'json'] as const, 'yaml');
  normalizeId(id);
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

/** `estate list`: assets filtered by kind and label selectors, as a table, JSON or YAML. */
export async function listCommand(ctx: CliContext, options: ReadOptions & { kind?: string; selector?: string[]; output?: string }): Promise<number> {
  const output = parseFormat(options.output, ['table', 'json', 'yaml'] as const, 'table');
  const selectors: LabelSelector[] = (options.selector ?? []).map(parseLabelSelector);
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
  const assets = [...estate.assets.values()].filter(
    (a) => (kindName === undefined || a.kind === kindName) && selectors.every((s) => matchesSelector(s, a.metadata.labels)),
  );
  if (output === 'json') {
    ctx.io.stdout(JSON.stringify(assets.map((a) => ({ id: a.id, path: a.path, document: a.document.value })), null, 2) + '\n');
  } else if (output === 'yaml') {
    ctx.io.stdout(assets.map((a) => stringify(a.document.value)).join('---\n'));
  } else {
    const rows = assets.map((a) => [a.id, a.metadata.owner ?? '', formatLabels(a.metadata.labels), a.path]);
    ctx.io.stdout(formatTable(['ID', 'OWNER', 'LABELS', 'FILE'], rows));
    if (ctx.io.stdoutIsTTY) ctx.io.stdout(createStyles(ctx.io).dim(`${assets.length} asset${assets.length === 1 ? '' : 's'}\n`));
  }
  return 0;
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
  const loaded = await ctx.loadEstate(options.repo, options.rev);
  warnIfInvalid(ctx.io, loaded);
  const asset = requireAsset(loaded, id);
  const reached = traverseRelations(loaded.estate.relations, asset.id, { direction, depth, ...(options.type?.length ? { types: options.type } : {}) });
  if (format === 'json') {
    ctx.io.stdout(JSON.stringify({ id: asset.id, direction, depth, related: reached }, null, 2) + '\n');
    return 0;
  }
  const s = createStyles(ctx.io);
  ctx.io.stdout(`${s.bold(asset.id)} ${s.dim(`(${direction}, depth ${depth}): ${reached.length} related`)}\n`);
  for (const item of reached) {
    const path = item.path.map((step) => `${s.dim(`-[${step.relation}]->`)} ${step.to}`).join(' ');
    ctx.io.stdout(`  ${item.id.padEnd(32)} ${s.dim(`${item.depth}`)}  ${asset.id} ${path}\n`);
  }
  return 0;
}
