import { InputError } from '../errors.js';

/**
 * A parsed 5-field cron expression (minute hour day-of-month month day-of-week). Each field lists
 * the values it allows, ascending; days of the week run 0 (Sunday) to 6.
 */
export interface CronSchedule {
  /** The expression as written. */
  expression: string;
  minutes: readonly number[];
  hours: readonly number[];
  daysOfMonth: readonly number[];
  /** 1 (January) to 12. */
  months: readonly number[];
  daysOfWeek: readonly number[];
  /**
   * Whether the day-of-month and day-of-week fields restrict the day. As in Vixie cron, a field
   * restricts unless it starts with `*`; when both restrict, a day matches if either does.
   */
  dayOfMonthRestricted: boolean;
  dayOfWeekRestricted: boolean;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** First value the names stand for (1 for months, 0 for weekdays). */
  namesFrom?: number;
}

const FIELDS: FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, namesFrom: 1 },
  // 7 is Sunday too (as in Vixie cron); it is folded into 0 after parsing.
  { name: 'day-of-week', min: 0, max: 7, names: WEEKDAYS, namesFrom: 0 },
];

/** Days in each month, February counted as 29 so that schedules for leap days are accepted. */
const MAX_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Parses a 5-field cron expression: `minute hour day-of-month month day-of-week`. A field is `*`,
 * a value, a range `1-5`, a step over either (`*\/15`, `10-50/5`), or a comma-separated list of
 * those; months may be named JAN..DEC and weekdays SUN..SAT (any case), and 0 and 7 are both
 * Sunday. Throws InputError `E_POLICY` naming the expression and what is wrong, including for a
 * schedule that can never fire (`0 0 30 FEB *`).
 */
export function parseCron(expression: string): CronSchedule {
  const fail = (reason: string): InputError => new InputError('E_POLICY', `invalid cron expression '${expression}': ${reason}`, { expression });
  const parts = expression.trim().split(/\s+/);
  if (expression.trim() === '' || parts.length !== 5) {
    throw fail(`expected 5 fields (minute hour day-of-month month day-of-week), got ${expression.trim() === '' ? 0 : parts.length}`);
  }
  const values = parts.map((part, i) => parseField(part, FIELDS[i]!, fail));
  const [minutes, hours, daysOfMonth, months, rawWeekdays] = values as [number[], number[], number[], number[], number[]];
  const daysOfWeek = [...new Set(rawWeekdays.map((d) => d % 7))].sort((a, b) => a - b);
  const schedule: CronSchedule = {
    expression,
    minutes,
    hours,
    daysOfMonth,
    months,
    daysOfWeek,
    dayOfMonthRestricted: !parts[2]!.startsWith('*'),
    dayOfWeekRestricted: !parts[4]!.startsWith('*'),
  };
  // Only day-of-month alone can rule out every day (`30 FEB`); a weekday always comes round.
  const dayOfMonthDecides = schedule.dayOfMonthRestricted && !schedule.dayOfWeekRestricted;
  if (dayOfMonthDecides && !months.some((m) => daysOfMonth.some((d) => d <= MAX_DAYS[m - 1]!))) {
    throw fail('it never fires: none of the months has any of the days of the month');
  }
  return schedule;
}

function parseField(text: string, field: FieldSpec, fail: (reason: string) => InputError): number[] {
  const allowed = new Set<number>();
  for (const item of text.split(',')) {
    if (item === '') throw fail(`empty item in the ${field.name} field '${text}'`);
    const match = /^([^/]+)(?:\/(.*))?$/.exec(item);
    if (!match) throw fail(`cannot read '${item}' in the ${field.name} field`);
    const [, range, stepText] = match;
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1) throw fail(`step '${stepText}' in the ${field.name} field must be a positive number`);
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (range === '*') {
      from = field.min;
      to = field.max === 7 ? 6 : field.max;
    } else {
      const bounds = range!.split('-');
      if (bounds.length > 2) throw fail(`cannot read the range '${range}' in the ${field.name} field`);
      from = parseValue(bounds[0]!, field, fail);
      to = bounds.length === 2 ? parseValue(bounds[1]!, field, fail) : from;
      if (bounds.length === 1 && stepText !== undefined) {
        throw fail(`'${item}' in the ${field.name} field: a step needs a range, e.g. '${range}-${field.max}/${stepText}' or '*/${stepText}'`);
      }
      if (from > to) throw fail(`range '${range}' in the ${field.name} field goes backwards; write it as a list instead`);
    }
    for (let v = from; v <= to; v += step) allowed.add(v);
  }
  return [...allowed].sort((a, b) => a - b);
}

function parseValue(text: string, field: FieldSpec, fail: (reason: string) => InputError): number {
  const named = field.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named !== -1) return named + field.namesFrom!;
  if (!/^\d+$/.test(text)) {
    const names = field.names ? ` or a name ${field.names[0]}..${field.names[field.names.length - 1]}` : '';
    throw fail(`'${text}' in the ${field.name} field is not a number${names}`);
  }
  const value = Number(text);
  if (value < field.min || value > field.max) throw fail(`${field.name} ${value} is out of range ${field.min}-${field.max}`);
  return value;
}

// ---- Time zones -------------------------------------------------------------------------------
// Wall-clock time in a zone comes from Intl.DateTimeFormat (ICU's zone data; no I/O). Instants
// are handled as epoch milliseconds; a wall time is represented as the epoch milliseconds it would
// have in UTC ("wall ms").

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Longest search for a fire time: four years and a day, so that a leap day always comes round. */
const SEARCH_DAYS = 4 * 366 + 1;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** True when `timeZone` is an IANA time zone name this runtime knows (`Europe/Berlin`, `UTC`). */
export function isValidTimeZone(timeZone: string): boolean {
  if (timeZone === '') return false;
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

function zoneOf(timeZone: string): Intl.DateTimeFormat {
  try {
    return formatterFor(timeZone);
  } catch (error) {
    throw new InputError('E_POLICY', `unknown time zone '${timeZone}'; use an IANA name such as Europe/Berlin or UTC`, { timeZone }, { cause: error });
  }
}

/** The wall clock in the zone at an instant, as wall ms (seconds kept, milliseconds dropped). */
function wallAt(formatter: Intl.DateTimeFormat, ms: number): number {
  const parts: Record<string, number> = {};
  for (const part of formatter.formatToParts(ms)) if (part.type !== 'literal') parts[part.type] = Number(part.value);
  return Date.UTC(parts['year']!, parts['month']! - 1, parts['day']!, parts['hour']!, parts['minute']!, parts['second']!);
}

/** The zone's offset from UTC at an instant, in ms (east positive). */
function offsetAt(formatter: Intl.DateTimeFormat, ms: number): number {
  const whole = Math.floor(ms / 1000) * 1000;
  return wallAt(formatter, whole) - whole;
}

/**
 * The instant a wall time first occurs in the zone: `undefined` when the wall time does not exist
 * (skipped by a DST change), the earlier one when it occurs twice (repeated by a DST change).
 * The offsets a day before and after cover both sides of any one transition.
 */
function instantOfWall(formatter: Intl.DateTimeFormat, wall: number): number | undefined {
  let best: number | undefined;
  for (const offset of new Set([offsetAt(formatter, wall - DAY), offsetAt(formatter, wall + DAY)])) {
    const candidate = wall - offset;
    if (wallAt(formatter, candidate) === wall && (best === undefined || candidate < best)) best = candidate;
  }
  return best;
}

function dayMatches(schedule: CronSchedule, dayWall: number): boolean {
  const date = new Date(dayWall);
  if (!schedule.months.includes(date.getUTCMonth() + 1)) return false;
  const dom = schedule.daysOfMonth.includes(date.getUTCDate());
  const dow = schedule.daysOfWeek.includes(date.getUTCDay());
  return schedule.dayOfMonthRestricted && schedule.dayOfWeekRestricted ? dom || dow : dom && dow;
}

/**
 * The latest time at or before `before` at which the schedule fires in `timeZone`, or `undefined`
 * when it does not fire in the four years before. DST: a wall time that a change skips does not
 * fire; one that a change repeats fires once, at its first occurrence.
 */
export function previousCronTime(schedule: CronSchedule, before: Date, timeZone: string): Date | undefined {
  const zone = zoneOf(timeZone);
  const limit = before.getTime();
  const wallLimit = wallAt(zone, limit);
  // After the clocks went back, wall times later than now's already fired (first occurrence):
  // look ahead by as much as the offset dropped in the last hours.
  const lookAhead = Math.max(0, offsetAt(zone, limit - 6 * HOUR) - offsetAt(zone, limit));
  const firstDay = Math.floor((wallLimit + lookAhead) / DAY) * DAY;
  for (let k = 0; k <= SEARCH_DAYS; k++) {
    const day = firstDay - k * DAY;
    if (!dayMatches(schedule, day)) continue;
    for (let h = schedule.hours.length - 1; h >= 0; h--) {
      for (let m = schedule.minutes.length - 1; m >= 0; m--) {
        const wall = day + schedule.hours[h]! * HOUR + schedule.minutes[m]! * MINUTE;
        if (wall > wallLimit + lookAhead) continue;
        const at = instantOfWall(zone, wall);
        if (at !== undefined && at <= limit) return new Date(at);
      }
    }
  }
  return undefined;
}

/**
 * The earliest time strictly after `after` at which the schedule fires in `timeZone`, or
 * `undefined` when it does not fire in the next four years. DST as in {@link previousCronTime}.
 */
export function nextCronTime(schedule: CronSchedule, after: Date, timeZone: string): Date | undefined {
  const zone = zoneOf(timeZone);
  const limit = after.getTime();
  // A wall time earlier than now's cannot first occur later: a repeated hour's first occurrence
  // is the earlier one. So wall times before now's are skipped without a conversion.
  const wallLimit = wallAt(zone, limit) - (wallAt(zone, limit) % MINUTE);
  const firstDay = Math.floor(wallLimit / DAY) * DAY;
  for (let k = 0; k <= SEARCH_DAYS; k++) {
    const day = firstDay + k * DAY;
    if (!dayMatches(schedule, day)) continue;
    for (const hour of schedule.hours) {
      for (const minute of schedule.minutes) {
        const wall = day + hour * HOUR + minute * MINUTE;
        if (wall < wallLimit) continue;
        const at = instantOfWall(zone, wall);
        if (at !== undefined && at > limit) return new Date(at);
      }
    }
  }
  return undefined;
}
