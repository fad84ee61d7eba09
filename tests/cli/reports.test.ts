/**
 * End to end: `estate reports dead-letters` and `estate reports replay` against a real `estate
 * serve`. A report fails for real: a trigger in the server's ingest.db refuses the host's
 * observation, so the consumer's attempts fail until the report becomes a dead letter; with the
 * trigger gone, a replay applies it.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ESTATE_YAML, estate, makeRepo, makeTempDir, parseJson, removeTempDirs, serveEstate, type RunResult, type ServedEstate } from './helpers.js';

let served: ServedEstate | undefined;
let data: string;
let cwd: string;
const tokens = { admin: '', viewer: '', agent: '' };

const REPORT = { reportId: '01JDQ8Y6V0S1W9J3N8X7Q2K4TA', host: 'web-02', seq: 7, collectedAt: '2026-11-26T03:00:00.000Z', facts: { hostname: 'web-02', cpus: 2 } };

/** Runs `estate <args> --server URL` with `token` in ESTATE_TOKEN. */
function as(token: string, args: string[]): RunResult {
  return estate([...args, '--server', served!.url], { cwd, env: { ESTATE_TOKEN: token } });
}

/** Runs SQL on the server's ingest.db from a second connection (WAL: the server keeps running). */
function ingestDb(sql: string): void {
  const db = new Database(join(data, 'ingest.db'), { fileMustExist: true, timeout: 10_000 });
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

/** Polls `GET path` with the viewer token until `done` accepts the answer. */
async function waitFor(path: string, done: (status: number, body: string) => boolean, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const response = await fetch(`${served!.url}${path}`, { headers: { authorization: `Bearer ${tokens.viewer}` } });
    last = await response.text();
    if (done(response.status, last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`GET ${path} did not get there within ${timeoutMs} ms; last answer: ${last}`);
}

describe('estate reports against a server', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    assertBuilt();
    const repo = makeRepo({ 'estate.yaml': ESTATE_YAML });
    data = join(makeTempDir('estate-cli-data-'), 'data');
    cwd = makeTempDir();
    served = await serveEstate(['--data', data, '--import', repo, '--port', '0'], { cwd });
    for (const [name, args] of Object.entries({ admin: ['--role', 'admin', '--name', 'carol'], viewer: ['--role', 'viewer', '--name', 'victor'], agent: ['--role', 'agent', '--host', 'web-02'] })) {
      const created = estate(['token', 'create', '--data', data, ...args], { cwd });
      expect(created.status, created.stderr).toBe(0);
      tokens[name as keyof typeof tokens] = created.stdout.trim();
    }
  });

  afterAll(async () => {
    await served?.stop('SIGKILL');
    removeTempDirs();
  });

  it('dead-letters lists a report that kept failing; replay applies it once the cause is gone', async () => {
    const empty = as(tokens.admin, ['reports', 'dead-letters']);
    expect(empty.stderr).toBe('');
    expect(empty.status).toBe(0);
    expect(empty.stdout).toBe('no dead letters\n');

    ingestDb(`CREATE TRIGGER refuse_web_02 BEFORE INSERT ON host_observations WHEN NEW.host = 'web-02' BEGIN SELECT RAISE(ABORT, 'disk quota of web-02 exceeded'); END`);
    const posted = await fetch(`${served!.url}/api/v1/reports`, { method: 'POST', headers: { authorization: `Bearer ${tokens.agent}`, 'content-type': 'application/json' }, body: JSON.stringify(REPORT) });
    expect(posted.status).toBe(202);
    await waitFor('/metrics', (status, body) => status === 200 && /^estate_ingest_dead_letters 1$/m.test(body));

    const table = as(tokens.admin, ['reports', 'dead-letters']);
    expect(table.stderr).toBe('');
    expect(table.status).toBe(0);
    const [header, row, ...rest] = table.stdout.split('\n');
    expect(header).toMatch(/^ID +HOST +SEQ +REPORT +ATTEMPTS +FAILED +REASON$/);
    expect(row).toMatch(new RegExp(`^1 +web-02 +7 +${REPORT.reportId} +3 +\\d{4}-\\d\\d-\\d\\dT\\S+Z +.*disk quota of web-02 exceeded$`));
    expect(rest).toEqual(['']);

    const json = as(tokens.admin, ['reports', 'dead-letters', '--format', 'json']);
    expect(json.status).toBe(0);
    const items = parseJson<Array<{ id: number; reportId: string; host: string; seq: number; attempts: number; reason: string }>>(json.stdout);
    expect(items).toEqual([expect.objectContaining({ id: 1, reportId: REPORT.reportId, host: 'web-02', seq: 7, attempts: 3, reason: expect.stringContaining('disk quota of web-02 exceeded') })]);

    ingestDb('DROP TRIGGER refuse_web_02');
    const replayed = as(tokens.admin, ['reports', 'replay', '1']);
    expect(replayed.stderr).toBe('');
    expect(replayed.status).toBe(0);
    expect(replayed.stdout).toBe(`queued report ${REPORT.reportId} again (dead letter 1)\n`);
    const observation = await waitFor('/api/v1/hosts/web-02/observation', (status) => status === 200);
    expect(JSON.parse(observation)).toMatchObject({ host: 'web-02', seq: 7, reportId: REPORT.reportId, facts: REPORT.facts });
    expect(as(tokens.admin, ['reports', 'dead-letters']).stdout).toBe('no dead letters\n');
  });

  it('refusals: an unknown dead letter (exit 1), not an admin (exit 1), a bad id or no server (exit 2)', () => {
    const unknown = as(tokens.admin, ['reports', 'replay', '99', '--format', 'json']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/^error\[E_DEAD_LETTER_NOT_FOUND\]: /);

    const viewer = as(tokens.viewer, ['reports', 'dead-letters']);
    expect(viewer.status).toBe(1);
    expect(viewer.stderr).toMatch(/^error\[E_FORBIDDEN\]: /);

    const badId = as(tokens.admin, ['reports', 'replay', 'x1']);
    expect(badId.status).toBe(2);
    expect(badId.stderr).toMatch(/^error\[E_USAGE\]: 'x1' is not a dead letter id/);

    const noServer = estate(['reports', 'dead-letters'], { cwd, env: { ESTATE_TOKEN: tokens.admin } });
    expect(noServer.status).toBe(2);
    expect(noServer.stderr).toMatch(/^error\[E_USAGE\]: estate reports dead-letters talks to an Estate server/);
  });
});
