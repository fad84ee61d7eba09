import type { Diagnostic, EstateClient } from '@estate/client';
import { compareDiagnostics } from '@estate/core';
import { configDiagnosticsOf, loadPoliciesOf, type CliContext } from '../context.js';
import { createStyles } from '../io.js';
import { resolveServerCommit, serverAt, serverClient, type SourceOptions } from '../remote.js';
import { parseFormat } from './formats.js';

/** Options of `estate validate`. */
export interface ValidateOptions extends SourceOptions {
  format?: string;
}

/**
 * `estate validate`: reports every problem of the estate in one run. Exit 0 when valid, 1 when not.
 */
export async function validateCommand(ctx: CliContext, options: ValidateOptions): Promise<number> {
  const format = parseFormat(options.format, ['text', 'json', 'github'] as const, 'text');
  const client = serverClient(ctx.io, options);
  if (client) return validateOnServer(ctx, client, format, serverAt(options));
  const started = performance.now();
  const loaded = await ctx.loadEstate(options.repo, options.rev, 'validating');
  const { estate, source } = loaded;
  const policies = await loadPoliciesOf(ctx, options.repo, loaded);
  const config = await configDiagnosticsOf(ctx, options.repo, loaded);
  const durationMs = Math.round(performance.now() - started);
  const errors = [...estate.diagnostics, ...policies.diagnostics, ...config].sort(compareDiagnostics);
  const stats = { ...estate.stats, errors: errors.length, source, durationMs };
  return printValidation(ctx, format, errors, summary(errors.length === 0, errors, stats), stats);
}

/**
 * `estate validate --server`: the diagnostics the server recorded for a commit of main (its head
 * by default), printed as a local run prints them. The server validated while indexing; nothing
 * is checked again here.
 */
async function validateOnServer(ctx: CliContext, client: EstateClient, format: 'text' | 'json' | 'github', at: string | undefined): Promise<number> {
  const { sha } = await resolveServerCommit(client, at);
  const { item } = await client.getCommit(sha);
  const errors = item.diagnostics;
  const where = `commit ${item.sha.slice(0, 12)} on ${client.url}`;
  const files = new Set(errors.map((e) => e.path)).size;
  const line = errors.length === 0 ? `valid: ${where}` : `invalid: ${plural(errors.length, 'error')} in ${plural(files, 'file')} (${where})`;
  return printValidation(ctx, format, errors, line, { errors: errors.length, source: item.sha, seq: item.seq, server: client.url });
}

/** Prints the diagnostics and the summary line; exit 0 when there are none, 1 when there are. */
function printValidation(ctx: CliContext, format: 'text' | 'json' | 'github', errors: Diagnostic[], line: string, stats: Record<string, unknown>): number {
  const valid = errors.length === 0;
  if (format === 'json') {
    const list = errors.map((d) => ({ code: d.code, path: d.path, line: d.line, col: d.col, message: d.message, asset: d.asset ?? null }));
    ctx.io.stdout(JSON.stringify({ valid, errors: list, stats }, null, 2) + '\n');
  } else if (format === 'github') {
    for (const d of errors) ctx.io.stdout(githubAnnotation(d) + '\n');
    ctx.io.stdout(line + '\n');
  } else {
    const s = createStyles(ctx.io);
    for (const d of errors) ctx.io.stdout(`${s.bold(`${d.path}:${d.line}:${d.col}:`)} ${s.red(`error[${d.code}]`)}: ${d.message}\n`);
    ctx.io.stdout((valid ? s.green('✓ ') : s.red('✗ ')) + line + '\n');
  }
  return valid ? 0 : 1;
}

function summary(valid: boolean, errors: Diagnostic[], stats: { assets: number; files: number; durationMs: number; byKind: Record<string, number> }): string {
  const kinds = Object.keys(stats.byKind).length;
  const checked = `${plural(stats.assets, 'asset')} of ${plural(kinds, 'kind')} in ${plural(stats.files, 'file')}, ${stats.durationMs} ms`;
  if (valid) return `valid: ${checked}`;
  const files = new Set(errors.map((e) => e.path)).size;
  return `invalid: ${plural(errors.length, 'error')} in ${plural(files, 'file')} (${checked})`;
}

/** `1 file`, `2 files`. */
function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** A GitHub Actions workflow command (`::error file=…::message`), escaped per the runner's rules. */
function githubAnnotation(d: Diagnostic): string {
  const data = (s: string): string => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const property = (s: string): string => data(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
  return `::error file=${property(d.path)},line=${d.line},col=${d.col},title=${property(d.code)}::${data(d.message)}`;
}
