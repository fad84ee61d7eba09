import { describe, expect, it } from 'vitest';
import { hasErrorCode } from '../errors.js';
import { isValidTimeZone, nextCronTime, parseCron, previousCronTime } from './cron.js';

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (hasErrorCode(error)) return error;
    throw error;
  }
  throw new Error('expected an error');
}

const at = (iso: string): Date => new Date(iso);
const iso = (date: Date | undefined): string | undefined => date?.toISOString();

describe('parseCron', () => {
  it('reads values, lists, ranges, steps and names', () => {
    const s = parseCron('0,30 9-17/4 1,15 JAN-mar,dec mon-FRI');
    expect(s.minutes).toEqual([0, 30]);
    expect(s.hours).toEqual([9, 13, 17]);
    expect(s.daysOfMonth).toEqual([1, 15]);
    expect(s.months).toEqual([1, 2, 3, 12]);
    expect(s.daysOfWeek).toEqual([1, 2, 3, 4, 5]);
    expect(s.dayOfMonthRestricted).toBe(true);
    expect(s.dayOfWeekRestricted).toBe(true);
  });

  it('expands * and */n over the whole field', () => {
    const s = parseCron('*/15 * * * *');
    expect(s.minutes).toEqual([0, 15, 30, 45]);
    expect(s.hours).toHaveLength(24);
    expect(s.daysOfMonth).toHaveLength(31);
    expect(s.months).toHaveLength(12);
    expect(s.daysOfWeek).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(s.dayOfMonthRestricted).toBe(false);
    expect(s.dayOfWeekRestricted).toBe(false);
    expect(parseCron('10-50/20 0 1 1 *').minutes).toEqual([10, 30, 50]);
  });

  it('counts both 0 and 7 as Sunday', () => {
    expect(parseCron('0 0 * * 7').daysOfWeek).toEqual([0]);
    expect(parseCron('0 0 * * 5-7').daysOfWeek).toEqual([0, 5, 6]);
    expect(parseCron('0 0 * * 0,7,SUN').daysOfWeek).toEqual([0]);
  });

  it.each([
    ['', 'expected 5 fields (minute hour day-of-month month day-of-week), got 0'],
    ['0 17 * *', 'expected 5 fields (minute hour day-of-month month day-of-week), got 4'],
    ['0 17 * * FRI extra', 'expected 5 fields (minute hour day-of-month month day-of-week), got 6'],
    ['60 * * * *', 'minute 60 is out of range 0-59'],
    ['0 24 * * *', 'hour 24 is out of range 0-23'],
    ['0 0 0 * *', 'day-of-month 0 is out of range 1-31'],
    ['0 0 * 13 *', 'month 13 is out of range 1-12'],
    ['0 0 * * 8', 'day-of-week 8 is out of range 0-7'],
    ['0 0 * * FRIDAY', "'FRIDAY' in the day-of-week field is not a number or a name SUN..SAT"],
    ['0 0 * JANUARY *', "'JANUARY' in the month field is not a number or a name JAN..DEC"],
    ['x 0 * * *', "'x' in the minute field is not a number"],
    ['*/0 * * * *', "step '0' in the minute field must be a positive number"],
    ['*/x * * * *', "step 'x' in the minute field must be a positive number"],
    ['5/10 * * * *', "'5/10' in the minute field: a step needs a range, e.g. '5-59/10' or '*/10'"],
    ['0 0 * * FRI-MON', "range 'FRI-MON' in the day-of-week field goes backwards; write it as a list instead"],
    ['1,,2 * * * *', "empty item in the minute field '1,,2'"],
    ['1-2-3 * * * *', "cannot read the range '1-2-3' in the minute field"],
    ['0 0 30 FEB *', 'it never fires: none of the months has any of the days of the month'],
    ['0 0 31 APR,JUN *', 'it never fires: none of the months has any of the days of the month'],
  ])('refuses %j with E_POLICY: %s', (expression, reason) => {
    const error = errorOf(() => parseCron(expression));
    expect(error.code).toBe('E_POLICY');
    expect(error.message).toBe(`invalid cron expression '${expression}': ${reason}`);
  });

  it('accepts a leap day, and 30 FEB when a weekday may match instead', () => {
    expect(parseCron('0 0 29 2 *').daysOfMonth).toEqual([29]);
    expect(parseCron('0 0 30 2 MON').dayOfWeekRestricted).toBe(true);
  });
});

describe('isValidTimeZone', () => {
  it('knows IANA zones and refuses others', () => {
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    expect(isValidTimeZone('America/New_York')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isValidTimeZone('')).toBe(false);
  });
});

describe('nextCronTime and previousCronTime in UTC', () => {
  const fridays = parseCron('0 17 * * FRI');

  it('find the next and the previous fire time', () => {
    // 2026-06-10 is a Wednesday.
    expect(iso(nextCronTime(fridays, at('2026-06-10T12:00:00Z'), 'UTC'))).toBe('2026-06-12T17:00:00.000Z');
    expect(iso(previousCronTime(fridays, at('2026-06-10T12:00:00Z'), 'UTC'))).toBe('2026-06-05T17:00:00.000Z');
  });

  it('previous includes the instant itself; next is strictly after', () => {
    expect(iso(previousCronTime(fridays, at('2026-06-12T17:00:00Z'), 'UTC'))).toBe('2026-06-12T17:00:00.000Z');
    expect(iso(nextCronTime(fridays, at('2026-06-12T17:00:00Z'), 'UTC'))).toBe('2026-06-19T17:00:00.000Z');
    expect(iso(previousCronTime(fridays, at('2026-06-12T16:59:59.999Z'), 'UTC'))).toBe('2026-06-05T17:00:00.000Z');
    expect(iso(nextCronTime(fridays, at('2026-06-12T16:59:30Z'), 'UTC'))).toBe('2026-06-12T17:00:00.000Z');
  });

  it('every minute', () => {
    const everyMinute = parseCron('* * * * *');
    expect(iso(previousCronTime(everyMinute, at('2026-06-10T12:34:56Z'), 'UTC'))).toBe('2026-06-10T12:34:00.000Z');
    expect(iso(nextCronTime(everyMinute, at('2026-06-10T12:34:56Z'), 'UTC'))).toBe('2026-06-10T12:35:00.000Z');
    expect(iso(nextCronTime(everyMinute, at('2026-12-31T23:59:00Z'), 'UTC'))).toBe('2027-01-01T00:00:00.000Z');
  });

  it('matches a day when either restricted day field does (classic cron)', () => {
    // The 1st of the month, or any Monday. 2026-06-01 is a Monday; 2026-07-01 a Wednesday.
    const s = parseCron('0 0 1 * MON');
    expect(iso(nextCronTime(s, at('2026-06-01T00:00:00Z'), 'UTC'))).toBe('2026-06-08T00:00:00.000Z');
    expect(iso(nextCronTime(s, at('2026-06-29T00:00:00Z'), 'UTC'))).toBe('2026-07-01T00:00:00.000Z');
    expect(iso(previousCronTime(s, at('2026-07-03T00:00:00Z'), 'UTC'))).toBe('2026-07-01T00:00:00.000Z');
  });

  it('needs both day fields when one starts with * (Vixie cron)', () => {
    // Odd days of the month that are Mondays: 2026-06-01, 2026-06-15 (odd), not 2026-06-08.
    const s = parseCron('0 0 */2 * MON');
    expect(iso(nextCronTime(s, at('2026-06-01T00:00:00Z'), 'UTC'))).toBe('2026-06-15T00:00:00.000Z');
  });

  it('finds a leap day years away, and gives up on none within four years', () => {
    const leap = parseCron('0 12 29 FEB *');
    expect(iso(nextCronTime(leap, at('2025-03-01T00:00:00Z'), 'UTC'))).toBe('2028-02-29T12:00:00.000Z');
    expect(iso(previousCronTime(leap, at('2027-01-01T00:00:00Z'), 'UTC'))).toBe('2024-02-29T12:00:00.000Z');
  });

  it('refuses an unknown time zone with E_POLICY', () => {
    const error = errorOf(() => nextCronTime(fridays, at('2026-06-10T12:00:00Z'), 'Europe/Atlantis'));
    expect(error.code).toBe('E_POLICY');
    expect(error.message).toBe("unknown time zone 'Europe/Atlantis'; use an IANA name such as Europe/Berlin or UTC");
  });
});

describe('time zones and DST (Europe/Berlin: CET +01:00, CEST +02:00)', () => {
  const berlin = 'Europe/Berlin';
  const fridays = parseCron('0 17 * * FRI');

  it('reads the schedule in the zone, in winter and in summer', () => {
    expect(iso(nextCronTime(fridays, at('2026-01-07T00:00:00Z'), berlin))).toBe('2026-01-09T16:00:00.000Z');
    expect(iso(nextCronTime(fridays, at('2026-07-07T00:00:00Z'), berlin))).toBe('2026-07-10T15:00:00.000Z');
    expect(iso(previousCronTime(fridays, at('2026-07-10T15:30:00Z'), berlin))).toBe('2026-07-10T15:00:00.000Z');
    // Friday 17:00 in Berlin is already Friday 16:00 UTC in winter: 16:30 UTC is after it.
    expect(iso(previousCronTime(fridays, at('2026-01-09T16:30:00Z'), berlin))).toBe('2026-01-09T16:00:00.000Z');
  });

  it('uses the zone’s day for the day fields', () => {
    // Monday 00:30 in Berlin is Sunday 23:30 UTC.
    const mondays = parseCron('30 0 * * MON');
    expect(iso(nextCronTime(mondays, at('2026-01-10T00:00:00Z'), berlin))).toBe('2026-01-11T23:30:00.000Z');
  });

  // 2026-03-29: clocks go from 02:00 CET to 03:00 CEST; 02:30 does not exist that day.
  it('skips a wall time that does not exist (spring forward)', () => {
    const s = parseCron('30 2 * * *');
    expect(iso(nextCronTime(s, at('2026-03-28T12:00:00Z'), berlin))).toBe('2026-03-30T00:30:00.000Z');
    expect(iso(previousCronTime(s, at('2026-03-29T12:00:00Z'), berlin))).toBe('2026-03-28T01:30:00.000Z');
    // 03:00 exists: it is the first instant after the gap.
    const three = parseCron('0 3 * * *');
    expect(iso(nextCronTime(three, at('2026-03-28T12:00:00Z'), berlin))).toBe('2026-03-29T01:00:00.000Z');
  });

  // 2026-10-25: clocks go from 03:00 CEST back to 02:00 CET; 02:00-02:59 happen twice.
  it('fires a repeated wall time once, at its first occurrence (fall back)', () => {
    const s = parseCron('30 2 * * *');
    expect(iso(nextCronTime(s, at('2026-10-24T12:00:00Z'), berlin))).toBe('2026-10-25T00:30:00.000Z');
    // Not again at 02:30 CET (01:30 UTC): the next one is the day after.
    expect(iso(nextCronTime(s, at('2026-10-25T00:30:00Z'), berlin))).toBe('2026-10-26T01:30:00.000Z');
    // During the repeated hour (02:45 CET = 01:45 UTC) the latest fire is the first 02:30.
    expect(iso(previousCronTime(s, at('2026-10-25T01:45:00Z'), berlin))).toBe('2026-10-25T00:30:00.000Z');
  });

  it('looks at wall times later than now’s during the repeated hour', () => {
    // At 02:10 CET (01:10 UTC, second pass) the latest */15 fire is 02:45 CEST (00:45 UTC): the
    // 02:00 CET to 02:59 CET wall times already fired in the first pass.
    const s = parseCron('*/15 * * * *');
    expect(iso(previousCronTime(s, at('2026-10-25T01:10:00Z'), berlin))).toBe('2026-10-25T00:45:00.000Z');
    expect(iso(nextCronTime(s, at('2026-10-25T01:10:00Z'), berlin))).toBe('2026-10-25T02:00:00.000Z');
  });

  it('follows other zones’ rules (America/New_York, Asia/Kolkata without DST)', () => {
    const nine = parseCron('0 9 * * *');
    expect(iso(nextCronTime(nine, at('2026-01-15T00:00:00Z'), 'America/New_York'))).toBe('2026-01-15T14:00:00.000Z');
    expect(iso(nextCronTime(nine, at('2026-07-15T00:00:00Z'), 'America/New_York'))).toBe('2026-07-15T13:00:00.000Z');
    expect(iso(nextCronTime(nine, at('2026-07-15T00:00:00Z'), 'Asia/Kolkata'))).toBe('2026-07-15T03:30:00.000Z');
  });
});
