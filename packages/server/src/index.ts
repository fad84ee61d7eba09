export type { Store } from "./store/Store.js";
export { openSqliteStore } from "./store/sqliteStore.js";
export { buildApp, type BuildAppOptions } from "./http/app.js";
export type { IndexStatus } from "./http/IndexStatus.js";
export { authenticate, hashToken, issueToken, listTokens, parseDuration, revokeToken, roleAtLeast, TOKEN_PREFIX, type TokenRequest } from "./auth/tokens.js";
