import { describe, expect, it } from 'vitest';
import { findSchemaFields, valuesAt } from './referenceFields.js';

describe('findSchemaFields', () => {
  it('finds references and unique fields through properties, items, maps, tuples, combinators and local $refs', () => {
    const schema = {
      type: 'object',
      $defs: { host: { type: 'string', 'x-estate-ref': 'Host' } },
      properties: {
        primary: { type: 'string', 'x-estate-ref': ['Service', 'Database'], 'x-estate-relation': 'uses', 'x-estate-inverse': 'usedBy' },
        hosts: { type: 'array', items: { $ref: '#/$defs/host' } },
        byZone: { type: 'object', additionalProperties: { $ref: '#/$defs/host' } },
        pair: { type: 'array', prefixItems: [{ $ref: '#/$defs/host' }, { type: 'string', 'x-estate-unique': true }] },
        labelled: { type: 'object', patternProperties: { '^x-': { type: 'string', 'x-estate-ref': 'Team' } } },
        either: { oneOf: [{ type: 'string', 'x-estate-ref': 'Network' }, { type: 'null' }] },
        serial: { type: 'string', 'x-estate-unique': true },
        notUnique: { type: 'string', 'x-estate-unique': 'yes' },
      },
    };
    const fields = findSchemaFields(schema, ['spec']);
    expect(fields.references).toEqual([
      { pattern: ['spec', 'primary'], targets: ['Service', 'Database'], relation: 'uses', inverse: 'usedBy' },
      { pattern: ['spec', 'hosts', '*'], targets: ['Host'], relation: 'hosts', inverse: 'hostsOf' },
      { pattern: ['spec', 'byZone', '*'], targets: ['Host'], relation: 'byZone', inverse: 'byZoneOf' },
      { pattern: ['spec', 'pair', '0'], targets: ['Host'], relation: 'pair', inverse: 'pairOf' },
      { pattern: ['spec', 'labelled', '*'], targets: ['Team'], relation: 'labelled', inverse: 'labelledOf' },
      { pattern: ['spec', 'either'], targets: ['Network'], relation: 'either', inverse: 'eitherOf' },
    ]);
    expect(fields.unique).toEqual([{ pattern: ['spec', 'pair', '1'] }, { pattern: ['spec', 'serial'] }]);
  });

  it('terminates on recursive $refs', () => {
    const schema = { $defs: { node: { type: 'object', properties: { parent: { type: 'string', 'x-estate-ref': 'Host' }, children: { type: 'array', items: { $ref: '#/$defs/node' } } } } }, $ref: '#/$defs/node' };
    const fields = findSchemaFields(schema, ['spec']);
    expect(fields.references[0]).toEqual({ pattern: ['spec', 'parent'], targets: ['Host'], relation: 'parent', inverse: 'parentOf' });
    expect(fields.references.length).toBeGreaterThan(1);
    expect(fields.references.length).toBeLessThan(40);
  });

  it('resolves $refs with escaped segments', () => {
    const schema = { $defs: { 'a/b': { type: 'string', 'x-estate-ref': 'Host' } }, properties: { h: { $ref: '#/$defs/a~1b' } } };
    expect(findSchemaFields(schema, ['spec']).references.map((r) => r.pattern)).toEqual([['spec', 'h']]);
  });
});

describe('valuesAt', () => {
  const doc = { spec: { runsOn: ['host/a', 'host/b'], zones: { eu: 'host/c', us: 'host/d' }, one: 'x', files: [{ path: '/a' }, { mode: '1' }, { path: '/c' }] } };
  const at = (pattern: string[]) => [...valuesAt(doc, pattern)];

  it('yields every value matching a pattern with its concrete path', () => {
    expect(at(['spec', 'runsOn', '*'])).toEqual([
      { path: ['spec', 'runsOn', 0], value: 'host/a' },
      { path: ['spec', 'runsOn', 1], value: 'host/b' },
    ]);
    expect(at(['spec', 'zones', '*'])).toEqual([
      { path: ['spec', 'zones', 'eu'], value: 'host/c' },
      { path: ['spec', 'zones', 'us'], value: 'host/d' },
    ]);
    expect(at(['spec', 'files', '*', 'path'])).toEqual([
      { path: ['spec', 'files', 0, 'path'], value: '/a' },
      { path: ['spec', 'files', 2, 'path'], value: '/c' },
    ]);
    expect(at(['spec', 'runsOn', '1'])).toEqual([{ path: ['spec', 'runsOn', 1], value: 'host/b' }]);
  });

  it('yields nothing where the document does not have the path', () => {
    expect(at(['spec', 'missing', '*'])).toEqual([]);
    expect(at(['spec', 'one', '*'])).toEqual([]);
    expect(at(['spec', 'runsOn', '5'])).toEqual([]);
    expect([...valuesAt({ spec: { toString: 'x' } }, ['spec', 'constructor'])]).toEqual([]);
  });
});
