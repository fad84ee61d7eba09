export type { Store } from "./store/Store.js";
export { openSqliteStore } from "./store/sqliteStore.js";
