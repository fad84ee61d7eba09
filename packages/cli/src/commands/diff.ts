import { describeValue, diffEstates, parsePointer, displayPath, type EstateDiff, type FieldChange } from '@estate/core';
import { warnIfInvalid, type CliContext } from '../context.js';
import { createStyles, type Styles } from '../io.js';
import { serverClient } from '../remote.js';
import { parseFormat } from './formats.js';

/**
 * `estate diff <from> [<to>]`: what changed between two revisions (or a revision and the work
 * tree), by asset and field. Formatting, key order and moving files are not content changes.
 * From a server, `from` and `to` are commits of main (shas or times) and `to` defaults to the head.
 */
export async function diffCommand(
  ctx: CliContext,
  from: string,
  to: string | undefined,
  options: { repo?: string; server?: string; format?: string },
): Promise<number> {
  const format = parseFormat(options.format, ['text', 'json'] as const, 'text');
  const client = serverClient(ctx.io, options);
  if (client) {
    const answer = await client.diff(from, to);
    // Rebuilt field by field: the JSON output has the local key order, whatever the server's.
    const assets = answer.assets.map(({ id, kind, status, path, fromPath, fields }) => ({
      id,
      kind,
      status,
      path,
      ...(fromPath !== undefined ? { fromPath } : {}),
      fields: fields.map(({ op, pointer, ...values }) => ({ op, pointer, ...('old' in values ? { old: values.old } : {}), ...('new' in values ? { new: values.new } : {}) })),
    }));
    const { added, removed, changed, moved } = answer.summary;
    printDiff(ctx, format, { from: answer.from.sha, to: answer.to.sha, summary: { added, removed, changed, moved }, assets });
    return 0;
  }
  const before = await ctx.loadEstate(options.repo, from, `reading ${from}`);
  const after = await ctx.loadEstate(options.repo, to, `reading ${to ?? 'work tree'}`);
  for (const side of [before, after]) warnIfInvalid(ctx.io, side);
  printDiff(ctx, format, { from: before.source, to: after.source, ...diffEstates(before.estate.assets, after.estate.assets) });
  return 0;
}

/** Prints a diff as `estate diff` does, whichever side computed it. */
function printDiff(ctx: CliContext, format: 'text' | 'json', diff: EstateDiff & { from: string; to: string }): void {
  if (format === 'json') {
    ctx.io.stdout(JSON.stringify(diff, null, 2) + '\n');
    return;
  }
  const s = createStyles(ctx.io);
  for (const asset of diff.assets) {
    const mark = { added: s.green('+'), removed: s.red('-'), changed: s.yellow('~'), moved: s.cyan('>') }[asset.status];
    const where = asset.fromPath ? `${asset.fromPath} → ${asset.path}` : asset.path;
    ctx.io.stdout(`${mark} ${s.bold(asset.id)}  ${s.dim(where)}\n`);
    for (const field of asset.fields) ctx.io.stdout(`    ${formatFieldChange(field, s)}\n`);
  }
  const { added, removed, changed, moved } = diff.summary;
  const total = added + removed + changed + moved;
  ctx.io.stdout(total ? s.dim(`${changed} changed, ${added} added, ${removed} removed, ${moved} moved\n`) : 'no changes\n');
}

/** `spec.cpus: 4 → 8`, `+ metadata.labels.tier: "1"`, `- spec.packages.vim: "9.0"`. */
export function formatFieldChange(change: FieldChange, s: Styles): string {
  const field = displayPath(parsePointer(change.pointer));
  if (change.op === 'add') return s.green(`+ ${field}: ${describeValue(change.new)}`);
  if (change.op === 'remove') return s.red(`- ${field}: ${describeValue(change.old)}`);
  return `${s.yellow('~')} ${field}: ${s.red(describeValue(change.old))} → ${s.green(describeValue(change.new))}`;
}
