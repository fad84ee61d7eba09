import { describe, expect, it } from 'vitest';
import { childPointer, fieldShape, mergePatch, METADATA_SCHEMA, refKinds, validateValue, withoutUnset, type Schema } from './schemaForm';

const HOST: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['hostname'],
  properties: {
    hostname: { type: 'string', minLength: 1 },
    cpus: { type: 'integer', minimum: 1 },
    memoryGiB: { type: 'number', exclusiveMinimum: 0 },
    virtual: { type: 'boolean' },
    engine: { type: 'string', enum: ['postgresql', 'mysql'] },
    network: { type: 'string', 'x-estate-ref': 'Network' },
    dependsOn: { type: 'array', uniqueItems: true, items: { type: 'string', 'x-estate-ref': ['Service', 'Database'] } },
    packages: { type: 'object', propertyNames: { pattern: '^\\S+$' }, additionalProperties: { type: 'string', minLength: 1 } },
    ports: { type: 'array', items: { type: 'object', required: ['port'], properties: { port: { type: 'integer', maximum: 65535 } } } },
    files: { type: 'array', items: { type: 'object', oneOf: [{ required: ['source'] }, { required: ['content'] }], properties: { path: { type: 'string' } } } },
    settings: { type: 'object' },
    mode: { type: 'string', pattern: '^[0-7]{3,4}$' },
  },
};

describe('fieldShape', () => {
  it('picks a control per schema and YAML for what the form cannot show', () => {
    const props = HOST['properties'] as Record<string, Schema>;
    const shapes = Object.fromEntries(Object.entries(props).map(([key, schema]) => [key, fieldShape(schema)]));
    expect(shapes).toEqual({
      hostname: 'string',
      cpus: 'integer',
      memoryGiB: 'number',
      virtual: 'boolean',
      engine: 'enum',
      network: 'ref',
      dependsOn: 'array',
      packages: 'map',
      ports: 'array',
      files: 'yaml',
      settings: 'yaml',
      mode: 'string',
    });
    expect(fieldShape(HOST)).toBe('object');
    expect(fieldShape({ type: ['string', 'null'] })).toBe('yaml');
    expect(fieldShape({ anyOf: [{ type: 'string' }] })).toBe('yaml');
    expect(fieldShape(METADATA_SCHEMA)).toBe('object');
    expect(refKinds({ type: 'string', 'x-estate-ref': ['Service', 'Database'] })).toEqual(['Service', 'Database']);
  });
});

describe('validateValue', () => {
  const errors = (value: unknown): Record<string, string[]> => Object.fromEntries(validateValue(HOST, value, '/spec'));

  it('files each problem under its field, a missing required one under its own pointer', () => {
    expect(errors({ hostname: 'a', cpus: 2 })).toEqual({});
    expect(
      errors({
        cpus: 0,
        memoryGiB: 0,
        virtual: 'yes',
        engine: 'oracle',
        dependsOn: ['service/a', 'service/a'],
        packages: { 'bad key': 'x', nginx: '' },
        ports: [{ port: 70000 }, {}],
        mode: '999',
        colour: 'red',
      }),
    ).toEqual({
      '/spec': ["has a field 'colour' the schema does not allow"],
      '/spec/hostname': ['is required'],
      '/spec/cpus': ['must be at least 1'],
      '/spec/memoryGiB': ['must be more than 0'],
      '/spec/virtual': ['must be a boolean (got string)'],
      '/spec/engine': ['must be one of "postgresql", "mysql"'],
      '/spec/dependsOn/1': ['repeats an earlier item'],
      '/spec/packages/bad key': ["key 'bad key' must match ^\\S+$"],
      '/spec/packages/nginx': ['must not be empty'],
      '/spec/ports/0/port': ['must be at most 65535'],
      '/spec/ports/1/port': ['is required'],
      '/spec/mode': ['must match ^[0-7]{3,4}$'],
    });
  });

  it('says a number field holds text that is not a number', () => {
    expect(errors({ hostname: 'a', cpus: '4x', memoryGiB: 1.5 })).toEqual({ '/spec/cpus': ['must be an integer'] });
    expect(errors({ hostname: 'a', cpus: 1.5 })).toEqual({ '/spec/cpus': ['must be an integer (got number)'] });
  });

  it('checks metadata names and labels', () => {
    expect(Object.fromEntries(validateValue(METADATA_SCHEMA, { name: 'Web_01', labels: { env: 'prod!' } }, '/metadata'))).toEqual({
      '/metadata/name': ['must match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'],
      '/metadata/labels/env': ['must match ^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$'],
    });
  });
});

describe('mergePatch', () => {
  it('sends changed keys, null for removed ones, arrays whole, nothing when equal', () => {
    const before = { metadata: { name: 'a', labels: { env: 'prod', role: 'web' } }, spec: { cpus: 4, ports: [80], os: 'debian' } };
    const after = { metadata: { name: 'a', labels: { env: 'prod' } }, spec: { cpus: 8, ports: [80, 443], os: 'debian', ip: '10.0.0.1' } };
    expect(mergePatch(before, after)).toEqual({ metadata: { labels: { role: null } }, spec: { cpus: 8, ports: [80, 443], ip: '10.0.0.1' } });
    expect(mergePatch(before, structuredClone(before))).toBeUndefined();
    expect(mergePatch({ spec: { a: { b: 1 } } }, { spec: { a: 'flat' } })).toEqual({ spec: { a: 'flat' } });
  });

  it('treats cleared (undefined) fields as removed', () => {
    expect(mergePatch({ spec: { os: 'x', cpus: 1 } }, withoutUnset({ spec: { os: undefined, cpus: 1 } }))).toEqual({ spec: { os: null } });
  });
});

describe('childPointer', () => {
  it('escapes / and ~', () => {
    expect(childPointer('/metadata/labels', 'app.kubernetes.io/name')).toBe('/metadata/labels/app.kubernetes.io~1name');
    expect(childPointer('', 'a~b')).toBe('/a~0b');
  });
});
