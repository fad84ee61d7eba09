import type * as ServerModule from '@estate/server';

/** `@estate/server`'s exports. */
export type ServerPackage = typeof ServerModule;

/** A stored API token's metadata (never the token, never its hash). */
export type TokenInfo = ServerModule.TokenRecord;

/**
 * Loads `@estate/server` on demand: the read commands never pay for loading the HTTP server and
 * the SQLite binding, only `serve`, `reindex` and `token` do.
 */
export async function loadServer(): Promise<ServerPackage> {
  return import('@estate/server');
}
