import { describe, expect, it } from 'vitest';
import { fieldPath, formatValue } from './fieldChanges';

describe('fieldPath', () => {
  it('reads JSON pointers as field paths', () => {
    expect(fieldPath('/spec/packages/0/version')).toBe('spec.packages[0].version');
    expect(fieldPath('/metadata/labels/app.kubernetes.io~1name')).toBe('metadata.labels["app.kubernetes.io/name"]');
    expect(fieldPath('/spec/a~0b')).toBe('spec["a~b"]');
    expect(fieldPath('')).toBe('(the whole document)');
  });

  it('formats values on one line and cuts long ones', () => {
    expect(formatValue('debian-12')).toBe('debian-12');
    expect(formatValue({ a: [1] })).toBe('{"a":[1]}');
    expect(formatValue(undefined)).toBe('');
    expect(formatValue('x'.repeat(200), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});
