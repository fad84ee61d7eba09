import { createHmac, timingSafeEqual } from 'node:crypto';

/** The signature header's value has this prefix, then 64 lower-case hex digits. */
const SIGNATURE_PREFIX = 'sha256=';
const SIGNATURE = /^sha256=[0-9a-f]{64}$/;

/**
 * The `X-Estate-Signature-256` header of a delivery: `sha256=` and the hex HMAC-SHA256
 * (RFC 2104) of the exact body bytes, keyed with the webhook's secret.
 */
export function signWebhookBody(secret: string, body: string | Uint8Array): string {
  return SIGNATURE_PREFIX + createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * True when `header` is the signature of `body` with `secret`. Compares in constant time, so a
 * receiver using it does not tell an attacker how much of a forged signature was right.
 */
export function verifyWebhookSignature(secret: string, body: string | Uint8Array, header: string | undefined): boolean {
  if (header === undefined || !SIGNATURE.test(header)) return false;
  const expected = Buffer.from(signWebhookBody(secret, body));
  return timingSafeEqual(expected, Buffer.from(header));
}
