/**
 * The asset page's query string: `at` (a commit sha or an ISO 8601 time: the page shows the asset
 * as of it) beside the relation settings. Links from a time-travelling page keep `at`.
 */
export function readAt(search: string): string | undefined {
  const at = new URLSearchParams(search).get('at')?.trim();
  return at ? at : undefined;
}

/** `search` with `at` set (or removed when undefined), the other parameters kept. */
export function withAt(search: string, at: string | undefined): string {
  const params = new URLSearchParams(search);
  if (at === undefined) params.delete('at');
  else params.set('at', at);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** A `datetime-local` value (the browser's local time) as an ISO 8601 UTC time; undefined if empty or invalid. */
export function localTimeToIso(value: string): string | undefined {
  if (!value) return undefined;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString();
}
