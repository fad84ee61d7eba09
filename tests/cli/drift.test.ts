/**
 * End to end: `estate drift list` and `estate drift show` against a real `estate serve`. An agent
 * token posts reports over HTTP; one shows a package version the Host asset does not allow, so the
 * drift engine opens an item, in the mode the repo's DriftMode policy gives the host.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ESTATE_YAML, estate, hostYaml, makeRepo, makeTempDir, parseJson, removeTempDirs, serveEstate, type RunResult, type ServedEstate } from './helpers.js';

let served: ServedEstate | undefined;
let cwd: string;
const tokens = { viewer: '', agent: '' };

const PACKAGES = '  packages: {nginx: ">=1.22"}\n';
const MODES = `apiVersion: estate/v1
kind: DriftMode
metadata: {name: rollout}
spec:
  rules:
    - {mode: shadow, match: {envs: [prod]}, reason: adopt manual edits for review}
`;

let seq = 0;
/** A report of `host` with nginx at `nginx`, the rest as declared. */
function report(host: string, id: string, nginx: string): Record<string, unknown> {
  return { reportId: id, host, seq: ++seq, collectedAt: new Date().toISOString(), facts: { hostname: `${host}.example.com`, ip: ['10.0.0.1'], packages: { nginx } } };
}

/** Runs `estate <args> --server URL` with the viewer token in ESTATE_TOKEN. */
function viewer(args: string[]): RunResult {
  return estate([...args, '--server', served!.url], { cwd, env: { ESTATE_TOKEN: tokens.viewer } });
}

async function post(body: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${served!.url}/api/v1/reports`, { method: 'POST', headers: { authorization: `Bearer ${tokens.agent}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(202);
}

/** Polls `GET /api/v1/drift?<query>` until `done` accepts its items. */
async function waitForDrift(query: string, done: (items: Array<{ reportId: string; state: string }>) => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const response = await fetch(`${served!.url}/api/v1/drift?${query}`, { headers: { authorization: `Bearer ${tokens.viewer}` } });
    last = await response.text();
    if (response.status === 200 && done((JSON.parse(last) as { items: Array<{ reportId: string; state: string }> }).items)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`drift did not get there within ${timeoutMs} ms; last answer: ${last}`);
}

describe('estate drift against a server', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    assertBuilt();
    const repo = makeRepo({
      'estate.yaml': ESTATE_YAML,
      'assets/hosts/web-01.yaml': hostYaml('web-01', '10.0.0.1', PACKAGES),
      'assets/hosts/web-02.yaml': hostYaml('web-02', '10.0.0.1', PACKAGES).replace('env: prod', 'env: dev'),
      'policies/drift.yaml': MODES,
    });
    const data = join(makeTempDir('estate-cli-data-'), 'data');
    cwd = makeTempDir();
    served = await serveEstate(['--data', data, '--import', repo, '--port', '0'], { cwd });
    for (const [name, args] of Object.entries({ viewer: ['--role', 'viewer', '--name', 'victor'], agent: ['--role', 'agent', '--host', 'web-01', '--host', 'web-02'] })) {
      const created = estate(['token', 'create', '--data', data, ...args], { cwd });
      expect(created.status, created.stderr).toBe(0);
      tokens[name as keyof typeof tokens] = created.stdout.trim();
    }
  });

  afterAll(async () => {
    await served?.stop('SIGKILL');
    removeTempDirs();
  });

  it('list and show open drift with its mode (exit 1), and its resolution once the host converges (exit 0)', async () => {
    const none = viewer(['drift', 'list']);
    expect(none.stderr).toBe('');
    expect(none.status).toBe(0);
    expect(none.stdout).toBe('no open drift\n');

    const drifted = report('web-01', '01JDQ8Y6V0S1W9J3N8X7Q2K4T1', '1.18.0-6');
    await post(drifted);
    await post(report('web-02', '01JDQ8Y6V0S1W9J3N8X7Q2K4T2', '1.22.1-1'));
    await waitForDrift('state=all', (items) => items.length === 1);

    const table = viewer(['drift', 'list']);
    expect(table.stderr).toBe('');
    expect(table.status).toBe(1);
    const [header, row, ...rest] = table.stdout.split('\n');
    expect(header).toMatch(/^ASSET +FIELD +DECLARED +OBSERVED +STATE +MODE +FIRST SEEN +LAST SEEN$/);
    expect(row).toMatch(/^host\/web-01 +\/spec\/packages\/nginx +>=1\.22 +1\.18\.0-6 +open +shadow +\d{4}-\S+Z +\d{4}-\S+Z$/);
    expect(rest).toEqual(['']);

    const json = viewer(['drift', 'list', '--asset', 'web-01', '--format', 'json']);
    expect(json.status).toBe(1);
    expect(parseJson(json.stdout)).toEqual([
      expect.objectContaining({ asset: 'host/web-01', field: '/spec/packages/nginx', declared: '>=1.22', observed: '1.18.0-6', state: 'open', mode: 'shadow', reportId: drifted['reportId'] }),
    ]);

    const dev = viewer(['drift', 'list', '--selector', 'env=dev']);
    expect(dev.status).toBe(0);
    expect(dev.stdout).toBe('no open drift\n');

    const show = viewer(['drift', 'show', 'web-01']);
    expect(show.stderr).toBe('');
    expect(show.status).toBe(1);
    expect(show.stdout).toMatch(/^host\/web-01 {2}mode shadow\n\n {2}\/spec\/packages\/nginx {2}open\n {4}declared {4}>=1\.22\n {4}observed {4}1\.18\.0-6\n/);
    expect(show.stdout).toContain(`(report ${drifted['reportId'] as string})`);

    const clean = viewer(['drift', 'show', 'host/web-02']);
    expect(clean.status).toBe(0);
    expect(clean.stdout).toBe('no open drift on host/web-02\n');

    const converged = report('web-01', '01JDQ8Y6V0S1W9J3N8X7Q2K4T3', '1.22.1-1');
    await post(converged);
    await waitForDrift('state=resolved', (items) => items.length === 1);

    expect(viewer(['drift', 'list']).status).toBe(0);
    const resolved = viewer(['drift', 'list', '--state', 'resolved']);
    expect(resolved.status).toBe(0);
    expect(resolved.stdout).toMatch(/\nhost\/web-01 +\/spec\/packages\/nginx +>=1\.22 +1\.18\.0-6 +resolved +shadow /);
    const history = viewer(['drift', 'show', 'web-01', '--state', 'all', '--format', 'json']);
    expect(history.status).toBe(0);
    expect(parseJson(history.stdout)).toEqual({ asset: 'host/web-01', items: [expect.objectContaining({ state: 'resolved', reportId: converged['reportId'], resolvedAt: expect.any(String) })] });
  });

  it('refusals: a bad state, a bad asset or a bad selector', () => {
    const state = viewer(['drift', 'list', '--state', 'closed']);
    expect(state.status).toBe(2);
    expect(state.stderr).toMatch(/closed/);

    const asset = viewer(['drift', 'show', 'web 01']);
    expect(asset.status).toBe(2);
    expect(asset.stderr).toMatch(/^error\[E_USAGE\]: 'web 01' is not an asset/);

    const selector = viewer(['drift', 'list', '--selector', 'env in']);
    expect(selector.status).toBe(2);
    expect(selector.stderr).toMatch(/^error\[E_BAD_PARAM\]: /);
  });
});
