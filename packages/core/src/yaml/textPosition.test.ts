import { describe, expect, it } from 'vitest';
import { positionAt } from './textPosition.js';

describe('positionAt', () => {
  it.each([
    ['', 0, 1, 1],
    ['abc', 0, 1, 1],
    ['abc', 2, 1, 3],
    ['ab\ncd', 3, 2, 1],
    ['ab\ncd', 4, 2, 2],
    ['ab\r\ncd', 5, 2, 2],
    ['a\n\n\nb', 4, 4, 1],
    ['ab', 10, 1, 3],
  ])('positionAt(%j, %i) is %i:%i', (text, offset, line, col) => {
    expect(positionAt(text, offset)).toEqual({ line, col });
  });
});
