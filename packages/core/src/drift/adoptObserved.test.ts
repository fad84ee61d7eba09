import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { applyMergePatch } from '../mergePatch.js';
import { adoptObserved, declaredHostFields, declareObservedHost } from './adoptObserved.js';
import { compareHost } from './compareHost.js';
import type { HostFacts } from './hostFacts.js';

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

const document = {
  apiVersion: 'estate/v1',
  kind: 'Host',
  metadata: { name: 'web-01', labels: { env: 'prod' } },
  spec: {
    hostname: 'web-01.example.com',
    ip: '10.0.0.1',
    os: 'debian-11',
    cpus: 4,
    memoryGiB: 16,
    packages: { nginx: '>=1.22', curl: '7.88.1-10', gone: '1.0' },
    files: [
      { path: '/etc/motd', content: 'hello\n', mode: '0644', owner: 'root' },
      { path: '/etc/app.conf', source: './files/app.conf', mode: '600', owner: 'app:app' },
      { path: '/etc/remote.conf', source: 'https://example.com/remote.conf' },
      { path: '/etc/old.conf', content: 'old\n' },
    ],
    services: ['nginx'],
  },
};
const host = { id: 'host/web-01', document };

const facts: HostFacts = {
  hostname: 'web-01.internal',
  ip: ['127.0.0.1', 'fe80::1', '10.0.0.9', '10.0.0.10'],
  os: { id: 'debian', versionId: '12' },
  cpus: 8,
  memoryGiB: 31.3,
  packages: { nginx: '1.18.0-6', curl: '7.88.1-10' },
  files: {
    '/etc/motd': { sha256: sha('hacked\n'), mode: '0666', owner: 'www-data:www-data', size: 7, content: 'hacked\n' },
    '/etc/app.conf': { sha256: sha('workers = 8\n'), mode: '0640', owner: 'app:adm', size: 12, content: 'workers = 8\n' },
    '/etc/remote.conf': { sha256: sha('r'), mode: '0644', owner: 'root:root', size: 1, content: 'r' },
    '/etc/old.conf': { missing: true },
  },
  services: { 'nginx.service': 'failed' },
};

const drifted = compareHost({ spec: document.spec }, facts, { sha256: sha })
  .filter((f) => f.differs)
  .map((f) => f.field);

describe('adoptObserved', () => {
  it('adopts every drifted field compareHost finds that adoption can make, and says why it skips the others', () => {
    const adoption = adoptObserved(host, facts, drifted);
    expect(adoption.skipped).toEqual([
      { field: '/spec/services/nginx', reason: expect.stringMatching(/^a service that is not active cannot be adopted: start it on the host/) },
    ]);
    expect(adoption.adopted).toEqual(drifted.filter((f) => f !== '/spec/services/nginx'));
    // The source file's content was not compared (compareHost reads no repo file): asked for, it is a putFile.
    expect(adoption.operations).toEqual([
      {
        op: 'patch',
        id: 'host/web-01',
        patch: {
          spec: {
            hostname: 'web-01.internal',
            ip: '10.0.0.9',
            os: 'debian-12',
            cpus: 8,
            memoryGiB: 31.3,
            packages: { nginx: '1.18.0-6', gone: null },
            files: [
              { path: '/etc/motd', content: 'hacked\n', mode: '0666', owner: 'www-data' },
              { path: '/etc/app.conf', source: './files/app.conf', mode: '0640', owner: 'app:adm' },
              { path: '/etc/remote.conf', source: 'https://example.com/remote.conf' },
            ],
          },
        },
      },
    ]);
  });

  it('makes the declared side equal the observed one: comparing the patched asset finds no drift in the adopted fields', () => {
    const adoption = adoptObserved(host, facts, drifted);
    const patched = applyMergePatch(document, (adoption.operations[0] as { patch: Record<string, unknown> }).patch) as { spec: Record<string, unknown> };
    const still = compareHost({ spec: patched.spec }, facts, { sha256: sha }).filter((f) => f.differs).map((f) => f.field);
    expect(still).toEqual(['/spec/services/nginx']);
  });

  it('writes the content of a source: file to its repo path, and skips a URL source', () => {
    const adoption = adoptObserved(host, facts, ['/spec/files/~1etc~1app.conf/content', '/spec/files/~1etc~1remote.conf/content']);
    expect(adoption.operations).toEqual([{ op: 'putFile', path: 'files/app.conf', content: 'workers = 8\n' }]);
    expect(adoption.adopted).toEqual(['/spec/files/~1etc~1app.conf/content']);
    expect(adoption.skipped).toEqual([{ field: '/spec/files/~1etc~1remote.conf/content', reason: 'the content comes from a URL, not from a file of the repo' }]);
  });

  it('adopts only the listed fields, and leaves the others as declared', () => {
    const adoption = adoptObserved(host, facts, ['/spec/files/~1etc~1motd/mode']);
    expect(adoption.operations).toEqual([
      {
        op: 'patch',
        id: 'host/web-01',
        patch: { spec: { files: [{ path: '/etc/motd', content: 'hello\n', mode: '0666', owner: 'root' }, document.spec.files[1], document.spec.files[2], document.spec.files[3]] } },
      },
    ]);
  });

  it('skips truncated or absent contents, facts the report lacks and fields not declared', () => {
    const partial: HostFacts = {
      files: {
        '/etc/motd': { sha256: sha('big'), mode: '0644', owner: 'root:root', size: 10_000_000, truncated: true },
        '/etc/app.conf': { sha256: sha('x'), mode: '0600', owner: 'app:app' },
      },
    };
    const adoption = adoptObserved(host, partial, [
      '/spec/files/~1etc~1motd/content',
      '/spec/files/~1etc~1app.conf/content',
      '/spec/cpus',
      '/spec/packages/nginx',
      '/spec/packages/vim',
      '/spec/files/~1etc~1nope/mode',
      '/metadata/name',
      'cpus',
    ]);
    expect(adoption.operations).toEqual([]);
    expect(adoption.adopted).toEqual([]);
    expect(adoption.skipped.map((s) => [s.field, s.reason])).toEqual([
      ['/spec/files/~1etc~1motd/content', 'the agent truncated the content (over its size cap): adopt it by hand'],
      ['/spec/files/~1etc~1app.conf/content', 'the report has no content of the file (the agent did not send it)'],
      ['/spec/cpus', 'the latest report has no such fact'],
      ['/spec/packages/nginx', 'the latest report has no such fact'],
      ['/spec/packages/vim', 'not declared'],
      ['/spec/files/~1etc~1nope/mode', 'not declared'],
      ['/metadata/name', 'not a field drift adoption covers'],
      ['cpus', 'not a JSON pointer'],
    ]);
  });
});

describe('declaredHostFields', () => {
  it('lists every compared field the spec declares, whether a report covers it or not', () => {
    expect([...declaredHostFields(document.spec)]).toEqual([
      '/spec/hostname',
      '/spec/ip',
      '/spec/os',
      '/spec/cpus',
      '/spec/memoryGiB',
      '/spec/packages/nginx',
      '/spec/packages/curl',
      '/spec/packages/gone',
      '/spec/files/~1etc~1motd',
      '/spec/files/~1etc~1motd/content',
      '/spec/files/~1etc~1motd/mode',
      '/spec/files/~1etc~1motd/owner',
      '/spec/files/~1etc~1app.conf',
      '/spec/files/~1etc~1app.conf/content',
      '/spec/files/~1etc~1app.conf/mode',
      '/spec/files/~1etc~1app.conf/owner',
      '/spec/files/~1etc~1remote.conf',
      '/spec/files/~1etc~1remote.conf/content',
      '/spec/files/~1etc~1old.conf',
      '/spec/files/~1etc~1old.conf/content',
      '/spec/services/nginx',
    ]);
  });
});

describe('declareObservedHost', () => {
  it('declares hostname, the first routable address, os, cpus and memory; no packages or files', () => {
    expect(declareObservedHost('db-09', facts, { labels: { env: 'prod' } })).toEqual({
      apiVersion: 'estate/v1',
      kind: 'Host',
      metadata: { name: 'db-09', labels: { env: 'prod' } },
      spec: { hostname: 'web-01.internal', ip: '10.0.0.9', os: 'debian-12', cpus: 8, memoryGiB: 31.3 },
    });
    expect(declareObservedHost('db-09', { cpus: 2 }, { name: 'db-nine' })).toEqual({
      apiVersion: 'estate/v1',
      kind: 'Host',
      metadata: { name: 'db-nine' },
      spec: { hostname: 'db-09', cpus: 2 },
    });
  });
});
