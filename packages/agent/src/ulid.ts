import { randomBytes } from 'node:crypto';

/** Crockford's base32 alphabet, as the ULID spec (github.com/ulid/spec) uses. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const RANDOM_BITS = 80n;
const MAX_RANDOM = (1n << RANDOM_BITS) - 1n;

/**
 * Makes ULID generators: 48-bit millisecond time + 80 random bits, 26 characters, sortable.
 * Monotonic per the spec: within one millisecond (or if the clock steps back) the previous random
 * part is incremented, so ids from one generator always sort in creation order.
 */
export function createUlidGenerator(now: () => number = Date.now): () => string {
  let lastTime = -1;
  let lastRandom = 0n;
  return () => {
    let time = now();
    if (time <= lastTime) {
      time = lastTime;
      if (lastRandom === MAX_RANDOM) throw new Error('ULID random part overflowed within one millisecond');
      lastRandom += 1n;
    } else {
      lastTime = time;
      lastRandom = BigInt('0x' + randomBytes(10).toString('hex'));
    }
    return encode(BigInt(time), 10) + encode(lastRandom, 16);
  };
}

function encode(value: bigint, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) {
    text = ALPHABET[Number(value & 31n)] + text;
    value >>= 5n;
  }
  return text;
}
