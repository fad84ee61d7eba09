export { openSqliteStore } from './store/sqliteStore.js';
export { buildApp, type BuildAppOptions } from './http/app.js';
export type { IndexStatus } from './http/IndexStatus.js';
export { authenticate, hashToken, issueToken, listTokens, parseDuration, revokeToken, roleAtLeast, TOKEN_PREFIX, type TokenRequest } from './auth/tokens.js';
export { Indexer, type IndexerOptions } from './indexer/Indexer.js';
export { DEFAULT_PORT, openDataStore, reindex, startServer, type ReindexOptions, type ReindexResult, type RunningServer, type ServeOptions } from './server.js';
export type * from './store/Store.js';
