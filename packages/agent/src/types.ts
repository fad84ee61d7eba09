/** What the collectors read: a root directory (`/` on a real host, a fake tree in tests) and the host's declarations. */
export interface CollectContext {
  /** The filesystem root the collectors read below; `/` on a real host. */
  root: string;
  /** The systemd units the host declares (their states are collected). */
  units: readonly string[];
  /** The absolute paths of the files the host declares as managed. */
  files: readonly string[];
}

/** The OS release, from `/etc/os-release`. */
export interface OsRelease {
  /** `ID`, e.g. `debian`. */
  id: string;
  /** `VERSION_ID`, e.g. `12` (empty on rolling releases). */
  versionId: string;
  /** `PRETTY_NAME`, e.g. `Debian GNU/Linux 12 (bookworm)`. */
  prettyName: string;
}

/** One listening socket. */
export interface ListeningPort {
  protocol: 'tcp' | 'udp';
  /** The local address it is bound to (`0.0.0.0`, `::`, or a specific address). */
  address: string;
  port: number;
}

/** One managed file as observed; `missing: true` when it does not exist. */
export type FileFact =
  | { sha256: string; mode: string; owner: string; size: number; content?: string; truncated?: true }
  | { missing: true };

/** The facts of one report (issue 6: hostname, ip, os, kernel, cpus, memoryGiB, packages, files, services, ports). */
export interface Facts {
  hostname?: string;
  ip?: string[];
  os?: OsRelease;
  kernel?: string;
  cpus?: number;
  memoryGiB?: number;
  packages?: Record<string, string>;
  files?: Record<string, FileFact>;
  services?: Record<string, string>;
  ports?: ListeningPort[];
}

/** A fact report as sent to `POST /api/v1/reports`. */
export interface Report {
  reportId: string;
  host: string;
  seq: number;
  collectedAt: string;
  facts: Facts;
  /** Collectors that failed, by name, with their message; absent when all succeeded. */
  errors?: Record<string, string>;
}

/** Where the agent writes its warnings and notes (stderr in the command). */
export interface AgentLogger {
  info(message: string): void;
  warn(message: string): void;
}
