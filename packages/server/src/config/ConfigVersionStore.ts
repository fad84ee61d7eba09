import type Database from 'better-sqlite3';

const SCHEMA = `
  -- Every version of every served config: a snapshot of one app in one env (and cluster; '' for
  -- the env itself), written when an indexed commit of main changed it. Append-only.
  CREATE TABLE IF NOT EXISTS config_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app TEXT NOT NULL,
    env TEXT NOT NULL,
    cluster TEXT NOT NULL,
    seq INTEGER NOT NULL,            -- 1, 2, 3… per app, env and cluster
    sha TEXT NOT NULL,               -- the commit of main that produced it
    commit_seq INTEGER NOT NULL,     -- that commit's position on main (the read model's seq)
    committed_at TEXT NOT NULL,
    author TEXT NOT NULL,
    removed INTEGER NOT NULL DEFAULT 0,
    config TEXT NOT NULL,            -- JSON: {values, sources}
    secrets_path TEXT,
    secrets_text TEXT,               -- the secrets file as committed (values encrypted)
    UNIQUE (app, env, cluster, seq)
  );
  CREATE INDEX IF NOT EXISTS config_versions_commit ON config_versions (app, env, cluster, commit_seq);
  CREATE TABLE IF NOT EXISTS config_progress (id INTEGER PRIMARY KEY CHECK (id = 1), sha TEXT NOT NULL, commit_seq INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS config_releases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app TEXT NOT NULL,
    env TEXT NOT NULL,
    state TEXT NOT NULL,             -- active | promoted | aborted
    selector TEXT,
    percentage REAL,
    baseline_id INTEGER NOT NULL,    -- newest config_versions.id when it started
    held_until_id INTEGER,           -- aborted: newest config_versions.id when it was aborted
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    ended_by TEXT,
    ended_at TEXT
  );
  CREATE INDEX IF NOT EXISTS config_releases_app ON config_releases (app, env, id);
  CREATE TABLE IF NOT EXISTS config_instances (
    app TEXT NOT NULL,
    env TEXT NOT NULL,
    instance TEXT NOT NULL,
    record TEXT NOT NULL,            -- JSON InstanceRecord
    PRIMARY KEY (app, env, instance)
  );
`;

/** A merged config as stored: the values and the file each leaf came from. */
export interface StoredConfig {
  values: Record<string, unknown>;
  sources: Record<string, string>;
}

/** A version to append; see {@link ConfigVersionStore.append}. */
export interface NewConfigVersion {
  app: string;
  env: string;
  /** '' for the env's config, else a cluster with its own file. */
  cluster: string;
  sha: string;
  commitSeq: number;
  committedAt: string;
  author: string;
  /** The config stopped existing (app, env or cluster file gone). */
  removed: boolean;
  config: StoredConfig;
  secrets?: { path: string; text: string };
}

/** One stored version of a config. */
export interface ConfigVersion extends NewConfigVersion {
  /** Global, increasing: orders versions of every config. */
  id: number;
  /** 1, 2, 3… within its app, env and cluster. */
  seq: number;
}

/** A gray release of one app's config in one env. */
export interface ConfigRelease {
  id: number;
  app: string;
  env: string;
  state: 'active' | 'promoted' | 'aborted';
  selector?: string;
  percentage?: number;
  baselineId: number;
  heldUntilId?: number;
  createdBy: string;
  createdAt: string;
  endedBy?: string;
  endedAt?: string;
}

/** What is known of one instance that asked for a config. */
export interface InstanceRecord {
  instance: string;
  labels: Record<string, string>;
  version: string;
  release: 'stable' | 'canary';
  lastSeen: string;
  via: 'get' | 'watch';
}

interface VersionRow {
  id: number;
  app: string;
  env: string;
  cluster: string;
  seq: number;
  sha: string;
  commit_seq: number;
  committed_at: string;
  author: string;
  removed: number;
  config: string;
  secrets_path: string | null;
  secrets_text: string | null;
}

interface ReleaseRow {
  id: number;
  app: string;
  env: string;
  state: string;
  selector: string | null;
  percentage: number | null;
  baseline_id: number;
  held_until_id: number | null;
  created_by: string;
  created_at: string;
  ended_by: string | null;
  ended_at: string | null;
}

/** The key of one config stream: app, env and cluster. */
export function streamKey(app: string, env: string, cluster: string): string {
  return `${app}/${env}/${cluster}`;
}

/**
 * The config center's durable state in SQLite: config versions (append-only), how far main was
 * read, gray releases and the instances seen. The newest version of each config is also kept in
 * memory, so a read costs no query.
 */
export class ConfigVersionStore {
  readonly #db: Database.Database;
  readonly #latest = new Map<string, ConfigVersion>();
  readonly #statements;

  constructor(db: Database.Database) {
    this.#db = db;
    db.exec(SCHEMA);
    this.#statements = {
      insert: db.prepare(
        `INSERT INTO config_versions (app, env, cluster, seq, sha, commit_seq, committed_at, author, removed, config, secrets_path, secrets_text)
         VALUES (@app, @env, @cluster, @seq, @sha, @commitSeq, @committedAt, @author, @removed, @config, @secretsPath, @secretsText)`,
      ),
      progress: db.prepare('SELECT sha, commit_seq FROM config_progress WHERE id = 1'),
      setProgress: db.prepare('INSERT INTO config_progress (id, sha, commit_seq) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET sha = excluded.sha, commit_seq = excluded.commit_seq'),
      latestAll: db.prepare('SELECT v.* FROM config_versions v JOIN (SELECT max(id) AS id FROM config_versions GROUP BY app, env, cluster) m ON v.id = m.id'),
      byId: db.prepare('SELECT * FROM config_versions WHERE id = ?'),
      atOrBefore: db.prepare('SELECT * FROM config_versions WHERE app = ? AND env = ? AND cluster = ? AND id <= ? ORDER BY id DESC LIMIT 1'),
      atCommit: db.prepare('SELECT * FROM config_versions WHERE app = ? AND env = ? AND cluster = ? AND commit_seq <= ? ORDER BY id DESC LIMIT 1'),
      bySha: db.prepare('SELECT * FROM config_versions WHERE app = ? AND env = ? AND cluster = ? AND sha = ? ORDER BY id DESC LIMIT 1'),
      between: db.prepare('SELECT * FROM config_versions WHERE app = ? AND env = ? AND cluster = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?'),
      history: db.prepare('SELECT * FROM config_versions WHERE app = ? AND env = ? AND cluster = ? AND id < ? ORDER BY id DESC LIMIT ?'),
      maxId: db.prepare('SELECT coalesce(max(id), 0) AS id FROM config_versions'),
      insertRelease: db.prepare(
        `INSERT INTO config_releases (app, env, state, selector, percentage, baseline_id, created_by, created_at)
         VALUES (@app, @env, 'active', @selector, @percentage, @baselineId, @createdBy, @createdAt)`,
      ),
      endRelease: db.prepare("UPDATE config_releases SET state = ?, held_until_id = ?, ended_by = ?, ended_at = ? WHERE id = ? AND state = 'active'"),
      release: db.prepare('SELECT * FROM config_releases WHERE id = ?'),
      lastRelease: db.prepare('SELECT * FROM config_releases WHERE app = ? AND env = ? ORDER BY id DESC LIMIT 1'),
      releases: db.prepare('SELECT * FROM config_releases WHERE app = ? AND env = ? ORDER BY id DESC LIMIT ?'),
      allLastReleases: db.prepare('SELECT r.* FROM config_releases r JOIN (SELECT max(id) AS id FROM config_releases GROUP BY app, env) m ON r.id = m.id'),
      upsertInstance: db.prepare('INSERT INTO config_instances (app, env, instance, record) VALUES (?, ?, ?, ?) ON CONFLICT (app, env, instance) DO UPDATE SET record = excluded.record'),
      instances: db.prepare('SELECT app, env, record FROM config_instances'),
    };
    for (const row of this.#statements.latestAll.all() as VersionRow[]) {
      const version = toVersion(row);
      this.#latest.set(streamKey(version.app, version.env, version.cluster), version);
    }
  }

  /** The last commit of main whose config was read, if any. */
  progress(): { sha: string; commitSeq: number } | undefined {
    const row = this.#statements.progress.get() as { sha: string; commit_seq: number } | undefined;
    return row && { sha: row.sha, commitSeq: row.commit_seq };
  }

  /** Appends versions and moves the progress mark, in one transaction. Returns the versions as stored. */
  append(versions: readonly NewConfigVersion[], progress: { sha: string; commitSeq: number }): ConfigVersion[] {
    const stored: ConfigVersion[] = [];
    this.#db.transaction(() => {
      for (const version of versions) {
        const key = streamKey(version.app, version.env, version.cluster);
        const seq = (stored.findLast((v) => streamKey(v.app, v.env, v.cluster) === key) ?? this.#latest.get(key))?.seq ?? 0;
        const result = this.#statements.insert.run({
          app: version.app,
          env: version.env,
          cluster: version.cluster,
          seq: seq + 1,
          sha: version.sha,
          commitSeq: version.commitSeq,
          committedAt: version.committedAt,
          author: version.author,
          removed: version.removed ? 1 : 0,
          config: JSON.stringify(version.config),
          secretsPath: version.secrets?.path ?? null,
          secretsText: version.secrets?.text ?? null,
        });
        stored.push({ ...version, id: Number(result.lastInsertRowid), seq: seq + 1 });
      }
      this.#statements.setProgress.run(progress.sha, progress.commitSeq);
    })();
    for (const version of stored) this.#latest.set(streamKey(version.app, version.env, version.cluster), version);
    return stored;
  }

  /** The newest version of a config (a removed one included). */
  latest(app: string, env: string, cluster: string): ConfigVersion | undefined {
    return this.#latest.get(streamKey(app, env, cluster));
  }

  /** The newest version of every config. */
  allLatest(): ConfigVersion[] {
    return [...this.#latest.values()];
  }

  /** The newest version id of all configs (0 when there is none). */
  maxId(): number {
    return (this.#statements.maxId.get() as { id: number }).id;
  }

  /** The newest version of a config with an id at most `id`. */
  atOrBefore(app: string, env: string, cluster: string, id: number): ConfigVersion | undefined {
    return optional(this.#statements.atOrBefore.get(app, env, cluster, id) as VersionRow | undefined);
  }

  /** The version of a config that was current at main's commit number `commitSeq`. */
  atCommit(app: string, env: string, cluster: string, commitSeq: number): ConfigVersion | undefined {
    return optional(this.#statements.atCommit.get(app, env, cluster, commitSeq) as VersionRow | undefined);
  }

  /** The version of a config produced by commit `sha`. */
  bySha(app: string, env: string, cluster: string, sha: string): ConfigVersion | undefined {
    return optional(this.#statements.bySha.get(app, env, cluster, sha) as VersionRow | undefined);
  }

  /** Versions of a config with an id in (`afterId`, `uptoId`], oldest first, at most `limit`. */
  between(app: string, env: string, cluster: string, afterId: number, uptoId: number, limit: number): ConfigVersion[] {
    return (this.#statements.between.all(app, env, cluster, afterId, uptoId, limit) as VersionRow[]).map(toVersion);
  }

  /** Versions of a config older than `beforeId`, newest first, at most `limit`. */
  history(app: string, env: string, cluster: string, beforeId: number, limit: number): ConfigVersion[] {
    return (this.#statements.history.all(app, env, cluster, beforeId, limit) as VersionRow[]).map(toVersion);
  }

  /** Starts a gray release. */
  createRelease(release: Pick<ConfigRelease, 'app' | 'env' | 'selector' | 'percentage' | 'baselineId' | 'createdBy' | 'createdAt'>): ConfigRelease {
    const result = this.#statements.insertRelease.run({ ...release, selector: release.selector ?? null, percentage: release.percentage ?? null });
    return this.release(Number(result.lastInsertRowid))!;
  }

  /** Ends an active release; false when it was not active. */
  endRelease(id: number, state: 'promoted' | 'aborted', heldUntilId: number | undefined, by: string, at: string): boolean {
    return this.#statements.endRelease.run(state, heldUntilId ?? null, by, at, id).changes === 1;
  }

  release(id: number): ConfigRelease | undefined {
    const row = this.#statements.release.get(id) as ReleaseRow | undefined;
    return row && toRelease(row);
  }

  /** The newest release of an app in an env. */
  lastRelease(app: string, env: string): ConfigRelease | undefined {
    const row = this.#statements.lastRelease.get(app, env) as ReleaseRow | undefined;
    return row && toRelease(row);
  }

  /** The newest release of every app and env that had one. */
  allLastReleases(): ConfigRelease[] {
    return (this.#statements.allLastReleases.all() as ReleaseRow[]).map(toRelease);
  }

  /** Releases of an app in an env, newest first. */
  releases(app: string, env: string, limit: number): ConfigRelease[] {
    return (this.#statements.releases.all(app, env, limit) as ReleaseRow[]).map(toRelease);
  }

  /** Records instances (one transaction). */
  saveInstances(records: ReadonlyArray<{ app: string; env: string; record: InstanceRecord }>): void {
    this.#db.transaction(() => {
      for (const { app, env, record } of records) this.#statements.upsertInstance.run(app, env, record.instance, JSON.stringify(record));
    })();
  }

  /** Every instance recorded. */
  instances(): Array<{ app: string; env: string; record: InstanceRecord }> {
    return (this.#statements.instances.all() as Array<{ app: string; env: string; record: string }>).map((row) => ({ app: row.app, env: row.env, record: JSON.parse(row.record) as InstanceRecord }));
  }
}

function optional(row: VersionRow | undefined): ConfigVersion | undefined {
  return row && toVersion(row);
}

function toVersion(row: VersionRow): ConfigVersion {
  return {
    id: row.id,
    app: row.app,
    env: row.env,
    cluster: row.cluster,
    seq: row.seq,
    sha: row.sha,
    commitSeq: row.commit_seq,
    committedAt: row.committed_at,
    author: row.author,
    removed: row.removed === 1,
    config: JSON.parse(row.config) as StoredConfig,
    ...(row.secrets_path !== null && row.secrets_text !== null ? { secrets: { path: row.secrets_path, text: row.secrets_text } } : {}),
  };
}

function toRelease(row: ReleaseRow): ConfigRelease {
  return {
    id: row.id,
    app: row.app,
    env: row.env,
    state: row.state as ConfigRelease['state'],
    ...(row.selector !== null ? { selector: row.selector } : {}),
    ...(row.percentage !== null ? { percentage: row.percentage } : {}),
    baselineId: row.baseline_id,
    ...(row.held_until_id !== null ? { heldUntilId: row.held_until_id } : {}),
    createdBy: row.created_by,
    createdAt: row.created_at,
    ...(row.ended_by !== null ? { endedBy: row.ended_by } : {}),
    ...(row.ended_at !== null ? { endedAt: row.ended_at } : {}),
  };
}
