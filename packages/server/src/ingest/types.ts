import type { HostFacts } from '@estate/core';
import type { TokenRecord } from '../store/Store.js';
import type { IngestOptions } from './IngestService.js';
import type Database from 'better-sqlite3';

/** A fact report as `POST /api/v1/reports` accepts it. */
export interface Report {
  /** ULID chosen by the agent: a report sent twice is recognised by it. */
  reportId: string;
  host: string;
  /** Increases with every report of the host. */
  seq: number;
  collectedAt: string;
  facts: HostFacts;
  /** Collectors that failed, by name, with their message. */
  errors?: Record<string, string>;
  /** What an enforcing agent restored before collecting (docs/drift.md#enforce). */
  enforcement?: EnforcementEntry[];
}

/** One field of a managed file an enforcing agent restored (or failed to). */
export interface EnforcementEntry {
  /** The file's absolute path on the host. */
  path: string;
  field: 'content' | 'mode' | 'owner';
  /** Hex SHA-256 of the file before; `null` when it was missing. */
  fromSha256: string | null;
  /** Hex SHA-256 of the desired content (of the file's content, for mode and owner); `null` when unknown. */
  toSha256: string | null;
  /** The mode or owner before and after, for those fields. */
  from?: string;
  to?: string;
  /** Where the agent kept the previous content (below its state dir), when it replaced one. */
  backup?: string;
  at: string;
  ok: boolean;
  /** Why it failed (never the file's content). */
  error?: string;
}

/** The latest facts of a host and the report that produced them. */
export interface HostObservation {
  host: string;
  seq: number;
  reportId: string;
  collectedAt: string;
  /** When the report was applied. */
  observedAt: string;
  facts: HostFacts;
}

/** A report that kept failing, set aside with the reason. */
export interface DeadLetter {
  id: number;
  reportId: string;
  host: string;
  seq: number;
  reason: string;
  attempts: number;
  failedAt: string;
}

/**
 * Runs for each report the consumer applies, inside the transaction that applies it and records
 * its progress: whatever it writes to `db` (the ingest database) happens exactly once per
 * report. `stale` is true when a newer report of the host was applied already. Throwing fails
 * the report (it is retried, then dead-lettered).
 */
export type ReportProcessor = (report: Report, context: { db: Database.Database; stale: boolean }) => void;

/** What a report's submission came to. */
export interface SubmitResult {
  reportId: string;
  /** True when a report with this id was accepted before: nothing new is stored. */
  duplicate: boolean;
}

/** What a report's submission needs of the token that sent it. */
export type ReportToken = Pick<TokenRecord, 'id' | 'scopes'>;

/** A gauge or counter for `/metrics`. */
export interface IngestMetric {
  name: string;
  help: string;
  value: number;
}

/**
 * Report ingestion as the routes and the server use it: {@link IngestService} in this thread, or
 * `IngestThread`, which runs it in a worker thread of its own (docs/ingest.md#the-ingest-thread).
 * Reads (observations, dead letters) go to the store.
 */
export interface Ingest {
  /** The compiled options (limits the routes check). */
  readonly options: Readonly<IngestOptions>;
  /** Throws `E_BACKLOG_FULL` (429) when no report can be taken now; the route calls it first. */
  admit(): void;
  /**
   * Parses and checks a report body as sent (`parseReportText`), checks that `token` may report
   * for its host, and queues it; resolves once it is on disk (or known already: `duplicate`).
   */
  submitText(text: string, token: ReportToken): Promise<SubmitResult>;
  /** Queues a dead letter's report again; `E_DEAD_LETTER_NOT_FOUND` when there is none. */
  replay(deadLetterId: number): Promise<string>;
  /** Deletes ids of reports consumed before the dedup window; resolves with how many. */
  prune(now?: number): Promise<number>;
  /** Gauges and counters for `/metrics`. */
  metrics(): Promise<IngestMetric[]>;
  /** Stops accepting reports, commits the pending ones and drains the queue for a bounded time. */
  close(): Promise<void>;
}
