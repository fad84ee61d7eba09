import { describe, expect, it } from 'vitest';
import { localTimeToIso, readAt, withAt } from './timeTravel';

describe('time travel in the address', () => {
  it('reads and sets at, keeping the other parameters', () => {
    expect(readAt('?direction=in&at=abc123')).toBe('abc123');
    expect(readAt('?at=')).toBeUndefined();
    expect(withAt('?direction=in&depth=2', 'abc123')).toBe('?direction=in&depth=2&at=abc123');
    expect(withAt('?at=abc123', undefined)).toBe('');
    expect(withAt('', '2024-01-01T00:00:00.000Z')).toBe('?at=2024-01-01T00%3A00%3A00.000Z');
  });

  it('turns a local date-time into UTC ISO 8601', () => {
    expect(localTimeToIso('')).toBeUndefined();
    expect(localTimeToIso('nonsense')).toBeUndefined();
    expect(localTimeToIso('2024-03-01T10:30')).toBe(new Date(2024, 2, 1, 10, 30).toISOString());
  });
});
