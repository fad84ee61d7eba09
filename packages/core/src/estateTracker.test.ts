import { describe, expect, it } from 'vitest';
import type { Diagnostic } from './diagnostics.js';
import type { Asset, Estate, Relation } from './estate.js';
import { EstateTracker, type EstateDelta, type FileChange } from './estateTracker.js';
import { loadEstate, type EstateFileRef, type ReadFiles } from './loadEstate.js';
import { MemoryParseCache } from './memoryParseCache.js';
import { assetYaml, blobIdOf, diag, ESTATE_YAML, lines } from './testing/memoryEstate.js';

/**
 * A repo whose files change over time: `commit()` returns the changes since the last commit, as an
 * indexer would get them from `git diff-tree`. Every blob ever written stays readable.
 */
class ChangingRepo {
  readonly #files = new Map<string, EstateFileRef>();
  readonly #blobs = new Map<string, Uint8Array>();
  #pending = new Map<string, EstateFileRef | undefined>();
  /** Paths read, in order. */
  reads: string[] = [];
  /** When set, reading fails (to test that a failed update changes nothing). */
  failReads = false;

  constructor(contents: Record<string, string | Uint8Array> = {}) {
    for (const [path, content] of Object.entries(contents)) this.write(path, content);
    this.#pending.clear();
  }

  write(path: string, content: string | Uint8Array): this {
    const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
    const file = { path, blobId: blobIdOf(bytes) };
    this.#blobs.set(file.blobId, bytes);
    this.#files.set(path, file);
    this.#pending.set(path, file);
    return this;
  }

  delete(path: string): this {
    this.#files.delete(path);
    this.#pending.set(path, undefined);
    return this;
  }

  rename(from: string, to: string): this {
    const file = this.#files.get(from);
    if (!file) throw new Error(`no ${from}`);
    this.delete(from);
    this.#files.set(to, { path: to, blobId: file.blobId });
    this.#pending.set(to, { path: to, blobId: file.blobId });
    return this;
  }

  has(path: string): boolean {
    return this.#files.has(path);
  }

  text(path: string): string {
    return new TextDecoder().decode(this.#blobs.get(this.#files.get(path)!.blobId));
  }

  paths(): string[] {
    return [...this.#files.keys()];
  }

  get files(): EstateFileRef[] {
    return [...this.#files.values()];
  }

  /** The changes since the last call. */
  commit(): FileChange[] {
    const changes = [...this.#pending].map(([path, file]) => (file ? { path, file } : { path }));
    this.#pending = new Map();
    return changes;
  }

  readonly readFiles: ReadFiles = async (refs) =>
    refs.map((ref) => {
      if (this.failReads) throw new Error('read failed');
      this.reads.push(ref.path);
      const bytes = this.#blobs.get(ref.blobId);
      if (!bytes) throw new Error(`no blob ${ref.blobId} for ${ref.path}`);
      return bytes;
    });
}

/** Asserts that the tracker says what loadEstate says about the repo's files, and returns the latter. */
async function expectSameAsLoad(tracker: EstateTracker, repo: ChangingRepo): Promise<Estate> {
  const estate = await loadEstate(repo.files, repo.readFiles);
  expect(tracker.diagnostics()).toEqual(estate.diagnostics);
  expect(winners(tracker)).toEqual(new Map([...estate.assets].map(([id, a]) => [id, { path: a.path, blobId: a.blobId, index: a.document.index }])));
  for (const [id, asset] of estate.assets) {
    expect(tracker.asset(id)).toMatchObject({ id, path: asset.path, blobId: asset.blobId, metadata: asset.metadata, spec: asset.spec });
    const declared = tracker.referencesOf(id);
    expect(declared.filter((r) => estate.assets.has(r.to))).toEqual(estate.relations.filter((r) => r.from === id));
  }
  expect(tracker.config).toEqual(estate.config);
  expect(tracker.kinds.list().map((k) => [k.name, k.source])).toEqual(estate.kinds.list().map((k) => [k.name, k.source]));
  expect(countsOf(tracker.stats)).toEqual(countsOf(estate.stats));
  return estate;
}

/** The stats that depend on the files only (`parsed` depends on what was parsed before). */
function countsOf(stats: Estate['stats']): Omit<Estate['stats'], 'parsed'> {
  return { files: stats.files, documents: stats.documents, assets: stats.assets, byKind: stats.byKind };
}

function winners(tracker: EstateTracker): Map<string, { path: string; blobId: string; index: number }> {
  return new Map([...tracker.assets()].map((a) => [a.id, { path: a.path, blobId: a.blobId, index: a.document.index }]));
}

const ids = (delta: EstateDelta): Record<string, string | null> =>
  Object.fromEntries([...delta.assets].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, a]) => [id, a ? a.path : null]));

const CERT_SCHEMA = lines(
  'apiVersion: estate/v1',
  'kind: Schema',
  'metadata:',
  '  name: Certificate',
  'spec:',
  '  schema:',
  '    type: object',
  '    properties:',
  '      commonName:',
  '        type: string',
  '        x-estate-unique: true',
);

const CERT_SCHEMA_WITH_HOSTS =
  CERT_SCHEMA +
  lines('      hosts:', '        type: array', '        items:', '          type: string', '          x-estate-ref: Host', '          x-estate-relation: installedOn', '          x-estate-inverse: certificates');

describe('EstateTracker: files come and go', () => {
  it('starts empty, and its first reset reports everything', async () => {
    const tracker = new EstateTracker();
    expect(tracker.diagnostics()).toEqual([]);
    expect([...tracker.assets()]).toEqual([]);
    expect(tracker.stats).toEqual({ files: 0, documents: 0, assets: 0, parsed: 0, byKind: {} });
    const repo = new ChangingRepo({ 'assets/team.yaml': assetYaml('Team', 'web'), 'assets/host.yaml': assetYaml('Host', 'h1', '  hostname: h1.example.com', '  network: network/dmz') });
    const delta = await tracker.reset(repo.files, repo.readFiles);
    expect(ids(delta)).toEqual({ 'host/h1': 'assets/host.yaml', 'team/web': 'assets/team.yaml' });
    expect([...delta.diagnostics.keys()].sort()).toEqual(['assets/host.yaml', 'estate.yaml']);
    expect(delta.diagnostics.get('estate.yaml')).toMatchObject([diag('E_ESTATE_FILE', 'estate.yaml', 1, 1, 'estate.yaml is missing')]);
    expect(delta.diagnostics.get('assets/host.yaml')).toMatchObject([diag('E_DANGLING_REF', 'assets/host.yaml', 7, 12, "asset 'network/dmz' referenced by host/h1 (spec.network) does not exist")]);
    expect(delta.configChanged).toBe(true);
    expect(tracker.stats).toEqual({ files: 2, documents: 2, assets: 2, parsed: 2, byKind: { Host: 1, Team: 1 } });
    await expectSameAsLoad(tracker, repo);
  });

  it('adds, modifies, deletes and renames files, reading only the changed ones', async () => {
    const repo = new ChangingRepo({ 'estate.yaml': ESTATE_YAML, 'assets/a.yaml': assetYaml('Team', 'a'), 'assets/b.yaml': assetYaml('Team', 'b') });
    const tracker = new EstateTracker();
    await tracker.reset(repo.files, repo.readFiles);
    repo.reads = [];

    repo.write('assets/c.yaml', assetYaml('Team', 'c'));
    let delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(repo.reads).toEqual(['assets/c.yaml']);
    expect(ids(delta)).toEqual({ 'team/c': 'assets/c.yaml' });
    expect(delta.diagnostics.size).toBe(0);
    expect(delta.configChanged).toBe(false);
    expect(tracker.stats).toMatchObject({ files: 4, assets: 3, parsed: 1 });
    await expectSameAsLoad(tracker, repo);

    repo.write('assets/a.yaml', assetYaml('Team', 'a', '  members: [ana]'));
    delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(ids(delta)).toEqual({ 'team/a': 'assets/a.yaml' });
    expect(delta.assets.get('team/a')!.spec).toEqual({ members: ['ana'] });
    await expectSameAsLoad(tracker, repo);

    repo.delete('assets/b.yaml');
    delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(ids(delta)).toEqual({ 'team/b': null });
    expect(tracker.asset('team/b')).toBeUndefined();
    await expectSameAsLoad(tracker, repo);

    repo.reads = [];
    repo.rename('assets/c.yaml', 'assets/teams/c.yaml');
    delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(ids(delta)).toEqual({ 'team/c': 'assets/teams/c.yaml' });
    expect(repo.reads).toEqual(['assets/teams/c.yaml']);
    await expectSameAsLoad(tracker, repo);
  });

  it('does not list assets whose file did not change, and lists an asset whose file only moved', async () => {
    const repo = new ChangingRepo({
      'estate.yaml': ESTATE_YAML,
      'assets/a.yaml': assetYaml('Team', 'a'),
      'assets/b.yaml': assetYaml('Team', 'b'),
      'assets/svc.yaml': assetYaml('Service', 'svc', '  tier: 2'),
    });
    const tracker = new EstateTracker({ cache: new MemoryParseCache() });
    await tracker.reset(repo.files, repo.readFiles);

    // The same content written again (same blob) is no change at all.
    repo.write('assets/a.yaml', assetYaml('Team', 'a'));
    let delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(delta).toEqual({ assets: new Map(), diagnostics: new Map(), configChanged: false });

    repo.write('assets/b.yaml', assetYaml('Team', 'b', '  contact: "#b"'));
    delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(ids(delta)).toEqual({ 'team/b': 'assets/b.yaml' });

    repo.rename('assets/svc.yaml', 'assets/services/svc.yaml');
    delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(ids(delta)).toEqual({ 'service/svc': 'assets/services/svc.yaml' });
    expect(delta.assets.get('service/svc')).toMatchObject({ path: 'assets/services/svc.yaml', spec: { tier: 2 } });
    await expectSameAsLoad(tracker, repo);
  });

  it('ignores paths Estate does not read', async () => {
    const repo = new ChangingRepo({ 'estate.yaml': ESTATE_YAML, 'assets/a.yaml': assetYaml('Team', 'a') });
    const tracker = new EstateTracker();
    await tracker.reset([...repo.files, { path: 'README.md', blobId: 'f'.repeat(40) }], repo.readFiles);
    repo.reads = [];
    repo.write('README.md', '# hi\n').write('config/shop/base.yaml', 'not: [valid\n').write('policies/x.yaml', '{{{').write('schemas/README.md', 'x');
    const delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(delta).toEqual({ assets: new Map(), diagnostics: new Map(), configChanged: false });
    expect(repo.reads).toEqual([]);
    expect(tracker.stats.files).toBe(2);
    await expectSameAsLoad(tracker, repo);
  });

  it('reports a binary file under assets/ and forgets it when it goes', async () => {
    const repo = new ChangingRepo({ 'estate.yaml': ESTATE_YAML, 'assets/a.yaml': assetYaml('Team', 'a') });
    const tracker = new EstateTracker();
    await tracker.reset(repo.files, repo.readFiles);
    repo.write('assets/logo.png', new Uint8Array([0x89, 0x50, 0, 1]));
    let delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(delta.diagnostics.get('assets/logo.png')).toMatchObject([diag('E_ENCODING', 'assets/logo.png', 1, 1, 'binary file under assets/')]);
    await expectSameAsLoad(tracker, repo);
    repo.delete('assets/logo.png');
    delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(delta.diagnostics).toEqual(new Map([['assets/logo.png', []]]));
    await expectSameAsLoad(tracker, repo);
  });

  it('reports a file that stops parsing and recovers when it is fixed', async () => {
    const repo = new ChangingRepo({ 'estate.yaml': ESTATE_YAML, 'assets/a.yaml': assetYaml('Team', 'a'), 'assets/s.yaml': lines('apiVersion: estate/v1', 'kind: Service', 'metadata: {name: s, owner: team/a}', 'spec: {}') });
    const tracker = new EstateTracker();
    await tracker.reset(repo.files, repo.readFiles);
    repo.write('assets/a.yaml', 'apiVersion: estate/v1\nkind: [Team\n');
    let delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(ids(delta)).toEqual({ 'team/a': null });
    expect([...delta.diagnostics.keys()].sort()).toEqual(['assets/a.yaml', 'assets/s.yaml']);
    await expectSameAsLoad(tracker, repo);
    repo.write('assets/a.yaml', assetYaml('Team', 'a'));
    delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(ids(delta)).toEqual({ 'team/a': 'assets/a.yaml' });
    expect(delta.diagnostics).toEqual(new Map([['assets/a.yaml', []], ['assets/s.yaml', []]]));
    await expectSameAsLoad(tracker, repo);
  });
});

describe('EstateTracker: checks across assets', () => {
  it('reports a duplicate against the winner, and moves the win to the next definition when the first goes', async () => {
    const repo = new ChangingRepo({ 'estate.yaml': ESTATE_YAML, 'assets/a.yaml': assetYaml('Team', 'web') });
    const tracker = new EstateTracker();
    await tracker.reset(repo.files, repo.readFiles);

    repo.write('assets/c.yaml', lines('# a comment', '---') + assetYaml('Team', 'web', '  contact: c'));
    let delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(delta.assets.size).toBe(0);
    expect(delta.diagnostics.get('assets/c.yaml')).toMatchObject([diag('E_DUPLICATE_ASSET', 'assets/c.yaml', 6, 9, "asset 'team/web' is already defined at assets/a.yaml:4:9")]);
    await expectSameAsLoad(tracker, repo);

    // A third definition between the two: the message of c.yaml still names a.yaml.
    repo.write('assets/b.yaml', lines('', '') + assetYaml('Team', 'web'));
    delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect([...delta.diagnostics.keys()]).toEqual(['assets/b.yaml']);
    await expectSameAsLoad(tracker, repo);

    repo.delete('assets/a.yaml');
    delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(ids(delta)).toEqual({ 'team/web': 'assets/b.yaml' });
    expect(delta.diagnostics).toEqual(
      new Map([
        ['assets/b.yaml', []],
        ['assets/c.yaml', [expect.objectContaining({ code: 'E_DUPLICATE_ASSET', line: 6, message: "asset 'team/web' is already defined at assets/b.yaml:6:9" })]],
      ]),
    );
    await expectSameAsLoad(tracker, repo);

    repo.delete('assets/b.yaml');
    delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(ids(delta)).toEqual({ 'team/web': 'assets/c.yaml' });
    expect(delta.assets.get('team/web')!.spec).toEqual({ contact: 'c' });
    expect(delta.diagnostics).toEqual(new Map([['assets/c.yaml', []]]));
    await expectSameAsLoad(tracker, repo);
  });

  it('reports a dangling reference when its target goes, and clears it when the target comes back', async () => {
    const repo = new ChangingRepo({
      'estate.yaml': ESTATE_YAML,
      'assets/hosts/h1.yaml': assetYaml('Host', 'h1', '  hostname: h1.example.com'),
      'assets/svc.yaml': assetYaml('Service', 'svc', '  runsOn: [host/h1, h1]'),
      'assets/db.yaml': assetYaml('Database', 'db', '  engine: postgresql', '  hosts: [host/h1]'),
    });
    const tracker = new EstateTracker();
    const first = await tracker.reset(repo.files, repo.readFiles);
    expect(first.diagnostics.size).toBe(0);
    expect(tracker.referencesOf('service/svc').map((r) => r.to)).toEqual(['host/h1', 'host/h1']);

    repo.rename('assets/hosts/h1.yaml', 'assets/hosts/old/h1.yaml');
    let delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(delta.diagnostics.size).toBe(0);
    expect(ids(delta)).toEqual({ 'host/h1': 'assets/hosts/old/h1.yaml' });

    repo.delete('assets/hosts/old/h1.yaml');
    delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(ids(delta)).toEqual({ 'host/h1': null });
    expect(delta.diagnostics.get('assets/svc.yaml')).toMatchObject([
      diag('E_DANGLING_REF', 'assets/svc.yaml', 6, 12, "asset 'host/h1' referenced by service/svc (spec.runsOn[0]) does not exist"),
      diag('E_DANGLING_REF', 'assets/svc.yaml', 6, 21, "asset 'host/h1' referenced by service/svc (spec.runsOn[1]) does not exist"),
    ]);
    expect(delta.diagnostics.get('assets/db.yaml')).toHaveLength(1);
    expect(tracker.referencesOf('service/svc').map((r) => r.to)).toEqual(['host/h1', 'host/h1']);
    await expectSameAsLoad(tracker, repo);

    repo.write('assets/h1.yaml', assetYaml('Host', 'h1', '  hostname: h1.example.com'));
    delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(ids(delta)).toEqual({ 'host/h1': 'assets/h1.yaml' });
    expect(delta.diagnostics).toEqual(new Map([['assets/svc.yaml', []], ['assets/db.yaml', []]]));
    await expectSameAsLoad(tracker, repo);
  });

  it('lists an asset whose declared references changed, and not those referencing it', async () => {
    const repo = new ChangingRepo({
      'estate.yaml': ESTATE_YAML,
      'assets/h.yaml': assetYaml('Host', 'h1', '  hostname: h1.example.com') + '---\n' + assetYaml('Host', 'h2', '  hostname: h2.example.com'),
      'assets/svc.yaml': assetYaml('Service', 'svc', '  runsOn: [host/h1]'),
    });
    const tracker = new EstateTracker();
    await tracker.reset(repo.files, repo.readFiles);
    repo.write('assets/svc.yaml', assetYaml('Service', 'svc', '  runsOn: [host/h2]'));
    const delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(ids(delta)).toEqual({ 'service/svc': 'assets/svc.yaml' });
    expect(tracker.referencesOf('service/svc')).toEqual([{ from: 'service/svc', to: 'host/h2', type: 'runsOn', inverse: 'hosts', field: 'spec.runsOn[0]' }]);
  });

  it('moves a unique conflict to the next holder when the first one goes', async () => {
    const host = (name: string, ...more: string[]): string => assetYaml('Host', name, '  hostname: same.example.com', ...more);
    const repo = new ChangingRepo({
      'estate.yaml': ESTATE_YAML,
      'assets/a.yaml': host('a'),
      'assets/b.yaml': host('b', '  ip: 10.0.0.1'),
      'assets/c.yaml': host('c', '  ip: 10.0.0.1'),
    });
    const tracker = new EstateTracker();
    await tracker.reset(repo.files, repo.readFiles);
    expect(tracker.diagnostics()).toMatchObject([
      diag('E_UNIQUE', 'assets/b.yaml', 6, 13, 'spec.hostname "same.example.com" of host/b is already used by host/a (assets/a.yaml:6:13)'),
      diag('E_UNIQUE', 'assets/c.yaml', 6, 13, 'spec.hostname "same.example.com" of host/c is already used by host/a (assets/a.yaml:6:13)'),
      diag('E_UNIQUE', 'assets/c.yaml', 7, 7, 'spec.ip "10.0.0.1" of host/c is already used by host/b (assets/b.yaml:7:7)'),
    ]);

    repo.delete('assets/a.yaml');
    let delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(delta.diagnostics).toEqual(
      new Map([
        ['assets/b.yaml', []],
        [
          'assets/c.yaml',
          [
            expect.objectContaining({ code: 'E_UNIQUE', message: expect.stringContaining('of host/c is already used by host/b (assets/b.yaml:6:13)') }),
            expect.objectContaining({ code: 'E_UNIQUE', message: expect.stringContaining('spec.ip "10.0.0.1" of host/c is already used by host/b (assets/b.yaml:7:7)') }),
          ],
        ],
      ]),
    );
    await expectSameAsLoad(tracker, repo);

    // A duplicate definition of host/b does not hold values: its ip is not compared.
    repo.write('assets/b2.yaml', assetYaml('Host', 'b', '  hostname: other.example.com', '  ip: 10.0.0.9'));
    delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect([...delta.diagnostics.keys()]).toEqual(['assets/b2.yaml']);
    await expectSameAsLoad(tracker, repo);

    // The winner of host/b goes: the duplicate wins, and host/c now holds what b held.
    repo.delete('assets/b.yaml');
    delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(ids(delta)).toEqual({ 'host/b': 'assets/b2.yaml' });
    expect(delta.diagnostics).toEqual(new Map([['assets/b2.yaml', []], ['assets/c.yaml', []]]));
    await expectSameAsLoad(tracker, repo);
  });

  it('re-checks the other documents of a file when one of them changes', async () => {
    const doc = (name: string, hostname: string): string => assetYaml('Host', name, `  hostname: ${hostname}`);
    const repo = new ChangingRepo({
      'estate.yaml': ESTATE_YAML,
      'assets/pool.yaml': [doc('p1', 'p1.example.com'), doc('p2', 'p2.example.com'), doc('p3', 'p3.example.com')].join('---\n'),
      'assets/other.yaml': doc('o', 'p3.example.com'),
    });
    const tracker = new EstateTracker();
    await tracker.reset(repo.files, repo.readFiles);
    expect(tracker.diagnostics()).toMatchObject([diag('E_UNIQUE', 'assets/pool.yaml', 20, 13, 'of host/p3 is already used by host/o (assets/other.yaml:6:13)')]);

    repo.write('assets/pool.yaml', [doc('p1', 'p1.example.com'), doc('p2', 'p2.example.com'), doc('p3', 'p3.example.com')].join('---\n# moved down\n'));
    let delta = await tracker.apply(repo.commit(), repo.readFiles);
    // Every document of the file has a new blob; the position of p3's problem moved.
    expect(ids(delta)).toEqual({ 'host/p1': 'assets/pool.yaml', 'host/p2': 'assets/pool.yaml', 'host/p3': 'assets/pool.yaml' });
    expect(delta.diagnostics.get('assets/pool.yaml')).toMatchObject([diag('E_UNIQUE', 'assets/pool.yaml', 22, 13)]);
    await expectSameAsLoad(tracker, repo);

    repo.write('assets/pool.yaml', [doc('p1', 'p1.example.com'), doc('p2', 'p2.example.com'), doc('p3', 'p9.example.com')].join('---\n'));
    delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(delta.assets.get('host/p3')!.spec).toEqual({ hostname: 'p9.example.com' });
    expect(delta.diagnostics).toEqual(new Map([['assets/pool.yaml', []]]));
    await expectSameAsLoad(tracker, repo);
  });
});

describe('EstateTracker: estate.yaml and schemas/', () => {
  it('re-checks everything when a schema adds a kind or a reference field, and lists what changed', async () => {
    const repo = new ChangingRepo({
      'estate.yaml': ESTATE_YAML,
      'assets/h.yaml': assetYaml('Host', 'h1', '  hostname: h1.example.com'),
      'assets/cert.yaml': assetYaml('Certificate', 'shop', '  commonName: shop.example.com', '  hosts: [host/h1, host/h9]'),
      'assets/t.yaml': assetYaml('Team', 't'),
    });
    const tracker = new EstateTracker();
    await tracker.reset(repo.files, repo.readFiles);
    expect(tracker.diagnostics()).toMatchObject([diag('E_UNKNOWN_KIND', 'assets/cert.yaml', 2, 7, "unknown kind 'Certificate'")]);

    repo.write('schemas/certificate.yaml', CERT_SCHEMA);
    let delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(delta.configChanged).toBe(true);
    expect(ids(delta)).toEqual({ 'certificate/shop': 'assets/cert.yaml' });
    expect(delta.diagnostics).toEqual(new Map([['assets/cert.yaml', []]]));
    expect(tracker.kinds.get('Certificate')).toMatchObject({ source: 'schemas/certificate.yaml' });
    await expectSameAsLoad(tracker, repo);

    repo.write('schemas/certificate.yaml', CERT_SCHEMA_WITH_HOSTS);
    delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(ids(delta)).toEqual({ 'certificate/shop': 'assets/cert.yaml' });
    expect(tracker.referencesOf('certificate/shop').map((r) => `${r.type}:${r.to}`)).toEqual(['installedOn:host/h1', 'installedOn:host/h9']);
    expect(delta.diagnostics.get('assets/cert.yaml')).toMatchObject([diag('E_DANGLING_REF', 'assets/cert.yaml', 7, 20, "asset 'host/h9'")]);
    await expectSameAsLoad(tracker, repo);

    repo.delete('schemas/certificate.yaml');
    delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(ids(delta)).toEqual({ 'certificate/shop': null });
    expect(delta.configChanged).toBe(true);
    await expectSameAsLoad(tracker, repo);
  });

  it('reports a broken schema file and recovers', async () => {
    const repo = new ChangingRepo({ 'estate.yaml': ESTATE_YAML, 'schemas/certificate.yaml': CERT_SCHEMA, 'assets/cert.yaml': assetYaml('Certificate', 'shop', '  commonName: a') });
    const tracker = new EstateTracker();
    await tracker.reset(repo.files, repo.readFiles);
    repo.write('schemas/certificate.yaml', CERT_SCHEMA.replace('type: object', 'type: [object'));
    let delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect([...delta.diagnostics.keys()].sort()).toEqual(['assets/cert.yaml', 'schemas/certificate.yaml']);
    expect(ids(delta)).toEqual({ 'certificate/shop': null });
    await expectSameAsLoad(tracker, repo);
    repo.write('schemas/certificate.yaml', CERT_SCHEMA);
    delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(delta.diagnostics).toEqual(new Map([['assets/cert.yaml', []], ['schemas/certificate.yaml', []]]));
    await expectSameAsLoad(tracker, repo);
  });

  it('follows estate.yaml as it breaks, goes, comes back empty and is fixed', async () => {
    const repo = new ChangingRepo({ 'estate.yaml': ESTATE_YAML, 'assets/a.yaml': assetYaml('Team', 'a') });
    const tracker = new EstateTracker();
    await tracker.reset(repo.files, repo.readFiles);
    expect(tracker.config).toMatchObject({ name: 'test' });

    repo.write('estate.yaml', ESTATE_YAML.replace('environments: [dev, prod]', 'environments: [dev, prod'));
    let delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(delta.configChanged).toBe(true);
    expect(delta.assets.size).toBe(0);
    expect(delta.diagnostics.get('estate.yaml')).toMatchObject([{ code: 'E_YAML_SYNTAX', path: 'estate.yaml' }]);
    expect(tracker.config).toBeUndefined();
    await expectSameAsLoad(tracker, repo);

    repo.delete('estate.yaml');
    delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(delta.diagnostics.get('estate.yaml')).toMatchObject([diag('E_ESTATE_FILE', 'estate.yaml', 1, 1, 'estate.yaml is missing')]);
    await expectSameAsLoad(tracker, repo);

    repo.write('estate.yaml', '# nothing yet\n');
    delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(delta.diagnostics.get('estate.yaml')).toMatchObject([diag('E_ESTATE_FILE', 'estate.yaml', 1, 1, 'estate.yaml is empty')]);
    await expectSameAsLoad(tracker, repo);

    repo.write('estate.yaml', ESTATE_YAML + '---\n' + ESTATE_YAML);
    delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(delta.diagnostics.get('estate.yaml')).toMatchObject([diag('E_ESTATE_FILE', 'estate.yaml', 8, 1, 'must hold a single document')]);
    await expectSameAsLoad(tracker, repo);

    repo.write('estate.yaml', ESTATE_YAML.replace('name: test', 'name: shop'));
    delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(delta).toEqual({ assets: new Map(), diagnostics: new Map([['estate.yaml', []]]), configChanged: true });
    expect(tracker.config).toMatchObject({ name: 'shop' });
    await expectSameAsLoad(tracker, repo);
  });
});

describe('EstateTracker: updates', () => {
  it('takes the changes of a tracker never reset as the whole estate', async () => {
    const repo = new ChangingRepo();
    repo.write('estate.yaml', ESTATE_YAML).write('assets/a.yaml', assetYaml('Team', 'a'));
    const tracker = new EstateTracker();
    const delta = await tracker.apply(repo.commit(), repo.readFiles);
    expect(ids(delta)).toEqual({ 'team/a': 'assets/a.yaml' });
    expect(delta.configChanged).toBe(true);
    await expectSameAsLoad(tracker, repo);
  });

  it('keeps its state when reading fails, and runs updates one at a time', async () => {
    const repo = new ChangingRepo({ 'estate.yaml': ESTATE_YAML, 'assets/a.yaml': assetYaml('Team', 'a') });
    const tracker = new EstateTracker();
    await tracker.reset(repo.files, repo.readFiles);
    repo.write('assets/a.yaml', assetYaml('Team', 'a', '  contact: x'));
    repo.failReads = true;
    await expect(tracker.apply(repo.commit(), repo.readFiles)).rejects.toThrow('read failed');
    expect(tracker.asset('team/a')!.spec).toEqual({});
    repo.failReads = false;

    repo.write('assets/a.yaml', assetYaml('Team', 'a', '  contact: y'));
    const first = tracker.apply(repo.commit(), repo.readFiles);
    repo.write('assets/b.yaml', assetYaml('Team', 'b'));
    const second = tracker.apply(repo.commit(), repo.readFiles);
    expect(ids(await first)).toEqual({ 'team/a': 'assets/a.yaml' });
    expect(ids(await second)).toEqual({ 'team/b': 'assets/b.yaml' });
    await expectSameAsLoad(tracker, repo);
  });

  it('reuses what it parsed on reset, and reports the difference with the previous files', async () => {
    const repo = new ChangingRepo({ 'estate.yaml': ESTATE_YAML, 'assets/a.yaml': assetYaml('Team', 'a'), 'assets/b.yaml': assetYaml('Team', 'b') });
    const tracker = new EstateTracker();
    await tracker.reset(repo.files, repo.readFiles);
    repo.reads = [];
    const progress: Array<[number, number]> = [];
    let delta = await tracker.reset(repo.files, repo.readFiles, (done, total) => progress.push([done, total]));
    expect(delta).toEqual({ assets: new Map(), diagnostics: new Map(), configChanged: false });
    expect(repo.reads).toEqual([]);
    expect(progress).toEqual([[3, 3]]);

    repo.delete('assets/a.yaml').write('assets/c.yaml', assetYaml('Team', 'b'));
    delta = await tracker.reset(repo.files, repo.readFiles);
    expect(ids(delta)).toEqual({ 'team/a': null });
    expect([...delta.diagnostics.keys()]).toEqual(['assets/c.yaml']);
    expect(repo.reads).toEqual(['assets/c.yaml']);
    await expectSameAsLoad(tracker, repo);
  });
});

// ---------------------------------------------------------------------------------------------
// Randomized equivalence with loadEstate.

/** mulberry32: a small seeded PRNG, so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface DocModel {
  kind: string;
  name: string;
  owner?: string;
  spec: Record<string, unknown>;
}

type FileModel = { docs: DocModel[] } | { raw: string };

const WIDGET_SCHEMA = lines(
  'apiVersion: estate/v1',
  'kind: Schema',
  'metadata:',
  '  name: Widget',
  'spec:',
  '  schema:',
  '    type: object',
  '    properties:',
  '      service:',
  '        type: string',
  '        x-estate-ref: Service',
  '        x-estate-relation: usedBy',
  '        x-estate-inverse: widgets',
  '      serials:',
  '        type: array',
  '        items:',
  '          type: string',
  '          x-estate-unique: true',
);

function renderDoc(doc: DocModel): string {
  const metadata = [`  name: ${doc.name}`, ...(doc.owner ? [`  owner: ${doc.owner}`] : [])];
  const spec = Object.entries(doc.spec).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
  return lines('apiVersion: estate/v1', `kind: ${doc.kind}`, 'metadata:', ...metadata, ...(spec.length ? ['spec:', ...spec] : ['spec: {}']));
}

function renderFile(file: FileModel): string {
  return 'raw' in file ? file.raw : file.docs.map(renderDoc).join('---\n');
}

/** Generates an estate of ~200 assets with references, unique values and a few duplicates, then changes it at random. */
class RandomEstate {
  readonly repo = new ChangingRepo();
  readonly models = new Map<string, FileModel>();
  #serial = 0;

  constructor(readonly random: () => number) {
    this.repo.write('estate.yaml', ESTATE_YAML);
    this.repo.write('schemas/certificate.yaml', CERT_SCHEMA_WITH_HOSTS);
    this.repo.write('schemas/widget.yaml', WIDGET_SCHEMA);
    for (let i = 0; i < 8; i++) this.#put(`assets/teams/t${i}.yaml`, { docs: [this.#doc('Team', `t${i}`)] });
    for (let i = 0; i < 4; i++) this.#put(`assets/networks/n${i}.yaml`, { docs: [this.#doc('Network', `n${i}`)] });
    for (let i = 0; i < 100; ) {
      const count = this.random() < 0.15 ? 2 + this.int(2) : 1;
      const docs = Array.from({ length: count }, (_, j) => this.#doc('Host', `h${i + j}`));
      this.#put(`assets/hosts/r${this.int(5)}/h${i}.yaml`, { docs });
      i += count;
    }
    for (let i = 0; i < 60; i++) this.#put(`assets/services/s${i}.yaml`, { docs: [this.#doc('Service', `s${i}`)] });
    for (let i = 0; i < 25; i++) this.#put(`assets/certs/c${i}.yaml`, { docs: [this.#doc('Certificate', `c${i}`)] });
    for (let i = 0; i < 10; i++) this.#put(`assets/widgets/w${i}.yaml`, { docs: [this.#doc('Widget', `w${i}`)] });
    // A few duplicates from the start.
    for (let i = 0; i < 5; i++) this.#put(`assets/dups/d${i}.yaml`, { docs: [this.#doc('Host', `h${this.int(100)}`)] });
    this.repo.write('README.md', '# estate\n');
  }

  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  #doc(kind: string, name: string): DocModel {
    const owner = this.random() < 0.8 ? `team/t${this.int(10)}` : undefined; // t8, t9 never exist
    const doc: DocModel = { kind, name, ...(owner ? { owner } : {}), spec: {} };
    this.randomizeSpec(doc);
    return doc;
  }

  /** Values drawn from small pools, so unique values collide and references sometimes dangle. */
  randomizeSpec(doc: DocModel): void {
    const r = this.random;
    switch (doc.kind) {
      case 'Host':
        doc.spec = { hostname: `${doc.name}.example.com`, ip: `10.0.0.${this.int(250)}` };
        if (r() < 0.1) doc.spec['hostname'] = `shared${this.int(3)}.example.com`;
        if (r() < 0.7) doc.spec['network'] = `network/n${this.int(5)}`;
        break;
      case 'Service':
        doc.spec = { runsOn: Array.from({ length: 1 + this.int(3) }, () => `host/h${this.int(110)}`), dependsOn: r() < 0.5 ? [`service/s${this.int(65)}`] : [] };
        doc.spec['runsOn'] = [...new Set(doc.spec['runsOn'] as string[])];
        break;
      case 'Certificate':
        doc.spec = { commonName: `cn${this.int(30)}.example.com`, hosts: [`host/h${this.int(110)}`] };
        break;
      case 'Widget':
        // Serials of its own that may repeat, and one from a small shared pool.
        doc.spec = { service: `service/s${this.int(65)}`, serials: [`${doc.name}-${this.int(2)}`, `${doc.name}-${this.int(2)}`, `shared-${this.int(8)}`] };
        break;
      default:
        doc.spec = r() < 0.3 ? { contact: `#c${this.int(5)}` } : {};
    }
  }

  #put(path: string, model: FileModel): void {
    this.models.set(path, model);
    this.repo.write(path, renderFile(model));
  }

  #remove(path: string): void {
    this.models.delete(path);
    this.repo.delete(path);
  }

  /** One random change (sometimes several paths, like a commit). Returns a label for failures. */
  step(): string {
    const paths = [...this.models.keys()];
    const path = this.pick(paths);
    const model = this.models.get(path)!;
    const roll = this.random();
    if (roll < 0.3 && 'docs' in model) {
      const doc = this.pick(model.docs);
      this.randomizeSpec(doc);
      if (this.random() < 0.2) doc.owner = `team/t${this.int(10)}`;
      this.#put(path, model);
      return `modify ${path}`;
    }
    if (roll < 0.38) {
      this.#put(path, { raw: this.pick(['apiVersion: estate/v1\nkind: [Host\n', 'a: 1\na: 2\n', '- just\n- a list\n', 'kind: Host\nmetadata: {name: Bad_Name}\nspec: {}\n']) });
      return `break ${path}`;
    }
    if (roll < 0.48) {
      if ('raw' in model) {
        this.#put(path, { docs: [this.#doc(this.pick(['Host', 'Service', 'Team']), `x${this.#serial++}`)] });
        return `fix ${path}`;
      }
      this.#remove(path);
      return `delete ${path}`;
    }
    if (roll < 0.56) {
      const to = `assets/moved/${this.int(3)}/${path.split('/').pop()}`;
      if (this.models.has(to)) return 'nothing';
      this.#remove(path);
      this.#put(to, model);
      return `rename ${path} → ${to}`;
    }
    if (roll < 0.66 && 'docs' in model) {
      const doc = this.pick(model.docs);
      const copy: DocModel = { ...doc, spec: { ...doc.spec } };
      if (this.random() < 0.5) this.randomizeSpec(copy);
      const target = `assets/${this.pick(['a', 'm', 'z'])}dup${this.int(20)}.yaml`;
      const existing = this.models.get(target);
      if (existing && 'docs' in existing && this.random() < 0.5) existing.docs.splice(this.int(existing.docs.length + 1), 0, copy);
      this.#put(target, existing && 'docs' in existing ? existing : { docs: [copy] });
      return `duplicate ${doc.kind}/${doc.name} in ${target}`;
    }
    if (roll < 0.74 && 'docs' in model) {
      const doc = this.pick(model.docs);
      if (doc.kind === 'Service') doc.spec['runsOn'] = [`host/h${this.int(110)}`];
      else if (doc.kind === 'Certificate') doc.spec['hosts'] = [`host/h${this.int(110)}`, `host/h${this.int(110)}`];
      else if (doc.kind === 'Host') doc.spec['network'] = `network/n${this.int(5)}`;
      else doc.owner = `team/t${this.int(10)}`;
      this.#put(path, model);
      return `retarget ${path}`;
    }
    if (roll < 0.8) {
      const kind = this.pick(['Host', 'Service', 'Team', 'Certificate', 'Widget', 'Network']);
      const docs = Array.from({ length: 1 + this.int(2) }, () => this.#doc(kind, `${kind.toLowerCase()[0]}${this.int(120)}`));
      this.#put(`assets/new/f${this.#serial++}.yaml`, { docs });
      return `add ${docs.map((d) => `${d.kind}/${d.name}`).join(' ')}`;
    }
    if (roll < 0.84 && 'docs' in model && model.docs.length > 1) {
      model.docs.splice(this.int(model.docs.length), 1);
      this.#put(path, model);
      return `drop a document of ${path}`;
    }
    if (roll < 0.88) {
      // A commit of several files.
      const labels = [this.step(), this.step(), this.step()];
      return labels.join('; ');
    }
    if (roll < 0.91) {
      const change = this.int(5);
      if (change === 0) this.repo.write('schemas/certificate.yaml', this.pick([CERT_SCHEMA, CERT_SCHEMA_WITH_HOSTS]));
      else if (change === 1) this.repo.write('schemas/widget.yaml', WIDGET_SCHEMA);
      else if (change === 2 && this.repo.has('schemas/widget.yaml')) this.repo.delete('schemas/widget.yaml');
      else if (change === 3) this.repo.write('schemas/certificate.yaml', 'apiVersion: estate/v1\nkind: Schema\nmetadata: {name: Certificate}\nspec: {schema: [}\n');
      else this.repo.write('schemas/widget.yaml', WIDGET_SCHEMA.replace('Widget', 'Host'));
      return `schema change ${change}`;
    }
    if (roll < 0.94) {
      this.repo.write('estate.yaml', this.pick([ESTATE_YAML, ESTATE_YAML.replace('[dev, prod]', '[dev, prod, dev]'), 'kind: Estate\n', 'a: [\n', '']));
      return 'estate.yaml change';
    }
    if (roll < 0.97) {
      this.repo.write(this.pick(['README.md', 'config/app/base.yaml', 'assets/notes.txt', 'assets/logo.png']), this.random() < 0.5 ? `text ${this.int(9)}\n` : new Uint8Array([0, this.int(9)]));
      return 'other file';
    }
    this.repo.write(path, renderFile(model)); // the same content: no change
    return `rewrite ${path} unchanged`;
  }
}

function flattenByPath(diagnostics: Map<string, Diagnostic[]>): Diagnostic[] {
  return [...diagnostics.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).flatMap((path) => diagnostics.get(path)!);
}

describe('EstateTracker: randomized equivalence with loadEstate', () => {
  it.each([1, 2, 3])('seed %i: 300 random steps', async (seed) => {
    const estate = new RandomEstate(prng(seed));
    const { repo } = estate;
    const cached = new EstateTracker({ cache: new MemoryParseCache() });
    const uncached = new EstateTracker();
    const mirrors = [cached, uncached].map(() => ({ assets: new Map<string, string>(), diagnostics: new Map<string, Diagnostic[]>() }));
    const trackers = [cached, uncached];
    // What a reader of the deltas knows of each winner: its place and its declared references.
    const entryOf = (tracker: EstateTracker, asset: Asset): string =>
      `${asset.path}@${asset.blobId}#${asset.document.index} ${JSON.stringify(tracker.referencesOf(asset.id))}`;
    const follow = (delta: EstateDelta, i: number): void => {
      const mirror = mirrors[i]!;
      for (const [id, asset] of delta.assets) {
        if (asset) mirror.assets.set(id, entryOf(trackers[i]!, asset));
        else mirror.assets.delete(id);
      }
      for (const [path, list] of delta.diagnostics) {
        // Every listed path really changed.
        expect(list).not.toEqual(mirror.diagnostics.get(path) ?? []);
        if (list.length) mirror.diagnostics.set(path, list);
        else mirror.diagnostics.delete(path);
      }
    };
    const initial = repo.commit();
    follow(await cached.reset(repo.files, repo.readFiles), 0);
    follow(await uncached.apply(initial, repo.readFiles), 1);
    const loadCache = new MemoryParseCache();
    const seen = new Set<string>();
    for (let step = 0; step < 300; step++) {
      const label = estate.step();
      const changes = repo.commit();
      const deltas = [await cached.apply(changes, repo.readFiles), await uncached.apply(changes, repo.readFiles)];
      const loaded = await loadEstate(repo.files, repo.readFiles, { cache: loadCache });
      const expected = new Map([...loaded.assets].map(([id, a]) => [id, `${a.path}@${a.blobId}#${a.document.index}`]));
      for (const [i, tracker] of trackers.entries()) {
        const context = `seed ${seed}, step ${step}: ${label} (${i === 0 ? 'cached' : 'uncached'})`;
        follow(deltas[i]!, i);
        expect(tracker.diagnostics(), context).toEqual(loaded.diagnostics);
        expect(new Map([...tracker.assets()].map((a) => [a.id, `${a.path}@${a.blobId}#${a.document.index}`])), context).toEqual(expected);
        expect(mirrors[i]!.assets, context).toEqual(new Map([...tracker.assets()].map((a) => [a.id, entryOf(tracker, a)])));
        const relations = [...tracker.assets()].flatMap((a) => tracker.referencesOf(a.id).filter((r) => loaded.assets.has(r.to)));
        // The same relations; loadEstate lists them in file order, the tracker in no particular order.
        const sorted = (list: Relation[]): string[] => list.map((r) => JSON.stringify(r)).sort();
        expect(sorted(relations), context).toEqual(sorted(loaded.relations));
        expect(flattenByPath(mirrors[i]!.diagnostics), context).toEqual(loaded.diagnostics);
        expect(tracker.config, context).toEqual(loaded.config);
        expect(countsOf(tracker.stats), context).toEqual(countsOf(loaded.stats));
      }
      for (const d of loaded.diagnostics) {
        seen.add(d.code);
        if (d.code === 'E_UNIQUE' && d.message.includes(`used by ${d.asset} (`)) seen.add('E_UNIQUE within one asset');
      }
      if (step % 100 === 99) {
        await expectSameAsLoad(cached, repo);
        // A reset to the same files changes nothing.
        expect(await cached.reset(repo.files, repo.readFiles)).toEqual({ assets: new Map(), diagnostics: new Map(), configChanged: false });
      }
    }
    // The run went through every kind of problem the tracker must keep up to date.
    expect([...seen].sort()).toEqual(
      expect.arrayContaining(['E_DANGLING_REF', 'E_DUPLICATE_ASSET', 'E_ESTATE_FILE', 'E_SCHEMA_DEFINITION', 'E_UNIQUE', 'E_UNIQUE within one asset', 'E_UNKNOWN_KIND', 'E_YAML_SYNTAX']),
    );
  });
});
