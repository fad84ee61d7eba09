import { describe, expect, it } from 'vitest';
import { compileSchema } from './schemaCompiler.js';
import { describeValue, displayPath, toSchemaProblems } from './schemaProblems.js';

describe('displayPath', () => {
  it.each([
    [[], ''],
    [['spec'], 'spec'],
    [['spec', 'files', 0, 'mode'], 'spec.files[0].mode'],
    [['spec', 'runsOn', '1'], 'spec.runsOn[1]'],
    [[0, 'a'], '[0].a'],
    [['metadata', 'labels', 'app.kubernetes.io/name'], 'metadata.labels["app.kubernetes.io/name"]'],
    [['metadata', 'labels', 'team-web'], 'metadata.labels.team-web'],
    [['spec', 'packages', 'open ssl'], 'spec.packages["open ssl"]'],
    [['a b'], '["a b"]'],
    [['$ref', '_x'], '$ref._x'],
  ])('%j is %s', (path, text) => {
    expect(displayPath(path)).toBe(text);
  });
});

describe('describeValue', () => {
  it('renders JSON, shortened past 60 characters', () => {
    expect(describeValue('web')).toBe('"web"');
    expect(describeValue(42)).toBe('42');
    expect(describeValue(null)).toBe('null');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue([1, 'a'])).toBe('[1,"a"]');
    expect(describeValue('x'.repeat(100))).toBe(`"${'x'.repeat(56)}...`);
    expect(describeValue('x'.repeat(100))).toHaveLength(60);
  });
});

describe('toSchemaProblems', () => {
  const problems = (schema: Record<string, unknown>, value: unknown) => toSchemaProblems(compileSchema(schema)(value), ['spec']);

  it('turns each ajv error into one located problem', () => {
    const schema = { type: 'object', additionalProperties: false, required: ['a'], properties: { a: { type: 'integer' }, b: { enum: ['x', 'y'] } } };
    expect(problems(schema, { b: 'z', c: 1 })).toEqual([
      { path: ['spec'], target: 'key', message: "spec is missing required field 'a'" },
      { path: ['spec', 'c'], target: 'key', message: "unknown field 'spec.c'; known fields: a, b" },
      { path: ['spec', 'b'], target: 'value', message: 'spec.b must be one of "x", "y" (got "z")' },
    ]);
  });

  it('folds the branch errors of oneOf and anyOf into one problem', () => {
    const schema = { oneOf: [{ type: 'string' }, { type: 'object', required: ['name'], properties: { name: { type: 'string' } } }] };
    expect(problems(schema, 3)).toEqual([{ path: ['spec'], target: 'value', message: 'spec must match exactly one of the allowed forms: must be string; or must be object' }]);
    expect(problems(schema, { name: 1 })).toEqual([{ path: ['spec'], target: 'value', message: 'spec must match exactly one of the allowed forms: must be string; or name must be string' }]);
    expect(problems({ anyOf: [{ type: 'string' }, { type: 'integer' }] }, true)).toEqual([
      { path: ['spec'], target: 'value', message: 'spec must match at least one of the allowed forms: must be string; or must be integer' },
    ]);
  });

  it('reports property names at the key, once', () => {
    expect(problems({ type: 'object', propertyNames: { pattern: '^[a-z]+$', maxLength: 3 } }, { ok: 1, 'Bad!x': 2 })).toEqual([
      { path: ['spec', 'Bad!x'], target: 'key', message: "spec key 'Bad!x' must NOT have more than 3 characters" },
      { path: ['spec', 'Bad!x'], target: 'key', message: `spec key 'Bad!x' must match pattern "^[a-z]+$"` },
    ]);
  });

  it('adds the offending scalar value to other messages', () => {
    expect(problems({ type: 'object', properties: { n: { type: 'integer', maximum: 4 }, l: { type: 'array', maxItems: 1 } } }, { n: 9, l: [1, 2] })).toEqual([
      { path: ['spec', 'n'], target: 'value', message: 'spec.n must be <= 4 (got 9)' },
      { path: ['spec', 'l'], target: 'value', message: 'spec.l must NOT have more than 1 items' },
    ]);
  });
});
