import { describe, expect, it } from 'vitest';
import { parsePointer, toPointer } from './jsonPointer.js';

describe('toPointer / parsePointer (RFC 6901)', () => {
  it.each([
    [[], ''],
    [['spec'], '/spec'],
    [['spec', 'runsOn', 0], '/spec/runsOn/0'],
    [['metadata', 'labels', 'app.kubernetes.io/name'], '/metadata/labels/app.kubernetes.io~1name'],
    [['a~b'], '/a~0b'],
    [['~1'], '/~01'],
    [['/~'], '/~1~0'],
    [[''], '/'],
    [['', ''], '//'],
    [['a b', 'é'], '/a b/é'],
  ])('%j <-> %j', (segments, pointer) => {
    expect(toPointer(segments)).toBe(pointer);
    expect(parsePointer(pointer)).toEqual(segments.map(String));
  });

  it('round-trips any segments', () => {
    const segments = ['~', '/', '~/', '/~', '~~//', '~0', '~1', 'x'];
    expect(parsePointer(toPointer(segments))).toEqual(segments);
  });

  it('refuses a pointer that does not start with /', () => {
    expect(() => parsePointer('spec/a')).toThrow("invalid JSON pointer 'spec/a'");
  });
});
