import type { Diagnostic, DiagnosticCode } from '@estate/core';
import type { AssetVersion, CommitRecord, Role, StoredEdge, TokenRecord } from './Store.js';

/** A row of `commits`. */
export interface CommitRow {
  seq: number;
  sha: string;
  parents: string;
  author_name: string;
  author_email: string;
  author_date: string;
  committer_name: string;
  committer_email: string;
  committer_date: string;
  committed_at_ms: number;
  effective_ms: number;
  message: string;
  errors: number;
  indexed_at: string;
}

/** A row of `asset_versions` joined with the shas of the commits that open and close it. */
export interface VersionRow {
  vid: number;
  asset_id: string;
  kind: string;
  name: string;
  path: string;
  blob_id: string;
  document: string;
  valid_from: number;
  valid_to: number | null;
  from_sha: string;
  to_sha: string | null;
}

/** A row of `asset_refs` (the columns edges need). */
export interface RefRow {
  from_id: string;
  to_id: string;
  type: string;
  inverse: string;
  field: string;
}

/** A row of `diagnostics`. */
export interface DiagnosticRow {
  path: string;
  code: string;
  line: number;
  col: number;
  message: string;
  asset: string | null;
}

/** A row of `tokens`. */
export interface TokenRow {
  id: string;
  hash: string;
  name: string;
  role: string;
  scopes: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

/**
 * Columns of a {@link VersionRow}, for `SELECT ${versionColumns()} FROM asset_versions AS av …`.
 * `id` is the expression for asset_id, the second column: a query ordered by an index of another
 * table names that table's column, so SQLite sees the order it already has.
 */
export function versionColumns(id = 'av.asset_id'): string {
  return `av.vid, ${id} AS asset_id, av.kind, av.name, av.path, av.blob_id, av.document, av.valid_from, av.valid_to,
  (SELECT sha FROM commits WHERE seq = av.valid_from) AS from_sha,
  (SELECT sha FROM commits WHERE seq = av.valid_to) AS to_sha`;
}

/** The commit record of a row. */
export function commitFromRow(row: CommitRow): CommitRecord {
  return {
    seq: row.seq,
    sha: row.sha,
    parents: row.parents === '' ? [] : row.parents.split(' '),
    author: { name: row.author_name, email: row.author_email, date: row.author_date },
    committer: { name: row.committer_name, email: row.committer_email, date: row.committer_date },
    message: row.message,
    errors: row.errors,
    indexedAt: row.indexed_at,
  };
}

/** The asset version of a row (`to` only when it has been closed). */
export function versionFromRow(row: VersionRow): AssetVersion {
  const version: AssetVersion = {
    id: row.asset_id,
    kind: row.kind,
    name: row.name,
    path: row.path,
    blobId: row.blob_id,
    document: JSON.parse(row.document) as Record<string, unknown>,
    from: { seq: row.valid_from, sha: row.from_sha },
  };
  if (row.valid_to !== null && row.to_sha !== null) version.to = { seq: row.valid_to, sha: row.to_sha };
  return version;
}

/** The edge a reference row makes, seen from its referencing asset (`out`) or its target (`in`). */
export function edgeFromRow(row: RefRow, direction: 'in' | 'out'): StoredEdge {
  const names: [string, string] = [row.type, row.inverse];
  return direction === 'out'
    ? { from: row.from_id, to: row.to_id, relation: row.type, names, field: row.field }
    : { from: row.to_id, to: row.from_id, relation: row.inverse, names, field: row.field };
}

/** The diagnostic of a row (`asset` only when known). */
export function diagnosticFromRow(row: DiagnosticRow): Diagnostic {
  const diagnostic: Diagnostic = { code: row.code as DiagnosticCode, path: row.path, line: row.line, col: row.col, message: row.message };
  if (row.asset !== null) diagnostic.asset = row.asset;
  return diagnostic;
}

/** The token record of a row (never its hash). */
export function tokenFromRow(row: TokenRow): TokenRecord {
  const token: TokenRecord = {
    id: row.id,
    name: row.name,
    role: row.role as Role,
    scopes: JSON.parse(row.scopes) as Record<string, string[]>,
    createdAt: row.created_at,
  };
  if (row.expires_at !== null) token.expiresAt = row.expires_at;
  if (row.revoked_at !== null) token.revokedAt = row.revoked_at;
  if (row.last_used_at !== null) token.lastUsedAt = row.last_used_at;
  return token;
}
