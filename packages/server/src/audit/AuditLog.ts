import type Database from 'better-sqlite3';
import { InputError } from '@estate/core';
import { AuditChainVerifier, type AuditChainVerifierOptions } from './AuditChainVerifier.js';
import { AUDIT_GENESIS, canonicalJson, hashAuditEntry } from './hashAuditEntry.js';
import { normalizeAuditDetails } from './normalizeAuditDetails.js';
import { AUDIT_EVENT_TYPES, type AuditAnchor, type AuditEntry, type AuditEvent, type AuditQuery, type AuditVerification } from './types.js';

/**
 * The audit tables. `seq` is given by {@link AuditLog.append} (head + 1), not by SQLite, so the
 * chain and the numbering are one. The triggers make the table append-only for this code and
 * anything else going through SQLite; someone who can write the file can drop them, which is
 * what the hash chain is for.
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS audit_entries (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,                 -- ISO 8601 UTC with ms; never before the previous entry's
    actor TEXT NOT NULL,
    event TEXT NOT NULL,
    subject TEXT,
    details TEXT NOT NULL,            -- canonical JSON (docs/audit.md)
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS audit_entries_at ON audit_entries (at);
  CREATE INDEX IF NOT EXISTS audit_entries_actor ON audit_entries (actor, seq);
  CREATE INDEX IF NOT EXISTS audit_entries_event ON audit_entries (event, seq);
  CREATE INDEX IF NOT EXISTS audit_entries_subject ON audit_entries (subject, seq);
  CREATE TRIGGER IF NOT EXISTS audit_entries_no_update BEFORE UPDATE ON audit_entries
    BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
  CREATE TRIGGER IF NOT EXISTS audit_entries_no_delete BEFORE DELETE ON audit_entries
    BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
`;

/** Entries read per query while iterating. */
const PAGE_SIZE = 500;
/** Longest actor and subject; both are names, not prose. */
const MAX_NAME_LENGTH = 512;
/** Control characters and lone surrogates: nothing a name needs, and the latter would not survive UTF-8. */
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const BAD_NAME = /[\u0000-\u001f\u007f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const EVENT_TYPES: ReadonlySet<string> = new Set(AUDIT_EVENT_TYPES);

interface EntryRow {
  seq: number;
  at: string;
  actor: string;
  event: string;
  subject: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

type Bindings = Record<string, string | number>;

/**
 * The append-only, hash-chained audit trail (docs/audit.md), in the tables `audit_*` of the
 * SQLite file it is given. The read model's reindex never touches them.
 *
 * The connection should use WAL and a busy timeout (the server's does): appends from other
 * processes on the same file (the CLI's `estate token create`) then wait for each other instead
 * of failing, and never fork the chain.
 */
export class AuditLog {
  private readonly db: Database.Database;
  private readonly sql;
  private readonly appendTransaction: Database.Transaction<(event: CheckedEvent) => AuditEntry>;
  private readonly listQueries = new Map<string, Database.Statement<[Bindings], EntryRow>>();

  constructor(db: Database.Database) {
    this.db = db;
    db.exec(SCHEMA);
    this.sql = {
      head: db.prepare<[], EntryRow>('SELECT * FROM audit_entries ORDER BY seq DESC LIMIT 1'),
      insert: db.prepare<[EntryRow]>(
        'INSERT INTO audit_entries (seq, at, actor, event, subject, details, prev_hash, hash) VALUES (@seq, @at, @actor, @event, @subject, @details, @prev_hash, @hash)',
      ),
    };
    this.appendTransaction = db.transaction((event: CheckedEvent) => this.write(event));
  }

  /**
   * Appends an entry and returns it. Synchronous, so a caller can record an action inside the
   * `db.transaction` that performs it (both commit or neither); on its own it runs in a
   * `BEGIN IMMEDIATE` transaction, which takes the write lock before reading the head, so two
   * appenders (in this process or another) can never chain to the same entry. A caller's own
   * transaction on this connection should be immediate too, for the same reason.
   *
   * `at` is the event's time (default now), raised to the previous entry's time if it is earlier
   * (a clock stepping back), so entries are in time order as well as seq order.
   *
   * Throws InputError `E_AUDIT_EVENT` for an unknown event type, an empty or malformed actor or
   * subject, or details that are not JSON; `E_AUDIT_SECRET` for details that hold or name a
   * secret (see normalizeAuditDetails).
   */
  append(event: AuditEvent): AuditEntry {
    // Checked before the transaction: a refused event takes no lock.
    const checked = checkEvent(event);
    return this.db.inTransaction ? this.appendTransaction(checked) : this.appendTransaction.immediate(checked);
  }

  /** Entries matching the query, seq ascending, at most `limit`. */
  list(query: AuditQuery): AuditEntry[] {
    const { limit } = query;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new InputError('E_BAD_PARAM', `limit must be a positive integer, not ${limit}`, { parameter: 'limit', value: limit });
    const conditions: string[] = [];
    const bindings: Bindings = { limit };
    if (query.afterSeq !== undefined) {
      conditions.push('seq > @afterSeq');
      bindings.afterSeq = query.afterSeq;
    }
    if (query.since !== undefined) {
      conditions.push('at >= @since');
      bindings.since = isoTime(query.since, 'since');
    }
    if (query.until !== undefined) {
      conditions.push('at < @until');
      bindings.until = isoTime(query.until, 'until');
    }
    for (const column of ['actor', 'event', 'subject'] as const) {
      const value = query[column];
      if (value === undefined) continue;
      conditions.push(`${column} = @${column}`);
      bindings[column] = value;
    }
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    const text = `SELECT * FROM audit_entries ${where} ORDER BY seq LIMIT @limit`;
    let statement = this.listQueries.get(text);
    if (!statement) {
      statement = this.db.prepare<[Bindings], EntryRow>(text);
      this.listQueries.set(text, statement);
    }
    return statement.all(bindings).map(entryFromRow);
  }

  /**
   * Every entry matching the query, seq ascending, read a page at a time (for export and
   * verification of a trail of any size). Entries appended after the iteration started are left
   * out, so an export is the trail as of one moment.
   */
  *iterate(query: Omit<AuditQuery, 'limit'> = {}): Iterable<AuditEntry> {
    const last = this.head()?.seq ?? 0;
    let afterSeq = query.afterSeq ?? 0;
    for (;;) {
      const page = this.list({ ...query, afterSeq, limit: PAGE_SIZE });
      for (const entry of page) {
        if (entry.seq > last) return;
        yield entry;
      }
      if (page.length < PAGE_SIZE) return;
      afterSeq = page[page.length - 1]!.seq;
    }
  }

  /**
   * Checks the whole trail from entry 1 (see {@link AuditChainVerifier}); with an anchor (a head
   * an auditor recorded), also that the trail still reaches that entry unchanged.
   */
  verify(options: Pick<AuditChainVerifierOptions, 'anchor'> = {}): AuditVerification {
    const verifier = new AuditChainVerifier(options);
    for (const entry of this.iterate()) verifier.add(entry);
    return verifier.result();
  }

  /** The newest entry's seq and hash; undefined while the trail is empty. */
  head(): AuditAnchor | undefined {
    const row = this.sql.head.get();
    return row && { seq: row.seq, hash: row.hash };
  }

  private write(event: CheckedEvent): AuditEntry {
    const previous = this.sql.head.get();
    const at = previous !== undefined && previous.at > event.at ? previous.at : event.at;
    const unsealed: Omit<AuditEntry, 'hash'> = {
      seq: (previous?.seq ?? 0) + 1,
      at,
      actor: event.actor,
      event: event.event,
      subject: event.subject,
      details: event.details,
      prevHash: previous?.hash ?? AUDIT_GENESIS,
    };
    const entry: AuditEntry = { ...unsealed, hash: hashAuditEntry(unsealed) };
    this.sql.insert.run(toRow(entry));
    return entry;
  }
}

/** An event whose every field has been checked, `at` as stored. */
interface CheckedEvent {
  actor: string;
  event: string;
  subject: string | undefined;
  details: Record<string, unknown>;
  at: string;
}

function checkEvent(event: AuditEvent): CheckedEvent {
  if (!EVENT_TYPES.has(event.event)) {
    throw new InputError('E_AUDIT_EVENT', `unknown audit event type '${String(event.event)}'; known types: ${AUDIT_EVENT_TYPES.join(', ')}`, {
      event: event.event,
    });
  }
  checkName('actor', event.actor);
  if (event.subject !== undefined) checkName('subject', event.subject);
  return {
    actor: event.actor,
    event: event.event,
    subject: event.subject,
    details: normalizeAuditDetails(event.details),
    at: isoTime(event.at ?? new Date(), 'at'),
  };
}

function checkName(field: 'actor' | 'subject', value: unknown): void {
  if (typeof value !== 'string' || value === '' || value.length > MAX_NAME_LENGTH || BAD_NAME.test(value)) {
    throw new InputError(
      'E_AUDIT_EVENT',
      `audit ${field} '${String(value).slice(0, 64)}' is invalid: it must be 1 to ${MAX_NAME_LENGTH} characters without control characters`,
      { field },
    );
  }
}

/** A date as stored: ISO 8601 UTC with milliseconds, the same width for years 0 to 9999, so text order is time order. */
function isoTime(date: Date, field: string): string {
  const time = date instanceof Date ? date.getTime() : Number.NaN;
  if (!Number.isFinite(time) || date.getUTCFullYear() < 0 || date.getUTCFullYear() > 9999) {
    throw new InputError(field === 'at' ? 'E_AUDIT_EVENT' : 'E_BAD_PARAM', `audit ${field} must be a valid date in the years 0 to 9999`, { field });
  }
  return date.toISOString();
}

function toRow(entry: AuditEntry): EntryRow {
  return {
    seq: entry.seq,
    at: entry.at,
    actor: entry.actor,
    event: entry.event,
    subject: entry.subject ?? null,
    details: canonicalJson(entry.details),
    prev_hash: entry.prevHash,
    hash: entry.hash,
  };
}

/**
 * A stored row as an entry. Details that no longer parse (edited by hand) are kept as the raw text
 * under `$unparsable`, so the entry still lists and exports and its hash shows the tampering.
 */
function entryFromRow(row: EntryRow): AuditEntry {
  let details: Record<string, unknown>;
  try {
    details = JSON.parse(row.details) as Record<string, unknown>;
  } catch {
    details = { $unparsable: row.details };
  }
  return {
    seq: row.seq,
    at: row.at,
    actor: row.actor,
    event: row.event,
    subject: row.subject ?? undefined,
    details,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
