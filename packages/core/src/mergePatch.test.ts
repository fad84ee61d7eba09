import { describe, expect, it } from 'vitest';
import { applyMergePatch } from './mergePatch.js';

describe('applyMergePatch', () => {
  // RFC 7396 Appendix A, every example in order.
  it.each([
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])('RFC 7396 Appendix A: %j patched with %j is %j', (target, patch, expected) => {
    expect(applyMergePatch(target, patch)).toEqual(expected);
  });

  it('does not change its inputs and shares no objects with them', () => {
    const target = { metadata: { labels: { env: 'prod', role: 'web' } }, spec: { ports: [80, 443], ip: '10.0.0.1' } };
    const patch = { metadata: { labels: { role: null, tier: 'front' } }, spec: { ports: [8080], extra: { a: [1] } } };
    const targetCopy = structuredClone(target);
    const patchCopy = structuredClone(patch);
    const result = applyMergePatch(target, patch) as typeof target & { spec: { extra: { a: number[] } } };
    expect(result).toEqual({ metadata: { labels: { env: 'prod', tier: 'front' } }, spec: { ports: [8080], ip: '10.0.0.1', extra: { a: [1] } } });
    expect(target).toEqual(targetCopy);
    expect(patch).toEqual(patchCopy);
    result.spec.extra.a.push(2);
    result.metadata.labels.env = 'dev';
    expect(patch.spec.extra.a).toEqual([1]);
    expect(target.metadata.labels.env).toBe('prod');
  });

  it('deleting a member that is not there is a no-op', () => {
    expect(applyMergePatch({ a: 1 }, { b: null })).toEqual({ a: 1 });
  });

  it('treats a __proto__ key as a plain member', () => {
    const patch = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as unknown;
    const result = applyMergePatch({}, patch) as Record<string, unknown>;
    expect(Object.keys(result)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
