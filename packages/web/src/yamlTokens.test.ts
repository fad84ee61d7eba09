import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { toYamlLines, yamlText } from './yamlTokens';

const DOCUMENT = {
  apiVersion: 'estate/v1',
  kind: 'Host',
  metadata: { name: 'web-01', labels: { env: 'prod', 'app.kubernetes.io/name': 'web' }, owner: 'team/web' },
  spec: {
    hostname: 'web-01.prod.example.com',
    ip: '10.0.0.1',
    cpus: 8,
    virtual: false,
    retired: null,
    packages: [{ name: 'nginx', version: '1.24' }, { name: 'openssl' }],
    ports: [80, 443],
    matrix: [['a', 'b'], []],
    tags: {},
    motd: 'line one\nline two\n',
    script: 'set -e\n\necho "hi: there" # not a comment',
    tricky: ['yes', 'no', '~', '', ' padded', 'a: b', '#x', '- dash', '"quoted"', 'trailing ', 'two\n\n', '007', '.5', 'x'.repeat(3)],
  },
};

describe('toYamlLines', () => {
  it('writes block YAML that reads back as the same value', () => {
    expect(parse(yamlText(toYamlLines(DOCUMENT)))).toEqual(DOCUMENT);
  });

  it('writes mappings, sequences and literal blocks the way repos do', () => {
    const text = yamlText(toYamlLines({ metadata: { name: 'web-01' }, spec: { ports: [80], packages: [{ name: 'nginx', version: '1.24' }], motd: 'a\nb\n' } }));
    expect(text).toBe(['metadata:', '  name: web-01', 'spec:', '  ports:', '  - 80', '  packages:', '  - name: nginx', '    version: "1.24"', '  motd: |', '    a', '    b', ''].join('\n'));
  });

  it('types each token for highlighting', () => {
    const [line] = toYamlLines({ cpus: 8 });
    expect(line).toEqual([
      { type: 'key', text: 'cpus' },
      { type: 'punctuation', text: ':' },
      { type: 'indent', text: ' ' },
      { type: 'number', text: '8' },
    ]);
    const types = toYamlLines({ a: true, b: null, c: 'x' }).map((l) => l.at(-1)!.type);
    expect(types).toEqual(['boolean', 'null', 'string']);
  });

  it('writes scalars and empty collections alone', () => {
    expect(yamlText(toYamlLines('yes'))).toBe('"yes"\n');
    expect(yamlText(toYamlLines({}))).toBe('{}\n');
  });
});
