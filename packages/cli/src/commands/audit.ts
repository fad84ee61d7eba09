import { createReadStream, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { AuditAnchor, AuditVerification } from '@estate/client';
import { EstateError } from '@estate/core';
import type { CliContext } from '../context.js';
import { createStyles } from '../io.js';
import { loadServer } from '../serverPackage.js';
import { remoteClient, type RemoteOptions } from './change.js';
import { parseFormat } from './formats.js';

/** Entries per page when the whole trail is fetched: the API's maximum. */
const PAGE_SIZE = 1000;

/** Options of `estate audit verify`. */
export interface AuditVerifyOptions extends RemoteOptions {
  file?: string;
  anchor?: string;
  format?: string;
}

/**
 * `estate audit verify [--file EXPORT.jsonl] [--anchor SEQ:HASH]`: checks the hash chain of the
 * audit trail here, not on the server's word. Without `--file`, every entry is fetched from the
 * server page by page; with it, a JSON Lines export is read line by line. Each entry's hash, seq
 * and link to the previous one are checked by the server package's AuditChainVerifier, in
 * constant memory. `--anchor` (a head recorded from an earlier run) also catches a cut or
 * rewritten tail. Exit 1 on any problem.
 */
export async function auditVerifyCommand(ctx: CliContext, options: AuditVerifyOptions): Promise<number> {
  const format = parseFormat(options.format, ['text', 'json'] as const, 'text');
  const anchor = options.anchor === undefined ? undefined : parseAnchor(options.anchor);
  const server = await loadServer();
  type Verifier = InstanceType<typeof server.AuditChainVerifier>;
  let verifier: Verifier | undefined;
  let firstSeq: number | undefined;
  /** Made at the first entry: an export from `--since` starts after entry 1 and is checked as a slice. */
  const verifierFor = (seq: number): Verifier => {
    if (verifier) return verifier;
    firstSeq = seq;
    verifier = new server.AuditChainVerifier({ start: seq === 1 ? 'genesis' : 'any', ...(anchor ? { anchor } : {}) });
    return verifier;
  };
  let source: string;
  if (options.file !== undefined) {
    const path = resolve(ctx.io.cwd, options.file);
    if (!statSync(path, { throwIfNoEntry: false })?.isFile()) throw new EstateError('E_USAGE', `no file '${options.file}': --file takes a JSON Lines export (estate audit export)`, { file: options.file });
    source = options.file;
    const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
    let number = 0;
    for await (const line of lines) {
      number++;
      if (line.trim() === '') continue;
      const entry = server.parseAuditEntry(line, number);
      verifierFor(entry.seq).add(entry);
    }
  } else {
    const client = remoteClient(ctx, options, 'audit verify', false);
    source = client.url;
    for await (const item of client.iterateAudit({ limit: PAGE_SIZE })) {
      const { seq, at, actor, event, subject, details, prevHash, hash } = item;
      verifierFor(seq).add({ seq, at, actor, event, subject, details, prevHash, hash });
    }
  }
  // No entry at all: an empty trail verifies, unless an anchor says entries were there.
  const result: AuditVerification = (verifier ?? verifierFor(1)).result();
  const slice = firstSeq !== undefined && firstSeq > 1 ? firstSeq : undefined;
  if (format === 'json') {
    ctx.io.stdout(JSON.stringify({ ...result, source, ...(slice !== undefined ? { startsAt: slice } : {}) }, null, 2) + '\n');
    return result.ok ? 0 : 1;
  }
  const s = createStyles(ctx.io);
  if (slice !== undefined) ctx.io.stderr(`warning: ${source} starts at entry ${slice}, not 1: it is checked as a slice, entries before it are not covered\n`);
  for (const problem of result.problems) ctx.io.stdout(`entry ${problem.seq}: ${s.red(`error[${problem.code}]`)}: ${problem.message}\n`);
  if (result.moreProblems) ctx.io.stdout(`… and ${result.moreProblems} more problems\n`);
  const head = result.head ? `head ${result.head.seq}:${result.head.hash}` : 'no entries';
  if (result.ok) {
    ctx.io.stdout(`${s.green('OK')}: ${result.entries} audit entr${result.entries === 1 ? 'y' : 'ies'} of ${source} verified${anchor ? `, anchor ${anchor.seq} held` : ''}; ${head}\n`);
    return 0;
  }
  const count = result.problems.length + (result.moreProblems ?? 0);
  ctx.io.stdout(`${s.red('✗ NOT OK')}: ${count} problem${count === 1 ? '' : 's'} in ${result.entries} audit entr${result.entries === 1 ? 'y' : 'ies'} of ${source}; ${head}\n`);
  return 1;
}

/** `SEQ:HASH`, as verify prints a head (E_USAGE otherwise). */
function parseAnchor(value: string): AuditAnchor {
  const match = /^([1-9][0-9]{0,15}):([0-9a-f]{64})$/.exec(value.trim());
  if (!match) throw new EstateError('E_USAGE', `--anchor '${value}' is not SEQ:HASH, e.g. 42:<64 hex digits> as estate audit verify prints the head`, { anchor: value });
  return { seq: Number(match[1]), hash: match[2]! };
}

/**
 * `estate audit export [--since ISO] [--until ISO] [--format jsonl|csv] [-o FILE]`: the audit
 * trail, or the part between two times, as JSON Lines (exact: `audit verify --file` re-checks it)
 * or CSV (RFC 4180, for spreadsheets), on stdout or into a file.
 */
export async function auditExportCommand(ctx: CliContext, options: RemoteOptions & { since?: string; until?: string; format?: string; output?: string }): Promise<number> {
  const format = parseFormat(options.format, ['jsonl', 'csv'] as const, 'jsonl');
  const client = remoteClient(ctx, options, 'audit export', false);
  const text = await client.exportAudit({ format, ...(options.since !== undefined ? { since: options.since } : {}), ...(options.until !== undefined ? { until: options.until } : {}) });
  if (options.output === undefined || options.output === '-') {
    ctx.io.stdout(text);
    return 0;
  }
  const path = resolve(ctx.io.cwd, options.output);
  writeFileSync(path, text);
  const entries = format === 'jsonl' ? text.split('\n').filter((line) => line !== '').length : undefined;
  ctx.io.stderr(`wrote ${options.output}${entries !== undefined ? ` (${entries} entr${entries === 1 ? 'y' : 'ies'})` : ` (${Buffer.byteLength(text)} bytes)`}\n`);
  return 0;
}
