import type { Diagnostic, DiagnosticCode } from '@estate/core';
import type { AssetVersion, AssetVersionJson, CommitRecord, Role, StoredEdge, TokenRecord } from './Store.js';

/**
 * A row of `commits` as an array in the order of `COMMIT_COLUMNS` (raw mode, as {@link VersionRow}:
 * a page of history or commits reads a few dozen, and objects of 14 keys cost twice the query).
 */
export type CommitRow = [
  seq: number,
  sha: string,
  parents: string,
  authorName: string,
  authorEmail: string,
  authorDate: string,
  committerName: string,
  committerEmail: string,
  committerDate: string,
  committedAtMs: number,
  effectiveMs: number,
  message: string,
  errors: number,
  indexedAt: string,
];

/**
 * A row of `asset_versions` joined with the shas of the commits that open and close it, as the
 * array {@link versionColumns} selects: version statements run in raw mode, because better-sqlite3
 * builds a row object key by key, which costs more than the query itself on a page of 1,000
 * versions (measured: 1.5 ms of 6).
 */
export type VersionRow = [
  vid: number,
  assetId: string,
  kind: string,
  name: string,
  path: string,
  blobId: string,
  document: string,
  validFrom: number,
  validTo: number | null,
  fromSha: string,
  toSha: string | null,
];

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
  groups: string;
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
  const [seq, sha, parents, authorName, authorEmail, authorDate, committerName, committerEmail, committerDate, , , message, errors, indexedAt] = row;
  return {
    seq,
    sha,
    parents: parents === '' ? [] : parents.split(' '),
    author: { name: authorName, email: authorEmail, date: authorDate },
    committer: { name: committerName, email: committerEmail, date: committerDate },
    message,
    errors,
    indexedAt,
  };
}

/** The asset version of a row (`to` only when it has been closed). */
export function versionFromRow(row: VersionRow): AssetVersion {
  const [, id, kind, name, path, blobId, documentJson, validFrom, validTo, fromSha, toSha] = row;
  const document = JSON.parse(documentJson) as Record<string, unknown>;
  const version: AssetVersion = { id, kind, name, path, blobId, document, from: { seq: validFrom, sha: fromSha } };
  if (validTo !== null && toSha !== null) version.to = { seq: validTo, sha: toSha };
  return version;
}

/** The asset version of a row with its document left as the stored JSON text. */
export function versionJsonFromRow(row: VersionRow): AssetVersionJson {
  const [, id, kind, name, path, blobId, documentJson, validFrom, validTo, fromSha, toSha] = row;
  const version: AssetVersionJson = { id, kind, name, path, blobId, documentJson, from: { seq: validFrom, sha: fromSha } };
  if (validTo !== null && toSha !== null) version.to = { seq: validTo, sha: toSha };
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
    groups: JSON.parse(row.groups) as string[],
    createdAt: row.created_at,
  };
  if (row.expires_at !== null) token.expiresAt = row.expires_at;
  if (row.revoked_at !== null) token.revokedAt = row.revoked_at;
  if (row.last_used_at !== null) token.lastUsedAt = row.last_used_at;
  return token;
}
