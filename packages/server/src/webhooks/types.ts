/**
 * Types of the webhooks (docs/webhooks.md): what the server dispatches ({@link WebhookEvent}),
 * where it goes ({@link WebhookDefinition}) and what happened to each delivery
 * ({@link WebhookDelivery}).
 */

/** Every event type a webhook can receive; docs/webhooks.md describes each one. */
export const WEBHOOK_EVENT_TYPES = [
  'change.opened',
  'change.updated',
  'change.checked',
  'change.approved',
  'change.rejected',
  'change.merged',
  'change.closed',
  'change.emergency',
  'review.acknowledged',
  'review.overdue',
  'drift.opened',
  'drift.resolved',
  'host.stale',
  'ingest.dead_letter',
] as const;

/** One event type, e.g. `change.merged`. */
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** How a webhook's bodies are written: Estate's JSON payload, or Slack's `{text, blocks}` (docs/webhooks.md). */
export const WEBHOOK_FORMATS = ['estate', 'slack'] as const;

/** One body format. */
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** Something that happened, to be POSTed to every webhook that subscribes to its type. */
export interface WebhookEvent {
  /** One of {@link WEBHOOK_EVENT_TYPES}. */
  type: string;
  /** When it happened; default now. */
  at?: Date;
  /** The payload's `data`, as given (JSON values only). The change service sends `{change: {...}}`. */
  data: Record<string, unknown>;
  /**
   * A key that names the event for good, when the sender may dispatch it again (drift alerts after
   * a crash): a webhook that already has a delivery with this key gets no second one, and
   * receivers see it as `dedupKey` and in the `X-Estate-Dedup-Key` header.
   */
  dedupKey?: string;
}

/** A webhook, as listed. Its secret is never part of it. */
export interface WebhookDefinition {
  /** `wh_<random>` for webhooks made through the API, `cfg-<name>` for the ones of estate.yaml. */
  id: string;
  url: string;
  /** Event types or patterns: `*` (all), `change.*` (a family), `change.merged` (one type). */
  events: string[];
  source: 'api' | 'estate.yaml';
  /** The body format; default `estate`. */
  format: WebhookFormat;
  /** ISO 8601 UTC: when the webhook was created, or first seen in estate.yaml. */
  createdAt: string;
  description?: string;
}

/** A webhook of `spec.webhooks` in estate.yaml; the secret is in the environment variable `secretEnv`. */
export interface ConfiguredWebhook {
  /** A DNS-1123 label, unique in the list; the webhook's id is `cfg-<name>`. */
  name: string;
  url: string;
  /** Default `['*']`. */
  events?: string[];
  /** The name of the server's environment variable that holds the secret. */
  secretEnv?: string;
  /** Default `estate`. */
  format?: string;
}

/** The state of a delivery: waiting to be sent (or retried), sent with a 2xx answer, or given up. */
export type WebhookDeliveryState = 'pending' | 'delivered' | 'failed';

/** One HTTP request of a delivery. */
export interface WebhookAttempt {
  /** ISO 8601 UTC: when the request started. */
  at: string;
  /** The receiver's HTTP status, when it answered. */
  status?: number;
  /** Why there is no status: `timeout after 10000 ms`, `ECONNREFUSED (connect ECONNREFUSED 10.0.0.5:443)`… */
  error?: string;
  /** From the start of the request to the answer's headers (or the error). */
  durationMs: number;
}

/** One event for one webhook, with every attempt made to send it. */
export interface WebhookDelivery {
  /** Local number of the delivery, for the log and for redelivery. */
  id: number;
  /** The payload's `id` and the `X-Estate-Delivery` header (the same on a redelivery). */
  uuid: string;
  webhookId: string;
  /** The event type. */
  event: string;
  /** The event's dedupKey, when its sender gave one. */
  dedupKey?: string;
  state: WebhookDeliveryState;
  /** ISO 8601 UTC: when the event was dispatched. */
  createdAt: string;
  /** ISO 8601 UTC: when the next attempt is due (pending deliveries that wait for a retry). */
  nextAttemptAt?: string;
  /** Oldest first. */
  attempts: WebhookAttempt[];
}

/** Where the dispatcher writes what it does; never given a secret. */
export type WebhookLog = (level: 'info' | 'warn' | 'error', msg: string, data?: Record<string, unknown>) => void;

/** Options of the {@link WebhookDispatcher}. */
export interface WebhookDispatcherOptions {
  /** HTTP client; default the global `fetch`. */
  fetch?: typeof fetch;
  /** The clock; default the system's. */
  now?: () => Date;
  /** Where attempts that failed, give-ups and skipped estate.yaml webhooks are reported; default nowhere. */
  log?: WebhookLog;
  /** Retry delays; default exponential 5 s, 30 s, 2 min, 10 min, 30 min, 1 h (with ±20 % jitter), then give up. */
  retryDelaysMs?: number[];
  /** How long one request may take, answer headers included; default 10 s. */
  timeoutMs?: number;
  /** Where `secretEnv` names are looked up; default `process.env`. */
  env?: Record<string, string | undefined>;
  /**
   * A delivery still pending this long after it was dispatched (because it waited behind earlier
   * deliveries of its webhook) is given up after its next failed attempt; default 24 h.
   */
  maxAgeMs?: number;
  /** Delivered and failed deliveries are deleted from the log this long after their last attempt; default 30 days. */
  retentionMs?: number;
  /** Longest wait a `Retry-After` header can impose; default 1 h. */
  maxRetryAfterMs?: number;
}
