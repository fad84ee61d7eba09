import type Database from 'better-sqlite3';
import { EstateError } from '@estate/core';

/**
 * The SQLite schema as numbered migrations: `MIGRATIONS[i]` takes the file from version `i` to
 * `i + 1`. Never edit a released migration; append a new one.
 *
 * Validity intervals: a row of asset_versions, asset_labels, asset_refs or diagnostics holds at
 * seq S when `valid_from <= S AND (valid_to IS NULL OR valid_to > S)`. Rows still valid at the head
 * have `valid_to IS NULL`, and the partial indexes `WHERE valid_to IS NULL` hold exactly the head's
 * state, so questions about the head never touch history.
 */
export const MIGRATIONS: readonly string[] = [
  /* 1 */ `
  CREATE TABLE commits (
    seq INTEGER PRIMARY KEY,
    sha TEXT NOT NULL UNIQUE,
    parents TEXT NOT NULL,            -- space-separated shas
    author_name TEXT NOT NULL,
    author_email TEXT NOT NULL,
    author_date TEXT NOT NULL,
    committer_name TEXT NOT NULL,
    committer_email TEXT NOT NULL,
    committer_date TEXT NOT NULL,
    committed_at_ms INTEGER NOT NULL,
    -- Running max of committed_at_ms in seq order: non-decreasing, so "main as of time T" is one
    -- index seek even when committer dates go backwards.
    effective_ms INTEGER NOT NULL,
    message TEXT NOT NULL,
    errors INTEGER NOT NULL,
    indexed_at TEXT NOT NULL
  );
  CREATE INDEX commits_effective ON commits (effective_ms);

  CREATE TABLE asset_versions (
    vid INTEGER PRIMARY KEY,
    asset_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    blob_id TEXT NOT NULL,
    document TEXT NOT NULL,           -- JSON
    owner TEXT,
    search_text TEXT NOT NULL,
    valid_from INTEGER NOT NULL REFERENCES commits (seq),
    valid_to INTEGER
  );
  CREATE UNIQUE INDEX av_asset_from ON asset_versions (asset_id, valid_from);
  CREATE UNIQUE INDEX av_current ON asset_versions (asset_id) WHERE valid_to IS NULL;
  CREATE INDEX av_current_kind ON asset_versions (kind, asset_id) WHERE valid_to IS NULL;
  CREATE INDEX av_current_owner ON asset_versions (owner, asset_id) WHERE valid_to IS NULL;
  -- The same walks in the past; valid_to is in them so that the validity check reads no row.
  CREATE INDEX av_kind ON asset_versions (kind, asset_id, valid_from, valid_to);
  CREATE INDEX av_owner ON asset_versions (owner, asset_id, valid_from, valid_to);
  CREATE INDEX av_from ON asset_versions (valid_from);
  CREATE INDEX av_to ON asset_versions (valid_to);
  -- Trigram index of every version's search text (https://sqlite.org/fts5.html#the_trigram_tokenizer),
  -- only to find the few versions a rare term can match; detail=none keeps it small, and the
  -- candidates are checked with instr() anyway.
  CREATE VIRTUAL TABLE asset_search USING fts5 (
    search_text, content = 'asset_versions', content_rowid = 'vid', tokenize = 'trigram', detail = 'none'
  );

  -- Keyed by (vid, key): closing a version and checking one label of a version are seeks.
  CREATE TABLE asset_labels (
    vid INTEGER NOT NULL REFERENCES asset_versions (vid),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    valid_from INTEGER NOT NULL,
    valid_to INTEGER,
    PRIMARY KEY (vid, key)
  ) WITHOUT ROWID;
  -- valid_to makes both covering: without it, SQLite reads each row of this WITHOUT ROWID table to
  -- re-check the partial index's condition (measured: 12x slower to count 20k entries).
  CREATE INDEX labels_current ON asset_labels (key, value, asset_id, valid_to) WHERE valid_to IS NULL;
  CREATE INDEX labels_all ON asset_labels (key, value, asset_id, valid_from, valid_to);

  -- Out-edges are the refs of one version (by vid); in-edges go through to_id.
  CREATE TABLE asset_refs (
    vid INTEGER NOT NULL REFERENCES asset_versions (vid),
    ordinal INTEGER NOT NULL,
    from_id TEXT NOT NULL,
    to_id TEXT NOT NULL,
    type TEXT NOT NULL,
    inverse TEXT NOT NULL,
    field TEXT NOT NULL,
    valid_from INTEGER NOT NULL,
    valid_to INTEGER,
    PRIMARY KEY (vid, ordinal)
  ) WITHOUT ROWID;
  CREATE INDEX refs_current_to ON asset_refs (to_id) WHERE valid_to IS NULL;
  CREATE INDEX refs_to ON asset_refs (to_id, valid_from, valid_to);

  CREATE TABLE diagnostics (
    path TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    code TEXT NOT NULL,
    line INTEGER NOT NULL,
    col INTEGER NOT NULL,
    message TEXT NOT NULL,
    asset TEXT,
    valid_from INTEGER NOT NULL REFERENCES commits (seq),
    valid_to INTEGER,
    PRIMARY KEY (path, valid_from, ordinal)
  ) WITHOUT ROWID;
  CREATE INDEX diagnostics_current ON diagnostics (path) WHERE valid_to IS NULL;
  CREATE INDEX diagnostics_from ON diagnostics (valid_from);

  CREATE TABLE models (
    valid_from INTEGER PRIMARY KEY REFERENCES commits (seq),
    json TEXT NOT NULL
  );

  CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    scopes TEXT NOT NULL,             -- JSON
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT,
    last_used_at TEXT
  );
  `,
  /* 2 */ `
  -- The groups a token's user belongs to (approval policies count approvals by group).
  ALTER TABLE tokens ADD COLUMN groups TEXT NOT NULL DEFAULT '[]';   -- JSON array
  `,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Creates the schema or brings it up to {@link SCHEMA_VERSION}, one transaction per migration.
 * Throws EstateError `E_STORE_VERSION` for a file written by a newer version.
 */
export function migrateSchema(db: Database.Database, file: string): void {
  db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  const row = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").get();
  const current = row === undefined ? 0 : Number(row.value);
  if (!Number.isInteger(current) || current < 0) {
    throw new EstateError('E_STORE_VERSION', `store '${file}' has an unreadable schema version '${row?.value}'`, { file, version: row?.value });
  }
  if (current > SCHEMA_VERSION) {
    throw new EstateError(
      'E_STORE_VERSION',
      `store '${file}' has schema version ${current}, newer than ${SCHEMA_VERSION} that this version of estate knows; upgrade estate or rebuild the index into a new file`,
      { file, version: current, supported: SCHEMA_VERSION },
    );
  }
  const setVersion = db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  for (let version = current; version < SCHEMA_VERSION; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      setVersion.run(String(version + 1));
    })();
  }
}
