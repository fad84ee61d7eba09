import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compareHost } from './compareHost.js';
import type { HostFacts } from './hostFacts.js';
import { driftIgnoredBy } from './driftIgnore.js';
import { loadPolicies } from '../policy/loadPolicies.js';

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
const options = { sha256: sha };

const spec = {
  hostname: 'web-01.example.com',
  ip: '10.0.0.1',
  os: 'debian-12',
  cpus: 4,
  memoryGiB: 16,
  packages: { nginx: '>=1.22', curl: '7.88.1-10' },
  files: [
    { path: '/etc/motd', content: 'hello\n', mode: '0644', owner: 'root' },
    { path: '/etc/app.conf', source: 'files/app.conf', mode: '600', owner: 'app:app' },
  ],
  services: ['nginx', 'ssh.service'],
};

const facts: HostFacts = {
  hostname: 'WEB-01.example.com',
  ip: ['10.0.0.1', '192.168.1.5'],
  os: { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12' },
  kernel: '6.1.0',
  cpus: 4,
  memoryGiB: 15.6,
  packages: { nginx: '1.22.1-9', curl: '7.88.1-10', vim: '9.0' },
  files: {
    '/etc/motd': { sha256: sha('hello\n'), mode: '0644', owner: 'root:root', size: 6, content: 'hello\n' },
    '/etc/app.conf': { sha256: sha('x'), mode: '0600', owner: 'app:app', size: 1 },
  },
  services: { 'nginx.service': 'active', 'ssh.service': 'active' },
  ports: [{ protocol: 'tcp', address: '0.0.0.0', port: 80 }],
};

const differing = (f: HostFacts): Array<[string, unknown, unknown]> =>
  compareHost({ spec }, f, options)
    .filter((d) => d.differs)
    .map((d) => [d.field, d.declared, d.observed]);

describe('compareHost', () => {
  it('finds nothing when every declared field is met, and covers every declared field', () => {
    const fields = compareHost({ spec }, facts, options);
    expect(fields.filter((f) => f.differs)).toEqual([]);
    expect(fields.map((f) => f.field)).toEqual([
      '/spec/hostname',
      '/spec/ip',
      '/spec/os',
      '/spec/cpus',
      '/spec/memoryGiB',
      '/spec/packages/nginx',
      '/spec/packages/curl',
      '/spec/files/~1etc~1motd/content',
      '/spec/files/~1etc~1motd/mode',
      '/spec/files/~1etc~1motd/owner',
      '/spec/files/~1etc~1app.conf/mode',
      '/spec/files/~1etc~1app.conf/owner',
      '/spec/services/nginx',
      '/spec/services/ssh.service',
    ]);
  });

  it('reports each kind of difference, never a file content', () => {
    const changed: HostFacts = {
      ...facts,
      hostname: 'web-02',
      ip: ['10.0.0.9'],
      os: { id: 'debian', versionId: '11' },
      cpus: 2,
      memoryGiB: 14,
      packages: { nginx: '1.18.0-6' },
      files: {
        '/etc/motd': { sha256: sha('hacked\n'), mode: '0666', owner: 'bob:bob', size: 7, content: 'hacked\n' },
        '/etc/app.conf': { missing: true },
      },
      services: { 'nginx.service': 'failed', 'ssh.service': 'active' },
    };
    expect(differing(changed)).toEqual([
      ['/spec/hostname', 'web-01.example.com', 'web-02'],
      ['/spec/ip', '10.0.0.1', ['10.0.0.9']],
      ['/spec/os', 'debian-12', 'debian-11'],
      ['/spec/cpus', 4, 2],
      ['/spec/memoryGiB', 16, 14],
      ['/spec/packages/nginx', '>=1.22', '1.18.0-6'],
      ['/spec/packages/curl', '7.88.1-10', null],
      ['/spec/files/~1etc~1motd/content', `sha256:${sha('hello\n')}`, `sha256:${sha('hacked\n')}`],
      ['/spec/files/~1etc~1motd/mode', '0644', '0666'],
      ['/spec/files/~1etc~1motd/owner', 'root', 'bob:bob'],
      ['/spec/files/~1etc~1app.conf', 'present', null],
      ['/spec/services/nginx', 'active', 'failed'],
    ]);
    expect(JSON.stringify(compareHost({ spec }, changed, options))).not.toContain('hacked');
  });

  it('keeps memory within its tolerance and leaves out fields without facts', () => {
    expect(compareHost({ spec }, { memoryGiB: 15.1 }, options)).toEqual([{ field: '/spec/memoryGiB', declared: 16, observed: 15.1, differs: false }]);
    expect(compareHost({ spec }, { memoryGiB: 14.3 }, options)[0]!.differs).toBe(true);
    expect(compareHost({ spec: { memoryGiB: 2 } }, { memoryGiB: 1.6 }, options)[0]!.differs).toBe(false);
    expect(compareHost({ spec }, { services: {} }, options)).toEqual([]);
    expect(compareHost({ spec: { hostname: 'a' } }, facts, options).map((f) => f.field)).toEqual(['/spec/hostname']);
  });

  it('compares a source: file by the digest sourceSha256 gives, and not when it gives none', () => {
    const field = '/spec/files/~1etc~1app.conf/content';
    const digests: Record<string, string> = { 'files/app.conf': sha('x') };
    const sourceSha256 = (source: string): string | undefined => digests[source];
    const content = (f: HostFacts, o: typeof options & { sourceSha256?: typeof sourceSha256 }) => compareHost({ spec }, f, o).find((d) => d.field === field);
    expect(content(facts, { ...options, sourceSha256 })).toEqual({ field, declared: `sha256:${sha('x')}`, observed: `sha256:${sha('x')}`, differs: false });
    const edited: HostFacts = { files: { '/etc/app.conf': { sha256: sha('y'), mode: '0600', owner: 'app:app', size: 1, content: 'y' } } };
    expect(content(edited, { ...options, sourceSha256 })).toEqual({ field, declared: `sha256:${sha('x')}`, observed: `sha256:${sha('y')}`, differs: true });
    // An upper-case digest from the report is the same digest.
    expect(content({ files: { '/etc/app.conf': { sha256: sha('x').toUpperCase(), mode: '0600', owner: 'app:app', size: 1 } } }, { ...options, sourceSha256 })!.differs).toBe(false);
    // A source that cannot be read (undefined), or no sourceSha256 at all: the content is left out.
    expect(content(edited, { ...options, sourceSha256: () => undefined })).toBeUndefined();
    expect(content(edited, options)).toBeUndefined();
    // An inline content wins over a source on the same file.
    const both = { files: [{ path: '/etc/app.conf', content: 'y', source: 'files/app.conf' }] };
    expect(compareHost({ spec: both }, edited, { ...options, sourceSha256 })).toEqual([{ field, declared: `sha256:${sha('y')}`, observed: `sha256:${sha('y')}`, differs: false }]);
  });

  it('reads a plain os string as is', () => {
    expect(compareHost({ spec: { os: 'ubuntu-24.04' } }, { os: 'ubuntu-24.04' }, options)[0]!.differs).toBe(false);
  });
});

describe('DriftIgnore rules', () => {
  const text = [
    'apiVersion: estate/v1',
    'kind: DriftIgnore',
    'metadata: {name: noise}',
    'spec:',
    '  rules:',
    '    - {kind: Host, selector: "env=dev", fields: ["/spec/packages/*"], reason: dev hosts update freely}',
    '    - {fields: ["/spec/memoryGiB"], reason: balloon drivers}',
  ].join('\n');

  it('loads and matches by kind, selector and field glob', () => {
    const set = loadPolicies([{ path: 'policies/drift.yaml', text }]);
    expect(set.diagnostics).toEqual([]);
    expect(set.driftIgnores).toHaveLength(2);
    const dev = { kind: 'Host', labels: { env: 'dev' } };
    expect(driftIgnoredBy(set.driftIgnores, dev, '/spec/packages/nginx')?.reason).toBe('dev hosts update freely');
    expect(driftIgnoredBy(set.driftIgnores, { kind: 'Host', labels: { env: 'prod' } }, '/spec/packages/nginx')).toBeUndefined();
    expect(driftIgnoredBy(set.driftIgnores, { kind: 'Database' }, '/spec/memoryGiB')?.reason).toBe('balloon drivers');
    expect(driftIgnoredBy(set.driftIgnores, dev, '/spec/files/~1etc~1motd/content')).toBeUndefined();
  });

  it('refuses a rule without reason, with a bad glob or selector (E_POLICY), and leaves the document out', () => {
    const bad = [
      'apiVersion: estate/v1',
      'kind: DriftIgnore',
      'metadata: {name: bad}',
      'spec:',
      '  rules:',
      '    - {fields: ["/spec/cpus"]}',
      '    - {fields: ["spec/ip"], selector: "env in", reason: r}',
    ].join('\n');
    const set = loadPolicies([{ path: 'policies/bad.yaml', text: bad }]);
    expect(set.driftIgnores).toEqual([]);
    expect(set.diagnostics.map((d) => d.code)).toEqual(['E_POLICY']);
    expect(set.diagnostics[0]!.message).toMatch(/reason/);
    const bad2 = bad.replace('    - {fields: ["/spec/cpus"]}\n', '');
    const set2 = loadPolicies([{ path: 'policies/bad.yaml', text: bad2 }]);
    expect(set2.driftIgnores).toEqual([]);
    expect(set2.diagnostics.map((d) => d.code)).toEqual(['E_POLICY', 'E_POLICY']);
  });
});
