import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from './diagnostics.js';
import { parseAssetRef } from './assetChecks.js';
import { secretRecipientsFor } from './estate.js';
import { classifyEstatePath, loadEstate } from './loadEstate.js';
import { MemoryParseCache } from './memoryParseCache.js';
import { assetYaml, diag, ESTATE_YAML, lines, loadMemoryEstate, memoryRepo } from './testing/memoryEstate.js';

const CERTIFICATE_SCHEMA = lines(
  'apiVersion: estate/v1', //                  1
  'kind: Schema', //                           2
  'metadata:', //                              3
  '  name: Certificate', //                    4
  '  description: A TLS certificate.', //      5
  'spec:', //                                  6
  '  schema:', //                              7
  '    type: object', //                       8
  '    additionalProperties: false', //        9
  '    required: [commonName]', //            10
  '    properties:', //                       11
  '      commonName:', //                     12
  '        type: string', //                  13
  '        x-estate-unique: true', //         14
  '      hosts:', //                          15
  '        type: array', //                   16
  '        items:', //                        17
  '          type: string', //                18
  '          x-estate-ref: Host', //          19
  '          x-estate-relation: installedOn', // 20
  '          x-estate-inverse: certificates', // 21
);

const schemaYaml = (name: string, ...specLines: string[]): string =>
  lines('apiVersion: estate/v1', 'kind: Schema', 'metadata:', `  name: ${name}`, 'spec:', ...specLines);

describe('loadEstate: a valid estate', () => {
  const files = {
    'estate.yaml': lines('apiVersion: estate/v1', 'kind: Estate', 'metadata:', '  name: shop', 'spec:', '  environments:', '    - dev', '    - {name: prod, description: Customers, protected: true}', '  settings: {region: eu}'),
    'schemas/certificate.yaml': CERTIFICATE_SCHEMA,
    'assets/teams.yaml': assetYaml('Team', 'team-web', '  members: [ana, bo]', '  contact: "#web"'),
    'assets/hosts/web.yaml': lines(
      '# The web tier',
      '---',
      'apiVersion: estate/v1',
      'kind: Host',
      'metadata:',
      '  name: web-01',
      '  labels: {env: prod, app.kubernetes.io/name: shop}',
      '  owner: team/team-web',
      'spec:',
      '  hostname: web-01.example.com',
      '  ip: 10.0.1.11',
      '  network: network/dmz',
      '---',
      'apiVersion: estate/v1',
      'kind: Host',
      'metadata:',
      '  name: web-02',
      'spec:',
      '  hostname: web-02.example.com',
      '  ip: "2001:db8::2"',
    ),
    'assets/net.yml': assetYaml('Network', 'dmz', '  cidr: 10.0.1.0/24', '  vlan: 12'),
    'assets/svc.yaml': assetYaml('Service', 'shop', '  runsOn: [host/web-01, web-02]', '  ports: [{port: 443, name: https}]', '  tier: 1'),
    'assets/cert.yaml': assetYaml('Certificate', 'shop-example-com', '  commonName: shop.example.com', '  hosts: [web-01]'),
    'assets/README.md': '# Assets\nOne folder per kind.\n',
    'README.md': '# not read\n',
    'config/shop/base.yaml': 'not: [valid\n',
    'policies/x.yaml': '{{{',
  };

  it('has no diagnostics, and reads what it declares', async () => {
    const estate = await loadMemoryEstate(files);
    expect(estate.diagnostics).toEqual([]);
    expect(estate.config).toEqual({
      name: 'shop',
      environments: [
        { name: 'dev', protected: false },
        { name: 'prod', description: 'Customers', protected: true },
      ],
      settings: { region: 'eu' },
      secrets: { recipients: [] },
      webhooks: [],
    });
    expect([...estate.assets.keys()]).toEqual(['certificate/shop-example-com', 'host/web-01', 'host/web-02', 'network/dmz', 'service/shop', 'team/team-web']);
    expect(estate.kinds.get('Certificate')).toMatchObject({ name: 'Certificate', idPrefix: 'certificate', builtin: false, source: 'schemas/certificate.yaml', description: 'A TLS certificate.' });
  });

  it('describes each asset: id, kind, name, file, document, metadata and spec', async () => {
    const repo = memoryRepo(files);
    const estate = await loadEstate(repo.files, repo.readFiles);
    const web02 = estate.assets.get('host/web-02')!;
    expect(web02).toMatchObject({
      id: 'host/web-02',
      kind: 'Host',
      name: 'web-02',
      path: 'assets/hosts/web.yaml',
      blobId: repo.files.find((f) => f.path === 'assets/hosts/web.yaml')!.blobId,
      metadata: { name: 'web-02' },
      spec: { hostname: 'web-02.example.com', ip: '2001:db8::2' },
    });
    expect(web02.document).toMatchObject({ index: 1, line: 13 });
    expect(estate.assets.get('host/web-01')!.metadata).toEqual({ name: 'web-01', labels: { env: 'prod', 'app.kubernetes.io/name': 'shop' }, owner: 'team/team-web' });
  });

  it('counts files, documents and assets, and reads only the files it uses', async () => {
    const repo = memoryRepo(files);
    const estate = await loadEstate(repo.files, repo.readFiles);
    expect(estate.stats).toEqual({
      files: 8,
      documents: 8,
      assets: 6,
      parsed: 8,
      byKind: { Certificate: 1, Host: 2, Network: 1, Service: 1, Team: 1 },
    });
    expect([...repo.reads].sort()).toEqual([
      'assets/README.md',
      'assets/cert.yaml',
      'assets/hosts/web.yaml',
      'assets/net.yml',
      'assets/svc.yaml',
      'assets/teams.yaml',
      'estate.yaml',
      'schemas/certificate.yaml',
    ]);
  });

  it('reports progress as files are parsed', async () => {
    const calls: Array<[number, number]> = [];
    await loadMemoryEstate(files, { onProgress: (done, total) => calls.push([done, total]) });
    expect(calls).toEqual([[8, 8]]);
  });
});

describe('classifyEstatePath', () => {
  it.each([
    ['estate.yaml', 'estate'],
    ['sub/estate.yaml', undefined],
    ['estate.yml', undefined],
    ['schemas/cert.yaml', 'schema'],
    ['schemas/nested/cert.yml', 'schema'],
    ['schemas/README.md', undefined],
    ['assets/a.yaml', 'asset'],
    ['assets/x/y/z.yml', 'asset'],
    ['assets/LEGACY.YAML', 'asset'],
    ['assets/nginx.conf', 'asset-other'],
    ['config/app/base.yaml', undefined],
    ['policies/freeze.yaml', undefined],
    ['README.md', undefined],
  ] as const)('%s is %s', (path, role) => {
    expect(classifyEstatePath(path)).toBe(role);
  });
});

describe('parseAssetRef', () => {
  it.each([
    ['host/web-01', undefined, { prefix: 'host', name: 'web-01' }],
    ['web-01', 'host', { prefix: 'host', name: 'web-01' }],
    ['web-01', undefined, undefined],
    ['', 'host', undefined],
    ['host/', undefined, undefined],
    ['/web-01', undefined, undefined],
    ['a/b/c', undefined, undefined],
  ] as const)('%j (default %s) is %j', (ref, prefix, expected) => {
    expect(parseAssetRef(ref, prefix)).toEqual(expected);
  });
});

describe('loadEstate: E_ENVELOPE', () => {
  const load = async (text: string) => (await loadMemoryEstate({ 'assets/a.yaml': text })).diagnostics;

  it('reports a missing apiVersion at the document and keeps checking', async () => {
    expect(await load(lines('kind: Team', 'metadata:', '  name: a', '  bogus: 1', 'spec: {}'))).toMatchObject([
      diag('E_ENVELOPE', 'assets/a.yaml', 1, 1, 'missing apiVersion', 'estate/v1'),
      diag('E_SCHEMA', 'assets/a.yaml', 4, 3, "unknown field 'metadata.bogus'"),
    ]);
  });

  it('reports a wrong apiVersion at its value', async () => {
    expect(await load(lines('apiVersion: estate/v2', 'kind: Team', 'metadata: {name: a}', 'spec: {}'))).toMatchObject([
      diag('E_ENVELOPE', 'assets/a.yaml', 1, 13, 'apiVersion must be estate/v1', '(got "estate/v2")'),
    ]);
  });

  it('reports a missing kind', async () => {
    expect(await load(lines('apiVersion: estate/v1', 'metadata: {name: a}', 'spec: {}'))).toMatchObject([diag('E_ENVELOPE', 'assets/a.yaml', 1, 1, 'missing kind', 'kind: Host')]);
  });

  it('reports a kind that is not a string at its value', async () => {
    expect(await load(lines('apiVersion: estate/v1', 'kind: [Host]', 'metadata: {name: a}', 'spec: {}'))).toMatchObject([
      diag('E_ENVELOPE', 'assets/a.yaml', 2, 7, 'kind must be a string', '(got ["Host"])'),
    ]);
  });

  it('reports a missing metadata.name at metadata, or at the document without metadata', async () => {
    expect(await load(lines('apiVersion: estate/v1', 'kind: Team', 'metadata:', '  labels: {a: b}', 'spec: {}'))).toMatchObject([
      diag('E_ENVELOPE', 'assets/a.yaml', 3, 1, 'missing metadata.name'),
    ]);
    expect(await load(lines('apiVersion: estate/v1', 'kind: Team', 'spec: {}'))).toMatchObject([diag('E_ENVELOPE', 'assets/a.yaml', 1, 1, 'missing metadata.name')]);
  });

  it('reports a metadata.name that is not a string at its value', async () => {
    expect(await load(lines('apiVersion: estate/v1', 'kind: Team', 'metadata:', '  name: 42', 'spec: {}'))).toMatchObject([
      diag('E_ENVELOPE', 'assets/a.yaml', 4, 9, 'metadata.name must be a string', '(got 42)'),
    ]);
  });

  it('reports metadata that is not a mapping at its value', async () => {
    expect(await load(lines('apiVersion: estate/v1', 'kind: Team', 'metadata: web-01', 'spec: {}'))).toMatchObject([
      diag('E_ENVELOPE', 'assets/a.yaml', 3, 11, 'metadata must be a mapping', '(got "web-01")'),
    ]);
  });

  it('reports each unknown top-level key at the key', async () => {
    expect(await load(lines('apiVersion: estate/v1', 'kind: Team', 'metadata: {name: a}', 'status: {}', 'spec: {}', 'Spec: {}'))).toMatchObject([
      diag('E_ENVELOPE', 'assets/a.yaml', 4, 1, "unknown top-level field 'status'", 'apiVersion, kind, metadata and spec'),
      diag('E_ENVELOPE', 'assets/a.yaml', 6, 1, "unknown top-level field 'Spec'"),
    ]);
  });

  it('reports a spec that is not a mapping at the key, and a missing spec at the document', async () => {
    expect(await load(lines('apiVersion: estate/v1', 'kind: Team', 'metadata: {name: a}', 'spec: [members]'))).toMatchObject([
      diag('E_ENVELOPE', 'assets/a.yaml', 4, 1, 'spec must be a mapping', '(got ["members"])'),
    ]);
    expect(await load(lines('apiVersion: estate/v1', 'kind: Team', 'metadata: {name: a}'))).toMatchObject([diag('E_ENVELOPE', 'assets/a.yaml', 1, 1, "missing spec for Team 'a'")]);
  });

  it('still registers an asset whose spec is missing, so references to it resolve', async () => {
    const estate = await loadMemoryEstate({ 'assets/a.yaml': lines('apiVersion: estate/v1', 'kind: Team', 'metadata: {name: a}'), 'assets/b.yaml': assetYaml('Network', 'n', '  cidr: 10.0.0.0/8').replace('name: n', 'name: n\n  owner: a') });
    expect(estate.diagnostics).toMatchObject([diag('E_ENVELOPE', 'assets/a.yaml', 1, 1, 'missing spec')]);
    expect(estate.assets.has('team/a')).toBe(true);
  });

  it.each([
    ['a list', lines('- apiVersion: estate/v1', '- kind: Team')],
    ['a string', lines('just text')],
    ['a number', lines('42')],
  ])('reports a document that is %s', async (_, text) => {
    expect(await load(text)).toMatchObject([diag('E_ENVELOPE', 'assets/a.yaml', 1, 1, 'an asset must be a mapping with apiVersion, kind, metadata and spec')]);
  });

  it('tags diagnostics with the asset id once the id is known', async () => {
    const [named, unknown] = await load(lines('apiVersion: estate/v1', 'kind: Team', 'metadata: {name: a, bogus: 1}', 'extra: 1', 'spec: {}'));
    expect(unknown).toMatchObject({ code: 'E_ENVELOPE', line: 4 });
    expect(unknown).not.toHaveProperty('asset');
    expect(named).toMatchObject({ code: 'E_SCHEMA', line: 3, col: 21, asset: 'team/a' });
  });
});

describe('loadEstate: E_UNKNOWN_KIND', () => {
  const load = async (kind: string, extra: Record<string, string> = {}) =>
    (await loadMemoryEstate({ ...extra, 'assets/a.yaml': lines('apiVersion: estate/v1', `kind: ${kind}`, 'metadata: {name: a}', 'spec: {}') })).diagnostics;

  it('suggests the kind with the right case', async () => {
    expect(await load('host')).toMatchObject([diag('E_UNKNOWN_KIND', 'assets/a.yaml', 2, 7, "unknown kind 'host'", "did you mean 'Host'?")]);
    expect(await load('DATABASE')).toMatchObject([diag('E_UNKNOWN_KIND', 'assets/a.yaml', 2, 7, "unknown kind 'DATABASE'", "did you mean 'Database'?")]);
  });

  it('suggests custom kinds too', async () => {
    expect(await load('certificate', { 'schemas/c.yaml': CERTIFICATE_SCHEMA })).toMatchObject([diag('E_UNKNOWN_KIND', 'assets/a.yaml', 2, 7, "did you mean 'Certificate'?")]);
  });

  it('lists the known kinds otherwise', async () => {
    expect(await load('Widget', { 'schemas/c.yaml': CERTIFICATE_SCHEMA })).toMatchObject([
      diag('E_UNKNOWN_KIND', 'assets/a.yaml', 2, 7, "unknown kind 'Widget'", 'known kinds: Application, Certificate, Database, Host, Network, Service, Team'),
    ]);
  });

  it('says where Schema and Estate documents belong', async () => {
    expect(await load('Schema')).toMatchObject([diag('E_UNKNOWN_KIND', 'assets/a.yaml', 2, 7, "unknown kind 'Schema'", 'Schema documents belong in schemas/')]);
    expect(await load('Estate')).toMatchObject([diag('E_UNKNOWN_KIND', 'assets/a.yaml', 2, 7, "unknown kind 'Estate'", 'the Estate document is estate.yaml')]);
  });
});

describe('loadEstate: E_NAME', () => {
  const load = async (name: string) => (await loadMemoryEstate({ 'assets/a.yaml': lines('apiVersion: estate/v1', 'kind: Team', 'metadata:', `  name: ${name}`, 'spec: {}') })).diagnostics;

  it.each(['Web-01', 'web_01', '-web', 'web-', 'web.01', 'wéb'])('refuses %j as an asset name, at the value', async (name) => {
    expect(await load(name)).toMatchObject([diag('E_NAME', 'assets/a.yaml', 4, 9, `Team name '${name}' must be a DNS-1123 label`, 'at most 63 characters')]);
  });

  it('accepts 63 characters and refuses 64', async () => {
    expect(await load('a'.repeat(63))).toEqual([]);
    expect(await load('a'.repeat(64))).toMatchObject([diag('E_NAME', 'assets/a.yaml', 4, 9, `Team name '${'a'.repeat(64)}'`, 'DNS-1123')]);
  });

  it.each(['a', '"0"', 'web-01', '1-2-3', '"007"'])('accepts %s', async (name) => {
    expect(await load(name)).toEqual([]);
  });

  it('refuses an estate name that is not a DNS-1123 label', async () => {
    const estate = await loadMemoryEstate({ 'estate.yaml': ESTATE_YAML.replace('name: test', 'name: My Estate') });
    expect(estate.diagnostics).toMatchObject([diag('E_NAME', 'estate.yaml', 4, 9, "estate name 'My Estate' must be a DNS-1123 label")]);
  });

  it.each(['certificate', 'Load_Balancer', 'Load-Balancer', '9Lives', `C${'a'.repeat(63)}`])('refuses %j as a kind name, at the value', async (name) => {
    const estate = await loadMemoryEstate({ 'schemas/x.yaml': schemaYaml(name, '  schema: {type: object}') });
    expect(estate.diagnostics).toMatchObject([diag('E_NAME', 'schemas/x.yaml', 4, 9, `kind name '${name}' must be PascalCase`)]);
    expect(estate.kinds.list().map((k) => k.name)).toEqual(['Application', 'Database', 'Host', 'Network', 'Service', 'Team']);
  });

  it.each(['LoadBalancer', 'X', 'Dns2', `C${'a'.repeat(62)}`])('accepts %j as a kind name', async (name) => {
    const estate = await loadMemoryEstate({ 'schemas/x.yaml': schemaYaml(name, '  schema: {type: object}') });
    expect(estate.diagnostics).toEqual([]);
    expect(estate.kinds.get(name)?.idPrefix).toBe(name.toLowerCase());
  });
});

describe('loadEstate: E_SCHEMA', () => {
  const host = (...specLines: string[]): string => assetYaml('Host', 'web-01', '  hostname: web-01.example.com', ...specLines);
  const load = async (text: string, extra: Record<string, string> = {}) => (await loadMemoryEstate({ ...extra, 'assets/a.yaml': text })).diagnostics;

  it('reports a wrong type at the value', async () => {
    expect(await load(host('  cpus: four'))).toMatchObject([diag('E_SCHEMA', 'assets/a.yaml', 7, 9, 'spec.cpus must be integer', '(got "four")')]);
    expect(await load(host('  files:', '    - path: /etc/motd', '      mode: 644', '      content: hi'))).toMatchObject([
      diag('E_SCHEMA', 'assets/a.yaml', 9, 13, 'spec.files[0].mode must be string', '(got 644)'),
    ]);
  });

  it('reports a missing required field at the key of the object that lacks it', async () => {
    expect(await load(assetYaml('Host', 'web-01', '  ip: 10.0.0.1'))).toMatchObject([diag('E_SCHEMA', 'assets/a.yaml', 5, 1, "spec is missing required field 'hostname'")]);
    expect(await load(assetYaml('Service', 's', '  ports:', '    - name: http', '    - port: 80'))).toMatchObject([
      diag('E_SCHEMA', 'assets/a.yaml', 7, 7, "spec.ports[0] is missing required field 'port'"),
    ]);
  });

  it('reports an unknown field at its key, listing the known ones', async () => {
    expect(await load(host('  hostnme: x'))).toMatchObject([
      diag('E_SCHEMA', 'assets/a.yaml', 7, 3, "unknown field 'spec.hostnme'", 'known fields: hostname, ip, os, cpus, memoryGiB, network, packages, files, services'),
    ]);
    expect(await load(host('  files:', '    - path: /a', '      content: x', '      group: root'))).toMatchObject([
      diag('E_SCHEMA', 'assets/a.yaml', 10, 7, "unknown field 'spec.files[0].group'", 'known fields: path, source, content, mode, owner'),
    ]);
  });

  it('reports a value outside an enum, listing the allowed values', async () => {
    expect(await load(assetYaml('Database', 'db', '  engine: oracle'))).toMatchObject([
      diag('E_SCHEMA', 'assets/a.yaml', 6, 11, 'spec.engine must be one of "postgresql", "mysql", "mariadb", "mongodb", "redis", "other"', '(got "oracle")'),
    ]);
    expect(await load(assetYaml('Service', 's', '  ports: [{port: 53, protocol: sctp}]'))).toMatchObject([diag('E_SCHEMA', 'assets/a.yaml', 6, 32, 'spec.ports[0].protocol must be one of "tcp", "udp"', '(got "sctp")')]);
  });

  it.each(['10.0.1.11', '0.0.0.0', '255.255.255.255', '2001:db8::1', '::1', 'fe80::1:2:3:4', '2001:0db8:0000:0000:0000:ff00:0042:8329'])('accepts %s as format ip', async (ip) => {
    expect(await load(host(`  ip: "${ip}"`))).toEqual([]);
  });

  it.each(['10.0.1.999', '10.0.1', '10.0.1.1.1', 'web-01', '2001:db8:::1', '10.0.1.1/24', ''])('refuses %j as format ip, at the value', async (ip) => {
    expect(await load(host(`  ip: "${ip}"`))).toMatchObject([diag('E_SCHEMA', 'assets/a.yaml', 7, 7, 'spec.ip must be a valid ip', `(got "${ip}")`)]);
  });

  it('checks format hostname', async () => {
    expect(await load(assetYaml('Host', 'a', '  hostname: -bad-.example.com'))).toMatchObject([diag('E_SCHEMA', 'assets/a.yaml', 6, 13, 'spec.hostname must be a valid hostname', '(got "-bad-.example.com")')]);
  });

  it('reports a pattern mismatch with the pattern and the value', async () => {
    expect(await load(host('  files:', '    - path: etc/motd', '      content: hi'))).toMatchObject([diag('E_SCHEMA', 'assets/a.yaml', 8, 13, 'spec.files[0].path must match pattern "^/"', '(got "etc/motd")')]);
    expect(await load(assetYaml('Network', 'n', '  cidr: 10.0.0.0/33'))).toMatchObject([diag('E_SCHEMA', 'assets/a.yaml', 6, 9, 'spec.cidr must match pattern', '(got "10.0.0.0/33")')]);
  });

  it('accepts exactly one of source and content in Host.files (oneOf)', async () => {
    expect(await load(host('  files:', '    - {path: /a, source: files/a}', '    - {path: /b, content: ""}'))).toEqual([]);
  });

  it('reports a Host.files item with both source and content as one problem', async () => {
    expect(await load(host('  files:', '    - path: /a', '      source: files/a', '      content: x'))).toMatchObject([
      diag('E_SCHEMA', 'assets/a.yaml', 8, 7, 'spec.files[0] must match exactly one of the allowed forms', 'but matches 2 of them'),
    ]);
  });

  it('reports a Host.files item with neither source nor content as one problem naming both', async () => {
    expect(await load(host('  files:', '    - path: /a', '      mode: "0644"'))).toMatchObject([
      diag('E_SCHEMA', 'assets/a.yaml', 8, 7, 'spec.files[0] must match exactly one of the allowed forms', "required property 'source'", "or must have required property 'content'"),
    ]);
  });

  it('names the field of a failing branch below the combinator (anyOf of estate environments)', async () => {
    const estate = await loadMemoryEstate({ 'estate.yaml': ESTATE_YAML.replace('[dev, prod]', '[dev, {name: qa, protected: yes}]') });
    expect(estate.diagnostics).toMatchObject([diag('E_SCHEMA', 'estate.yaml', 6, 23, 'spec.environments[1] must match at least one of the allowed forms', 'must be string; or protected must be boolean')]);
  });

  it('reports a bad map key at the key (propertyNames), once', async () => {
    expect(await load(host('  packages:', '    nginx: "1.24.*"', '    "open ssl": "3.0"'))).toMatchObject([diag('E_SCHEMA', 'assets/a.yaml', 9, 5, "spec.packages key 'open ssl' must match pattern")]);
    expect(await load(assetYaml('Team', 't').replace('name: t', 'name: t\n  labels: {env: prod, "bad key!": x}'))).toMatchObject([diag('E_SCHEMA', 'assets/a.yaml', 5, 23, "metadata.labels key 'bad key!' must match pattern")]);
  });

  it('checks metadata against the envelope schema', async () => {
    expect(await load(assetYaml('Team', 't').replace('name: t', 'name: t\n  labels: {env: "prod!"}\n  description: [x]\n  owners: x'))).toMatchObject([
      diag('E_SCHEMA', 'assets/a.yaml', 5, 17, 'metadata.labels.env must match pattern', '(got "prod!")'),
      diag('E_SCHEMA', 'assets/a.yaml', 6, 16, 'metadata.description must be string'),
      diag('E_SCHEMA', 'assets/a.yaml', 7, 3, "unknown field 'metadata.owners'", 'known fields: name, labels, owner, description, annotations'),
    ]);
  });

  it('reports number limits with the value', async () => {
    expect(await load(host('  memoryGiB: 0', '  cpus: 0'))).toMatchObject([
      diag('E_SCHEMA', 'assets/a.yaml', 7, 14, 'spec.memoryGiB must be > 0', '(got 0)'),
      diag('E_SCHEMA', 'assets/a.yaml', 8, 9, 'spec.cpus must be >= 1', '(got 0)'),
    ]);
  });

  it('validates custom kinds with their schema', async () => {
    expect(await load(assetYaml('Certificate', 'c', '  hosts: []'), { 'schemas/c.yaml': CERTIFICATE_SCHEMA })).toMatchObject([
      diag('E_SCHEMA', 'assets/a.yaml', 5, 1, "spec is missing required field 'commonName'"),
    ]);
  });

  it('reports a reference that is not <kind>/<name> in a field of several target kinds', async () => {
    const diagnostics = await load(assetYaml('Service', 's', '  dependsOn: [payments, "", service/]'));
    expect(diagnostics).toMatchObject([
      diag('E_SCHEMA', 'assets/a.yaml', 6, 15, 'spec.dependsOn[0] must be a reference <kind>/<name> to service or database', '(got "payments")'),
      diag('E_SCHEMA', 'assets/a.yaml', 6, 25, 'spec.dependsOn[1] must be a reference', '(got "")'),
      diag('E_SCHEMA', 'assets/a.yaml', 6, 29, 'spec.dependsOn[2] must be a reference', '(got "service/")'),
    ]);
  });
});

describe('loadEstate: E_SCHEMA_DEFINITION', () => {
  const load = async (files: Record<string, string>) => loadMemoryEstate(files);

  it('reports an unknown keyword (a typo) at the keyword, and leaves the kind out', async () => {
    const estate = await load({
      'schemas/x.yaml': schemaYaml('Cert', '  schema:', '    type: object', '    properties:', '      name:', '        type: string', '    requried: [name]'),
      'assets/a.yaml': assetYaml('Cert', 'c'),
    });
    expect(estate.diagnostics).toMatchObject([
      diag('E_UNKNOWN_KIND', 'assets/a.yaml', 2, 7, "unknown kind 'Cert'"),
      diag('E_SCHEMA_DEFINITION', 'schemas/x.yaml', 11, 5, "invalid JSON Schema for kind 'Cert'", 'unknown keyword: "requried"'),
    ]);
    expect(estate.kinds.get('Cert')).toBeUndefined();
  });

  it('reports a schema that breaks the meta-schema at the offending value', async () => {
    const estate = await load({ 'schemas/x.yaml': schemaYaml('Cert', '  schema:', '    type: object', '    properties:', '      a: {type: strin}') });
    expect(estate.diagnostics).toMatchObject([diag('E_SCHEMA_DEFINITION', 'schemas/x.yaml', 9, 11, "invalid JSON Schema for kind 'Cert'", 'data/properties/a/type must be equal to one of the allowed values')]);
  });

  it('reports an unresolvable $ref at spec.schema', async () => {
    const estate = await load({ 'schemas/x.yaml': schemaYaml('Cert', '  schema:', '    $ref: "#/$defs/missing"') });
    expect(estate.diagnostics).toMatchObject([diag('E_SCHEMA_DEFINITION', 'schemas/x.yaml', 6, 3, "invalid JSON Schema for kind 'Cert'", "can't resolve reference #/$defs/missing")]);
  });

  it('refuses a custom kind that redefines a built-in one, in any case', async () => {
    const estate = await load({ 'schemas/x.yaml': schemaYaml('Host', '  schema: {type: object}') + '---\n' + schemaYaml('HOST', '  schema: {type: object}') });
    expect(estate.diagnostics).toMatchObject([
      diag('E_SCHEMA_DEFINITION', 'schemas/x.yaml', 4, 9, "kind 'Host' is a built-in kind"),
      diag('E_SCHEMA_DEFINITION', 'schemas/x.yaml', 11, 9, "kind 'HOST' is a built-in kind"),
    ]);
    expect(estate.kinds.get('Host')!.builtin).toBe(true);
  });

  it('refuses a custom kind defined twice, naming the first file', async () => {
    const estate = await load({ 'schemas/a.yaml': schemaYaml('Cert', '  schema: {type: object}'), 'schemas/b.yaml': schemaYaml('CERT', '  schema: {type: object}') });
    expect(estate.diagnostics).toMatchObject([diag('E_SCHEMA_DEFINITION', 'schemas/b.yaml', 4, 9, "kind 'CERT' is already defined in schemas/a.yaml")]);
  });

  it('requires spec.schema to be a mapping', async () => {
    const estate = await load({
      'schemas/a.yaml': schemaYaml('Cert', '  description: no schema'),
      'schemas/b.yaml': lines('apiVersion: estate/v1', 'kind: Schema', 'metadata:', '  name: Key'),
      'schemas/c.yaml': schemaYaml('Lock', '  schema: [type, object]'),
    });
    expect(estate.diagnostics).toMatchObject([
      diag('E_SCHEMA_DEFINITION', 'schemas/a.yaml', 5, 1, "Schema 'Cert' needs spec.schema", 'a JSON Schema object'),
      diag('E_SCHEMA_DEFINITION', 'schemas/b.yaml', 1, 1, "Schema 'Key' needs spec.schema"),
      diag('E_SCHEMA_DEFINITION', 'schemas/c.yaml', 5, 1, "Schema 'Lock' needs spec.schema"),
    ]);
  });

  it('reports an x-estate-ref to an unknown kind', async () => {
    const estate = await load({ 'schemas/x.yaml': schemaYaml('Cert', '  schema:', '    type: object', '    properties:', '      lb: {type: string, x-estate-ref: LoadBalancer}') });
    expect(estate.diagnostics).toMatchObject([diag('E_SCHEMA_DEFINITION', 'schemas/x.yaml', 6, 3, "kind 'Cert' references unknown kind 'LoadBalancer'", 'x-estate-ref at spec.lb')]);
  });

  it('accepts x-estate-ref to built-in, custom and its own kind', async () => {
    const estate = await load({
      'schemas/x.yaml': schemaYaml('Cert', '  schema:', '    type: object', '    properties:', '      issuer: {type: string, x-estate-ref: Cert}', '      key: {type: string, x-estate-ref: [Key, Host]}'),
      'schemas/y.yaml': schemaYaml('Key', '  schema: {type: object}'),
    });
    expect(estate.diagnostics).toEqual([]);
  });

  it('checks the envelope of Schema documents', async () => {
    const estate = await load({
      'schemas/a.yaml': lines('apiVersion: estate/v1', 'kind: Host', 'metadata: {name: A}', 'spec: {schema: {}}'),
      'schemas/b.yaml': lines('kind: Schema', 'metadata: {name: B}', 'spec: {schema: {}}'),
      'schemas/c.yaml': lines('apiVersion: estate/v1', 'kind: Schema', 'metadata: {}', 'spec: {schema: {}}'),
      'schemas/d.yaml': lines('- not a mapping'),
    });
    expect(estate.diagnostics).toMatchObject([
      diag('E_ENVELOPE', 'schemas/a.yaml', 2, 7, 'expected kind: Schema here, got "Host"'),
      diag('E_ENVELOPE', 'schemas/b.yaml', 1, 1, 'missing apiVersion'),
      diag('E_ENVELOPE', 'schemas/c.yaml', 3, 11, 'a Schema needs metadata.name'),
      diag('E_ENVELOPE', 'schemas/d.yaml', 1, 1, 'a Schema document must be a mapping'),
    ]);
  });
});

describe('loadEstate: E_ESTATE_FILE and estate.yaml', () => {
  it('reports a missing estate.yaml', async () => {
    const estate = await loadMemoryEstate({ 'assets/a.yaml': assetYaml('Team', 'a') }, { withEstateFile: false });
    expect(estate.diagnostics).toMatchObject([diag('E_ESTATE_FILE', 'estate.yaml', 1, 1, 'estate.yaml is missing', 'not an estate repo', 'estate init')]);
    expect(estate.config).toBeUndefined();
    // The rest is still validated.
    expect(estate.assets.has('team/a')).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['only comments', '# to do\n'],
    ['only a marker', '---\n'],
  ])('reports an estate.yaml that is %s', async (_, text) => {
    const estate = await loadMemoryEstate({ 'estate.yaml': text });
    expect(estate.diagnostics).toMatchObject([diag('E_ESTATE_FILE', 'estate.yaml', 1, 1, 'estate.yaml is empty', 'kind: Estate', 'spec.environments')]);
  });

  it('reports a second document at its start', async () => {
    const estate = await loadMemoryEstate({ 'estate.yaml': ESTATE_YAML + '---\n' + ESTATE_YAML });
    expect(estate.diagnostics).toMatchObject([diag('E_ESTATE_FILE', 'estate.yaml', 8, 1, 'estate.yaml must hold a single document')]);
    expect(estate.config?.name).toBe('test');
  });

  it('reports unknown top-level fields of estate.yaml and of Schema documents, and still reads them', async () => {
    const estate = await loadMemoryEstate({
      'estate.yaml': ESTATE_YAML + 'enviroments: [dev]\n',
      'schemas/a.yaml': schemaYaml('Widget', '  schema: {type: object}') + 'extra: 1\n',
    });
    expect(estate.diagnostics).toMatchObject([
      diag('E_ENVELOPE', 'estate.yaml', 7, 1, "unknown top-level field 'enviroments'", 'an Estate document'),
      diag('E_ENVELOPE', 'schemas/a.yaml', 7, 1, "unknown top-level field 'extra'"),
    ]);
    expect(estate.config?.name).toBe('test');
    expect(estate.kinds.get('Widget')).toBeDefined();
  });

  it('reports a YAML error in estate.yaml only once', async () => {
    const estate = await loadMemoryEstate({ 'estate.yaml': 'a: [\n' });
    expect(estate.diagnostics).toMatchObject([diag('E_YAML_SYNTAX', 'estate.yaml', 2, 1, 'unexpected end of the stream')]);
  });

  it('checks its envelope, name and spec', async () => {
    expect((await loadMemoryEstate({ 'estate.yaml': lines('apiVersion: estate/v1', 'kind: Host', 'metadata: {name: x}') })).diagnostics).toMatchObject([
      diag('E_ENVELOPE', 'estate.yaml', 2, 7, 'expected kind: Estate here, got "Host"'),
    ]);
    expect((await loadMemoryEstate({ 'estate.yaml': lines('apiVersion: estate/v1', 'kind: Estate', 'metadata: {}', 'spec: {}') })).diagnostics).toMatchObject([
      diag('E_ENVELOPE', 'estate.yaml', 3, 1, 'estate.yaml needs metadata.name'),
      diag('E_SCHEMA', 'estate.yaml', 4, 1, "spec is missing required field 'environments'"),
    ]);
    expect((await loadMemoryEstate({ 'estate.yaml': lines('apiVersion: estate/v1', 'kind: Estate', 'metadata: {name: x}') })).diagnostics).toMatchObject([
      diag('E_ENVELOPE', 'estate.yaml', 1, 1, 'estate.yaml needs spec.environments', '[dev, staging, prod]'),
    ]);
  });

  it('reports environment problems at the item', async () => {
    const estate = await loadMemoryEstate({
      'estate.yaml': lines('apiVersion: estate/v1', 'kind: Estate', 'metadata: {name: x}', 'spec:', '  environments:', '    - dev', '    - Prod', '    - {name: dev, protected: true}', '  bogus: 1'),
    });
    expect(estate.diagnostics).toMatchObject([
      diag('E_SCHEMA', 'estate.yaml', 7, 7, 'spec.environments[1] must match at least one of the allowed forms', 'must match pattern'),
      diag('E_SCHEMA', 'estate.yaml', 8, 7, "environment 'dev' is declared twice"),
      diag('E_SCHEMA', 'estate.yaml', 9, 3, "unknown field 'spec.bogus'", 'known fields: environments, settings, secrets'),
    ]);
    expect(estate.config?.environments.map((e) => e.name)).toEqual(['dev', 'Prod']);
  });

  it('reads secret recipients', async () => {
    const key = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
    const estate = await loadMemoryEstate({ 'estate.yaml': ESTATE_YAML + `  secrets: {recipients: [${key}]}\n` });
    expect(estate.diagnostics).toEqual([]);
    expect(estate.config?.secrets).toEqual({ recipients: [key] });
  });

  it('reads recipients per environment, which take the place of the estate-wide ones', async () => {
    const shared = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
    const prod = 'age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg';
    const yaml = ESTATE_YAML.replace('[dev, prod]', `[dev, {name: prod, recipients: [${prod}]}]`) + `  secrets: {recipients: [${shared}]}\n`;
    const estate = await loadMemoryEstate({ 'estate.yaml': yaml });
    expect(estate.diagnostics).toEqual([]);
    expect(secretRecipientsFor(estate.config!, 'prod')).toEqual([prod]);
    expect(secretRecipientsFor(estate.config!, 'dev')).toEqual([shared]);
    const bad = await loadMemoryEstate({ 'estate.yaml': ESTATE_YAML.replace('[dev, prod]', '[dev, {name: prod, recipients: [not-a-key]}]') });
    expect(bad.diagnostics.map((d) => d.code)).toEqual(['E_SCHEMA']);
  });
});

describe('loadEstate: E_DUPLICATE_ASSET', () => {
  it('reports every repeat at its name, naming the first place as file:line:col', async () => {
    const estate = await loadMemoryEstate({
      'assets/a.yaml': assetYaml('Team', 'web') + '---\n' + assetYaml('Team', 'web'),
      'assets/b/c.yml': lines('', '') + assetYaml('Team', 'web'),
    });
    expect(estate.diagnostics).toMatchObject([
      { ...diag('E_DUPLICATE_ASSET', 'assets/a.yaml', 10, 9, "asset 'team/web' is already defined at assets/a.yaml:4:9"), asset: 'team/web' },
      diag('E_DUPLICATE_ASSET', 'assets/b/c.yml', 6, 9, "asset 'team/web' is already defined at assets/a.yaml:4:9"),
    ]);
    expect(estate.assets.get('team/web')!.document.line).toBe(1);
    expect(estate.stats.assets).toBe(1);
  });

  it('allows the same name in different kinds', async () => {
    const estate = await loadMemoryEstate({ 'assets/a.yaml': assetYaml('Service', 'checkout') + '---\n' + assetYaml('Application', 'checkout', '  service: service/checkout') });
    expect(estate.diagnostics).toEqual([]);
    expect([...estate.assets.keys()]).toEqual(['service/checkout', 'application/checkout']);
  });

  it('keeps the first in path order, whatever order the files are given in', async () => {
    const repo = memoryRepo({ 'estate.yaml': ESTATE_YAML, 'assets/z.yaml': assetYaml('Team', 'web'), 'assets/a.yaml': assetYaml('Team', 'web') });
    const estate = await loadEstate(repo.files, repo.readFiles);
    expect(estate.assets.get('team/web')!.path).toBe('assets/a.yaml');
    expect(estate.diagnostics).toMatchObject([diag('E_DUPLICATE_ASSET', 'assets/z.yaml', 4, 9, 'already defined at assets/a.yaml:4:9')]);
  });

  it('does not check references or unique fields of a repeat', async () => {
    const estate = await loadMemoryEstate({
      'assets/a.yaml': assetYaml('Host', 'web', '  hostname: a.example.com'),
      'assets/b.yaml': assetYaml('Host', 'web', '  hostname: a.example.com', '  network: network/missing'),
    });
    expect(estate.diagnostics).toMatchObject([diag('E_DUPLICATE_ASSET', 'assets/b.yaml', 4, 9, "asset 'host/web'")]);
  });
});

describe('loadEstate: references', () => {
  const base = {
    'assets/hosts.yaml': assetYaml('Host', 'web-01', '  hostname: web-01.example.com') + '---\n' + assetYaml('Network', 'dmz', '  cidr: 10.0.0.0/24'),
    'assets/db.yaml': assetYaml('Database', 'orders'),
  };

  it('reports a dangling reference at the value, naming the referrer, the field and the missing target', async () => {
    const estate = await loadMemoryEstate({ ...base, 'assets/svc.yaml': assetYaml('Service', 'checkout', '  runsOn:', '    - host/web-01', '    - host/web-02') });
    expect(estate.diagnostics).toMatchObject([
      { ...diag('E_DANGLING_REF', 'assets/svc.yaml', 8, 7, "asset 'host/web-02' referenced by service/checkout (spec.runsOn[1]) does not exist"), asset: 'service/checkout' },
    ]);
  });

  it('resolves a bare name when the field has a single target kind', async () => {
    const estate = await loadMemoryEstate({
      ...base,
      'assets/team.yaml': assetYaml('Team', 'team-web'),
      'assets/svc.yaml': assetYaml('Service', 'checkout', '  runsOn: [web-01]').replace('name: checkout', 'name: checkout\n  owner: team-web'),
      'assets/app.yaml': assetYaml('Application', 'checkout', '  service: checkout'),
    });
    expect(estate.diagnostics).toEqual([]);
    expect(estate.relations.map((r) => `${r.from} ${r.type} ${r.to}`)).toEqual([
      'application/checkout service service/checkout',
      'service/checkout owner team/team-web',
      'service/checkout runsOn host/web-01',
    ]);
  });

  it('reports a dangling bare name with the resolved id', async () => {
    const estate = await loadMemoryEstate({ ...base, 'assets/svc.yaml': assetYaml('Service', 'checkout', '  runsOn: [web-09]').replace('name: checkout', 'name: checkout\n  owner: team-web') });
    expect(estate.diagnostics).toMatchObject([
      diag('E_DANGLING_REF', 'assets/svc.yaml', 5, 10, "asset 'team/team-web' referenced by service/checkout (metadata.owner) does not exist"),
      diag('E_DANGLING_REF', 'assets/svc.yaml', 7, 12, "asset 'host/web-09' referenced by service/checkout (spec.runsOn[0])"),
    ]);
  });

  it('reports a reference to the wrong kind with E_REF_KIND, naming the allowed kinds', async () => {
    const estate = await loadMemoryEstate({ ...base, 'assets/svc.yaml': assetYaml('Service', 'checkout', '  runsOn: [network/dmz]', '  dependsOn: [database/orders, host/web-01, widget/x]') });
    expect(estate.diagnostics).toMatchObject([
      diag('E_REF_KIND', 'assets/svc.yaml', 6, 12, 'spec.runsOn[0] of service/checkout must reference host', "not 'network'", '(got "network/dmz")'),
      diag('E_REF_KIND', 'assets/svc.yaml', 7, 32, 'spec.dependsOn[1] of service/checkout must reference service or database', "not 'host'"),
      diag('E_REF_KIND', 'assets/svc.yaml', 7, 45, 'must reference service or database', "not 'widget'"),
    ]);
  });

  it('hints at lower-case kinds when a reference capitalizes the kind', async () => {
    const estate = await loadMemoryEstate({ ...base, 'assets/svc.yaml': assetYaml('Service', 'checkout', '  runsOn: [Host/web-01]') });
    expect(estate.diagnostics).toMatchObject([
      diag('E_REF_KIND', 'assets/svc.yaml', 6, 12, "not 'Host'", 'kinds in references are lower-case: host/web-01'),
    ]);
  });

  it('reports a repeated list item once, at the repeat', async () => {
    const estate = await loadMemoryEstate({ ...base, 'assets/svc.yaml': assetYaml('Service', 'checkout', '  runsOn: [host/web-01, host/web-01]') });
    expect(estate.diagnostics).toMatchObject([
      diag('E_SCHEMA', 'assets/svc.yaml', 6, 25, 'spec.runsOn[1] repeats spec.runsOn[0]'),
    ]);
  });

  it('checks references in custom kinds, through $ref and combinators', async () => {
    const estate = await loadMemoryEstate({
      ...base,
      'schemas/lb.yaml': schemaYaml(
        'LoadBalancer',
        '  schema:',
        '    type: object',
        '    $defs:',
        '      hostRef: {type: string, x-estate-ref: Host, x-estate-relation: balances, x-estate-inverse: balancedBy}',
        '    properties:',
        '      backends: {type: array, items: {$ref: "#/$defs/hostRef"}}',
        '      fallback: {oneOf: [{type: string, x-estate-ref: Network}, {type: "null"}]}',
      ),
      'assets/lb.yaml': assetYaml('LoadBalancer', 'front', '  backends: [web-01, host/web-02]', '  fallback: network/dmz'),
    });
    expect(estate.diagnostics).toMatchObject([diag('E_DANGLING_REF', 'assets/lb.yaml', 6, 22, "asset 'host/web-02' referenced by loadbalancer/front (spec.backends[1])")]);
    expect(estate.relations).toEqual([
      { from: 'loadbalancer/front', to: 'host/web-01', type: 'balances', inverse: 'balancedBy', field: 'spec.backends[0]' },
      { from: 'loadbalancer/front', to: 'network/dmz', type: 'fallback', inverse: 'fallbackOf', field: 'spec.fallback' },
    ]);
  });

  it('ignores non-string values in reference fields (the schema reports them)', async () => {
    const estate = await loadMemoryEstate({ ...base, 'assets/svc.yaml': assetYaml('Service', 'checkout', '  runsOn: [42]') });
    expect(estate.diagnostics).toMatchObject([diag('E_SCHEMA', 'assets/svc.yaml', 6, 12, 'spec.runsOn[0] must be string', '(got 42)')]);
  });
});

describe('loadEstate: E_UNIQUE', () => {
  it('reports a repeated Host hostname and ip at the value, naming both places', async () => {
    const estate = await loadMemoryEstate({
      'assets/a.yaml': assetYaml('Host', 'a', '  hostname: a.example.com', '  ip: 10.0.0.1'),
      'assets/b.yaml': assetYaml('Host', 'b', '  hostname: b.example.com', '  ip: 10.0.0.2') + '---\n' + assetYaml('Host', 'c', '  hostname: a.example.com', '  ip: 10.0.0.1'),
    });
    expect(estate.diagnostics).toMatchObject([
      { ...diag('E_UNIQUE', 'assets/b.yaml', 14, 13, 'spec.hostname "a.example.com" of host/c is already used by host/a (assets/a.yaml:6:13)', 'unique among Host assets'), asset: 'host/c' },
      diag('E_UNIQUE', 'assets/b.yaml', 15, 7, 'spec.ip "10.0.0.1" of host/c is already used by host/a (assets/a.yaml:7:7)'),
    ]);
  });

  it("reports a repeat of a custom kind's x-estate-unique field", async () => {
    const estate = await loadMemoryEstate({
      'schemas/c.yaml': CERTIFICATE_SCHEMA,
      'assets/c.yaml': assetYaml('Certificate', 'one', '  commonName: shop.example.com') + '---\n' + assetYaml('Certificate', 'two', '  commonName: shop.example.com'),
    });
    expect(estate.diagnostics).toMatchObject([diag('E_UNIQUE', 'assets/c.yaml', 13, 15, 'spec.commonName "shop.example.com" of certificate/two is already used by certificate/one (assets/c.yaml:6:15)', 'unique among Certificate assets')]);
  });

  it('compares values within one kind and one field only', async () => {
    const estate = await loadMemoryEstate({
      'schemas/c.yaml': CERTIFICATE_SCHEMA,
      'assets/a.yaml': assetYaml('Host', 'a', '  hostname: a.example.com', '  ip: 10.0.0.1'),
      'assets/c.yaml': assetYaml('Certificate', 'a', '  commonName: a.example.com'),
    });
    expect(estate.diagnostics).toEqual([]);
  });

  it('reports every further repeat against the first', async () => {
    const estate = await loadMemoryEstate({
      'assets/h.yaml': [1, 2, 3].map((i) => assetYaml('Host', `h${i}`, `  hostname: h${i}.example.com`, '  ip: 10.0.0.1')).join('---\n'),
    });
    expect(estate.diagnostics).toMatchObject([
      diag('E_UNIQUE', 'assets/h.yaml', 15, 7, 'of host/h2 is already used by host/h1 (assets/h.yaml:7:7)'),
      diag('E_UNIQUE', 'assets/h.yaml', 23, 7, 'of host/h3 is already used by host/h1 (assets/h.yaml:7:7)'),
    ]);
  });
});

describe('loadEstate: files under assets/ that are not YAML', () => {
  it('ignores text files and reports binary ones', async () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d]);
    const latin1 = Uint8Array.from([0x63, 0x61, 0x66, 0xe9, 0x0a]);
    const estate = await loadMemoryEstate({ 'assets/logo.png': png, 'assets/notes.txt': latin1, 'assets/nginx.conf': 'server { listen 80; }\n', 'assets/README.md': '# Hosts\n' });
    expect(estate.diagnostics).toMatchObject([
      diag('E_ENCODING', 'assets/logo.png', 1, 1, 'binary file under assets/', 'only YAML text files belong there'),
      diag('E_ENCODING', 'assets/notes.txt', 1, 1, 'binary file under assets/'),
    ]);
  });

  it('reports a binary .yaml file with its NUL byte', async () => {
    const estate = await loadMemoryEstate({ 'assets/a.yaml': Uint8Array.from([0x61, 0x3a, 0x00]) });
    expect(estate.diagnostics).toMatchObject([diag('E_ENCODING', 'assets/a.yaml', 1, 1, 'binary file (NUL byte at offset 2)')]);
  });
});

describe('loadEstate: YAML problems', () => {
  it('reports them with the file path and loads the other documents of the file', async () => {
    const estate = await loadMemoryEstate({
      'assets/a.yaml': assetYaml('Team', 'a') + lines('---', 'apiVersion: estate/v1', 'kind: Team', 'kind: Team') + '---\n' + assetYaml('Team', 'b'),
      'schemas/s.yaml': 'x: {__proto__: 1}\n',
    });
    expect(estate.diagnostics).toMatchObject([
      diag('E_ENVELOPE', 'assets/a.yaml', 7, 1, 'missing metadata.name'),
      diag('E_YAML_DUPLICATE_KEY', 'assets/a.yaml', 9, 1, "duplicate key 'kind'"),
      diag('E_YAML_UNSAFE', 'schemas/s.yaml', 1, 5, "key '__proto__' is not allowed"),
    ]);
    expect([...estate.assets.keys()]).toEqual(['team/a', 'team/b']);
  });

  it('reports every duplicate key and still checks the document, the last value winning', async () => {
    const estate = await loadMemoryEstate({
      'estate.yaml': ESTATE_YAML,
      'assets/web.yaml': lines(
        'apiVersion: estate/v1', //  1
        'kind: Host', //             2
        'metadata:', //              3
        '  name: web-01', //         4
        'spec:', //                  5
        '  hostname: a.example.com', // 6
        '  cpus: 2', //              7
        '  hostname: b.example.com', // 8
        '  cpus: four', //           9
      ),
    });
    expect(estate.diagnostics).toMatchObject([
      diag('E_YAML_DUPLICATE_KEY', 'assets/web.yaml', 8, 3, "duplicate key 'hostname'"),
      diag('E_YAML_DUPLICATE_KEY', 'assets/web.yaml', 9, 3, "duplicate key 'cpus'"),
      diag('E_SCHEMA', 'assets/web.yaml', 9, 9, 'spec.cpus must be integer'),
    ]);
    expect(estate.assets.get('host/web-01')?.spec['hostname']).toBe('b.example.com');
  });

  it('applies the limits given', async () => {
    const text = assetYaml('Team', 'a', `  members: [${Array(20).fill('someone').join(', ')}]`); // 251 bytes
    const limits = { maxFileBytes: 1000, maxDocumentBytes: 200, maxDepth: 64, maxExpandedNodes: 1000 };
    const estate = await loadMemoryEstate({ 'assets/a.yaml': text }, { limits });
    expect(estate.diagnostics).toMatchObject([diag('E_TOO_LARGE', 'assets/a.yaml', 1, 1, 'YAML document is 251 bytes; the limit is 200 bytes')]);
    expect((await loadMemoryEstate({ 'assets/a.yaml': text }, { limits: { ...limits, maxFileBytes: 100, maxDocumentBytes: 1000 } })).diagnostics).toMatchObject([
      diag('E_TOO_LARGE', 'assets/a.yaml', 1, 1, 'file is 251 bytes; the limit is 100 bytes'),
    ]);
  });

  it('refuses an alias bomb in an asset', async () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) bomb.push(`${'abcdefghij'[i]}: &${'abcdefghij'[i]} [${Array(10).fill(`*${'abcdefghij'[i - 1]}`).join(', ')}]`);
    const text = lines('apiVersion: estate/v1', 'kind: Team', 'metadata: {name: a}', 'spec:', ...bomb.map((l) => `  ${l}`));
    const estate = await loadMemoryEstate({ 'assets/a.yaml': text });
    expect(estate.diagnostics).toMatchObject([diag('E_YAML_UNSAFE', 'assets/a.yaml', 9, 3, 'expands to more than 100000 nodes')]);
    expect([...estate.assets.keys()]).toEqual([]);
  });
});

describe('loadEstate: all problems in one run', () => {
  it('reports every problem of every file, sorted by path, line and column', async () => {
    const estate = await loadMemoryEstate({
      'assets/z.yaml': lines(
        'apiVersion: estate/v2', //  1 E_ENVELOPE
        'kind: Host', //             2
        'metadata:', //              3
        '  name: Web_01', //         4 E_NAME
        '  colour: blue', //         5 E_SCHEMA (metadata)
        'spec:', //                  6 E_SCHEMA (required hostname)
        '  cpus: many', //           7 E_SCHEMA (type)
        '  ip: 10.0.1.999', //       8 E_SCHEMA (format)
        '  network: network/none', // 9 E_DANGLING_REF
        'extra: 1', //              10 E_ENVELOPE
        '---',
        'apiVersion: estate/v1', // 12
        'kind: Hots', //            13 E_UNKNOWN_KIND
        'metadata: {name: x}',
        'spec: {}',
      ),
      'assets/a.yaml': lines('a: [', ''),
      'assets/m.yaml': assetYaml('Service', 'm', '  runsOn: [network/x]', '  tier: 9'),
    });
    expect(estate.diagnostics.map(formatDiagnostic)).toEqual([
      'assets/a.yaml:3:1: error[E_YAML_SYNTAX]: unexpected end of the stream within a flow collection',
      expect.stringMatching(/^assets\/m\.yaml:6:12: error\[E_REF_KIND\]: spec\.runsOn\[0\] of service\/m must reference host/),
      'assets/m.yaml:7:9: error[E_SCHEMA]: spec.tier must be <= 4 (got 9)',
      'assets/z.yaml:1:13: error[E_ENVELOPE]: apiVersion must be estate/v1 (got "estate/v2")',
      expect.stringMatching(/^assets\/z\.yaml:4:9: error\[E_NAME\]: Host name 'Web_01'/),
      expect.stringMatching(/^assets\/z\.yaml:5:3: error\[E_SCHEMA\]: unknown field 'metadata\.colour'/),
      "assets/z.yaml:6:1: error[E_SCHEMA]: spec is missing required field 'hostname'",
      'assets/z.yaml:7:9: error[E_SCHEMA]: spec.cpus must be integer (got "many")',
      'assets/z.yaml:8:7: error[E_SCHEMA]: spec.ip must be a valid ip (got "10.0.1.999")',
      "assets/z.yaml:9:12: error[E_DANGLING_REF]: asset 'network/none' referenced by host/Web_01 (spec.network) does not exist",
      expect.stringMatching(/^assets\/z\.yaml:10:1: error\[E_ENVELOPE\]: unknown top-level field 'extra'/),
      expect.stringMatching(/^assets\/z\.yaml:13:7: error\[E_UNKNOWN_KIND\]: unknown kind 'Hots'/),
    ]);
  });
});

describe('loadEstate: byte order marks and CRLF', () => {
  const text = lines('apiVersion: estate/v1', 'kind: Host', 'metadata:', '  name: Web', 'spec:', '  hostname: web.example.com', '  cpus: x', '---', 'apiVersion: estate/v1', 'kind: Team', 'metadata: {name: t, bogus: 1}', 'spec: {}');
  const expected = [
    diag('E_NAME', 'assets/a.yaml', 4, 9, "Host name 'Web'"),
    diag('E_SCHEMA', 'assets/a.yaml', 7, 9, 'spec.cpus must be integer'),
    diag('E_SCHEMA', 'assets/a.yaml', 11, 21, "unknown field 'metadata.bogus'"),
  ];

  it('gives the same positions with LF, CRLF, a BOM and both', async () => {
    for (const variant of [text, text.replace(/\n/g, '\r\n'), '\uFEFF' + text, '\uFEFF' + text.replace(/\n/g, '\r\n')]) {
      const estate = await loadMemoryEstate({ 'assets/a.yaml': variant });
      expect(estate.diagnostics).toMatchObject(expected);
      expect(estate.assets.get('team/t')!.spec).toEqual({});
    }
  });

  it('reads CRLF values without carriage returns', async () => {
    const estate = await loadMemoryEstate({ 'assets/a.yaml': assetYaml('Host', 'web', '  hostname: web.example.com', '  files:', '    - path: /etc/motd', '      content: |', '        hello', '        world').replace(/\n/g, '\r\n') });
    expect(estate.diagnostics).toEqual([]);
    expect(estate.assets.get('host/web')!.spec).toEqual({ hostname: 'web.example.com', files: [{ path: '/etc/motd', content: 'hello\nworld\n' }] });
  });
});

describe('loadEstate: parse cache', () => {
  const files = {
    'estate.yaml': ESTATE_YAML,
    'assets/a.yaml': assetYaml('Host', 'web', '  hostname: web.example.com', '  cpus: x'),
    'assets/b.yaml': assetYaml('Team', 'web'),
    'assets/logo.png': Uint8Array.from([0x89, 0x00]),
  };

  it('does not read or parse a cached blob again, and gives the same result', async () => {
    const cache = new MemoryParseCache();
    const first = memoryRepo(files);
    const cold = await loadEstate(first.files, first.readFiles, { cache });
    expect(cold.stats.parsed).toBe(4);
    expect(first.reads).toHaveLength(4);

    const second = memoryRepo(files);
    const warm = await loadEstate(second.files, second.readFiles, { cache });
    expect(second.reads).toEqual([]);
    expect(warm.stats).toEqual({ ...cold.stats, parsed: 0 });
    expect(warm.diagnostics).toEqual(cold.diagnostics);
    expect(warm.relations).toEqual(cold.relations);
    expect([...warm.assets.values()].map((a) => [a.id, a.path, a.spec])).toEqual([...cold.assets.values()].map((a) => [a.id, a.path, a.spec]));
    expect(warm.diagnostics).toMatchObject([
      diag('E_SCHEMA', 'assets/a.yaml', 7, 9, 'spec.cpus must be integer'),
      diag('E_ENCODING', 'assets/logo.png', 1, 1, 'binary file'),
    ]);
  });

  it('reads only the changed files', async () => {
    const cache = new MemoryParseCache();
    const first = memoryRepo(files);
    await loadEstate(first.files, first.readFiles, { cache });
    const changed = memoryRepo({ ...files, 'assets/b.yaml': assetYaml('Team', 'ops') });
    const estate = await loadEstate(changed.files, changed.readFiles, { cache });
    expect(changed.reads).toEqual(['assets/b.yaml']);
    expect(estate.stats.parsed).toBe(1);
    expect(estate.assets.has('team/ops')).toBe(true);
  });

  it('reports diagnostics of a cached blob with the path it has now', async () => {
    const cache = new MemoryParseCache();
    const broken = lines('apiVersion: estate/v1', 'kind: Team', 'kind: Team');
    const first = memoryRepo({ 'estate.yaml': ESTATE_YAML, 'assets/old.yaml': broken });
    const before = await loadEstate(first.files, first.readFiles, { cache });
    expect(before.diagnostics).toMatchObject([
      diag('E_ENVELOPE', 'assets/old.yaml', 1, 1, 'missing metadata.name'),
      diag('E_YAML_DUPLICATE_KEY', 'assets/old.yaml', 3, 1, "duplicate key 'kind'"),
    ]);

    const moved = memoryRepo({ 'estate.yaml': ESTATE_YAML, 'assets/new/place.yaml': broken, 'assets/copy.yaml': broken });
    const after = await loadEstate(moved.files, moved.readFiles, { cache });
    expect(moved.reads).toEqual([]);
    expect(after.diagnostics).toMatchObject([
      diag('E_ENVELOPE', 'assets/copy.yaml', 1, 1, 'missing metadata.name'),
      diag('E_YAML_DUPLICATE_KEY', 'assets/copy.yaml', 3, 1, "duplicate key 'kind'"),
      diag('E_ENVELOPE', 'assets/new/place.yaml', 1, 1, 'missing metadata.name'),
      diag('E_YAML_DUPLICATE_KEY', 'assets/new/place.yaml', 3, 1, "duplicate key 'kind'"),
    ]);
    // The cached result itself keeps its first path.
    expect(before.diagnostics[0]!.path).toBe('assets/old.yaml');
  });

  it('reports validation problems of a cached blob with its new path', async () => {
    const cache = new MemoryParseCache();
    const text = assetYaml('Team', 'web', '  members: ana');
    const first = memoryRepo({ 'estate.yaml': ESTATE_YAML, 'assets/a.yaml': text });
    await loadEstate(first.files, first.readFiles, { cache });
    const moved = memoryRepo({ 'estate.yaml': ESTATE_YAML, 'assets/teams/web.yaml': text });
    const estate = await loadEstate(moved.files, moved.readFiles, { cache });
    expect(estate.diagnostics).toMatchObject([diag('E_SCHEMA', 'assets/teams/web.yaml', 6, 12, 'spec.members must be array')]);
    expect(estate.assets.get('team/web')!.path).toBe('assets/teams/web.yaml');
  });

  it('parses a blob renamed from a non-YAML name to a .yaml one', async () => {
    const cache = new MemoryParseCache();
    const text = assetYaml('Team', 'web');
    const first = memoryRepo({ 'estate.yaml': ESTATE_YAML, 'assets/web.yaml.orig': text });
    expect((await loadEstate(first.files, first.readFiles, { cache })).assets.size).toBe(0);
    const renamed = memoryRepo({ 'estate.yaml': ESTATE_YAML, 'assets/web.yaml': text });
    const estate = await loadEstate(renamed.files, renamed.readFiles, { cache });
    expect(estate.diagnostics).toEqual([]);
    expect([...estate.assets.keys()]).toEqual(['team/web']);
  });

  it('checks a YAML blob copied to a non-YAML name as an opaque file', async () => {
    const cache = new MemoryParseCache();
    const text = 'a: [\n';
    const first = memoryRepo({ 'estate.yaml': ESTATE_YAML, 'assets/a.yaml': text });
    expect((await loadEstate(first.files, first.readFiles, { cache })).diagnostics).toMatchObject([diag('E_YAML_SYNTAX', 'assets/a.yaml', 2, 1, '')]);
    const copied = memoryRepo({ 'estate.yaml': ESTATE_YAML, 'assets/a.yaml.bak': text });
    expect((await loadEstate(copied.files, copied.readFiles, { cache })).diagnostics).toEqual([]);
  });
});
