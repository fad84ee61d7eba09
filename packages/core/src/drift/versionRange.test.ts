import { describe, expect, it } from 'vitest';
import { compareVersions, compileVersionSpec, satisfiesVersion } from './versionRange.js';

describe('compareVersions (dpkg order)', () => {
  it.each([
    ['1.22.1', '1.22.1', 0],
    ['1.2', '1.10', -1],
    ['1.0', '1.00', 0],
    ['1.0~rc1', '1.0', -1],
    ['1.0a', '1.0', 1],
    ['1.0-1', '1.0-2', -1],
    ['1:0.9', '2.0', 1],
    ['1.22.1-1~deb12u1', '1.22.1-1', -1],
    ['2.4.57-2', '2.4.57-10', -1],
  ])('%s vs %s → %i', (a, b, sign) => {
    expect(Math.sign(compareVersions(a, b))).toBe(sign);
    expect(Math.sign(compareVersions(b, a))).toBe(-sign || 0);
  });
});

describe('satisfiesVersion', () => {
  it.each([
    ['1.22.1-1', '1.22.1-1', true],
    ['1.22.1-1', '1.22.1-2', false],
    ['*', '0.1', true],
    ['latest', '9', true],
    ['>=1.2', '1.10', true],
    ['>=1.2', '1.1.9', false],
    ['>1.2 <2', '1.5', true],
    ['>1.2 <2', '2.0', false],
    ['<=3.0', '3.0', true],
    ['~1.2', '1.9', true],
    ['~1.2', '2.0', false],
    ['~1.2.3', '1.2.9', true],
    ['~1.2.3', '1.3.0', false],
    ['~1.2.3', '1.2.2', false],
    ['1.24.*', '1.24.0-1', true],
    ['1.24.*', '1.25.0', false],
  ])('%s with %s → %s', (spec, version, expected) => {
    expect(satisfiesVersion(spec, version)).toBe(expected);
  });

  it('explains an unusable spec and matches nothing with it', () => {
    expect(compileVersionSpec('~1')).toMatch(/at least two numeric components/);
    expect(compileVersionSpec('=>1')).toMatch(/not a version condition/);
    expect(satisfiesVersion('~1', '1.0')).toBe(false);
  });
});
