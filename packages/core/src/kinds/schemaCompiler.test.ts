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

  it('compiles schemas with the same $id again without conflict', () => {
    expect(() => {
      compileSchema({ $id: 'https://example.com/x', type: 'object' });
      compileSchema({ $id: 'https://example.com/x', type: 'object', properties: { a: { type: 'string' } } });
    }).not.toThrow();
  });
});
