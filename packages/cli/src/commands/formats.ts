import { EstateError } from '@estate/core';

/** Checks a `--format`/`-o` value against the ones a command supports (E_USAGE, exit 2). */
export function parseFormat<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new EstateError('E_USAGE', `unknown format '${value}'; use one of: ${allowed.join(', ')}`, { value, allowed });
}

/** Parses a positive integer option such as `--depth`. */
export function parseCount(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new EstateError('E_USAGE', `${name} must be a whole number of at least 1 (got '${value}')`, { value });
  }
  return Number(value);
}
