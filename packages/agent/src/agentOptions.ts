import path from 'node:path';
import { AgentError } from './AgentError.js';
import { MAX_REPORT_BYTES } from './fitReport.js';
import type { AgentLogger } from './types.js';

/** The agent's options as given; {@link compileAgentOptions} applies the defaults. */
export interface AgentOptionsInput {
  /** The Estate server's URL, e.g. `https://estate.example.com`. */
  server: string;
  /** The host this agent reports as (a DNS-1123 label, e.g. `web-01`). */
  host: string;
  /** The agent token (`estate token create --role agent --host web-01`). */
  token: string;
  /** Filesystem root the collectors read (default `/`). */
  root?: string;
  /** Where seq, spool and counters live (default `/var/lib/estate-agent`). */
  stateDir?: string;
  /** Time between reports (default 60 s), jittered ±10 %. */
  intervalMs?: number;
  /** Managed files (absolute paths). */
  files?: readonly string[];
  /** Declared systemd units. */
  units?: readonly string[];
  /** Spool bounds (default 1,000 reports or 50 MiB). */
  spoolMaxReports?: number;
  spoolMaxBytes?: number;
  /** Exponential backoff: first ceiling and cap (defaults 1 s and 5 min). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Timeout of one send (default 30 s). */
  requestTimeoutMs?: number;
  /** Restore managed files from the server's desired state (`--enforce`; default off). */
  enforce?: boolean;
  /** Backup directories enforcement keeps (default 20). */
  backupsKept?: number;
  /** The largest report sent, in bytes of JSON (default 1 MiB, the server's body limit). */
  maxReportBytes?: number;
  /** Whether owners may be set when restoring (default: the agent runs as root). */
  canChown?: boolean;
  logger?: AgentLogger;
  fetch?: typeof fetch;
  /** Random numbers in [0, 1) for jitter (tests pass a fixed one). */
  random?: () => number;
}

/** The agent's options, defaults applied and checked. */
export interface AgentOptions {
  server: URL;
  host: string;
  token: string;
  root: string;
  stateDir: string;
  intervalMs: number;
  files: readonly string[];
  units: readonly string[];
  spoolMaxReports: number;
  spoolMaxBytes: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  requestTimeoutMs: number;
  enforce: boolean;
  backupsKept: number;
  maxReportBytes: number;
  canChown: boolean;
  logger: AgentLogger;
  fetch: typeof fetch;
  random: () => number;
}

const HOST_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Applies the defaults and validates once; throws {@link AgentError} `E_USAGE`/`E_TOKEN`. */
export function compileAgentOptions(input: AgentOptionsInput): AgentOptions {
  const server = parseServerUrl(input.server);
  if (!HOST_NAME.test(input.host) || input.host.length > 63) {
    throw new AgentError('E_USAGE', `host '${input.host}' is not a DNS-1123 label (e.g. web-01)`, { host: input.host });
  }
  if (input.token.trim() === '') throw new AgentError('E_TOKEN', 'the agent token is empty');
  for (const file of input.files ?? []) {
    if (!path.posix.isAbsolute(file)) throw new AgentError('E_USAGE', `managed file '${file}' is not an absolute path`, { file });
  }
  return {
    server,
    host: input.host,
    token: input.token.trim(),
    root: input.root ?? '/',
    stateDir: input.stateDir ?? '/var/lib/estate-agent',
    intervalMs: positive('interval', input.intervalMs ?? 60_000),
    files: input.files ?? [],
    units: input.units ?? [],
    spoolMaxReports: positive('spool max reports', input.spoolMaxReports ?? 1000),
    spoolMaxBytes: positive('spool max bytes', input.spoolMaxBytes ?? 50 * 1024 * 1024),
    backoffBaseMs: positive('backoff base', input.backoffBaseMs ?? 1000),
    backoffMaxMs: positive('backoff max', input.backoffMaxMs ?? 5 * 60_000),
    requestTimeoutMs: positive('request timeout', input.requestTimeoutMs ?? 30_000),
    enforce: input.enforce ?? false,
    backupsKept: positive('backups kept', input.backupsKept ?? 20),
    maxReportBytes: positive('max report bytes', input.maxReportBytes ?? MAX_REPORT_BYTES),
    canChown: input.canChown ?? process.getuid?.() === 0,
    logger: input.logger ?? { info: () => {}, warn: () => {} },
    fetch: input.fetch ?? globalThis.fetch.bind(globalThis),
    random: input.random ?? Math.random,
  };
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new AgentError('E_USAGE', `${name} must be a positive number, got ${value}`, { [name]: value });
  return value;
}

/** http(s) only, no credentials in the URL (they would land in logs); normalised to end in `/`. */
function parseServerUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new AgentError('E_USAGE', `server '${value}' is not a URL; expected e.g. https://estate.example.com`, { server: value }, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AgentError('E_USAGE', `server '${value}' is not an http(s) URL`, { server: value });
  if (url.username !== '' || url.password !== '') throw new AgentError('E_USAGE', 'the server URL must not carry credentials; use the agent token');
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}
