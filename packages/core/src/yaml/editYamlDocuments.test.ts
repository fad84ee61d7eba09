import { describe, expect, it } from 'vitest';
import { parseYamlFile } from './parseYamlFile.js';
import { replaceYamlDocument, toYamlDocument } from './editYamlDocuments.js';

const values = (text: string): unknown[] => parseYamlFile('f.yaml', new TextEncoder().encode(text)).documents.map((d) => d.value);

describe('replaceYamlDocument', () => {
  const file = '# hosts\n---\n# first\na: 1\n---\n\n---\nb: 2 # keep me\n...\n---\nc: 3\n';

  it('replaces the n-th non-empty document and keeps the rest byte for byte', () => {
    const edited = replaceYamlDocument(file, 1, { b: 20, extra: [1, 2] })!;
    expect(values(edited)).toEqual([{ a: 1 }, { b: 20, extra: [1, 2] }, { c: 3 }]);
    expect(edited).toContain('# first\na: 1\n');
    expect(edited.endsWith('c: 3\n')).toBe(true);
  });

  it('removes a document with its marker, and empties a file of one document', () => {
    expect(values(replaceYamlDocument(file, 0, undefined)!)).toEqual([{ b: 2 }, { c: 3 }]);
    expect(values(replaceYamlDocument(file, 2, undefined)!)).toEqual([{ a: 1 }, { b: 2 }]);
    expect(replaceYamlDocument('a: 1\n', 0, undefined)).toBe('');
    expect(values(replaceYamlDocument('a: 1\n---\nb: 2\n', 0, undefined)!)).toEqual([{ b: 2 }]);
  });

  it('answers undefined for a document the file does not have', () => {
    expect(replaceYamlDocument(file, 3, { x: 1 })).toBeUndefined();
    expect(replaceYamlDocument('# only a comment\n', 0, { x: 1 })).toBeUndefined();
  });

  it('renders values so that they read back the same', () => {
    const value = { kind: 'Host', metadata: { name: 'web-01', labels: { env: 'prod' } }, spec: { note: 'a: b # not a comment', long: 'x'.repeat(200), n: '007' } };
    expect(values(toYamlDocument(value))).toEqual([value]);
  });
});
