import type Database from 'better-sqlite3';
import type { Role } from '../store/Store.js';
import type { ApprovalRecord, ChangeQuery, ChangeRecord, ReviewRecord } from './types.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY,
    branch TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    author TEXT NOT NULL,
    emergency INTEGER NOT NULL DEFAULT 0,
    merged_sha TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    record TEXT NOT NULL             -- the whole ChangeRecord as JSON
  );
  CREATE INDEX IF NOT EXISTS changes_state ON changes (state, id);
  CREATE INDEX IF NOT EXISTS changes_author ON changes (author, id);
  CREATE TABLE IF NOT EXISTS change_approvals (
    change_id INTEGER NOT NULL REFERENCES changes (id),
    user TEXT NOT NULL,
    revision INTEGER NOT NULL,
    verdict TEXT NOT NULL,
    role TEXT NOT NULL,
    groups TEXT NOT NULL,            -- JSON array
    comment TEXT,
    at TEXT NOT NULL,
    PRIMARY KEY (change_id, user, revision)
  );
  -- Which change request put each commit on main (merges, and every commit of an emergency push).
  CREATE TABLE IF NOT EXISTS change_commits (
    sha TEXT PRIMARY KEY,
    change_id INTEGER NOT NULL REFERENCES changes (id)
  );
  CREATE TABLE IF NOT EXISTS change_reviews (
    change_id INTEGER PRIMARY KEY REFERENCES changes (id),
    due_at TEXT NOT NULL,
    acknowledged_by TEXT,
    acknowledged_at TEXT,
    comment TEXT
  );
  CREATE TABLE IF NOT EXISTS change_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

interface ApprovalRow {
  change_id: number;
  user: string;
  revision: number;
  verdict: string;
  role: string;
  groups: string;
  comment: string | null;
  at: string;
}

interface ReviewRow {
  change_id: number;
  due_at: string;
  acknowledged_by: string | null;
  acknowledged_at: string | null;
  comment: string | null;
}

/**
 * Change requests, their approvals, post-merge reviews and the commit → change mapping, in the
 * data dir's SQLite file (tables `change_*`, which a reindex never touches). Methods are
 * synchronous so a caller can put several of them, an audit entry and webhook deliveries into one
 * transaction ({@link SqliteChangeStore.transaction}).
 */
export class SqliteChangeStore {
  readonly #db: Database.Database;
  readonly #sql;

  constructor(db: Database.Database) {
    this.#db = db;
    db.exec(SCHEMA);
    this.#sql = {
      insert: db.prepare<[{ branch: string; state: string; author: string; emergency: number; created_at: string; record: string }]>(
        `INSERT INTO changes (branch, state, author, emergency, created_at, updated_at, record)
         VALUES (@branch, @state, @author, @emergency, @created_at, @created_at, @record)`,
      ),
      update: db.prepare<[{ id: number; branch: string; state: string; author: string; emergency: number; merged_sha: string | null; updated_at: string; record: string }]>(
        `UPDATE changes SET branch = @branch, state = @state, author = @author, emergency = @emergency,
         merged_sha = @merged_sha, updated_at = @updated_at, record = @record WHERE id = @id`,
      ),
      byId: db.prepare<[number], { record: string }>('SELECT record FROM changes WHERE id = ?'),
      byBranch: db.prepare<[string], { record: string }>('SELECT record FROM changes WHERE branch = ?'),
      maxId: db.prepare<[], { id: number | null }>('SELECT max(id) AS id FROM changes'),
      withMergeIntent: db.prepare<[], { record: string }>("SELECT record FROM changes WHERE state IN ('open', 'approved') AND json_extract(record, '$.mergingSha') IS NOT NULL"),
      putApproval: db.prepare<[ApprovalRow]>(
        `INSERT INTO change_approvals (change_id, user, revision, verdict, role, groups, comment, at)
         VALUES (@change_id, @user, @revision, @verdict, @role, @groups, @comment, @at)
         ON CONFLICT (change_id, user, revision) DO UPDATE SET verdict = excluded.verdict, role = excluded.role,
         groups = excluded.groups, comment = excluded.comment, at = excluded.at`,
      ),
      approvals: db.prepare<[number], ApprovalRow>('SELECT * FROM change_approvals WHERE change_id = ? ORDER BY at, user'),
      linkCommit: db.prepare<[string, number]>('INSERT OR REPLACE INTO change_commits (sha, change_id) VALUES (?, ?)'),
      changeOfCommit: db.prepare<[string], { change_id: number }>('SELECT change_id FROM change_commits WHERE sha = ?'),
      putReview: db.prepare<[number, string]>('INSERT OR IGNORE INTO change_reviews (change_id, due_at) VALUES (?, ?)'),
      ackReview: db.prepare<[string, string, string | null, number]>(
        'UPDATE change_reviews SET acknowledged_by = ?, acknowledged_at = ?, comment = ? WHERE change_id = ? AND acknowledged_by IS NULL',
      ),
      review: db.prepare<[number], ReviewRow>('SELECT * FROM change_reviews WHERE change_id = ?'),
      reviews: db.prepare<[number], ReviewRow>('SELECT * FROM change_reviews WHERE (? = 0 OR acknowledged_by IS NULL) ORDER BY due_at'),
      getSetting: db.prepare<[string], { value: string }>('SELECT value FROM change_settings WHERE key = ?'),
      putSetting: db.prepare<[string, string]>('INSERT OR IGNORE INTO change_settings (key, value) VALUES (?, ?)'),
    };
  }

  /** Runs `fn` in one IMMEDIATE transaction of this connection (all or nothing). */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn).immediate();
  }

  /** Stores a new change request: `build` gets the id it will have (ids are 1, 2, 3 …). */
  create(build: (id: number) => ChangeRecord): ChangeRecord {
    return this.transaction(() => {
      const id = (this.#sql.maxId.get()?.id ?? 0) + 1;
      const record = build(id);
      this.#sql.insert.run({
        branch: record.branch,
        state: record.state,
        author: record.author,
        emergency: record.emergency ? 1 : 0,
        created_at: record.createdAt,
        record: JSON.stringify(record),
      });
      return record;
    });
  }

  /** Replaces a change request's record. */
  save(record: ChangeRecord): void {
    this.#sql.update.run({
      id: record.id,
      branch: record.branch,
      state: record.state,
      author: record.author,
      emergency: record.emergency ? 1 : 0,
      merged_sha: record.merged?.sha ?? null,
      updated_at: record.updatedAt,
      record: JSON.stringify(record),
    });
  }

  get(id: number): ChangeRecord | undefined {
    const row = this.#sql.byId.get(id);
    return row && (JSON.parse(row.record) as ChangeRecord);
  }

  byBranch(branch: string): ChangeRecord | undefined {
    const row = this.#sql.byBranch.get(branch);
    return row && (JSON.parse(row.record) as ChangeRecord);
  }

  /** Change requests newest first. */
  list(query: ChangeQuery): ChangeRecord[] {
    const where: string[] = [];
    const params: Record<string, string | number> = { limit: query.limit };
    if (query.state === 'active') where.push("state IN ('open', 'approved')");
    else if (query.state !== undefined) {
      where.push('state = @state');
      params.state = query.state;
    }
    if (query.author !== undefined) {
      where.push('author = @author');
      params.author = query.author;
    }
    if (query.emergency !== undefined) where.push(`emergency = ${query.emergency ? 1 : 0}`);
    if (query.beforeId !== undefined) {
      where.push('id < @before');
      params.before = query.beforeId;
    }
    const sql = `SELECT record FROM changes ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit`;
    return this.#db
      .prepare<[Record<string, string | number>], { record: string }>(sql)
      .all(params)
      .map((row) => JSON.parse(row.record) as ChangeRecord);
  }

  /** Open and approved change requests whose merge was interrupted (a merge commit made, main maybe moved). */
  withMergeIntent(): ChangeRecord[] {
    return this.#sql.withMergeIntent.all().map((row) => JSON.parse(row.record) as ChangeRecord);
  }

  /** Records a user's verdict on a revision, replacing their earlier verdict on it. */
  putApproval(approval: ApprovalRecord): void {
    this.#sql.putApproval.run({
      change_id: approval.changeId,
      user: approval.user,
      revision: approval.revision,
      verdict: approval.verdict,
      role: approval.role,
      groups: JSON.stringify(approval.groups),
      comment: approval.comment ?? null,
      at: approval.at,
    });
  }

  /** Every verdict given to a change request, all revisions, oldest first. */
  approvals(changeId: number): ApprovalRecord[] {
    return this.#sql.approvals.all(changeId).map((row) => ({
      changeId: row.change_id,
      user: row.user,
      revision: row.revision,
      verdict: row.verdict as ApprovalRecord['verdict'],
      role: row.role as Role,
      groups: JSON.parse(row.groups) as string[],
      ...(row.comment !== null ? { comment: row.comment } : {}),
      at: row.at,
    }));
  }

  /** Records that `sha` reached main through change request `changeId`. */
  linkCommit(sha: string, changeId: number): void {
    this.#sql.linkCommit.run(sha, changeId);
  }

  /** The change request that put `sha` on main, if any. */
  changeOfCommit(sha: string): number | undefined {
    return this.#sql.changeOfCommit.get(sha)?.change_id;
  }

  /** Opens the post-merge review of an emergency change. */
  openReview(changeId: number, dueAt: Date): void {
    this.#sql.putReview.run(changeId, dueAt.toISOString());
  }

  /** Acknowledges a review; false when it was already acknowledged. */
  acknowledgeReview(changeId: number, by: string, at: Date, comment: string | undefined): boolean {
    return this.#sql.ackReview.run(by, at.toISOString(), comment ?? null, changeId).changes === 1;
  }

  review(changeId: number): ReviewRecord | undefined {
    const row = this.#sql.review.get(changeId);
    return row && reviewFromRow(row);
  }

  /** Reviews by due time; only unacknowledged ones when `pendingOnly`. */
  reviews(pendingOnly: boolean): ReviewRecord[] {
    return this.#sql.reviews.all(pendingOnly ? 1 : 0).map(reviewFromRow);
  }

  /** A setting, written once: the first value stays. */
  setting(key: string, initial: () => string): string {
    const existing = this.#sql.getSetting.get(key);
    if (existing) return existing.value;
    this.#sql.putSetting.run(key, initial());
    return this.#sql.getSetting.get(key)!.value;
  }
}

function reviewFromRow(row: ReviewRow): ReviewRecord {
  return {
    changeId: row.change_id,
    dueAt: row.due_at,
    ...(row.acknowledged_by !== null && row.acknowledged_at !== null
      ? { acknowledged: { by: row.acknowledged_by, at: row.acknowledged_at, ...(row.comment !== null ? { comment: row.comment } : {}) } }
      : {}),
  };
}
