import { describe, expect, it } from 'vitest';
import { createUlidGenerator } from './ulid.js';

const CROCKFORD = /^[0-9A-HJKMNP-TV-Z]{26}$/;

describe('createUlidGenerator', () => {
  it('encodes the millisecond time in the first 10 characters', () => {
    const next = createUlidGenerator(() => 1469918176385);
    // The ULID spec's example timestamp encodes as 01ARYZ6S41.
    expect(next().slice(0, 10)).toBe('01ARYZ6S41');
  });

  it('stays monotonic within one millisecond and when the clock steps back', () => {
    let time = 1_700_000_000_000;
    const next = createUlidGenerator(() => time);
    const ids = [next(), next(), next()];
    time -= 5;
    ids.push(next());
    time += 10;
    ids.push(next());
    for (const id of ids) expect(id).toMatch(CROCKFORD);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[3]?.slice(0, 10)).toBe(ids[0]?.slice(0, 10));
  });
});
