import { describe, expect, it } from 'vitest';
import { hasErrorCode } from '../errors.js';
import { mergeConfig } from './mergeConfig.js';

const BASE = 'config/app/base.yaml';
const PROD = 'config/app/prod.yaml';
const EU = 'config/app/prod/eu-1.yaml';

describe('mergeConfig', () => {
  it('merges maps deeply and records the file of each leaf', () => {
    const merged = mergeConfig([
      { path: BASE, value: { http: { port: 80, tls: { enabled: false, ciphers: ['a'] } }, name: 'shop' } },
      { path: PROD, value: { http: { tls: { enabled: true } } } },
      { path: EU, value: { http: { port: 8443 } } },
    ]);
    expect(merged.values).toEqual({ http: { port: 8443, tls: { enabled: true, ciphers: ['a'] } }, name: 'shop' });
    expect(merged.sources).toEqual({
      '/http/port': EU,
      '/http/tls/ciphers': BASE,
      '/http/tls/enabled': PROD,
      '/name': BASE,
    });
  });

  it('replaces lists instead of merging them, and keeps nulls inside lists', () => {
    const merged = mergeConfig([
      { path: BASE, value: { hosts: ['a', 'b', 'c'], pairs: [{ x: 1 }] } },
      { path: PROD, value: { hosts: ['z', null], pairs: [{ y: 2 }] } },
    ]);
    expect(merged.values).toEqual({ hosts: ['z', null], pairs: [{ y: 2 }] });
    expect(merged.sources).toEqual({ '/hosts': PROD, '/pairs': PROD });
  });

  it('deletes a key set to null, at any depth, with everything under it', () => {
    const merged = mergeConfig([
      { path: BASE, value: { a: { b: { c: 1, d: 2 }, e: 3 }, f: { g: 1 }, keep: true } },
      { path: PROD, value: { a: { b: { c: null } }, f: null, nothing: null, deep: { x: null } } },
    ]);
    expect(merged.values).toEqual({ a: { b: { d: 2 }, e: 3 }, keep: true, deep: {} });
    expect(merged.sources).toEqual({ '/a/b/d': BASE, '/a/e': BASE, '/keep': BASE, '/deep': PROD });
  });

  it('lets a higher layer set again what a middle layer deleted', () => {
    const merged = mergeConfig([
      { path: BASE, value: { a: { b: 1, c: 2 } } },
      { path: PROD, value: { a: null } },
      { path: EU, value: { a: { c: 5 } } },
    ]);
    expect(merged.values).toEqual({ a: { c: 5 } });
    expect(merged.sources).toEqual({ '/a/c': EU });
  });

  it('replaces a map by a scalar and a scalar by a map', () => {
    const merged = mergeConfig([
      { path: BASE, value: { a: { b: 1 }, c: 'text' } },
      { path: PROD, value: { a: 7, c: { d: { e: null, f: 'x' } } } },
    ]);
    expect(merged.values).toEqual({ a: 7, c: { d: { f: 'x' } } });
    expect(merged.sources).toEqual({ '/a': PROD, '/c/d/f': PROD });
  });

  it('escapes keys in source pointers (RFC 6901)', () => {
    expect(mergeConfig([{ path: BASE, value: { 'a/b': { 'c~d': 1 } } }]).sources).toEqual({ '/a~1b/c~0d': BASE });
  });

  it('does not modify its layers', () => {
    const base = { a: { b: 1 } };
    mergeConfig([{ path: BASE, value: base }, { path: PROD, value: { a: { b: null, c: 2 } } }]);
    expect(base).toEqual({ a: { b: 1 } });
  });

  it('refuses a layer whose top level is not a map', () => {
    let error: unknown;
    try {
      mergeConfig([{ path: BASE, value: { a: 1 } }, { path: PROD, value: ['a'] }]);
    } catch (e) {
      error = e;
    }
    expect(hasErrorCode(error, 'E_CONFIG_LAYOUT')).toBe(true);
    expect((error as Error).message).toBe(`config file '${PROD}' must hold a map at its top level (got ["a"])`);
  });

  it('merges no layers into an empty config', () => {
    expect(mergeConfig([])).toEqual({ values: {}, sources: {} });
  });
});
