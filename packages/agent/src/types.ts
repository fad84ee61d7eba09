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
  /** What enforcement restored before this collection (`--enforce`); absent when nothing was. */
  enforcement?: EnforcementEntry[];
}

/** One field of a managed file that enforcement restored, or failed to (docs/agent.md#enforcement). */
export interface EnforcementEntry {
  /** The file's absolute path on the host. */
  path: string;
  field: 'content' | 'mode' | 'owner';
  /** Hex SHA-256 of the file before; `null` when it was missing. */
  fromSha256: string | null;
  /** Hex SHA-256 of the desired content (for mode and owner: of the file's content); `null` when unknown (a file that could not be read). */
  toSha256: string | null;
  /** The mode or owner before (absent when the file was missing) and after, for those fields. */
  from?: string;
  to?: string;
  /** Where the previous content was kept (below the state dir), when it was replaced. */
  backup?: string;
  at: string;
  ok: boolean;
  /** Why it failed; never the file's content. */
  error?: string;
}

/** One managed file as the server says its host should have it (`GET /api/v1/hosts/:name/desired`). */
export interface DesiredFile {
  path: string;
  /** UTF-8 text, or base64 of the bytes when `encoding` is `base64`; absent when the server cannot serve it (`problem`). */
  content?: string;
  encoding?: 'utf8' | 'base64';
  sha256?: string;
  mode?: string;
  owner?: string;
  problem?: { code: string; message: string };
}

/** The server's desired state of a host: its drift mode, managed files and pending revert requests. */
export interface DesiredState {
  host: string;
  asset: string;
  commit: string;
  mode: 'observe' | 'shadow' | 'enforce';
  files: DesiredFile[];
  /** JSON pointers of declared fields to restore in any mode (`/spec/files/~1etc~1motd/content`). */
  reverts: Array<{ field: string; requestedBy: string; requestedAt: string }>;
}

/** Where the agent writes its warnings and notes (stderr in the command). */
export interface AgentLogger {
  info(message: string): void;
  warn(message: string): void;
}
