import { describe, expect, it } from 'vitest';
import { deepEqual, isObject } from './values.js';

describe('isObject', () => {
  it('is true for plain objects only', () => {
    expect([{}, { a: 1 }, [], null, undefined, 'x', 1].map(isObject)).toEqual([true, true, false, false, false, false, false]);
  });
});

describe('deepEqual', () => {
  it.each([
    [1, 1, true],
    ['1', 1, false],
    [null, null, true],
    [null, {}, false],
    [{ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }, true],
    [[1, 2], [2, 1], false],
    [[1], [1, 1], false],
    [{ a: 1 }, { a: 1, b: 1 }, false],
    [{ a: undefined }, { b: undefined }, false],
    [{ a: [{ b: null }] }, { a: [{ b: null }] }, true],
    [[], {}, false],
    [{}, [], false],
  ])('deepEqual(%j, %j) is %s', (a, b, equal) => {
    expect(deepEqual(a, b)).toBe(equal);
    expect(deepEqual(b, a)).toBe(equal);
  });
});
