import { EstateError } from '@estate/core';
import type { Store } from '@estate/server';

/** A running server. */
export interface ServerHandle {
  /** The base URL it listens on, with the actual port (`--port 0` picks a free one). */
  url: string;
  /** Stops accepting requests, finishes the ones in flight, stops indexing, closes the store. */
  close(): Promise<void>;
}

/** Options of `startServer` (docs/server.md). */
export interface StartServerOptions {
  dataDir: string;
  /** An existing bare repository to serve instead of `<dataDir>/estate.git`. */
  repo?: string;
  /** A repository (path or URL) to clone into `<dataDir>/estate.git` on first start. */
  importFrom?: string;
  host?: string;
  port?: number;
  /** Serve reads without a token. */
  openRead?: boolean;
  log?: (level: string, message: string) => void;
}

/** Options of `reindex`. */
export interface ReindexOptions {
  dataDir: string;
  repo?: string;
  onProgress?: (done: number, total: number) => void;
}

/** What `reindex` did. */
export interface ReindexResult {
  commits: number;
  assets: number;
  seconds: number;
}

/** A stored API token's metadata (never the token, never its hash). */
export type TokenInfo = Awaited<ReturnType<Store['listTokens']>>[number];

/** The parts of `@estate/server` the CLI uses. */
export interface ServerPackage {
  startServer(options: StartServerOptions): Promise<ServerHandle>;
  reindex(options: ReindexOptions): Promise<ReindexResult>;
  openDataStore(dataDir: string): Promise<Store>;
  issueToken(store: Store, request: { name: string; role: TokenInfo['role']; expiresAt?: Date }): Promise<{ token: string; record: TokenInfo }>;
  listTokens(store: Store): Promise<TokenInfo[]>;
  revokeToken(store: Store, idOrName: string): Promise<TokenInfo>;
  /** `30d` → milliseconds; E_BAD_PARAM for anything else. */
  parseDuration(text: string): number;
}

/**
 * Loads `@estate/server` on demand: the read commands never pay for the HTTP server and the
 * SQLite binding. Fails with E_INTERNAL, naming what is missing, when the installed server
 * package lacks one of `needed`.
 */
export async function loadServer<K extends keyof ServerPackage>(...needed: K[]): Promise<Pick<ServerPackage, K>> {
  const loaded = (await import('@estate/server')) as Partial<ServerPackage>;
  const missing = needed.filter((name) => typeof loaded[name] !== 'function');
  if (missing.length > 0) {
    throw new EstateError('E_INTERNAL', `this build of @estate/server does not export ${missing.join(', ')}`, { missing });
  }
  return loaded as Pick<ServerPackage, K>;
}
