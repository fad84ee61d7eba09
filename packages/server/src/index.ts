export type { Store } from "./store/Store.js";
