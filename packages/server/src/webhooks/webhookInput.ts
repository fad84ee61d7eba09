import { InputError } from '@estate/core';
import { WEBHOOK_EVENT_TYPES, WEBHOOK_FORMATS, type WebhookFormat } from './types.js';

/** The shortest secret accepted: 16 characters leave no room for guessing. */
export const MIN_SECRET_LENGTH = 16;
/** Limits that keep rows and answers small. */
export const MAX_SECRET_LENGTH = 1024;
export const MAX_URL_LENGTH = 2048;
export const MAX_DESCRIPTION_LENGTH = 1024;
export const MAX_EVENTS = 32;

const KNOWN_TYPES: ReadonlySet<string> = new Set(WEBHOOK_EVENT_TYPES);
const FAMILIES: ReadonlySet<string> = new Set(WEBHOOK_EVENT_TYPES.map((type) => type.split('.', 1)[0]!));

/**
 * Checks a webhook URL: absolute, `http:` or `https:`, without user name or password (fetch
 * refuses those, and a secret in the URL would be shown wherever the URL is). Throws InputError
 * `E_BAD_PARAM` otherwise. Returns the URL as given.
 */
export function checkWebhookUrl(url: unknown, parameter = 'url'): string {
  if (typeof url !== 'string' || url === '') throw new InputError('E_BAD_PARAM', `a webhook needs a url`, { parameter });
  if (url.length > MAX_URL_LENGTH) throw new InputError('E_BAD_PARAM', `webhook url is longer than ${MAX_URL_LENGTH} characters`, { parameter, limit: MAX_URL_LENGTH });
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputError('E_BAD_PARAM', `webhook url '${url.slice(0, 200)}' is not an absolute URL`, { parameter, value: url.slice(0, 200) });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InputError('E_BAD_PARAM', `webhook url '${url.slice(0, 200)}' must use http or https, not ${parsed.protocol.slice(0, -1)}`, {
      parameter,
      value: url.slice(0, 200),
    });
  }
  if (parsed.username !== '' || parsed.password !== '') {
    // Not echoed: the password is in it.
    throw new InputError('E_BAD_PARAM', 'webhook url must not hold a user name or password: the receiver checks the signature instead', { parameter });
  }
  return url;
}

/**
 * Checks the event list of a webhook: each item is `*`, a family pattern such as `change.*`, or
 * one of {@link WEBHOOK_EVENT_TYPES}. Throws InputError `E_BAD_PARAM` naming the first bad item.
 * Returns the list without duplicates, in the given order; `undefined` gives `['*']`.
 */
export function checkWebhookEvents(events: unknown, parameter = 'events'): string[] {
  if (events === undefined) return ['*'];
  if (!Array.isArray(events) || events.length === 0 || events.length > MAX_EVENTS) {
    throw new InputError('E_BAD_PARAM', `webhook events must be a list of 1 to ${MAX_EVENTS} event types or patterns`, { parameter });
  }
  for (const event of events) {
    const problem = eventProblem(event);
    if (problem !== undefined) {
      throw new InputError('E_BAD_PARAM', `unknown webhook event '${String(event).slice(0, 100)}': ${problem}`, {
        parameter,
        value: String(event).slice(0, 100),
        allowed: ['*', ...[...FAMILIES].map((family) => `${family}.*`), ...WEBHOOK_EVENT_TYPES],
      });
    }
  }
  return [...new Set(events as string[])];
}

/** Why `event` is not a valid item of an event list, or undefined when it is. */
function eventProblem(event: unknown): string | undefined {
  if (typeof event !== 'string') return 'expected a string';
  if (event === '*' || KNOWN_TYPES.has(event)) return undefined;
  if (event.endsWith('.*')) {
    return FAMILIES.has(event.slice(0, -2)) ? undefined : `the families are ${[...FAMILIES].map((family) => `${family}.*`).join(', ')}`;
  }
  return `expected *, a family such as change.*, or one of ${WEBHOOK_EVENT_TYPES.join(', ')}`;
}

/**
 * Checks a webhook secret: a string of {@link MIN_SECRET_LENGTH} to {@link MAX_SECRET_LENGTH}
 * characters. The error never holds the secret.
 */
export function checkWebhookSecret(secret: unknown, parameter = 'secret'): string {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH || secret.length > MAX_SECRET_LENGTH) {
    throw new InputError('E_BAD_PARAM', `a webhook secret must be a string of ${MIN_SECRET_LENGTH} to ${MAX_SECRET_LENGTH} characters`, {
      parameter,
      min: MIN_SECRET_LENGTH,
      max: MAX_SECRET_LENGTH,
    });
  }
  return secret;
}

/** Checks a webhook's body format: `estate` or `slack`; `undefined` gives `estate`. Throws InputError `E_BAD_PARAM` otherwise. */
export function checkWebhookFormat(format: unknown, parameter = 'format'): WebhookFormat {
  if (format === undefined) return 'estate';
  if (typeof format === 'string' && (WEBHOOK_FORMATS as readonly string[]).includes(format)) return format as WebhookFormat;
  throw new InputError('E_BAD_PARAM', `unknown webhook format '${String(format).slice(0, 100)}': expected ${WEBHOOK_FORMATS.join(' or ')}`, {
    parameter,
    allowed: [...WEBHOOK_FORMATS],
  });
}

/** True when an event of type `type` goes to a webhook subscribed to `patterns`. */
export function matchesWebhookEvents(patterns: readonly string[], type: string): boolean {
  return patterns.some((pattern) => pattern === '*' || pattern === type || (pattern.endsWith('.*') && type.startsWith(pattern.slice(0, -1))));
}
