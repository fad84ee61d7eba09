import { describe, expect, it } from 'vitest';
import { parseTime } from './commitAnswer.js';

describe('parseTime', () => {
  it('reads ISO 8601 times with zones, fractions and dates alone', () => {
    expect(parseTime('2024-05-01T12:00:00+02:00')?.toISOString()).toBe('2024-05-01T10:00:00.000Z');
    expect(parseTime('2024-05-01T12:00:00.250Z')?.toISOString()).toBe('2024-05-01T12:00:00.250Z');
    expect(parseTime('2024-02-29')?.toISOString()).toBe('2024-02-29T00:00:00.000Z');
  });

  it('keeps years below 100 as they are written', () => {
    expect(parseTime('0050-01-01T00:00:00Z')?.getUTCFullYear()).toBe(50);
    expect(parseTime('0048-02-29')?.toISOString()).toBe('0048-02-29T00:00:00.000Z');
    expect(parseTime('0050-02-29')).toBeUndefined();
  });

  it('refuses what is not a real time', () => {
    for (const text of ['2024-02-30', '2024-13-01', '2024-05-01T24:00:00Z', '2024-05-01T12:60:00Z', 'yesterday', '2024-05-01T12:00:00+25:00']) {
      expect(parseTime(text), text).toBeUndefined();
    }
  });
});
