import { describe, expect, it } from 'vitest';
import { parseYamlFile } from './parseYamlFile.js';
import { patchYamlDocument, replaceYamlDocument, toYamlDocument } from './editYamlDocuments.js';

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

describe('patchYamlDocument', () => {
  const file = `# web hosts
apiVersion: estate/v1
kind: Host
metadata:
  name: web-01
  labels: {env: prod, role: web}   # flow style stays
spec:
  hostname: "web-01.example.com"
  ip: 10.0.0.1   # the old address
  ports: [80, 443]
  tags:
    - a
    - b
  "8080": http
---
kind: Other
`;
  const before = values(file)[0] as Record<string, unknown>;
  const edit = (after: unknown): string => patchYamlDocument(file, 0, before, after)!;

  it('changes only the lines of the fields that change, keeping comments, styles and the other documents', () => {
    const after = structuredClone(before) as { spec: Record<string, unknown> };
    after.spec.ip = '10.0.0.9';
    const edited = edit(after);
    expect(values(edited)).toEqual([after, { kind: 'Other' }]);
    const changed = edited.split('\n').filter((line) => !file.split('\n').includes(line));
    expect(changed).toEqual([expect.stringMatching(/^ {2}ip: 10\.0\.0\.9/)]);
  });

  it('adds, removes and changes keys and list items, and keys that look like numbers stay keys', () => {
    const after = structuredClone(before) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
    after.metadata.owner = 'team/web';
    delete after.spec.ports;
    after.spec.tags = ['a'];
    after.spec['8080'] = 'https';
    const edited = edit(after);
    expect(values(edited)[0]).toEqual(after);
    expect(edited).toContain('labels: {env: prod, role: web} # flow style stays');
    expect(edited).toContain('# web hosts');
    expect(edited.match(/8080/g)).toHaveLength(1);
  });

  it('renders the document anew when the text is not what `before` says', () => {
    const after = { ...before, kind: 'Host' };
    const edited = patchYamlDocument(file, 0, { something: 'else' }, after)!;
    expect(values(edited)[0]).toEqual(after);
    expect(patchYamlDocument(file, 5, before, after)).toBeUndefined();
  });
});
