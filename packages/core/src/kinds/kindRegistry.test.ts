import { describe, expect, it } from 'vitest';
import { buildKindRegistry, type SchemaDocument } from './kindRegistry.js';

const schemaDoc = (path: string, value: Record<string, unknown>, reports: unknown[][]): SchemaDocument => ({ path, value, report: (...args) => void reports.push(args) });

describe('buildKindRegistry', () => {
  it('holds the built-in kinds, with their relations', () => {
    const kinds = buildKindRegistry([]);
    expect(kinds.list().map((k) => [k.name, k.idPrefix, k.builtin, k.source])).toEqual([
      ['Application', 'application', true, 'builtin'],
      ['Database', 'database', true, 'builtin'],
      ['Host', 'host', true, 'builtin'],
      ['Network', 'network', true, 'builtin'],
      ['Service', 'service', true, 'builtin'],
      ['Team', 'team', true, 'builtin'],
    ]);
    expect(kinds.byIdPrefix('service')).toBe(kinds.get('Service'));
    expect(kinds.get('host')).toBeUndefined();
    expect(kinds.get('Service')!.references.map((r) => [r.pattern.join('.'), r.targets.join('|'), r.relation, r.inverse])).toEqual([
      ['metadata.owner', 'Team', 'owner', 'owns'],
      ['spec.runsOn.*', 'Host', 'runsOn', 'hosts'],
      ['spec.dependsOn.*', 'Service|Database', 'dependsOn', 'dependencyOf'],
    ]);
    expect(kinds.get('Host')!.unique.map((u) => u.pattern.join('.'))).toEqual(['spec.hostname', 'spec.ip']);
    expect(kinds.get('Database')!.references.map((r) => `${r.relation}/${r.inverse}`)).toEqual(['owner/owns', 'runsOn/hosts', 'replicaOf/replicas']);
    expect(kinds.get('Host')!.references.map((r) => `${r.relation}/${r.inverse}`)).toEqual(['owner/owns', 'network/members']);
    expect(kinds.get('Application')!.references.map((r) => `${r.relation}/${r.inverse}`)).toEqual(['owner/owns', 'service/applications']);
    expect(kinds.get('Host')!.description).toMatch(/machine/);
  });

  it('adds a custom kind and reports nothing for it', () => {
    const reports: unknown[][] = [];
    const kinds = buildKindRegistry([
      schemaDoc('schemas/c.yaml', { apiVersion: 'estate/v1', kind: 'Schema', metadata: { name: 'Certificate' }, spec: { schema: { type: 'object', properties: { cn: { type: 'string', 'x-estate-unique': true } } } } }, reports),
    ]);
    expect(reports).toEqual([]);
    expect(kinds.get('Certificate')).toMatchObject({ idPrefix: 'certificate', builtin: false, source: 'schemas/c.yaml', unique: [{ pattern: ['spec', 'cn'] }] });
    expect(kinds.get('Certificate')!.validateSpec({ cn: 1 })).toMatchObject([{ keyword: 'type', instancePath: '/cn' }]);
    expect(kinds.list()).toHaveLength(7);
  });

  it('does not leak custom kinds into the next registry', () => {
    buildKindRegistry([schemaDoc('schemas/c.yaml', { metadata: { name: 'Leaky' }, spec: { schema: { type: 'object' } } }, [])]);
    expect(buildKindRegistry([]).get('Leaky')).toBeUndefined();
  });

  it('validates metadata and the estate spec', () => {
    const kinds = buildKindRegistry([]);
    expect(kinds.validateMetadata({ name: 'a', labels: { env: 'prod' }, owner: 'team/x' })).toEqual([]);
    expect(kinds.validateMetadata({ labels: { env: 1 } }).map((e) => e.keyword).sort()).toEqual(['required', 'type']);
    expect(kinds.validateEstateSpec({ environments: ['dev'] })).toEqual([]);
    expect(kinds.validateEstateSpec({ environments: [] })).toMatchObject([{ keyword: 'minItems' }]);
  });
});
