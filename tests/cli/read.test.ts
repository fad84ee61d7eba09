import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { assertBuilt, commit, copyDemo, ESTATE_YAML, estate, estateAll, git, makeRepo, parseJson, removeTempDirs, writeFiles, type RunResult } from './helpers.js';

beforeAll(assertBuilt);
afterAll(removeTempDirs);

/** The second document of a multi-document file, comments included (`get` prints it as written). */
const HOST_B = `# host b: the second document
apiVersion: estate/v1
kind: Host
metadata:
  name: b   # b for backup
  labels: {env: staging}
spec:
  hostname: b.example.com
  cpus: 2   # two cores`;

describe('estate get', () => {
  let repo: string;
  let first: string;
  beforeAll(() => {
    repo = makeRepo({
      'estate.yaml': ESTATE_YAML,
      'assets/hosts/both.yaml': `apiVersion: estate/v1
kind: Host
metadata:
  name: a
spec:
  hostname: a.example.com
---
${HOST_B}
`,
    });
    first = git(repo, 'rev-parse', 'HEAD');
    commit(repo, 'b: four cores', { 'assets/hosts/both.yaml': git(repo, 'show', 'HEAD:assets/hosts/both.yaml').replace('cpus: 2', 'cpus: 4') + '\n' });
    // Uncommitted: eight cores.
    writeFiles(repo, { 'assets/hosts/both.yaml': git(repo, 'show', 'HEAD:assets/hosts/both.yaml').replace('cpus: 4', 'cpus: 8') + '\n' });
  });

  it('prints the document as written, comments kept, from the work tree by default', () => {
    const result = estate(['get', 'host/b'], { cwd: repo });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(HOST_B.replace('cpus: 2', 'cpus: 8') + '\n');
  });

  it('reads a commit with --rev, and accepts the kind in any case', async () => {
    const [head, atFirst, a] = await estateAll([
      [['get', 'Host/b', '--rev', 'HEAD'], { cwd: repo }],
      [['get', 'host/b', '--rev', first], { cwd: repo }],
      [['get', 'host/a', '--rev', 'HEAD~1'], { cwd: repo }],
    ]);
    expect(head!.stdout).toBe(HOST_B.replace('cpus: 2', 'cpus: 4') + '\n');
    expect(atFirst!.stdout).toBe(HOST_B + '\n');
    expect(a!.stdout).toBe(
      'apiVersion: estate/v1\nkind: Host\nmetadata:\n  name: a\nspec:\n  hostname: a.example.com\n',
    );
  });

  it('prints JSON with -o json', () => {
    const result = estate(['get', 'host/b', '-o', 'json', '--rev', 'HEAD'], { cwd: repo });
    expect(result.status).toBe(0);
    expect(parseJson(result.stdout)).toEqual({
      apiVersion: 'estate/v1',
      kind: 'Host',
      metadata: { name: 'b', labels: { env: 'staging' } },
      spec: { hostname: 'b.example.com', cpus: 4 },
    });
  });

  it('exits 1 with E_ASSET_NOT_FOUND for an unknown asset', () => {
    const worktree = estate(['get', 'host/zz'], { cwd: repo });
    expect(worktree.status).toBe(1);
    expect(worktree.stdout).toBe('');
    expect(worktree.stderr).toBe("error[E_ASSET_NOT_FOUND]: asset 'host/zz' not found in the work tree\n");
    const atRev = estate(['get', 'service/b', '--rev', first], { cwd: repo });
    expect(atRev.status).toBe(1);
    expect(atRev.stderr).toBe(`error[E_ASSET_NOT_FOUND]: asset 'service/b' not found at ${first.slice(0, 12)}\n`);
  });

  it('exits 2 with E_USAGE for a malformed id or output format', async () => {
    const ids = ['b', 'host/a/b', 'host/', '/b', '-x'];
    const results = await estateAll([...ids.map((id): [string[], { cwd: string }] => [['get', '--', id], { cwd: repo }]), [['get', 'host/b', '-o', 'toml'], { cwd: repo }]]);
    const output = results.pop()!;
    results.forEach((result, i) => {
      expect(result.status, ids[i]).toBe(2);
      expect(result.stderr).toBe(`error[E_USAGE]: '${ids[i]}' is not an asset id; expected <kind>/<name>, e.g. host/web-01\n`);
    });
    expect(output.status).toBe(2);
    expect(output.stderr).toContain("argument 'toml' is invalid");
  });
});

describe('estate list', () => {
  let demo: string;
  beforeAll(() => {
    demo = copyDemo();
  });
  /** The ids `estate list <args> -o json` prints, for each list of args. */
  const ids = async (...queries: string[][]): Promise<string[][]> => {
    const results = await estateAll(queries.map((args) => [['list', ...args, '-o', 'json'], { cwd: demo }]));
    return results.map((result) => {
      expect(result.status).toBe(0);
      return parseJson<Array<{ id: string }>>(result.stdout).map((a) => a.id);
    });
  };

  it('prints a table of every asset by default', () => {
    const result = estate(['list'], { cwd: demo });
    expect(result.status).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +OWNER +LABELS +FILE$/);
    expect(lines).toHaveLength(1 + 29);
    expect(lines).toContainEqual(expect.stringMatching(/^host\/web-01 +team\/team-platform +env=prod,role=web +assets\/hosts\/prod\/web\.yaml$/));
  });

  it('answers from an invalid estate with a warning on stderr, and exit 0', () => {
    const dir = copyDemo();
    writeFiles(dir, { 'assets/broken.yaml': 'apiVersion: estate/v1\nkind: Host\nmetadata: {name: broken}\nspec: {cpus: 2}\n' });
    const result = estate(['list', '--kind', 'Host'], { cwd: dir });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('warning: the work tree has 1 validation error; run estate validate\n');
    expect(result.stdout).toContain('host/broken');
    expect(estate(['list'], { cwd: demo }).stderr).toBe('');
  });

  it('filters by kind (any case) and label selectors, repeated -l meaning all of them', async () => {
    const queries: Array<[string[], string[]]> = [
      [['--kind', 'Host', '-l', 'env=prod', '-l', 'role in (web,app)'], ['host/app-01', 'host/app-02', 'host/web-01', 'host/web-02']],
      [['--kind', 'host', '-l', 'role in (web,api)'], ['host/web-01', 'host/web-02']],
      [['-l', 'env=prod,role=db'], ['host/db-01', 'host/db-02']],
      [['-l', 'env=staging', '-l', 'role notin (db)'], ['database/staging-orders-db', 'host/staging-app-01', 'network/staging', 'service/checkout-staging']],
      [['-l', 'pci'], ['service/payments']],
      [['--kind', 'Certificate'], ['certificate/internal-wildcard', 'certificate/shop-example-com']],
      [['--kind', 'Team', '-l', 'env=prod'], []],
    ];
    const results = await ids(...queries.map(([args]) => args));
    expect(results).toEqual(queries.map(([, expected]) => expected));
  });

  it('prints JSON and YAML documents', () => {
    const json = parseJson<Array<{ id: string; path: string; document: { spec: { hostname: string } } }>>(
      estate(['list', '--kind', 'Host', '-l', 'role=db,env=prod', '-o', 'json'], { cwd: demo }).stdout,
    );
    expect(json).toHaveLength(2);
    expect(json[0]).toMatchObject({ id: 'host/db-01', path: 'assets/hosts/prod/db-01.yaml', document: { kind: 'Host', metadata: { name: 'db-01' } } });
    expect(json[0]?.document.spec.hostname).toBe('db-01.prod.example.com');

    const yaml = estate(['list', '--kind', 'Host', '-l', 'role=db,env=prod', '-o', 'yaml'], { cwd: demo });
    expect(yaml.status).toBe(0);
    const documents = parseAllDocuments(yaml.stdout).map((d) => d.toJS() as { metadata: { name: string } });
    expect(documents.map((d) => d.metadata.name)).toEqual(['db-01', 'db-02']);
    expect(documents[0]).toEqual(json[0]?.document);
  });

  it('exits 2 for a bad selector, an unknown kind or an unknown output format', async () => {
    const [selector, key, kind, output] = await estateAll([
      [['list', '-l', 'env in (prod'], { cwd: demo }],
      [['list', '-l', 'bad key=x'], { cwd: demo }],
      [['list', '--kind', 'Gadget'], { cwd: demo }],
      [['list', '-o', 'csv'], { cwd: demo }],
    ]);
    expect(selector!.status).toBe(2);
    expect(selector!.stdout).toBe('');
    expect(selector!.stderr).toBe("error[E_SELECTOR]: invalid label selector 'env in (prod': cannot parse 'env in (prod'\n");
    expect(key!.status).toBe(2);
    expect(key!.stderr).toMatch(/^error\[E_SELECTOR\]: /);
    expect(kind!.status).toBe(2);
    expect(kind!.stderr).toBe('error[E_USAGE]: unknown kind \'Gadget\'; known kinds: Application, Certificate, Database, Host, Network, Service, Team\n');
    expect(output!.status).toBe(2);
    expect(output!.stderr).toContain("argument 'csv' is invalid");
  });
});

describe('estate relations', () => {
  let demo: string;
  beforeAll(() => {
    demo = copyDemo();
  });
  interface RelationsJson {
    id: string;
    direction: string;
    depth: number;
    related: Array<{ id: string; depth: number; path: Array<{ from: string; to: string; relation: string; field: string }> }>;
  }
  /** `estate relations <args> --format json`, for each list of args (run at once). */
  const related = async (...queries: string[][]): Promise<RelationsJson[]> => {
    const results = await estateAll(queries.map((args) => [['relations', ...args, '--format', 'json'], { cwd: demo }]));
    return results.map((result) => {
      expect(result.status).toBe(0);
      return parseJson<RelationsJson>(result.stdout);
    });
  };

  it('follows references out of an asset', async () => {
    const [out] = (await related(['service/checkout', '--direction', 'out'])) as [RelationsJson];
    expect(out).toMatchObject({ id: 'service/checkout', direction: 'out', depth: 1 });
    expect(out.related.map((r) => `${r.path[0]?.relation} ${r.id}`).sort()).toEqual([
      'dependsOn database/orders-db',
      'dependsOn service/payments',
      'owner team/team-web',
      'runsOn host/app-01',
      'runsOn host/app-02',
    ]);
  });

  it('answers "what depends on this host", transitively, with the path to each asset', async () => {
    const [[impact, direct], [text]] = (await Promise.all([
      related(['host/db-01', '--direction', 'in', '--depth', '3'], ['host/db-01', '--direction', 'in', '--depth', '1']),
      estateAll([[['relations', 'host/db-01', '--direction', 'in', '--depth', '3'], { cwd: demo }]]),
    ])) as [[RelationsJson, RelationsJson], [RunResult]];
    expect(impact.related.map((r) => [r.id, r.depth])).toEqual([
      ['database/orders-db', 1],
      ['database/orders-db-replica', 2],
      ['service/checkout', 2],
      ['service/payments', 2],
      ['service/catalog', 3],
      ['application/checkout', 3],
      ['service/storefront', 3],
    ]);
    expect(impact.related.find((r) => r.id === 'service/storefront')?.path).toEqual([
      { from: 'host/db-01', to: 'database/orders-db', relation: 'hosts', field: 'spec.hosts[0]' },
      { from: 'database/orders-db', to: 'service/checkout', relation: 'dependencyOf', field: 'spec.dependsOn[1]' },
      { from: 'service/checkout', to: 'service/storefront', relation: 'dependencyOf', field: 'spec.dependsOn[1]' },
    ]);
    expect(direct.related.map((r) => r.id)).toEqual(['database/orders-db']);
    expect(text.stdout.split('\n')[0]).toBe('host/db-01 (in, depth 3): 7 related');
    expect(text.stdout).toMatch(
      /^ {2}service\/storefront +3 {2}host\/db-01 -\[hosts\]-> database\/orders-db -\[dependencyOf\]-> service\/checkout -\[dependencyOf\]-> service\/storefront$/m,
    );
  });

  it('keeps only the relations named by --type, by either name of the pair', async () => {
    const [runsOn, inverse, certificates] = (await related(
      ['service/checkout', '--direction', 'out', '--type', 'runsOn', '--depth', '3'],
      ['host/db-01', '--direction', 'in', '--depth', '5', '--type', 'hosts', '--type', 'dependencyOf'],
      ['host/web-01', '--direction', 'in', '--type', 'installedOn'],
    )) as [RelationsJson, RelationsJson, RelationsJson];
    expect(runsOn.related.map((r) => r.id)).toEqual(['host/app-01', 'host/app-02']);
    expect(inverse.related.map((r) => r.id)).toEqual(['database/orders-db', 'service/checkout', 'service/payments', 'service/storefront']);
    // The custom kind's relation (Certificate.spec.hosts, installedOn/certificates).
    expect(certificates.related.map((r) => `${r.path[0]?.relation} ${r.id}`)).toEqual(['certificates certificate/shop-example-com']);
  });

  it('follows both directions by default', async () => {
    const [both] = (await related(['service/checkout'])) as [RelationsJson];
    expect(both).toMatchObject({ direction: 'both', depth: 1 });
    expect(both.related.map((r) => r.id).sort()).toEqual([
      'application/checkout',
      'database/orders-db',
      'host/app-01',
      'host/app-02',
      'service/payments',
      'service/storefront',
      'team/team-web',
    ]);
  });

  it('exits 1 for an unknown asset and 2 for bad options', async () => {
    const [missing, depth, direction, id] = await estateAll([
      [['relations', 'host/nope'], { cwd: demo }],
      [['relations', 'host/db-01', '--depth', '0'], { cwd: demo }],
      [['relations', 'host/db-01', '--direction', 'sideways'], { cwd: demo }],
      [['relations', 'db-01'], { cwd: demo }],
    ]);
    expect(missing!.status).toBe(1);
    expect(missing!.stderr).toBe("error[E_ASSET_NOT_FOUND]: asset 'host/nope' not found in the work tree\n");
    expect(depth!.status).toBe(2);
    expect(depth!.stderr).toBe("error[E_USAGE]: --depth must be a whole number of at least 1 (got '0')\n");
    expect(direction!.status).toBe(2);
    expect(direction!.stderr).toContain("argument 'sideways' is invalid");
    expect(id!.status).toBe(2);
    expect(id!.stderr).toMatch(/^error\[E_USAGE\]: 'db-01' is not an asset id/);
  });
});
