import { describe, expect, it } from 'vitest';
import { MemoryParseCache } from './memoryParseCache.js';
import type { ParsedYamlFile } from './yaml/parseYamlFile.js';

const parsed = (n: number): ParsedYamlFile => ({ documents: [], diagnostics: [{ code: 'E_SCHEMA', path: `f${n}`, line: n, col: 1, message: '' }] });

describe('MemoryParseCache', () => {
  it('returns what was stored by blob id', () => {
    const cache = new MemoryParseCache();
    const value = parsed(1);
    cache.set('a', value);
    expect(cache.get('a')).toBe(value);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it('drops the oldest entry past its bound, whether or not it was read', () => {
    const cache = new MemoryParseCache(2);
    cache.set('a', parsed(1));
    cache.set('b', parsed(2));
    cache.get('a');
    cache.set('c', parsed(3));
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toEqual(parsed(2));
    expect(cache.get('c')).toEqual(parsed(3));
    expect(cache.size).toBe(2);
  });

  it('replaces an entry set twice', () => {
    const cache = new MemoryParseCache(2);
    cache.set('a', parsed(1));
    cache.set('a', parsed(2));
    expect(cache.get('a')).toEqual(parsed(2));
    expect(cache.size).toBe(1);
  });
});
