import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Change, ChangeChecks, ChangeListItem, ChangeOperation, ChangeQuery, DryRunAnswer, EstateClient } from '@estate/client';
import { EstateError, formatDiagnostic, isObject, parseYamlFile, type Diagnostic } from '@estate/core';
import { normalizeId, type CliContext } from '../context.js';
import { createStyles, type Styles } from '../io.js';
import { serverClient } from '../remote.js';
import { formatFieldChange } from './diff.js';
import { parseCount, parseFormat } from './formats.js';
import { formatTable } from './read.js';

/** `--server` of the change and audit commands; `ESTATE_SERVER` is its default. */
export interface RemoteOptions {
  server?: string;
}

/** Change requests per page when a list is gathered. */
const PAGE_SIZE = 100;

/**
 * The client of the server a remote-only command (change, edit, audit) talks to: `--server` or
 * `ESTATE_SERVER`, token from `ESTATE_TOKEN`. Throws E_USAGE (exit 2) when no server is named,
 * and, for commands that write, when no token is set (every write needs one).
 */
export function remoteClient(ctx: CliContext, options: RemoteOptions, command: string, needsToken = true): EstateClient {
  const client = serverClient(ctx.io, { server: options.server });
  if (!client) {
    throw new EstateError('E_USAGE', `estate ${command} talks to an Estate server: give --server URL or set ESTATE_SERVER`, {});
  }
  if (needsToken && !ctx.io.env['ESTATE_TOKEN']?.trim()) {
    throw new EstateError('E_USAGE', `estate ${command} needs a token: set ESTATE_TOKEN (from estate token create)`, {});
  }
  return client;
}

/** Parses a change request id argument, `12` or `#12` (E_USAGE otherwise). */
export function parseChangeId(value: string): number {
  const match = /^#?([1-9][0-9]{0,11})$/.exec(value.trim());
  if (!match) throw new EstateError('E_USAGE', `'${value}' is not a change request id; expected a number, e.g. 12`, { id: value });
  return Number(match[1]);
}

/** Options of `estate change create`. */
export interface ChangeCreateOptions extends RemoteOptions {
  message: string;
  description?: string;
  apply?: string[];
  ops?: string;
  delete?: string[];
  dryRun?: boolean;
  format?: string;
}

/**
 * `estate change create -m TITLE [--apply FILE…] [--ops FILE] [--delete ID…]`: opens a change
 * request from operations: every YAML document of an `--apply` file is put as a whole asset,
 * `--ops` names a file of operations as the API takes them, `--delete` removes assets. Prints the
 * id, branch, checks, required approvals and blockers. `--dry-run` creates nothing and exits 1
 * when the checks fail.
 */
export async function changeCreateCommand(ctx: CliContext, options: ChangeCreateOptions): Promise<number> {
  const format = parseFormat(options.format, ['text', 'json'] as const, 'text');
  const operations: ChangeOperation[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const file of options.apply ?? []) operations.push(...readAssetFile(ctx, file, diagnostics));
  if (options.ops !== undefined) operations.push(...readOperationsFile(ctx, options.ops, diagnostics));
  for (const id of options.delete ?? []) operations.push({ op: 'delete', id: normalizeId(id) });
  if (diagnostics.length > 0) {
    for (const d of diagnostics) ctx.io.stderr(formatDiagnostic(d) + '\n');
    return 1;
  }
  if (operations.length === 0) {
    throw new EstateError('E_USAGE', 'a change request needs at least one operation: give --apply FILE, --ops FILE or --delete ID', {});
  }
  const client = remoteClient(ctx, options, 'change create');
  const input = { title: options.message, ...(options.description !== undefined ? { description: options.description } : {}), operations };
  if (options.dryRun) {
    const answer = await client.createChange({ ...input, dryRun: true });
    if (format === 'json') ctx.io.stdout(JSON.stringify(answer, null, 2) + '\n');
    else printDryRun(ctx, answer);
    return answer.checks?.status === 'failed' ? 1 : 0;
  }
  printChangeSummary(ctx, format, await client.createChange(input), 'opened');
  return 0;
}

/** One `put` operation per YAML document of `file`; YAML problems go to `diagnostics`. */
function readAssetFile(ctx: CliContext, file: string, diagnostics: Diagnostic[]): ChangeOperation[] {
  const parsed = parseYamlFile(file, readFileSync(resolve(ctx.io.cwd, file)));
  diagnostics.push(...parsed.diagnostics);
  if (parsed.documents.length === 0 && parsed.diagnostics.length === 0) {
    throw new EstateError('E_USAGE', `${file} holds no YAML document: --apply takes files of asset documents`, { file });
  }
  return parsed.documents.map((document) => {
    if (!isObject(document.value)) {
      throw new EstateError('E_USAGE', `${file}:${document.line}: document ${document.index + 1} is not an asset (a mapping with apiVersion, kind, metadata and spec)`, { file });
    }
    return { op: 'put', asset: document.value };
  });
}

/** The operations of an `--ops` file: `{operations: [...]}` or a list, as YAML or JSON. */
function readOperationsFile(ctx: CliContext, file: string, diagnostics: Diagnostic[]): ChangeOperation[] {
  const parsed = parseYamlFile(file, readFileSync(resolve(ctx.io.cwd, file)));
  diagnostics.push(...parsed.diagnostics);
  if (parsed.diagnostics.length > 0) return [];
  const value = parsed.documents.length === 1 ? parsed.documents[0]!.value : undefined;
  const list = Array.isArray(value) ? value : isObject(value) && Array.isArray(value['operations']) ? value['operations'] : undefined;
  if (list === undefined) {
    throw new EstateError('E_USAGE', `${file} must hold one document: a list of operations, or a mapping with a list 'operations'`, { file });
  }
  return list.map((item: unknown, i: number) => {
    if (!isObject(item) || typeof item['op'] !== 'string') {
      throw new EstateError('E_USAGE', `${file}: operation ${i + 1} is not an operation: expected a mapping with 'op' (put, patch, delete, putFile, deleteFile)`, { file, index: i });
    }
    return item as unknown as ChangeOperation;
  });
}

/** `estate change list`: change requests, newest first, as a table or JSON. */
export async function changeListCommand(
  ctx: CliContext,
  options: RemoteOptions & { state?: string; author?: string; mine?: boolean; waiting?: boolean; emergency?: boolean; limit?: string; format?: string },
): Promise<number> {
  const format = parseFormat(options.format, ['table', 'json'] as const, 'table');
  // Open and approved ones by default, as a to-do list; emergencies are merged, so all of them.
  const state = parseFormat(options.state, ['open', 'approved', 'merged', 'closed', 'active', 'all'] as const, options.emergency ? 'all' : 'active');
  const limit = options.limit === undefined ? undefined : parseCount(options.limit, '--limit', 1);
  const client = remoteClient(ctx, options, 'change list', false);
  const query: Omit<ChangeQuery, 'cursor'> = {
    ...(state !== 'all' ? { state } : {}),
    ...(options.author !== undefined ? { author: options.author } : {}),
    ...(options.mine ? { mine: true } : {}),
    ...(options.waiting ? { waiting: true } : {}),
    ...(options.emergency ? { emergency: true } : {}),
    limit: Math.min(limit ?? PAGE_SIZE, PAGE_SIZE),
  };
  const items: ChangeListItem[] = [];
  for await (const item of client.iterateChanges(query)) {
    items.push(item);
    if (limit !== undefined && items.length >= limit) break;
  }
  if (format === 'json') {
    ctx.io.stdout(JSON.stringify(items, null, 2) + '\n');
    return 0;
  }
  const rows = items.map((c) => [
    String(c.id),
    c.state + (c.emergency ? ' (emergency)' : ''),
    c.author,
    c.checks?.status ?? 'pending',
    approvalCount(c),
    c.updatedAt.slice(0, 16).replace('T', ' ') + 'Z',
    c.title,
  ]);
  ctx.io.stdout(rows.length ? formatTable(['ID', 'STATE', 'AUTHOR', 'CHECKS', 'APPROVALS', 'UPDATED', 'TITLE'], rows) : 'no change requests\n');
  return 0;
}

/** `1/2`: approvals given of those the policies require. */
function approvalCount(change: Pick<Change, 'requiredApprovals'>): string {
  const needed = change.requiredApprovals.reduce((sum, r) => sum + r.count, 0);
  const given = change.requiredApprovals.reduce((sum, r) => sum + Math.min(r.given.length, r.count), 0);
  return `${given}/${needed}`;
}

/** `estate change show <id>`: everything about one change request. */
export async function changeShowCommand(ctx: CliContext, id: string, options: RemoteOptions & { format?: string }): Promise<number> {
  const format = parseFormat(options.format, ['text', 'json'] as const, 'text');
  const change = await remoteClient(ctx, options, 'change show', false).getChange(parseChangeId(id));
  if (format === 'json') ctx.io.stdout(JSON.stringify(change, null, 2) + '\n');
  else ctx.io.stdout(formatChange(change, createStyles(ctx.io), true));
  return 0;
}

/** Options of the commands that act on one change request. */
export type ChangeActionOptions = RemoteOptions & { message?: string; format?: string };

/** `estate change approve <id> [-m COMMENT]`: approves the current revision. */
export async function changeApproveCommand(ctx: CliContext, id: string, options: ChangeActionOptions): Promise<number> {
  const change = await remoteClient(ctx, options, 'change approve').approveChange(parseChangeId(id), options.message);
  return printAction(ctx, options, change, `approved change request ${change.id} (revision ${change.revision}); it is ${change.state}`);
}

/** `estate change reject <id> [-m COMMENT]`: rejects the current revision (blocks the merge). */
export async function changeRejectCommand(ctx: CliContext, id: string, options: ChangeActionOptions): Promise<number> {
  const change = await remoteClient(ctx, options, 'change reject').rejectChange(parseChangeId(id), options.message);
  return printAction(ctx, options, change, `rejected change request ${change.id} (revision ${change.revision})`);
}

/** `estate change merge <id> [--emergency REASON]`: merges onto main; refusals exit 1. */
export async function changeMergeCommand(ctx: CliContext, id: string, options: RemoteOptions & { emergency?: string; format?: string }): Promise<number> {
  const change = await remoteClient(ctx, options, 'change merge').mergeChange(parseChangeId(id), options.emergency !== undefined ? { emergency: options.emergency } : {});
  const sha = change.merged?.sha.slice(0, 12) ?? '?';
  const emergency = change.emergency ? `, an emergency (${change.emergency.reason}); its post-merge review is due ${change.review?.dueAt ?? 'within 24 h'}` : '';
  return printAction(ctx, options, change, `merged change request ${change.id} onto main as ${sha}${emergency}`);
}

/** `estate change close <id> [-m REASON]`: closes without merging. */
export async function changeCloseCommand(ctx: CliContext, id: string, options: ChangeActionOptions): Promise<number> {
  const change = await remoteClient(ctx, options, 'change close').closeChange(parseChangeId(id), options.message);
  return printAction(ctx, options, change, `closed change request ${change.id}`);
}

/** `estate change revert <id>`: opens a change request that reverts a merged one. */
export async function changeRevertCommand(ctx: CliContext, id: string, options: RemoteOptions & { format?: string }): Promise<number> {
  const format = parseFormat(options.format, ['text', 'json'] as const, 'text');
  printChangeSummary(ctx, format, await remoteClient(ctx, options, 'change revert').revertChange(parseChangeId(id)), 'opened');
  return 0;
}

/** `estate change review <id> [-m COMMENT]`: acknowledges an emergency change's post-merge review. */
export async function changeReviewCommand(ctx: CliContext, id: string, options: ChangeActionOptions): Promise<number> {
  const change = await remoteClient(ctx, options, 'change review').acknowledgeReview(parseChangeId(id), options.message);
  return printAction(ctx, options, change, `acknowledged the post-merge review of emergency change ${change.id}`);
}

/** Prints what an action did (or the change as JSON), then what still blocks the merge. */
function printAction(ctx: CliContext, options: { format?: string }, change: Change, done: string): number {
  const format = parseFormat(options.format, ['text', 'json'] as const, 'text');
  if (format === 'json') {
    ctx.io.stdout(JSON.stringify(change, null, 2) + '\n');
    return 0;
  }
  const s = createStyles(ctx.io);
  ctx.io.stdout(`${done}\n`);
  if (change.state === 'open' || change.state === 'approved') ctx.io.stdout(formatBlockers(change, s));
  return 0;
}

/**
 * Prints a change request just opened (`change create`, `edit`, `revert`): id, branch, checks,
 * required approvals and blockers; or the whole answer as JSON.
 */
export function printChangeSummary(ctx: CliContext, format: 'text' | 'json', change: Change, verb: string): void {
  if (format === 'json') {
    ctx.io.stdout(JSON.stringify(change, null, 2) + '\n');
    return;
  }
  const s = createStyles(ctx.io);
  ctx.io.stdout(`${verb} change request ${s.bold(String(change.id))}: ${change.title}\n`);
  ctx.io.stdout(formatChange(change, s, false));
}

function printDryRun(ctx: CliContext, answer: DryRunAnswer): void {
  const s = createStyles(ctx.io);
  ctx.io.stdout(`dry run: nothing was created\n`);
  if (answer.checks) ctx.io.stdout(formatChecks(answer.checks, s, true));
  else ctx.io.stdout('checks: not run\n');
}

/** A change request as text; `full` adds the description, diagnostics and the diff by field. */
export function formatChange(change: Change, s: Styles, full: boolean): string {
  const lines: string[] = [];
  const state = { open: s.yellow, approved: s.green, merged: s.cyan, closed: s.dim }[change.state](change.state);
  if (full) lines.push(`${s.bold(`#${change.id}`)} ${change.title} [${state}${change.emergency ? `, ${s.red('emergency')}` : ''}]`);
  const field = (name: string, value: string): void => void lines.push(`${full ? '' : '  '}${s.dim(name.padEnd(10))}${value}`);
  if (!full) field('state', state);
  field('author', change.author + (change.contributors.length ? ` (with ${change.contributors.join(', ')})` : ''));
  field('branch', `${change.branch} (revision ${change.revision}, head ${change.head.slice(0, 12)}, base ${change.base.slice(0, 12)})`);
  if (full) {
    field('source', change.source + (change.reverts !== undefined ? `, reverts #${change.reverts}` : ''));
    field('created', change.createdAt);
    field('updated', change.updatedAt);
  }
  if (change.merged) field('merged', `${change.merged.sha.slice(0, 12)} by ${change.merged.by} at ${change.merged.at}`);
  if (change.closed) field('closed', `by ${change.closed.by} at ${change.closed.at}${change.closed.reason ? `: ${change.closed.reason}` : ''}`);
  if (change.emergency) field('emergency', `${change.emergency.reason} (by ${change.emergency.by})`);
  if (change.review) {
    const review = change.review;
    field('review', review.acknowledged ? `acknowledged by ${review.acknowledged.by} at ${review.acknowledged.at}${review.acknowledged.comment ? `: ${review.acknowledged.comment}` : ''}` : `${review.overdue ? s.red('overdue') : 'pending'}, due ${review.dueAt}`);
  }
  if (full && change.description) lines.push('', ...change.description.split('\n').map((line) => `    ${line}`));
  let text = lines.join('\n') + '\n';
  text += change.checks ? formatChecks(change.checks, s, full) : `${full ? '' : '  '}${s.dim('checks'.padEnd(10))}pending\n`;
  text += formatApprovals(change, s, full);
  if (change.state === 'open' || change.state === 'approved') text += formatBlockers(change, s, full ? '' : '  ');
  return text;
}

/** The checks: status, each result, and with `full` the new problems and the diff against main. */
function formatChecks(checks: ChangeChecks, s: Styles, full: boolean): string {
  const indent = full ? '' : '  ';
  const status = checks.status === 'passed' ? s.green('passed') : s.red('failed');
  let text = `${indent}${s.dim('checks'.padEnd(10))}${status} (risk ${checks.policy.risk}, against main ${checks.main.slice(0, 12)})\n`;
  for (const r of checks.results) {
    const mark = r.status === 'passed' ? s.green('✓') : r.status === 'failed' ? s.red('✗') : s.yellow('!');
    text += `${indent}  ${mark} ${r.name.padEnd(10)} ${r.message}\n`;
  }
  if (checks.conflicts.length > 0) {
    text += `${indent}${s.dim('conflicts')}\n`;
    for (const c of checks.conflicts) text += `${indent}  ${c.path}: ${c.reason}\n`;
  }
  if (checks.diagnostics.length > 0) {
    text += `${indent}${s.dim('problems')}\n`;
    for (const d of checks.diagnostics) text += `${indent}  ${formatDiagnostic(d as Diagnostic)}\n`;
  }
  if (full) {
    const diff = checks.diff.main;
    const { added, removed, changed, moved } = diff.summary;
    text += `${s.dim('changes')}   ${changed} changed, ${added} added, ${removed} removed, ${moved} moved (merged onto main now)\n`;
    for (const asset of diff.assets) {
      const mark = { added: s.green('+'), removed: s.red('-'), changed: s.yellow('~'), moved: s.cyan('>') }[asset.status];
      text += `  ${mark} ${s.bold(asset.id)}  ${s.dim(asset.fromPath ? `${asset.fromPath} → ${asset.path}` : asset.path)}\n`;
      for (const f of asset.fields) text += `      ${formatFieldChange(f, s)}\n`;
    }
    const other = checks.paths.filter((path) => !diff.assets.some((a) => a.path === path || a.fromPath === path));
    if (other.length > 0) text += `  ${s.dim('other files:')} ${other.join(', ')}\n`;
  }
  return text;
}

/** Each approval requirement: given/needed, by whom, and who approved. */
function formatApprovals(change: Change, s: Styles, full: boolean): string {
  const indent = full ? '' : '  ';
  if (change.requiredApprovals.length === 0) return '';
  let text = `${indent}${s.dim('approvals')} ${approvalCount(change)}\n`;
  for (const r of change.requiredApprovals) {
    const who = `${r.approvers.role}${r.approvers.groups.length ? ` in ${r.approvers.groups.join(' or ')}` : ''}`;
    const mark = r.missing > 0 ? s.yellow('…') : s.green('✓');
    const given = r.given.length ? `given by ${r.given.join(', ')}` : 'none given';
    text += `${indent}  ${mark} ${r.id} (${r.risk}): ${Math.min(r.given.length, r.count)}/${r.count} by ${who}; ${given}${r.missing > 0 ? `; ${r.missing} missing` : ''}\n`;
    if (full && r.reason) text += `${indent}      ${s.dim(r.reason)}\n`;
  }
  for (const rejection of change.rejections) text += `${indent}  ${s.red('✗')} rejected by ${rejection.user}${rejection.comment ? `: ${rejection.comment}` : ''}\n`;
  if (full && change.staleApprovals.length > 0) {
    text += `${indent}  ${s.dim(`stale (an older revision): ${change.staleApprovals.map((a) => `${a.user} (revision ${a.revision})`).join(', ')}`)}\n`;
  }
  return text;
}

/** What blocks the merge, or that nothing does; `indent` is that of the other fields. */
function formatBlockers(change: Pick<Change, 'blockers'>, s: Styles, indent = '  '): string {
  if (change.blockers.length === 0) return `${indent}${s.green('ready to merge')}\n`;
  return `${indent}${s.dim('blockers')}\n` + change.blockers.map((b) => `${indent}  ${s.red(b.code)}: ${b.message}\n`).join('');
}
