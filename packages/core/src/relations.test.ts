import { describe, expect, it } from 'vitest';
import type { Relation } from './estate.js';
import { traverseRelations } from './relations.js';
import { assetYaml, lines, loadMemoryEstate } from './testing/memoryEstate.js';

/** A small estate with every built-in relation and one custom one. */
const files = {
  'schemas/certificate.yaml': lines(
    'apiVersion: estate/v1',
    'kind: Schema',
    'metadata: {name: Certificate}',
    'spec:',
    '  schema:',
    '    type: object',
    '    properties:',
    '      hosts:',
    '        type: array',
    '        items: {type: string, x-estate-ref: Host, x-estate-relation: installedOn, x-estate-inverse: certificates}',
    '      signedBy: {type: string, x-estate-ref: Certificate}',
  ),
  'assets/teams.yaml': assetYaml('Team', 'team-web') + '---\n' + assetYaml('Team', 'team-data'),
  'assets/networks.yaml': assetYaml('Network', 'dmz', '  cidr: 10.0.1.0/24'),
  'assets/hosts.yaml': [
    assetYaml('Host', 'web-01', '  hostname: web-01.example.com', '  network: dmz'),
    assetYaml('Host', 'db-01', '  hostname: db-01.example.com'),
    assetYaml('Host', 'db-02', '  hostname: db-02.example.com'),
  ].join('---\n'),
  'assets/databases.yaml': [
    assetYaml('Database', 'orders', '  hosts: [db-01]').replace('name: orders', 'name: orders\n  owner: team/team-data'),
    assetYaml('Database', 'orders-replica', '  hosts: [host/db-02]', '  replicaOf: orders'),
  ].join('---\n'),
  'assets/services.yaml': [
    assetYaml('Service', 'checkout', '  runsOn: [web-01]', '  dependsOn: [service/payments, database/orders]').replace('name: checkout', 'name: checkout\n  owner: team-web'),
    assetYaml('Service', 'payments', '  runsOn: [web-01]', '  dependsOn: [database/orders]'),
  ].join('---\n'),
  'assets/apps.yaml': assetYaml('Application', 'checkout', '  service: checkout'),
  'assets/certs.yaml': assetYaml('Certificate', 'root') + '---\n' + assetYaml('Certificate', 'shop', '  hosts: [web-01]', '  signedBy: certificate/root'),
};

describe('relations of an estate', () => {
  it('turns every reference into a typed relation with its inverse and field', async () => {
    const estate = await loadMemoryEstate(files);
    expect(estate.diagnostics).toEqual([]);
    const edges = estate.relations.map((r) => `${r.from} -${r.type}/${r.inverse}-> ${r.to} (${r.field})`).sort();
    expect(edges).toEqual([
      'application/checkout -service/applications-> service/checkout (spec.service)',
      'certificate/shop -installedOn/certificates-> host/web-01 (spec.hosts[0])',
      'certificate/shop -signedBy/signedByOf-> certificate/root (spec.signedBy)',
      'database/orders -owner/owns-> team/team-data (metadata.owner)',
      'database/orders -runsOn/hosts-> host/db-01 (spec.hosts[0])',
      'database/orders-replica -replicaOf/replicas-> database/orders (spec.replicaOf)',
      'database/orders-replica -runsOn/hosts-> host/db-02 (spec.hosts[0])',
      'host/web-01 -network/members-> network/dmz (spec.network)',
      'service/checkout -dependsOn/dependencyOf-> database/orders (spec.dependsOn[1])',
      'service/checkout -dependsOn/dependencyOf-> service/payments (spec.dependsOn[0])',
      'service/checkout -owner/owns-> team/team-web (metadata.owner)',
      'service/checkout -runsOn/hosts-> host/web-01 (spec.runsOn[0])',
      'service/payments -dependsOn/dependencyOf-> database/orders (spec.dependsOn[0])',
      'service/payments -runsOn/hosts-> host/web-01 (spec.runsOn[0])',
    ]);
  });

  it('answers the impact question: what depends on a host, transitively', async () => {
    const estate = await loadMemoryEstate(files);
    const reached = traverseRelations(estate.relations, 'host/db-01', { direction: 'in', depth: 10, types: ['runsOn', 'dependsOn'] });
    expect(reached.map((r) => [r.id, r.depth])).toEqual([
      ['database/orders', 1],
      ['service/checkout', 2],
      ['service/payments', 2],
    ]);
    expect(reached[1]!.path).toEqual([
      { from: 'host/db-01', to: 'database/orders', relation: 'hosts', field: 'spec.hosts[0]' },
      { from: 'database/orders', to: 'service/checkout', relation: 'dependencyOf', field: 'spec.dependsOn[1]' },
    ]);
  });
});

describe('traverseRelations', () => {
  const rel = (from: string, type: string, inverse: string, to: string, field = `spec.${type}`): Relation => ({ from, to, type, inverse, field });
  //   app ─service→ svc-a ─dependsOn→ svc-b ─dependsOn→ db ─runsOn→ host-2
  //                   └──runsOn→ host-1 ←runsOn── svc-b
  const relations: Relation[] = [
    rel('application/app', 'service', 'applications', 'service/svc-a'),
    rel('service/svc-a', 'dependsOn', 'dependencyOf', 'service/svc-b', 'spec.dependsOn[0]'),
    rel('service/svc-a', 'runsOn', 'hosts', 'host/host-1', 'spec.runsOn[0]'),
    rel('service/svc-b', 'runsOn', 'hosts', 'host/host-1', 'spec.runsOn[0]'),
    rel('service/svc-b', 'dependsOn', 'dependencyOf', 'database/db', 'spec.dependsOn[0]'),
    rel('database/db', 'runsOn', 'hosts', 'host/host-2', 'spec.hosts[0]'),
  ];
  const ids = (reached: Array<{ id: string; depth: number }>): string[] => reached.map((r) => `${r.id}@${r.depth}`);

  it('follows outgoing relations', () => {
    expect(ids(traverseRelations(relations, 'service/svc-a', { direction: 'out', depth: 10 }))).toEqual([
      'service/svc-b@1',
      'host/host-1@1',
      'database/db@2',
      'host/host-2@3',
    ]);
  });

  it('follows incoming relations, named by their inverse', () => {
    const reached = traverseRelations(relations, 'host/host-1', { direction: 'in', depth: 10 });
    expect(ids(reached)).toEqual(['service/svc-a@1', 'service/svc-b@1', 'application/app@2']);
    expect(reached[0]!.path).toEqual([{ from: 'host/host-1', to: 'service/svc-a', relation: 'hosts', field: 'spec.runsOn[0]' }]);
    expect(reached[2]!.path.map((s) => s.relation)).toEqual(['hosts', 'applications']);
  });

  it('follows both directions', () => {
    expect(ids(traverseRelations(relations, 'service/svc-b', { direction: 'both', depth: 1 }))).toEqual(['host/host-1@1', 'database/db@1', 'service/svc-a@1']);
    expect(ids(traverseRelations(relations, 'service/svc-b', { direction: 'both', depth: 10 }))).toEqual([
      'host/host-1@1',
      'database/db@1',
      'service/svc-a@1',
      'host/host-2@2',
      'application/app@2',
    ]);
  });

  it('stops at the depth limit', () => {
    expect(ids(traverseRelations(relations, 'application/app', { direction: 'out', depth: 0 }))).toEqual([]);
    expect(ids(traverseRelations(relations, 'application/app', { direction: 'out', depth: 1 }))).toEqual(['service/svc-a@1']);
    expect(ids(traverseRelations(relations, 'application/app', { direction: 'out', depth: 2 }))).toEqual(['service/svc-a@1', 'service/svc-b@2', 'host/host-1@2']);
    expect(ids(traverseRelations(relations, 'application/app', { direction: 'out', depth: Infinity }))).toHaveLength(5);
  });

  it('filters by relation name, either the name or its inverse', () => {
    const byName = traverseRelations(relations, 'service/svc-a', { direction: 'both', depth: 10, types: ['runsOn'] });
    const byInverse = traverseRelations(relations, 'service/svc-a', { direction: 'both', depth: 10, types: ['hosts'] });
    expect(ids(byName)).toEqual(['host/host-1@1', 'service/svc-b@2']);
    expect(byInverse).toEqual(byName);
    expect(ids(traverseRelations(relations, 'host/host-2', { direction: 'in', depth: 10, types: ['hosts', 'dependencyOf'] }))).toEqual([
      'database/db@1',
      'service/svc-b@2',
      'service/svc-a@3',
    ]);
    expect(traverseRelations(relations, 'service/svc-a', { direction: 'both', depth: 10, types: ['owner'] })).toEqual([]);
  });

  it('reports each asset once, at its shortest distance, with the steps of that path', () => {
    // svc-a reaches host-1 directly and through svc-b; the direct path wins.
    const reached = traverseRelations(relations, 'service/svc-a', { direction: 'both', depth: 10 });
    expect(reached.filter((r) => r.id === 'host/host-1')).toEqual([
      { id: 'host/host-1', depth: 1, path: [{ from: 'service/svc-a', to: 'host/host-1', relation: 'runsOn', field: 'spec.runsOn[0]' }] },
    ]);
    const db = reached.find((r) => r.id === 'host/host-2')!;
    expect(db.depth).toBe(3);
    expect(db.path.map((s) => `${s.from} ${s.relation} ${s.to}`)).toEqual(['service/svc-a dependsOn service/svc-b', 'service/svc-b dependsOn database/db', 'database/db runsOn host/host-2']);
  });

  it('terminates on cycles and never reports the start', () => {
    const cycle = [
      rel('service/a', 'dependsOn', 'dependencyOf', 'service/b'),
      rel('service/b', 'dependsOn', 'dependencyOf', 'service/c'),
      rel('service/c', 'dependsOn', 'dependencyOf', 'service/a'),
      rel('service/c', 'dependsOn', 'dependencyOf', 'service/c'),
    ];
    expect(ids(traverseRelations(cycle, 'service/a', { direction: 'out', depth: Infinity }))).toEqual(['service/b@1', 'service/c@2']);
    expect(ids(traverseRelations(cycle, 'service/a', { direction: 'both', depth: Infinity }))).toEqual(['service/b@1', 'service/c@1']);
  });

  it('returns nothing for an unknown start or no relations', () => {
    expect(traverseRelations(relations, 'host/nope', { direction: 'both', depth: 5 })).toEqual([]);
    expect(traverseRelations([], 'host/host-1', { direction: 'both', depth: 5 })).toEqual([]);
  });

  it('keeps two relations between the same pair apart by field', () => {
    const twice = [rel('service/a', 'dependsOn', 'dependencyOf', 'service/b', 'spec.dependsOn[0]'), rel('service/a', 'runsOn', 'hosts', 'service/b', 'spec.other')];
    expect(traverseRelations(twice, 'service/a', { direction: 'out', depth: 1, types: ['runsOn'] })[0]!.path[0]!.field).toBe('spec.other');
  });
});
