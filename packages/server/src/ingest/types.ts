import type Database from 'better-sqlite3';

/** One managed file as an agent observed it; `missing: true` when it does not exist. */
export type FileFact =
  | { sha256: string; mode: string; owner: string; size?: number; content?: string; truncated?: true }
  | { missing: true };

/** One listening socket. */
export interface PortFact {
  protocol: 'tcp' | 'udp';
  address: string;
  port: number;
}

/** The facts of a report (issue 6, point 1); every fact is optional (a collector may fail). */
export interface ReportFacts {
  hostname?: string;
  ip?: string[];
  /** `/etc/os-release` fields (`id`, `versionId`, `prettyName`), or one string. */
  os?: string | Record<string, string>;
  kernel?: string;
  cpus?: number;
  memoryGiB?: number;
  packages?: Record<string, string>;
  files?: Record<string, FileFact>;
  services?: Record<string, string>;
  ports?: PortFact[];
}

/** A fact report as `POST /api/v1/reports` accepts it. */
export interface Report {
  /** ULID chosen by the agent: a report sent twice is recognised by it. */
  reportId: string;
  host: string;
  /** Increases with every report of the host. */
  seq: number;
  collectedAt: string;
  facts: ReportFacts;
  /** Collectors that failed, by name, with their message. */
  errors?: Record<string, string>;
}

/** The latest facts of a host and the report that produced them. */
export interface HostObservation {
  host: string;
  seq: number;
  reportId: string;
  collectedAt: string;
  /** When the report was applied. */
  observedAt: string;
  facts: ReportFacts;
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
