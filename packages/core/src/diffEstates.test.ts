import { describe, expect, it } from 'vitest';
import { diffEstates, diffValues } from './diffEstates.js';
import type { Estate } from './estate.js';
import { assetYaml, lines, loadMemoryEstate, type MemoryFiles } from './testing/memoryEstate.js';

const web = lines(
  'apiVersion: estate/v1',
  'kind: Host',
  'metadata:',
  '  name: web-01',
  '  labels: {env: prod, app.kubernetes.io/name: shop}',
  'spec:',
  '  hostname: web-01.example.com',
  '  ip: 10.0.1.11',
  '  cpus: 4',
  '  services: [nginx, sshd]',
);
const team = assetYaml('Team', 'team-web', '  members: [ana, bo]');

const load = async (files: MemoryFiles): Promise<Estate> => {
  const estate = await loadMemoryEstate(files);
  expect(estate.diagnostics).toEqual([]);
  return estate;
};
const diff = async (from: MemoryFiles, to: MemoryFiles) => diffEstates((await load(from)).assets, (await load(to)).assets);

describe('diffEstates', () => {
  it('finds no change between identical estates', async () => {
    expect(await diff({ 'assets/web.yaml': web }, { 'assets/web.yaml': web })).toEqual({ summary: { added: 0, removed: 0, changed: 0, moved: 0 }, assets: [] });
  });

  it('reports added and removed assets with their files', async () => {
    const result = await diff({ 'assets/web.yaml': web }, { 'assets/team.yaml': team });
    expect(result).toEqual({
      summary: { added: 1, removed: 1, changed: 0, moved: 0 },
      assets: [
        { id: 'host/web-01', kind: 'Host', status: 'removed', path: 'assets/web.yaml', fields: [] },
        { id: 'team/team-web', kind: 'Team', status: 'added', path: 'assets/team.yaml', fields: [] },
      ],
    });
  });

  it('reports changed fields as JSON pointers with old and new values', async () => {
    const changed = web.replace('cpus: 4', 'cpus: 8').replace('  ip: 10.0.1.11\n', '').replace('services: [nginx, sshd]', 'services: [nginx, sshd]\n  os: debian-12');
    const result = await diff({ 'assets/web.yaml': web }, { 'assets/web.yaml': changed });
    expect(result).toEqual({
      summary: { added: 0, removed: 0, changed: 1, moved: 0 },
      assets: [
        {
          id: 'host/web-01',
          kind: 'Host',
          status: 'changed',
          path: 'assets/web.yaml',
          fields: [
            { op: 'replace', pointer: '/spec/cpus', old: 4, new: 8 },
            { op: 'remove', pointer: '/spec/ip', old: '10.0.1.11' },
            { op: 'add', pointer: '/spec/os', new: 'debian-12' },
          ],
        },
      ],
    });
  });

  it('escapes / and ~ in pointers (RFC 6901)', async () => {
    const changed = web.replace('app.kubernetes.io/name: shop}', 'app.kubernetes.io/name: store}\n  annotations: {"a~b/c": x}');
    const result = await diff({ 'assets/web.yaml': web }, { 'assets/web.yaml': changed });
    expect(result.assets[0]!.fields).toEqual([
      { op: 'add', pointer: '/metadata/annotations', new: { 'a~b/c': 'x' } },
      { op: 'replace', pointer: '/metadata/labels/app.kubernetes.io~1name', old: 'shop', new: 'store' },
    ]);
    const again = await diff({ 'assets/web.yaml': changed }, { 'assets/web.yaml': changed.replace('c": x', 'c": y') });
    expect(again.assets[0]!.fields).toEqual([{ op: 'replace', pointer: '/metadata/annotations/a~0b~1c', old: 'x', new: 'y' }]);
  });

  it('reports list item changes by index', async () => {
    const replaced = await diff({ 'assets/web.yaml': web }, { 'assets/web.yaml': web.replace('[nginx, sshd]', '[nginx, chrony]') });
    expect(replaced.assets[0]!.fields).toEqual([{ op: 'replace', pointer: '/spec/services/1', old: 'sshd', new: 'chrony' }]);
    const appended = await diff({ 'assets/web.yaml': web }, { 'assets/web.yaml': web.replace('[nginx, sshd]', '[nginx, sshd, chrony, cron]') });
    expect(appended.assets[0]!.fields).toEqual([
      { op: 'add', pointer: '/spec/services/2', new: 'chrony' },
      { op: 'add', pointer: '/spec/services/3', new: 'cron' },
    ]);
    const shortened = await diff({ 'assets/web.yaml': web.replace('[nginx, sshd]', '[a, b, c]') }, { 'assets/web.yaml': web.replace('[nginx, sshd]', '[a]') });
    // Removals come last index first, so applying them in order keeps the indexes right.
    expect(shortened.assets[0]!.fields).toEqual([
      { op: 'remove', pointer: '/spec/services/2', old: 'c' },
      { op: 'remove', pointer: '/spec/services/1', old: 'b' },
    ]);
  });

  it('reports a moved asset (same content, other file) without field changes', async () => {
    const result = await diff({ 'assets/web.yaml': web, 'assets/team.yaml': team }, { 'assets/hosts/prod/web-01.yaml': web, 'assets/team.yaml': team });
    expect(result).toEqual({
      summary: { added: 0, removed: 0, changed: 0, moved: 1 },
      assets: [{ id: 'host/web-01', kind: 'Host', status: 'moved', path: 'assets/hosts/prod/web-01.yaml', fromPath: 'assets/web.yaml', fields: [] }],
    });
  });

  it('reports an asset moved into a file with other documents as moved', async () => {
    const result = await diff({ 'assets/web.yaml': web, 'assets/team.yaml': team }, { 'assets/all.yaml': team + '---\n' + web });
    expect(result.summary).toEqual({ added: 0, removed: 0, changed: 0, moved: 2 });
    expect(result.assets.map((a) => [a.id, a.fromPath, a.path])).toEqual([
      ['host/web-01', 'assets/web.yaml', 'assets/all.yaml'],
      ['team/team-web', 'assets/team.yaml', 'assets/all.yaml'],
    ]);
  });

  it('reports an asset that moved and changed as changed, with where it came from', async () => {
    const result = await diff({ 'assets/web.yaml': web }, { 'assets/hosts/web.yaml': web.replace('cpus: 4', 'cpus: 2') });
    expect(result).toEqual({
      summary: { added: 0, removed: 0, changed: 1, moved: 0 },
      assets: [
        {
          id: 'host/web-01',
          kind: 'Host',
          status: 'changed',
          path: 'assets/hosts/web.yaml',
          fromPath: 'assets/web.yaml',
          fields: [{ op: 'replace', pointer: '/spec/cpus', old: 4, new: 2 }],
        },
      ],
    });
  });

  it('sees no change in reordered keys, reformatting, comments, quoting or line endings', async () => {
    const reformatted = lines(
      '# Front web node',
      'kind: Host # the kind',
      'spec:',
      '    services:',
      '      - nginx',
      "      - 'sshd'",
      '    cpus: 0x4',
      '    ip: "10.0.1.11"',
      '    hostname: >-',
      '      web-01.example.com',
      'metadata:',
      '    labels:',
      '        "app.kubernetes.io/name": shop',
      '        env: prod',
      '    name: web-01',
      'apiVersion: estate/v1',
    ).replace(/\n/g, '\r\n');
    expect(await diff({ 'assets/web.yaml': web }, { 'assets/web.yaml': reformatted })).toEqual({ summary: { added: 0, removed: 0, changed: 0, moved: 0 }, assets: [] });
  });

  it('sees no change when only comments or other documents of the file change', async () => {
    const result = await diff({ 'assets/all.yaml': web + '---\n' + team }, { 'assets/all.yaml': '# hosts first\n' + web + '---\n# then teams\n' + team.replace('[ana, bo]', '[ana, bo, cy]') });
    expect(result.assets.map((a) => [a.id, a.status])).toEqual([['team/team-web', 'changed']]);
    expect(result.assets[0]!.fields).toEqual([{ op: 'add', pointer: '/spec/members/2', new: 'cy' }]);
  });

  it('counts every status in the summary and sorts assets by id', async () => {
    const db = assetYaml('Database', 'orders', '  engine: postgresql');
    const net = assetYaml('Network', 'dmz', '  cidr: 10.0.0.0/24');
    const result = await diff(
      { 'assets/web.yaml': web, 'assets/team.yaml': team, 'assets/db.yaml': db },
      { 'assets/hosts/web.yaml': web, 'assets/team.yaml': team.replace('bo]', 'bo, cy]'), 'assets/net.yaml': net },
    );
    expect(result.summary).toEqual({ added: 1, removed: 1, changed: 1, moved: 1 });
    expect(result.assets.map((a) => `${a.status} ${a.id}`)).toEqual(['removed database/orders', 'moved host/web-01', 'added network/dmz', 'changed team/team-web']);
  });
});

describe('diffValues', () => {
  it('finds nothing between equal values, whatever the key order', () => {
    expect(diffValues({ a: 1, b: { c: [1, { d: 2 }] } }, { b: { c: [1, { d: 2 }] }, a: 1 })).toEqual([]);
  });

  it('replaces a value whose type changes', () => {
    expect(diffValues({ a: [1] }, { a: { 0: 1 } })).toEqual([{ op: 'replace', pointer: '/a', old: [1], new: { 0: 1 } }]);
    expect(diffValues({ a: '4' }, { a: 4 })).toEqual([{ op: 'replace', pointer: '/a', old: '4', new: 4 }]);
    expect(diffValues(1, 2)).toEqual([{ op: 'replace', pointer: '', old: 1, new: 2 }]);
  });

  it('tells a null value from a missing key', () => {
    expect(diffValues({ a: null }, {})).toEqual([{ op: 'remove', pointer: '/a', old: null }]);
    expect(diffValues({}, { a: null })).toEqual([{ op: 'add', pointer: '/a', new: null }]);
  });

  it('descends into list items', () => {
    expect(diffValues({ files: [{ path: '/a', mode: '0644' }] }, { files: [{ path: '/a', mode: '0600' }] })).toEqual([
      { op: 'replace', pointer: '/files/0/mode', old: '0644', new: '0600' },
    ]);
  });

  it('orders map changes by key', () => {
    expect(diffValues({ b: 1, a: 1 }, { c: 1, a: 2 }).map((c) => c.pointer)).toEqual(['/a', '/b', '/c']);
  });
});
