import { describe, expect, it } from 'vitest';
import { hasErrorCode } from './errors.js';
import { matchesSelector, parseLabelSelector } from './labelSelector.js';

describe('parseLabelSelector', () => {
  it('parses equality, inequality, sets and existence', () => {
    expect(parseLabelSelector('env=prod, tier==1,role!=db,zone in (a, b),team notin (x),canary,!legacy,app.kubernetes.io/name=shop')).toEqual([
      { key: 'env', op: 'in', values: ['prod'] },
      { key: 'tier', op: 'in', values: ['1'] },
      { key: 'role', op: 'notin', values: ['db'] },
      { key: 'zone', op: 'in', values: ['a', 'b'] },
      { key: 'team', op: 'notin', values: ['x'] },
      { key: 'canary', op: 'exists' },
      { key: 'legacy', op: 'notexists' },
      { key: 'app.kubernetes.io/name', op: 'in', values: ['shop'] },
    ]);
    expect(parseLabelSelector('env=')).toEqual([{ key: 'env', op: 'in', values: [''] }]);
  });

  it.each([
    ['', 'empty requirement'],
    ['env=prod,', 'empty requirement'],
    ['env=prod=x', "cannot parse 'env=prod=x'"],
    ['env in prod', "cannot parse 'env in prod'"],
    ['env=pr od', "cannot parse 'env=pr od'"],
    ['-env=prod', "invalid label key '-env'"],
    ['env=bad!', "invalid label value 'bad!'"],
    ['env in (ok, -bad)', "invalid label value '-bad'"],
    ['env in ()', "'env' in needs a list of values, e.g. env in (a,b)"],
    ['env notin (a,,b)', "'env' notin needs a list of values, e.g. env notin (a,b)"],
  ])('refuses %j with E_SELECTOR (%s)', (text, reason) => {
    let error: unknown;
    try {
      parseLabelSelector(text);
    } catch (e) {
      error = e;
    }
    expect(hasErrorCode(error, 'E_SELECTOR')).toBe(true);
    expect((error as Error).message).toBe(`invalid label selector '${text}': ${reason}`);
  });
});

describe('matchesSelector', () => {
  const labels = { env: 'prod', role: 'web' };
  it.each([
    ['env=prod', true],
    ['env=dev', false],
    ['env!=dev', true],
    ['tier!=1', true],
    ['env in (dev, prod)', true],
    ['env notin (dev, prod)', false],
    ['role', true],
    ['tier', false],
    ['!tier', true],
    ['!role', false],
    ['env=prod,role=db', false],
  ])('%s matches: %s', (selector, expected) => {
    expect(matchesSelector(parseLabelSelector(selector), labels)).toBe(expected);
  });

  it('treats missing labels as absent', () => {
    expect(matchesSelector(parseLabelSelector('!env,tier!=1'), undefined)).toBe(true);
    expect(matchesSelector(parseLabelSelector('env'), undefined)).toBe(false);
    expect(matchesSelector([], undefined)).toBe(true);
  });
});
