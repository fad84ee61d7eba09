import { EstateError } from '@estate/core';
import type { CliContext } from '../context.js';
import { createStyles } from '../io.js';
import { remoteClient, type RemoteOptions } from './change.js';
import { parseFormat } from './formats.js';
import { formatTable } from './read.js';

/** `estate reports dead-letters`: host reports that kept failing, oldest first, as a table or JSON (admin). */
export async function reportsDeadLettersCommand(ctx: CliContext, options: RemoteOptions & { format?: string }): Promise<number> {
  const format = parseFormat(options.format, ['table', 'json'] as const, 'table');
  const client = remoteClient(ctx, options, 'reports dead-letters');
  const { items } = await client.listDeadLetters();
  if (format === 'json') {
    ctx.io.stdout(JSON.stringify(items, null, 2) + '\n');
    return 0;
  }
  if (items.length === 0) {
    ctx.io.stdout('no dead letters\n');
    return 0;
  }
  const rows = items.map((d) => [String(d.id), d.host, String(d.seq), d.reportId, String(d.attempts), d.failedAt, oneLine(d.reason)]);
  ctx.io.stdout(formatTable(['ID', 'HOST', 'SEQ', 'REPORT', 'ATTEMPTS', 'FAILED', 'REASON'], rows));
  if (ctx.io.stdoutIsTTY) ctx.io.stdout(createStyles(ctx.io).dim(`${items.length} dead letter${items.length === 1 ? '' : 's'}; estate reports replay <id> queues one again\n`));
  return 0;
}

/** `estate reports replay <id>`: queues a dead letter's report again, with no attempts counted (admin). */
export async function reportsReplayCommand(ctx: CliContext, id: string, options: RemoteOptions & { format?: string }): Promise<number> {
  const format = parseFormat(options.format, ['text', 'json'] as const, 'text');
  const deadLetterId = parseDeadLetterId(id);
  const client = remoteClient(ctx, options, 'reports replay');
  const answer = await client.replayDeadLetter(deadLetterId);
  if (format === 'json') ctx.io.stdout(JSON.stringify(answer, null, 2) + '\n');
  else ctx.io.stdout(`queued report ${answer.reportId} again (dead letter ${deadLetterId})\n`);
  return 0;
}

/** A dead letter id: a positive integer (E_USAGE otherwise). */
function parseDeadLetterId(value: string): number {
  const match = /^([1-9][0-9]{0,11})$/.exec(value.trim());
  if (!match) throw new EstateError('E_USAGE', `'${value}' is not a dead letter id; expected a number from estate reports dead-letters`, { id: value });
  return Number(match[1]);
}

/** A failure message on one table line. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
