import { matchesSelector } from '../labelSelector.js';
import { nextCronTime, parseCron, previousCronTime, type CronSchedule } from './cron.js';
import { matchesPathGlob } from './globs.js';
import { assetSides, itemPaths, selectorOf } from './changeMatch.js';
import type { ActiveFreeze, ChangedItem, ChangeFacts, FreezeScope, FreezeWindow } from './types.js';

const schedules = new Map<string, CronSchedule>();

function scheduleOf(expression: string): CronSchedule {
  let schedule = schedules.get(expression);
  if (!schedule) {
    schedule = parseCron(expression);
    if (schedules.size >= 1000) schedules.clear();
    schedules.set(expression, schedule);
  }
  return schedule;
}

/** Back-to-back occurrences are joined over at most this many steps (a schedule firing more often than its duration never closes). */
const MAX_JOINED = 500;

/**
 * The freeze windows in force at `at` whose scope the change touches, with the occurrence that
 * holds it. A fixed window is in force from `start` (inclusive) to `end` (exclusive); a recurring
 * one from each fire time of its schedule (in its time zone) for its duration, and occurrences that
 * touch or overlap are reported as one span. `at` is a parameter: evaluation never reads the clock.
 * Throws InputError E_POLICY for a window that loading would have refused (bad cron or zone).
 */
export function activeFreezes(windows: FreezeWindow[], at: Date, change: ChangeFacts): ActiveFreeze[] {
  const active: ActiveFreeze[] = [];
  for (const window of windows) {
    if (!scopeTouches(window.scope, change)) continue;
    const span = spanAt(window, at.getTime());
    if (span) active.push({ window, startedAt: new Date(span.start).toISOString(), endsAt: new Date(span.end).toISOString() });
  }
  return active;
}

function spanAt(window: FreezeWindow, now: number): { start: number; end: number } | undefined {
  if (window.start !== undefined && window.end !== undefined) {
    const start = Date.parse(window.start);
    const end = Date.parse(window.end);
    return start <= now && now < end ? { start, end } : undefined;
  }
  if (window.schedule === undefined || window.durationMs === undefined) return undefined;
  const schedule = scheduleOf(window.schedule);
  const duration = window.durationMs;
  const latest = previousCronTime(schedule, new Date(now), window.timeZone);
  if (!latest || now >= latest.getTime() + duration) return undefined;
  let start = latest.getTime();
  let end = start + duration;
  for (let i = 0, next = nextCronTime(schedule, latest, window.timeZone); i < MAX_JOINED && next && next.getTime() <= end; i++) {
    end = next.getTime() + duration;
    next = nextCronTime(schedule, next, window.timeZone);
  }
  for (let i = 0, previous = previousCronTime(schedule, new Date(start - 1), window.timeZone); i < MAX_JOINED && previous && previous.getTime() + duration >= start; i++) {
    start = previous.getTime();
    previous = previousCronTime(schedule, new Date(start - 1), window.timeZone);
  }
  return { start, end };
}

/** True when the change touches the window's scope; a window without scope holds every change. */
export function scopeTouches(scope: FreezeScope | undefined, change: ChangeFacts): boolean {
  if (!scope) return true;
  return change.items.some((item) => itemInScope(scope, item));
}

// config/<app>/<env>.yaml, config/<app>/<env>.secrets.yaml, config/<app>/<env>/**
const CONFIG_FILE = /^config\/[^/]+\/([^/]+?)(?:\.secrets)?\.yaml$/;
const CONFIG_FOLDER = /^config\/[^/]+\/([^/]+)\/./;

function itemInScope(scope: FreezeScope, item: ChangedItem): boolean {
  const sides = assetSides(item);
  const paths = itemPaths(item);
  if (scope.environments) {
    const envs = scope.environments;
    if (sides.some((side) => side.labels['env'] !== undefined && envs.includes(side.labels['env']))) return true;
    for (const path of paths) {
      const env = (CONFIG_FILE.exec(path) ?? CONFIG_FOLDER.exec(path))?.[1];
      if (env !== undefined && envs.includes(env)) return true;
    }
  }
  if (scope.selector !== undefined) {
    const selector = selectorOf(scope.selector);
    if (sides.some((side) => matchesSelector(selector, side.labels))) return true;
  }
  if (scope.paths && paths.some((path) => scope.paths!.some((glob) => matchesPathGlob(glob, path)))) return true;
  return false;
}
