import { statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { EstateError } from '@estate/core';
import type { Store } from '@estate/server';
import type { CliContext } from '../context.js';
import { loadServer, type ServerPackage, type TokenInfo } from '../serverPackage.js';
import { parseFormat } from './formats.js';
import { formatTable } from './read.js';
import { DEFAULT_DATA_DIR } from './serve.js';

/** The roles a token can have: the human ones lowest first, then `agent` (a host's agent; docs/server.md). */
export const TOKEN_ROLES = ['viewer', 'editor', 'approver', 'admin', 'agent'] as const;

/**
 * `estate token create`: issues a token and prints it alone on stdout (so `$(estate token create
 * …)` captures it), once: the data dir keeps only its hash. What was created goes to stderr.
 */
export async function tokenCreateCommand(ctx: CliContext, options: { data?: string; role: string; name?: string; group?: string[]; app?: string[]; secrets?: string[]; host?: string[]; expires?: string }): Promise<number> {
  if (!(TOKEN_ROLES as readonly string[]).includes(options.role)) {
    throw new EstateError('E_USAGE', `unknown role '${options.role}'; use one of: ${TOKEN_ROLES.join(', ')}`, { role: options.role });
  }
  const role = options.role as TokenInfo['role'];
  if (role === 'agent' && (options.host ?? []).length === 0) {
    throw new EstateError('E_USAGE', 'an agent token needs the host it reports for: --host NAME (repeatable)', { role });
  }
  const dataDir = existingDataDir(ctx, options.data);
  const server = await loadServer();
  const now = new Date();
  const expiresAt = options.expires === undefined ? undefined : new Date(now.getTime() + server.parseDuration(options.expires));
  const name = options.name ?? (role === 'agent' ? `agent-${options.host!.join('-')}` : `${role}-${now.toISOString().slice(0, 19)}Z`);
  const { token, record } = await withStore(dataDir, server, async (store) => {
    const scopes = { ...(options.app ? { apps: options.app } : {}), ...(options.secrets ? { secrets: options.secrets } : {}), ...(options.host ? { hosts: options.host } : {}) };
    const issued = await server.issueToken(store, { name, role, groups: options.group ?? [], scopes, ...(expiresAt ? { expiresAt } : {}) });
    audit(server, dataDir, 'token.created', issued.record);
    return issued;
  });
  ctx.io.stdout(`${token}\n`);
  const expiry = record.expiresAt ? `expires ${formatTime(record.expiresAt)}` : 'no expiry';
  const groups = record.groups.length > 0 ? `, groups ${record.groups.join(', ')}` : '';
  const scoped = Object.entries(record.scopes)
    .map(([scope, entries]) => `, ${scope} ${entries.join(', ')}`)
    .join('');
  ctx.io.stderr(`created ${record.id} '${record.name}' (${record.role}${groups}${scoped}, ${expiry}). The token is shown only this once: store it now.\n`);
  return 0;
}

/** `estate token list`: every token's metadata, oldest first, revoked and expired ones included; never a secret. */
export async function tokenListCommand(ctx: CliContext, options: { data?: string; format?: string }): Promise<number> {
  const format = parseFormat(options.format, ['table', 'json'] as const, 'table');
  const dataDir = existingDataDir(ctx, options.data);
  const server = await loadServer();
  const tokens = await withStore(dataDir, server, (store) => server.listTokens(store));
  if (format === 'json') {
    // Field by field: whatever else a record may carry one day stays out of the output.
    const list = tokens.map((t) => ({
      id: t.id,
      name: t.name,
      role: t.role,
      groups: t.groups,
      scopes: t.scopes,
      createdAt: t.createdAt,
      expiresAt: t.expiresAt ?? null,
      lastUsedAt: t.lastUsedAt ?? null,
      revokedAt: t.revokedAt ?? null,
    }));
    ctx.io.stdout(JSON.stringify(list, null, 2) + '\n');
    return 0;
  }
  const now = Date.now();
  const rows = tokens.map((t) => [
    t.id,
    t.name,
    t.role,
    t.groups.length > 0 ? t.groups.join(',') : '-',
    formatTime(t.createdAt),
    t.expiresAt ? formatTime(t.expiresAt) + (Date.parse(t.expiresAt) <= now ? ' (expired)' : '') : '-',
    t.lastUsedAt ? formatTime(t.lastUsedAt) : '-',
    t.revokedAt ? formatTime(t.revokedAt) : '-',
  ]);
  ctx.io.stdout(formatTable(['ID', 'NAME', 'ROLE', 'GROUPS', 'CREATED', 'EXPIRES', 'LAST USED', 'REVOKED'], rows));
  return 0;
}

/** `estate token revoke <id|name>`: the token stops working at once. */
export async function tokenRevokeCommand(ctx: CliContext, idOrName: string, options: { data?: string }): Promise<number> {
  const dataDir = existingDataDir(ctx, options.data);
  const server = await loadServer();
  const record = await withStore(dataDir, server, async (store) => {
    const revoked = await server.revokeToken(store, idOrName);
    audit(server, dataDir, 'token.revoked', revoked);
    return revoked;
  });
  ctx.io.stdout(`revoked ${record.id} '${record.name}' (${record.role}) at ${formatTime(record.revokedAt ?? new Date().toISOString())}\n`);
  return 0;
}

/**
 * `--data`, which must exist: a mistyped path must not quietly create a new, empty store holding a
 * token no server checks.
 */
function existingDataDir(ctx: CliContext, data: string | undefined): string {
  const dataDir = resolve(ctx.io.cwd, data ?? DEFAULT_DATA_DIR);
  if (!statSync(dataDir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new EstateError('E_USAGE', `no data dir at '${dataDir}': name the server's with --data DIR (estate serve creates it)`, { dataDir });
  }
  return dataDir;
}

/** Opens the data dir's store, runs `fn`, and closes the store whatever happens. */
async function withStore<T>(dataDir: string, server: { openDataStore(dir: string, options: { create: false }): Promise<Store> }, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await server.openDataStore(dataDir, { create: false });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/**
 * Records a token event in the data dir's audit trail. The actor is the local account that ran the
 * command (`local:<login>`): token commands work on the data dir directly, with no token of their own.
 */
function audit(server: ServerPackage, dataDir: string, event: 'token.created' | 'token.revoked', record: TokenInfo): void {
  const db = server.openWorkflowDb(dataDir);
  try {
    new server.AuditLog(db).append({
      actor: `local:${userInfo().username}`,
      event,
      subject: `token/${record.id}`,
      details: { tokenId: record.id, name: record.name, role: record.role, groups: record.groups, ...(record.expiresAt ? { expiresAt: record.expiresAt } : {}) },
    });
  } finally {
    db.close();
  }
}

/** `2024-05-01 12:00Z`: minutes are enough to recognise a token, and the table stays narrow. */
function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(0, 10)} ${date.toISOString().slice(11, 16)}Z`;
}

