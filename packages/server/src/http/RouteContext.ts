import type { Store } from '../store/Store.js';
import type { HttpMetrics } from './metrics.js';
import type { IndexStatus } from './IndexStatus.js';
import type { KindCatalog } from './KindCatalog.js';
import type { DocumentedRoute } from './openapi.js';

/** What route handlers share: the store and the process-wide state of the HTTP layer. */
export interface RouteContext {
  store: Store;
  status: () => IndexStatus;
  kinds: KindCatalog;
  metrics: HttpMetrics;
  /** Every route registered so far, for the OpenAPI document. */
  routes: DocumentedRoute[];
}
