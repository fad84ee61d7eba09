import { describe, expect, it } from 'vitest';
import { compileSchema } from './schemaCompiler.js';

describe('compileSchema', () => {
  it('checks format ip as IPv4 or IPv6', () => {
    const validate = compileSchema({ type: 'string', format: 'ip' });
    for (const ok of ['10.0.1.11', '2001:db8::1', '::', '::ffff:10.0.0.1']) expect(validate(ok)).toEqual([]);
    for (const bad of ['10.0.1.999', '1.2.3', 'host', '2001:db8::g']) expect(validate(bad)).toMatchObject([{ keyword: 'format', params: { format: 'ip' } }]);
  });

  it('allows the x-estate keywords and refuses unknown ones', () => {
    expect(() => compileSchema({ type: 'string', 'x-estate-ref': ['Host'], 'x-estate-relation': 'r', 'x-estate-inverse': 'i', 'x-estate-unique': true })).not.toThrow();
    expect(() => compileSchema({ type: 'object', requried: ['a'] })).toThrow('strict mode: unknown keyword: "requried"');
    expect(() => compileSchema({ type: 'object', 'x-estate-refs': 'Host' })).toThrow('unknown keyword: "x-estate-refs"');
  });

  it('reports every error, with the offending data', () => {
    const validate = compileSchema({ type: 'object', properties: { a: { type: 'integer' }, b: { type: 'string' } } });
    expect(validate({ a: 'x', b: 1 })).toMatchObject([
      { instancePath: '/a', keyword: 'type', data: 'x' },
      { instancePath: '/b', keyword: 'type', data: 1 },
    ]);
  });

  it('checks uniqueItems as JSON equality: key order does not matter, item order and types do', () => {
    const validate = compileSchema({ type: 'array', uniqueItems: true });
    expect(validate([{ port: 1, name: 'a' }, { port: 2 }, { name: 'a', port: 1 }])).toMatchObject([
      { instancePath: '', keyword: 'uniqueItems', params: { i: 2, j: 0 } },
    ]);
    expect(validate([1, '1', [1, 2], [2, 1], { a: [1] }, { a: [2] }, null, 'null', true])).toEqual([]);
    expect(compileSchema({ type: 'array', uniqueItems: false })([1, 1])).toEqual([]);
  });

  it('checks uniqueItems of a long list of objects', () => {
    // ajv's own check compares the items pairwise (over a minute for this list); bench/parsers.mjs times it.
    const validate = compileSchema({ type: 'array', uniqueItems: true, items: { type: 'object' } });
    const ports = Array.from({ length: 50_000 }, (_, i) => ({ port: i + 1, protocol: 'tcp' }));
    expect(validate(ports)).toEqual([]);
    expect(validate([...ports, { protocol: 'tcp', port: 7 }])).toMatchObject([{ keyword: 'uniqueItems', params: { i: 50_000, j: 6 } }]);
  });

  it('compiles schemas with the same $id again without conflict', () => {
    expect(() => {
      compileSchema({ $id: 'https://example.com/x', type: 'object' });
      compileSchema({ $id: 'https://example.com/x', type: 'object', properties: { a: { type: 'string' } } });
    }).not.toThrow();
  });
});
