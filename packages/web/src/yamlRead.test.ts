import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readYaml, YamlReadError } from './yamlRead';
import { toYamlLines, yamlText } from './yamlTokens';

const DOCUMENT = {
  apiVersion: 'estate/v1',
  kind: 'Host',
  metadata: { name: 'web-01', labels: { env: 'prod', 'app.kubernetes.io/name': 'web' }, owner: 'team/web' },
  spec: {
    cpus: 8,
    memoryGiB: 1.5,
    virtual: false,
    retired: null,
    files: [{ path: '/etc/motd', content: 'hello\nworld\n', mode: '0644' }, { path: '/etc/x', source: 'files/x' }],
    ports: [80, 443],
    matrix: [['a', 'b'], [], [{ k: 'v' }]],
    tags: {},
    script: 'set -e\n\necho "hi: there" # not a comment',
    tricky: ['yes', 'no', '~', '', ' padded', 'a: b', '#x', '- dash', '"quoted"', 'trailing ', 'two\n\n', '007', '.5', "it's", 'url: http://x/#y'],
  },
};

describe('readYaml', () => {
  it('reads back what the UI writes', () => {
    expect(readYaml(yamlText(toYamlLines(DOCUMENT)))).toEqual(DOCUMENT);
    for (const value of [{}, [], 'yes', 3, null, { a: [] }, [[1, [2, [3]]]]]) expect(readYaml(yamlText(toYamlLines(value)))).toEqual(value);
  });

  it('reads YAML as people write it, the same as a full YAML parser', () => {
    const text = [
      '# a host',
      '---',
      'spec:',
      '  cpus: 4   # cores',
      "  os: 'debian-12'",
      '  services:',
      '    - nginx',
      '    - "chrony"',
      '  ports: [80, 443, {port: 8080, name: alt}]',
      '  env: {a: 1, b: "x, y"}',
      '  motd: |-',
      '    line one',
      '',
      '    # kept: inside a block',
      '  folded: >',
      '    one',
      '    two',
      '  packages:',
      '  - name: nginx',
      '    version: 1.24.*',
      '  -   name: curl',
      '  empty:',
      '  flag: True',
      '  ratio: -1.5e3',
      '  "quoted key": ~',
      '',
    ].join('\n');
    expect(readYaml(text)).toEqual(parse(text));
  });

  it('says which line it cannot read', () => {
    const cases: Array<[string, RegExp]> = [
      ['a: 1\n  b: 2\n', /^line 2: unexpected indentation/],
      ['a: 1\na: 2\n', /^line 2: the key 'a' appears twice/],
      ['a: *ref\n', /^line 1: '\*'/],
      ['a: [1, 2\n', /^line 1: expected '\]'/],
      ['a:\n\t- 1\n', /^line 2: tabs/],
      ['a: "open\n', /^line 1: unterminated/],
      ['a: 1\n---\nb: 2\n', /^line 2: only one document/],
    ];
    for (const [text, message] of cases) {
      expect(() => readYaml(text), text).toThrow(YamlReadError);
      expect(() => readYaml(text), text).toThrow(message);
    }
  });

  it('reads an empty text as null and a lone scalar as itself', () => {
    expect(readYaml('')).toBeNull();
    expect(readYaml('# only a comment\n')).toBeNull();
    expect(readYaml('hello world\n')).toBe('hello world');
  });
});
