import { describe, expect, it } from 'vitest';
import { DEFAULT_PARSE_LIMITS, type ParseLimits } from '../limits.js';
import { diag, lines } from '../testing/memoryEstate.js';
import { parseYamlFile } from './parseYamlFile.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const parse = (text: string | Uint8Array, limits?: Partial<ParseLimits>) =>
  parseYamlFile('f.yaml', typeof text === 'string' ? utf8(text) : text, { ...DEFAULT_PARSE_LIMITS, ...limits });
const values = (text: string | Uint8Array) => parse(text).documents.map((d) => d.value);
const crlf = (text: string): string => text.replace(/\n/g, '\r\n');

/** `n` nested flow sequences, with `inner` in the innermost one. */
const flowSeq = (n: number, inner = ''): string => '['.repeat(n) + inner + ']'.repeat(n);
/** `n` nested flow mappings `{a: {a: ... inner}}`. */
const flowMap = (n: number, inner = '1'): string => '{a: '.repeat(n) + inner + '}'.repeat(n);
/** `n` nested block mappings, each one level deeper, the last holding a scalar. */
const blockMap = (n: number): string => Array.from({ length: n }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + `\n${' '.repeat(n)}v\n`;
/** `n` nested block sequences, the last holding a scalar. */
const blockSeq = (n: number): string => Array.from({ length: n }, (_, i) => `${' '.repeat(2 * i)}-`).join('\n') + `\n${' '.repeat(2 * n)}x\n`;

describe('parseYamlFile: documents', () => {
  it('reads one document as plain JSON data with the YAML 1.2 core schema', () => {
    const { documents, diagnostics } = parse(lines('a: 1', 'on: yes', 'date: 2024-01-01', 'mode: 0644', 'none: ~', 'list: [x, "y"]'));
    expect(diagnostics).toEqual([]);
    expect(documents).toHaveLength(1);
    expect(documents[0]).toMatchObject({ index: 0, line: 1 });
    // `yes` and dates stay strings (no YAML 1.1 booleans or timestamps); 0644 is decimal 644.
    expect(documents[0]!.value).toEqual({ a: 1, on: 'yes', date: '2024-01-01', mode: 644, none: null, list: ['x', 'y'] });
  });

  it('splits documents at --- lines and gives each its first line in the file', () => {
    const { documents } = parse(lines('a: 1', '---', 'b: 2', 'c: 3', '---', '', 'd: 4'));
    expect(documents.map((d) => [d.index, d.line, d.value])).toEqual([
      [0, 1, { a: 1 }],
      [1, 2, { b: 2, c: 3 }],
      [2, 5, { d: 4 }],
    ]);
  });

  it('accepts ... end markers, with or without a following ---', () => {
    const { documents, diagnostics } = parse(lines('a: 1', '...', '---', 'b: 2', '...', 'c: 3', '...'));
    expect(diagnostics).toEqual([]);
    expect(documents.map((d) => [d.line, d.value])).toEqual([
      [1, { a: 1 }],
      [3, { b: 2 }],
      [5, { c: 3 }],
    ]);
  });

  it('reads content on the --- line itself', () => {
    const { documents, diagnostics } = parse(lines('--- {a: 1}', '--- [x, y]', '--- |', '  text', '--- # a comment', 'plain: map'));
    expect(diagnostics).toEqual([]);
    expect(documents.map((d) => [d.line, d.value])).toEqual([
      [1, { a: 1 }],
      [2, ['x', 'y']],
      [3, 'text\n'],
      [5, { plain: 'map' }],
    ]);
  });

  it('reads node properties and block scalars that start on the --- line', () => {
    const { documents, diagnostics } = parse(lines('--- &base', 'a: 1', 'b: [x]', '--- !!map', 'c: 2', '--- >-', '  folded', '  text'));
    expect(diagnostics).toEqual([]);
    expect(documents.map((d) => [d.line, d.value])).toEqual([
      [1, { a: 1, b: ['x'] }],
      [4, { c: 2 }],
      [6, 'folded text'],
    ]);
  });

  it('locates errors of a document whose node starts on the --- line', () => {
    expect(parse(lines('a: 1', '--- &base', 'b: 1', 'b: 2')).diagnostics).toMatchObject([diag('E_YAML_DUPLICATE_KEY', 'f.yaml', 4, 1, "duplicate key 'b'")]);
    expect(parse(lines('a: 1', '--- {b: {constructor: 1}}')).diagnostics).toMatchObject([diag('E_YAML_UNSAFE', 'f.yaml', 2, 10, "key 'constructor'")]);
  });

  it('drops a leading comment-only chunk, directives and empty documents, and numbers the rest', () => {
    const { documents, diagnostics } = parse(lines('# Hosts of the web tier', '# (generated)', '%YAML 1.2', '---', 'a: 1', '---', '---', '# nothing', '---', 'b: 2'));
    expect(diagnostics).toEqual([]);
    expect(documents.map((d) => [d.index, d.line, d.value])).toEqual([
      [0, 4, { a: 1 }],
      [1, 9, { b: 2 }],
    ]);
  });

  it('does not split at --- inside an indented block scalar', () => {
    const { documents } = parse(lines('content: |', '  a', '  ---', '  b'));
    expect(documents.map((d) => d.value)).toEqual([{ content: 'a\n---\nb\n' }]);
  });

  it('keeps columns of a document whose --- marker was blanked', () => {
    const { documents } = parse(lines('a: 1', '---', 'b: 2'));
    // The marker is replaced by spaces so the source's columns and lines are those of the file.
    expect(documents[1]!.source.split('\n')[0]).toBe('   ');
  });

  it('reads a file with nothing in it as no documents', () => {
    expect(parse('')).toEqual({ documents: [], diagnostics: [] });
    expect(parse(lines('# only a comment', '---', '...'))).toEqual({ documents: [], diagnostics: [] });
  });

  it('ignores a UTF-8 byte order mark, also before a --- marker, and keeps columns', () => {
    expect(values('\uFEFFa: 1\n')).toEqual([{ a: 1 }]);
    expect(values('\uFEFF---\na: 1\n---\nb: 2\n')).toEqual([{ a: 1 }, { b: 2 }]);
    // The BOM is not a column: `[` is at 1:4 and the error at the end of line 1.
    expect(parse('\uFEFFa: [1,\n').diagnostics).toMatchObject([diag('E_YAML_SYNTAX', 'f.yaml', 2, 1, 'unexpected end of the stream')]);
    expect(parse('\uFEFFa: 1\na: 2\n').diagnostics).toMatchObject([diag('E_YAML_DUPLICATE_KEY', 'f.yaml', 2, 1, "duplicate key 'a'")]);
  });

  it('reads CRLF files like LF files: same values, lines and columns', () => {
    const text = lines('a: 1', 'b: "two"', '---', 'c:', '  - x', '...', '--- {d: 1}');
    expect(values(crlf(text))).toEqual(values(text));
    expect(values(crlf(text))).toEqual([{ a: 1, b: 'two' }, { c: ['x'] }, { d: 1 }]);
    expect(parse(crlf(text)).documents.map((d) => d.line)).toEqual([1, 3, 7]);
    const bad = lines('ok: 1', '---', 'x:', '  y: 1', '  y: 2', '---', 'z: [1,', '---', 'w: {a: 1, __proto__: 2}');
    const expected = [
      diag('E_YAML_DUPLICATE_KEY', 'f.yaml', 5, 3, "duplicate key 'y'"),
      diag('E_YAML_SYNTAX', 'f.yaml', 8, 1, 'end of the stream'),
      diag('E_YAML_UNSAFE', 'f.yaml', 9, 11, "key '__proto__' is not allowed"),
    ];
    expect(parse(bad).diagnostics).toMatchObject(expected);
    expect(parse(crlf(bad)).diagnostics).toMatchObject(expected);
  });
});

describe('parseYamlFile: E_YAML_SYNTAX', () => {
  it('reports an unclosed flow collection at the end of the stream', () => {
    expect(parse(lines('a: [1,')).diagnostics).toMatchObject([diag('E_YAML_SYNTAX', 'f.yaml', 2, 1, 'unexpected end of the stream within a flow collection')]);
  });

  it('reports bad indentation where it is', () => {
    expect(parse(lines('a: b: c')).diagnostics).toMatchObject([diag('E_YAML_SYNTAX', 'f.yaml', 1, 5, 'bad indentation of a mapping entry')]);
  });

  it('reports a tab used for indentation', () => {
    expect(parse(lines('a:', '\tb: 1')).diagnostics).toMatchObject([diag('E_YAML_SYNTAX', 'f.yaml', 2, 1, 'tab characters must not be used in indentation')]);
  });

  it('reports an unterminated quoted scalar', () => {
    expect(parse(lines('a: "open')).diagnostics).toMatchObject([diag('E_YAML_SYNTAX', 'f.yaml', 2, 1, 'double quoted scalar')]);
  });

  it('reports errors of later documents at their file line and keeps the good documents', () => {
    const result = parse(lines('a: 1', '---', 'b: 2', '---', 'c: 3', 'd: : 4', '---', 'e: 5'));
    expect(result.diagnostics).toMatchObject([diag('E_YAML_SYNTAX', 'f.yaml', 6, 4, '')]);
    expect(result.documents.map((d) => d.value)).toEqual([{ a: 1 }, { b: 2 }, { e: 5 }]);
    // Indexes count the documents returned, so they stay dense.
    expect(result.documents.map((d) => d.index)).toEqual([0, 1, 2]);
  });
});

describe('parseYamlFile: E_YAML_DUPLICATE_KEY', () => {
  it('points at the repeated top-level key and names it', () => {
    expect(parse(lines('a: 1', 'b: 2', 'a: 3')).diagnostics).toMatchObject([diag('E_YAML_DUPLICATE_KEY', 'f.yaml', 3, 1, "duplicate key 'a' in mapping")]);
  });

  it('points at a repeated nested key', () => {
    expect(parse(lines('spec:', '  files:', '    - path: /a', '      mode: "0644"', '      path: /b')).diagnostics).toMatchObject([
      diag('E_YAML_DUPLICATE_KEY', 'f.yaml', 5, 7, "duplicate key 'path'"),
    ]);
  });

  it('points at a repeated key of a flow mapping', () => {
    expect(parse(lines('m: {x: 1, y: 2, x: 3}')).diagnostics).toMatchObject([diag('E_YAML_DUPLICATE_KEY', 'f.yaml', 1, 17, "duplicate key 'x'")]);
  });

  it('names quoted keys as written', () => {
    expect(parse(lines('"a b": 1', '"a b": 2')).diagnostics).toMatchObject([diag('E_YAML_DUPLICATE_KEY', 'f.yaml', 2, 1, 'duplicate key "a b" in mapping')]);
    expect(parse(lines('a:b: 1', 'a:b: 2')).diagnostics).toMatchObject([diag('E_YAML_DUPLICATE_KEY', 'f.yaml', 2, 1, "duplicate key 'a:b' in mapping")]);
  });

  it('still reports a duplicate of a complex key, without naming it', () => {
    expect(parse(lines('? a', ': 1', '? a', ': 2')).diagnostics).toMatchObject([diag('E_YAML_DUPLICATE_KEY', 'f.yaml', 3, 2, 'duplicate key in mapping')]);
  });

  it('reports a duplicate in a later document at its file line', () => {
    expect(parse(lines('a: 1', '---', 'b: 1', '---', 'c: 1', 'c: 2')).diagnostics).toMatchObject([diag('E_YAML_DUPLICATE_KEY', 'f.yaml', 6, 1, "duplicate key 'c'")]);
  });

  it('reports a syntax error or deep nesting after a duplicate key, instead of throwing', () => {
    expect(parse(lines('kind: Host', 'kind: Host', 'metadata: {name: a')).diagnostics).toMatchObject([
      diag('E_YAML_DUPLICATE_KEY', 'f.yaml', 2, 1, "duplicate key 'kind'"),
      diag('E_YAML_SYNTAX', 'f.yaml', 4, 1, 'unexpected end of the stream within a flow collection'),
    ]);
    expect(parse(lines('a: 1', 'a: 2', 'b: !custom x')).diagnostics).toMatchObject([
      diag('E_YAML_DUPLICATE_KEY', 'f.yaml', 2, 1, "duplicate key 'a'"),
      diag('E_YAML_SYNTAX', 'f.yaml', 3, 13, 'unknown tag'),
    ]);
    expect(parse(lines('a: 1', 'a: 2', `b: ${'['.repeat(500_000)}`)).diagnostics).toMatchObject([
      diag('E_YAML_DUPLICATE_KEY', 'f.yaml', 2, 1, "duplicate key 'a'"),
      diag('E_YAML_UNSAFE', 'f.yaml', 3, 69, 'deeper than 64 levels'),
    ]);
  });

  it('compares keys as strings, as the loader does, and reports every repeat', () => {
    expect(parse(lines('p:', '  1: x', '  "1": y', '  2: a', '  2: b')).diagnostics).toMatchObject([
      diag('E_YAML_DUPLICATE_KEY', 'f.yaml', 3, 3, 'duplicate key "1"'),
      diag('E_YAML_DUPLICATE_KEY', 'f.yaml', 5, 3, "duplicate key '2'"),
    ]);
  });

  it('reports repeats in the order the loader meets them: inner mappings first', () => {
    expect(parse(lines('a: {x: 1, x: 2}', 'a: 3')).diagnostics).toMatchObject([
      diag('E_YAML_DUPLICATE_KEY', 'f.yaml', 1, 11, "duplicate key 'x'"),
      diag('E_YAML_DUPLICATE_KEY', 'f.yaml', 2, 1, "duplicate key 'a'"),
    ]);
  });

  it('finds the other duplicates of a large mapping', () => {
    // The yaml package's own check is quadratic; bench/parsers.mjs times this mapping.
    const keys = Array.from({ length: 20_000 }, (_, i) => `k${i}: v`);
    expect(parse(lines('a: 1', 'a: 2', ...keys, 'k7: w')).diagnostics).toMatchObject([
      diag('E_YAML_DUPLICATE_KEY', 'f.yaml', 2, 1, "duplicate key 'a'"),
      diag('E_YAML_DUPLICATE_KEY', 'f.yaml', 20_003, 1, "duplicate key 'k7'"),
    ]);
  });
});

describe('parseYamlFile: E_YAML_UNSAFE', () => {
  const billionLaughs = (): string => {
    const out = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      out.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    return lines(...out);
  };

  it('refuses a billion-laughs alias bomb at the node that crosses the limit', () => {
    const result = parse(billionLaughs());
    // a: 10 nodes, b: 91, c: 820, d: 7,381, e: 66,430, f: 597,871 > 100,000.
    expect(result.diagnostics).toMatchObject([diag('E_YAML_UNSAFE', 'f.yaml', 6, 1, 'expands to more than 100000 nodes', 'alias')]);
    expect(result.documents).toEqual([]);
  });

  it('counts nodes as expanded, against a small limit', () => {
    expect(parse(lines('a: &a [1, 2, 3]', 'b: [*a, *a]'), { maxExpandedNodes: 10 }).diagnostics).toMatchObject([
      diag('E_YAML_UNSAFE', 'f.yaml', 1, 1, 'expands to more than 10 nodes'),
    ]);
    // The same document without sharing is as big, and is refused too.
    expect(parse(lines('a: [1, 2, 3]', 'b: [[1, 2, 3], [1, 2, 3]]'), { maxExpandedNodes: 10 }).diagnostics).toMatchObject([
      diag('E_YAML_UNSAFE', 'f.yaml', 1, 1, 'expands to more than 10 nodes'),
    ]);
    expect(parse(lines('a: &a [1, 2]', 'b: [*a]'), { maxExpandedNodes: 10 }).diagnostics).toEqual([]);
  });

  it('accepts ordinary anchors and aliases', () => {
    expect(values(lines('base: &base {os: debian-12, cpus: 2}', 'web: *base'))).toEqual([{ base: { os: 'debian-12', cpus: 2 }, web: { os: 'debian-12', cpus: 2 } }]);
  });

  it('refuses a recursive alias in a sequence, pointing at the alias', () => {
    expect(parse(lines('a: &a [1, *a]')).diagnostics).toMatchObject([diag('E_YAML_UNSAFE', 'f.yaml', 1, 11, 'recursive alias at /a/1')]);
  });

  it('refuses a recursive alias in a block mapping', () => {
    expect(parse(lines('root: &r', '  name: x', '  self: *r')).diagnostics).toMatchObject([diag('E_YAML_UNSAFE', 'f.yaml', 3, 3, 'recursive alias at /root/self')]);
  });

  describe.each([
    ['flow sequences', (n: number) => flowSeq(n), [1, 65]],
    ['flow sequences holding a scalar', (n: number) => flowSeq(n, '1'), [1, 66]],
    ['flow mappings', (n: number) => flowMap(n), [1, 258]],
    ['block mappings', blockMap, [66, 66]],
    ['block sequences', blockSeq, [66, 131]],
  ] as const)('nesting of %s', (_, build, [line, col]) => {
    it('accepts 64 levels', () => {
      expect(parse(build(64)).diagnostics).toEqual([]);
    });

    it('refuses 65 levels, with the limit in the message', () => {
      expect(parse(build(65)).diagnostics).toMatchObject([diag('E_YAML_UNSAFE', 'f.yaml', line, col, 'nesting is deeper than 64 levels')]);
    });
  });

  it('refuses 65 nested empty block mappings (no scalar leaf), at the key holding the 65th', () => {
    const text = Array.from({ length: 65 }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + '\n';
    expect(parse(text).diagnostics).toMatchObject([diag('E_YAML_UNSAFE', 'f.yaml', 64, 64, 'nesting is deeper than 64 levels')]);
  });

  it('refuses very deep nesting without a stack overflow', () => {
    expect(parse(flowSeq(100_000)).diagnostics).toMatchObject([diag('E_YAML_UNSAFE', 'f.yaml', 1, 66, 'nesting is deeper than 64 levels')]);
  });

  it('applies a smaller depth limit', () => {
    expect(parse('{a: {b: {c: 1}}}', { maxDepth: 3 }).diagnostics).toEqual([]);
    expect(parse('{a: {b: {c: {d: 1}}}}', { maxDepth: 3 }).diagnostics).toMatchObject([diag('E_YAML_UNSAFE', 'f.yaml', 1, 14, 'deeper than 3 levels')]);
    expect(parse(lines('a:', '  b:', '    c: []', '    d:', '      - []'), { maxDepth: 3 }).diagnostics).toMatchObject([
      diag('E_YAML_UNSAFE', 'f.yaml', 5, 9, 'deeper than 3 levels'),
    ]);
  });

  it.each(['__proto__', 'constructor', 'prototype'])('refuses the key %s at any depth, pointing at the key', (key) => {
    expect(parse(lines(`${key}: 1`)).diagnostics).toMatchObject([diag('E_YAML_UNSAFE', 'f.yaml', 1, 1, `key '${key}' is not allowed`)]);
    expect(parse(lines('spec:', '  packages:', `    ${key}: {polluted: true}`)).diagnostics).toMatchObject([
      diag('E_YAML_UNSAFE', 'f.yaml', 3, 5, `key '${key}' is not allowed`),
    ]);
    expect(parse(lines('spec:', '  files:', '    - path: /a', `      "${key}": x`)).diagnostics).toMatchObject([
      diag('E_YAML_UNSAFE', 'f.yaml', 4, 7, `key '${key}' is not allowed`),
    ]);
    expect(parse(lines(`m: {a: 1, ${key}: 2}`)).diagnostics).toMatchObject([diag('E_YAML_UNSAFE', 'f.yaml', 1, 11, `key '${key}' is not allowed`)]);
  });

  it('does not pollute Object.prototype while refusing __proto__', () => {
    parse(lines('__proto__: {polluted: yes}', 'x: {__proto__: {polluted: yes}}'));
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('allows those words as values and inside longer keys', () => {
    expect(values(lines('name: __proto__', 'constructorName: x', 'list: [prototype]'))).toEqual([{ name: '__proto__', constructorName: 'x', list: ['prototype'] }]);
  });

  it('drops only the unsafe document', () => {
    const result = parse(lines('a: 1', '---', 'b: {constructor: 1}', '---', 'c: 1'));
    expect(result.diagnostics).toMatchObject([diag('E_YAML_UNSAFE', 'f.yaml', 3, 5, "key 'constructor'")]);
    expect(result.documents.map((d) => d.value)).toEqual([{ a: 1 }, { c: 1 }]);
  });
});

describe('parseYamlFile: E_TOO_LARGE', () => {
  it('refuses a file over 4 MiB without parsing it', () => {
    // Parsed, these bytes would nest far deeper than 64 levels: only the size is reported.
    const bytes = new Uint8Array(4 * 1024 * 1024 + 1).fill(0x5b);
    const result = parseYamlFile('f.yaml', bytes);
    expect(result.diagnostics).toMatchObject([diag('E_TOO_LARGE', 'f.yaml', 1, 1, 'file is 4194305 bytes', 'limit is 4194304 bytes')]);
    expect(result.documents).toEqual([]);
  });

  it('refuses a document over 1 MiB in a smaller file, at its first line, and keeps the others', () => {
    const big = `big: "${'x'.repeat(1024 * 1024)}"`;
    const text = lines('a: 1', '---', big, '---', 'c: 3');
    const result = parseYamlFile('f.yaml', utf8(text));
    expect(utf8(text).length).toBeLessThan(4 * 1024 * 1024);
    // The document is its blanked `---` line (4 bytes with the newline) and `big: "…"` (7 + 1 MiB).
    expect(result.diagnostics).toMatchObject([diag('E_TOO_LARGE', 'f.yaml', 2, 1, `YAML document is ${1024 * 1024 + 11} bytes`, 'limit is 1048576 bytes')]);
    expect(result.documents.map((d) => d.value)).toEqual([{ a: 1 }, { c: 3 }]);
  });

  it('applies small limits, at the boundary', () => {
    const text = lines('a: 1', 'b: 2'); // 10 bytes
    expect(parse(text, { maxFileBytes: 10 }).diagnostics).toEqual([]);
    expect(parse(text, { maxFileBytes: 9 }).diagnostics).toMatchObject([diag('E_TOO_LARGE', 'f.yaml', 1, 1, 'file is 10 bytes; the limit is 9 bytes')]);
    expect(parse(text, { maxDocumentBytes: 10 }).diagnostics).toEqual([]);
    expect(parse(text, { maxDocumentBytes: 9 }).diagnostics).toMatchObject([diag('E_TOO_LARGE', 'f.yaml', 1, 1, 'YAML document is 10 bytes; the limit is 9 bytes')]);
  });

  it('measures documents in UTF-8 bytes, not characters', () => {
    // "é: é" is 4 characters and 6 bytes; the trailing newline makes 7.
    expect(parse('é: é\n', { maxDocumentBytes: 6 }).diagnostics).toMatchObject([diag('E_TOO_LARGE', 'f.yaml', 1, 1, 'YAML document is 7 bytes')]);
    expect(parse('é: é\n', { maxDocumentBytes: 7 }).diagnostics).toEqual([]);
  });
});

describe('parseYamlFile: E_ENCODING', () => {
  it('reports invalid UTF-8 at its line and character column, with the byte and offset', () => {
    // Line 2 is `b: é` then 0xff: é is one column and two bytes, so the byte offset is 10.
    const bytes = Uint8Array.from([...utf8('a: 1\nb: é'), 0xff, 0x0a]);
    expect(parseYamlFile('f.yaml', bytes).diagnostics).toMatchObject([diag('E_ENCODING', 'f.yaml', 2, 5, 'invalid UTF-8 byte 0xff at offset 10')]);
  });

  it('reports invalid UTF-8 after CRLF lines at the right column', () => {
    const bytes = Uint8Array.from([...utf8('a: 1\r\nbb: "'), 0xe9, 0x22, 0x0d, 0x0a]);
    expect(parseYamlFile('f.yaml', bytes).diagnostics).toMatchObject([diag('E_ENCODING', 'f.yaml', 2, 6, 'invalid UTF-8 byte 0xe9 at offset 11')]);
  });

  it.each([
    ['an overlong encoding', [0xc0, 0xaf]],
    ['a UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['a lone continuation byte', [0x80]],
    ['a sequence cut by the end of the file', [0xe2, 0x82]],
  ])('refuses %s', (_, tail) => {
    const bytes = Uint8Array.from([...utf8('k: '), ...tail]);
    expect(parseYamlFile('f.yaml', bytes).diagnostics).toMatchObject([diag('E_ENCODING', 'f.yaml', 1, 4, `invalid UTF-8 byte 0x${tail[0]!.toString(16)} at offset 3`)]);
  });

  it('accepts valid multi-byte text', () => {
    expect(values('name: "café ☕ 𝄞"\n')).toEqual([{ name: 'café ☕ 𝄞' }]);
  });

  it('refuses a NUL byte as binary content', () => {
    const bytes = Uint8Array.from([...utf8('a: "x'), 0x00, ...utf8('"\n')]);
    expect(parseYamlFile('f.yaml', bytes).diagnostics).toMatchObject([diag('E_ENCODING', 'f.yaml', 1, 1, 'binary file (NUL byte at offset 5)', 'UTF-8 text')]);
  });

  it('refuses a binary file, e.g. a PNG saved as .yaml', () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52]);
    expect(parseYamlFile('f.yaml', png).diagnostics).toMatchObject([diag('E_ENCODING', 'f.yaml', 1, 1, 'binary file (NUL byte at offset 8)')]);
  });
});
