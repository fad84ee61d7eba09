/**
 * End to end: `estate why` against a real `estate serve`. An agent token posts reports over HTTP;
 * the host first matches Git, then reports a package version its Host asset does not allow, which
 * no Git change explains.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ESTATE_YAML, estate, hostYaml, makeRepo, makeTempDir, parseJson, removeTempDirs, serveEstate, type RunResult, type ServedEstate } from './helpers.js';

let served: ServedEstate | undefined;
let cwd: string;
const tokens = { viewer: '', agent: '' };
let seq = 0;

/** Runs `estate <args> --server URL` with the viewer token in ESTATE_TOKEN. */
function viewer(args: string[]): RunResult {
  return estate([...args, '--server', served!.url], { cwd, env: { ESTATE_TOKEN: tokens.viewer } });
}

/** Posts a report of web-01 with nginx at `nginx`, and waits until the drift engine has applied it. */
async function report(id: string, nginx: string): Promise<void> {
  const body = { reportId: id, host: 'web-01', seq: ++seq, collectedAt: new Date().toISOString(), facts: { hostname: 'web-01.example.com', ip: ['10.0.0.1'], packages: { nginx } } };
  const response = await fetch(`${served!.url}/api/v1/reports`, { method: 'POST', headers: { authorization: `Bearer ${tokens.agent}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(202);
  const deadline = Date.now() + 15_000;
  let last = '';
  while (Date.now() < deadline) {
    const answer = await fetch(`${served!.url}/api/v1/assets/host/web-01/timeline?limit=1`, { headers: { authorization: `Bearer ${tokens.viewer}` } });
    last = await answer.text();
    if (answer.status === 200 && last.includes(`"reportId":"${id}"`)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`report ${id} did not show in the timeline; last answer: ${last}`);
}

const LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ {2}(declared|observed) {2}\S/;

describe('estate why against a server', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    assertBuilt();
    const repo = makeRepo({ 'estate.yaml': ESTATE_YAML, 'assets/hosts/web-01.yaml': hostYaml('web-01', '10.0.0.1', '  packages: {nginx: ">=1.22"}\n') });
    const data = join(makeTempDir('estate-cli-data-'), 'data');
    cwd = makeTempDir();
    served = await serveEstate(['--data', data, '--import', repo, '--port', '0'], { cwd });
    for (const [name, args] of Object.entries({ viewer: ['--role', 'viewer', '--name', 'victor'], agent: ['--role', 'agent', '--host', 'web-01'] })) {
      const created = estate(['token', 'create', '--data', data, ...args], { cwd });
      expect(created.status, created.stderr).toBe(0);
      tokens[name as keyof typeof tokens] = created.stdout.trim();
    }
  });

  afterAll(async () => {
    await served?.stop('SIGKILL');
    removeTempDirs();
  });

  it('prints the verdict and the timeline, newest first; exit 1 once drift is open', async () => {
    await report('01JDQ9Y6V0S1W9J3N8X7Q2K4T1', '1.22.1-1');
    const clean = viewer(['why', 'web-01']);
    expect(clean.stderr).toBe('');
    expect(clean.status).toBe(0);
    const [verdict, blank, ...entries] = clean.stdout.trimEnd().split('\n');
    expect(verdict).toMatch(/^host\/web-01 matches Git \(latest report 01JDQ9Y6V0S1W9J3N8X7Q2K4T1, collected .*\); the last declared change was commit [0-9a-f]{12} by .* \(before Estate governed main\) at \d{4}-/);
    expect(blank).toBe('');
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatch(/ {2}observed {2}first and latest report 01JDQ9Y6V0S1W9J3N8X7Q2K4T1 \(seq 1\), collected /);
    expect(entries[1]).toMatch(/ {2}declared {2}added \(assets\/hosts\/web-01\.yaml\) by .* \(before Estate governed main\)$/);
    expect(entries.every((line) => LINE.test(line))).toBe(true);

    await report('01JDQ9Y6V0S1W9J3N8X7Q2K4T2', '1.18.0-6');
    const drifted = viewer(['why', 'host/web-01']);
    expect(drifted.stderr).toBe('');
    expect(drifted.status).toBe(1);
    const lines = drifted.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^host\/web-01 differs from Git on 1 field since \S+ \S+Z \(report 01JDQ9Y6V0S1W9J3N8X7Q2K4T2\); the last declared change was .*; the drift is not explained by any Git change: it changed outside Git$/,
    );
    expect(lines.slice(2)).toEqual([
      expect.stringMatching(/ {2}observed {2}drift opened on \/spec\/packages\/nginx: declared >=1\.22, observed 1\.18\.0-6 \(report 01JDQ9Y6V0S1W9J3N8X7Q2K4T2\)$/),
      expect.stringMatching(/ {2}observed {2}latest report 01JDQ9Y6V0S1W9J3N8X7Q2K4T2 \(seq 2\)/),
      expect.stringMatching(/ {2}observed {2}first report 01JDQ9Y6V0S1W9J3N8X7Q2K4T1 \(seq 1\)$/),
      expect.stringMatching(/ {2}declared {2}added /),
    ]);

    const one = viewer(['why', 'web-01', '--limit', '1']);
    expect(one.status).toBe(1);
    expect(one.stdout.trimEnd().split('\n').slice(2)).toEqual([expect.stringContaining('drift opened on /spec/packages/nginx')]);

    const json = viewer(['why', 'web-01', '--format', 'json', '--limit', '2']);
    expect(json.status).toBe(1);
    const answer = parseJson<{ asset: string; verdict: string; openDrift: unknown[]; items: Array<{ type: string; source: string }>; nextCursor?: string }>(json.stdout);
    expect(answer.asset).toBe('host/web-01');
    expect(answer.verdict).toBe(lines[0]);
    expect(answer.openDrift).toEqual([{ field: '/spec/packages/nginx', declared: '>=1.22', observed: '1.18.0-6', firstSeen: expect.any(String), reportId: '01JDQ9Y6V0S1W9J3N8X7Q2K4T2' }]);
    expect(answer.items.map((e) => [e.source, e.type])).toEqual([
      ['observed', 'drift.opened'],
      ['observed', 'report.latest'],
    ]);
    expect(answer.nextCursor).toEqual(expect.any(String));
  });

  it('refusals: an unknown asset (exit 1) and a malformed one (exit 2)', () => {
    const missing = viewer(['why', 'host/web-99']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^error\[E_ASSET_NOT_FOUND\]: asset 'host\/web-99' never existed on main and nothing reported on it/);

    const bad = viewer(['why', 'web 01']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^error\[E_USAGE\]: 'web 01' is not an asset/);

    const limit = viewer(['why', 'web-01', '--limit', '0']);
    expect(limit.status).toBe(2);
    expect(limit.stderr).toMatch(/^error\[E_USAGE\]: --limit must be a whole number/);
  });
});
