import { describe, expect, it } from 'vitest';
import { lines } from '../testing/memoryEstate.js';
import { locateInDocument } from './locateInDocument.js';
import { parseYamlFile, type YamlDocument } from './parseYamlFile.js';

const documentsOf = (text: string): YamlDocument[] => parseYamlFile('f.yaml', new TextEncoder().encode(text)).documents;

describe('locateInDocument', () => {
  const [host] = documentsOf(
    lines(
      'apiVersion: estate/v1', //  1
      'kind: Host', //             2
      'metadata:', //              3
      '  name: web-01', //         4
      'spec:', //                  5
      '  hostname: web-01', //     6
      '  files:', //               7
      '    - path: /etc/a', //     8
      '      mode: "0644"', //     9
      '    - {path: /etc/b}', //  10
      '  services: [nginx, sshd]', // 11
    ),
  );

  it.each([
    [['metadata', 'name'], 'key', 4, 3],
    [['metadata', 'name'], 'value', 4, 9],
    [['spec', 'files', 0], 'value', 8, 7],
    [['spec', 'files', 0, 'mode'], 'key', 9, 7],
    [['spec', 'files', 0, 'mode'], 'value', 9, 13],
    [['spec', 'files', 1, 'path'], 'value', 10, 14],
    [['spec', 'services', 1], 'value', 11, 21],
    [['spec', 'services', '1'], 'value', 11, 21],
    [[], 'value', 1, 1],
  ] as const)('finds %j (%s) at %i:%i', (path, target, line, col) => {
    expect(locateInDocument(host!, path, target)).toEqual({ line, col });
  });

  it('resolves a path beyond the document to the deepest existing key', () => {
    expect(locateInDocument(host!, ['spec', 'ip'], 'key')).toEqual({ line: 5, col: 1 });
    expect(locateInDocument(host!, ['spec', 'files', 0, 'owner'], 'key')).toEqual({ line: 8, col: 7 });
    // No item 7: the list itself, which starts at its first `-`.
    expect(locateInDocument(host!, ['spec', 'files', 7, 'path'], 'value')).toEqual({ line: 8, col: 5 });
    expect(locateInDocument(host!, ['status'], 'key')).toEqual({ line: 1, col: 1 });
  });

  it('points just after the colon when a map entry has no value', () => {
    const [doc] = documentsOf(lines('a:', 'b: 1'));
    expect(locateInDocument(doc!, ['a'], 'value')).toEqual({ line: 1, col: 3 });
    expect(locateInDocument(doc!, ['a'], 'key')).toEqual({ line: 1, col: 1 });
  });

  it('gives file positions for later documents, also when the node starts on the --- line', () => {
    const docs = documentsOf(lines('a: 1', '---', '# comment', 'b:', '  c: 2', '--- {d: {e: 1}}', '--- &x', 'f: 1'));
    expect(docs.map((d) => d.line)).toEqual([1, 2, 6, 7]);
    expect(locateInDocument(docs[1]!, ['b', 'c'], 'value')).toEqual({ line: 5, col: 6 });
    expect(locateInDocument(docs[1]!, [], 'value')).toEqual({ line: 4, col: 1 });
    expect(locateInDocument(docs[2]!, ['d', 'e'], 'key')).toEqual({ line: 6, col: 10 });
    expect(locateInDocument(docs[3]!, ['f'], 'value')).toEqual({ line: 8, col: 4 });
  });

  it('counts columns the same in CRLF files', () => {
    const docs = documentsOf(lines('a: 1', '---', 'b:', '  c: 2').replace(/\n/g, '\r\n'));
    expect(locateInDocument(docs[1]!, ['b', 'c'], 'key')).toEqual({ line: 4, col: 3 });
    expect(locateInDocument(docs[1]!, ['b', 'c'], 'value')).toEqual({ line: 4, col: 6 });
  });

  it('matches numeric and boolean keys by their text', () => {
    const [doc] = documentsOf(lines('ports:', '  80: http', '  true: x'));
    expect(locateInDocument(doc!, ['ports', '80'], 'value')).toEqual({ line: 2, col: 7 });
    expect(locateInDocument(doc!, ['ports', 'true'], 'key')).toEqual({ line: 3, col: 3 });
  });
});
