/**
 * End to end: `estate-agent --enforce` (the built binary, on fake host roots) against the real
 * `estate serve` (issue 6, point 4). A host in enforce mode gets an edited managed file restored
 * (content and mode) with a backup of the edit, the server records a `host.enforced` event and the
 * drift items resolve; a host in observe mode is left alone until a revert request names the file.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ESTATE_YAML, estate, hostYaml, makeRepo, makeTempDir, removeTempDirs, ROOT, serveEstate, testEnv, type ServedEstate } from '../cli/helpers.js';

const AGENT_BIN = join(ROOT, 'packages/agent/bin/estate-agent.js');
const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

const APP_CONF = 'workers = 4\n';
const MOTD = 'welcome to web-02\n';
const MODES = `apiVersion: estate/v1
kind: DriftMode
metadata: {name: rollout}
spec:
  rules:
    - {mode: enforce, match: {envs: [prod]}, reason: prod files come from git only}
`;
const WEB_02 = `apiVersion: estate/v1
kind: Host
metadata:
  name: web-02
  labels: {env: dev}
spec:
  hostname: web-02.example.com
  ip: 10.0.1.12
  files:
    - {path: /etc/motd, content: ${JSON.stringify(MOTD)}, mode: "0644"}
`;

let served: ServedEstate | undefined;
let data: string;
let cwd: string;
const roots = { 'web-01': '', 'web-02': '' };
const tokens = { 'web-01': '', 'web-02': '', viewer: '', editor: '' };

interface DriftItem {
  asset: string;
  field: string;
  state: string;
  mode: string;
  reportId: string;
}

/** Runs `estate-agent --once` for `host` on its fake root, watching its managed file; `--enforce` when asked. */
function agentOnce(host: 'web-01' | 'web-02', stateDir: string, enforce: boolean): Promise<{ status: number | null; stderr: string }> {
  const tokenFile = join(makeTempDir('estate-agent-token-'), host);
  writeFileSync(tokenFile, tokens[host] + '\n', { mode: 0o600 });
  const args = [AGENT_BIN, '--once', '--server', served!.url, '--host', host, '--root', roots[host], '--state-dir', stateDir, '--token-file', tokenFile];
  args.push('--files', host === 'web-01' ? '/etc/app/app.conf' : '/etc/motd');
  if (enforce) args.push('--enforce');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: testEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

/** Writes a file below a host's fake root with a mode. */
function put(host: 'web-01' | 'web-02', file: string, content: string, mode = 0o644): void {
  const target = join(roots[host], file);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, content);
  chmodSync(target, mode);
}

const modeOf = (host: 'web-01' | 'web-02', file: string): string => (statSync(join(roots[host], file)).mode & 0o7777).toString(8).padStart(4, '0');

function createToken(args: string[]): string {
  const created = estate(['token', 'create', '--data', data, ...args], { cwd });
  expect(created.status, created.stderr).toBe(0);
  return created.stdout.trim();
}

async function call(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const response = await fetch(`${served!.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** The drift items of a host in `state`, once `done` holds for them (the consumer applies reports right after the ack). */
async function driftItems(host: string, state: 'open' | 'resolved', done: (items: DriftItem[]) => boolean): Promise<DriftItem[]> {
  let items: DriftItem[] = [];
  for (let i = 0; i < 400; i++) {
    items = (await call('GET', `/api/v1/drift?asset=host/${host}&state=${state}`, tokens.viewer)).body.items as DriftItem[];
    if (done(items)) return items;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`drift items of ${host} (${state}) never matched; last: ${JSON.stringify(items)}`);
}

/** `host.enforced` events of a host, read from the server's ingest.db (real SQLite, read-only). */
function enforcedEvents(host: string): Array<{ field: string; reportId: string; details: Record<string, unknown> }> {
  const db = new Database(join(data, 'ingest.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare(`SELECT field, report_id AS reportId, details FROM drift_events WHERE type = 'host.enforced' AND host = ? ORDER BY id`).all(host) as Array<{ field: string; reportId: string; details: string }>;
    return rows.map((row) => ({ ...row, details: JSON.parse(row.details) as Record<string, unknown> }));
  } finally {
    db.close();
  }
}

function makeRoot(host: 'web-01' | 'web-02'): void {
  roots[host] = makeTempDir(`estate-enforce-root-${host}-`);
  put(host, 'etc/hostname', `${host}.example.com\n`);
  put(host, 'etc/os-release', 'ID=debian\nVERSION_ID="12"\n');
}

describe('estate-agent --enforce against estate serve', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    assertBuilt();
    const repo = makeRepo({
      'estate.yaml': ESTATE_YAML,
      'assets/hosts/web-01.yaml': hostYaml('web-01', '10.0.1.11', `  files:\n    - {path: /etc/app/app.conf, content: ${JSON.stringify(APP_CONF)}, mode: "0640"}\n`),
      'assets/hosts/web-02.yaml': WEB_02,
      'policies/drift.yaml': MODES,
    });
    data = join(makeTempDir('estate-enforce-data-'), 'data');
    cwd = makeTempDir();
    served = await serveEstate(['--data', data, '--import', repo, '--port', '0'], { cwd });
    tokens.viewer = createToken(['--role', 'viewer', '--name', 'viewer']);
    tokens.editor = createToken(['--role', 'editor', '--name', 'ed']);
    tokens['web-01'] = createToken(['--role', 'agent', '--host', 'web-01']);
    tokens['web-02'] = createToken(['--role', 'agent', '--host', 'web-02']);
    makeRoot('web-01');
    makeRoot('web-02');
  });

  afterAll(async () => {
    await served?.stop('SIGKILL');
    removeTempDirs();
  });

  it('enforce mode: an edited managed file is restored (content and mode), backed up, recorded, and its drift resolves', async () => {
    const stateDir = makeTempDir('estate-enforce-state-');
    put('web-01', 'etc/app/app.conf', 'workers = 99\n', 0o666);

    // Without --enforce the agent only reports: the edit opens drift items in mode enforce.
    const observing = await agentOnce('web-01', stateDir, false);
    expect(observing.status, observing.stderr).toBe(0);
    const open = await driftItems('web-01', 'open', (items) => items.length === 2);
    expect(open.map((item) => [item.field, item.mode])).toEqual([
      ['/spec/files/~1etc~1app~1app.conf/content', 'enforce'],
      ['/spec/files/~1etc~1app~1app.conf/mode', 'enforce'],
    ]);
    expect(readFileSync(join(roots['web-01'], 'etc/app/app.conf'), 'utf8')).toBe('workers = 99\n');

    const enforcing = await agentOnce('web-01', stateDir, true);
    expect(enforcing.status, enforcing.stderr).toBe(0);
    expect(enforcing.stderr).toContain('enforcement: restored the content of /etc/app/app.conf');
    expect(enforcing.stderr).not.toContain('workers = 99');
    expect(readFileSync(join(roots['web-01'], 'etc/app/app.conf'), 'utf8')).toBe(APP_CONF);
    expect(modeOf('web-01', 'etc/app/app.conf')).toBe('0640');
    const [stamp, ...others] = readdirSync(join(stateDir, 'backups'));
    expect(others).toEqual([]);
    const backup = join(stateDir, 'backups', stamp!, 'etc/app/app.conf');
    expect(readFileSync(backup, 'utf8')).toBe('workers = 99\n');

    const resolved = await driftItems('web-01', 'resolved', (items) => items.length === 2);
    expect(await driftItems('web-01', 'open', (items) => items.length === 0)).toEqual([]);
    const events = enforcedEvents('web-01');
    expect(events.map((event) => [event.field, event.details['ok']])).toEqual([
      ['/spec/files/~1etc~1app~1app.conf/content', true],
      ['/spec/files/~1etc~1app~1app.conf/mode', true],
    ]);
    expect(events[0]!.details).toMatchObject({ path: '/etc/app/app.conf', fromSha256: sha('workers = 99\n'), toSha256: sha(APP_CONF), backup });
    // The items resolved with the very report that carried the restore.
    expect(new Set(resolved.map((item) => item.reportId))).toEqual(new Set([events[0]!.reportId]));

    // Converged: another enforcing run restores nothing and records nothing.
    expect((await agentOnce('web-01', stateDir, true)).status).toBe(0);
    expect(enforcedEvents('web-01')).toHaveLength(2);
  });

  it('observe mode: nothing is restored until a revert request names the file; the request is then cleared', async () => {
    const stateDir = makeTempDir('estate-enforce-state-');
    put('web-02', 'etc/motd', 'hacked\n', 0o600);
    const first = await agentOnce('web-02', stateDir, true);
    expect(first.status, first.stderr).toBe(0);
    expect(readFileSync(join(roots['web-02'], 'etc/motd'), 'utf8')).toBe('hacked\n');
    const open = await driftItems('web-02', 'open', (items) => items.length === 2);
    expect(open.every((item) => item.mode === 'observe')).toBe(true);

    const requested = await call('POST', '/api/v1/drift/revert', tokens.editor, { asset: 'host/web-02', field: '/spec/files/~1etc~1motd/content' });
    expect(requested.status, JSON.stringify(requested.body)).toBe(202);
    expect((await call('GET', '/api/v1/hosts/web-02/desired', tokens['web-02'])).body.reverts).toMatchObject([{ field: '/spec/files/~1etc~1motd/content', requestedBy: 'ed' }]);

    const reverting = await agentOnce('web-02', stateDir, true);
    expect(reverting.status, reverting.stderr).toBe(0);
    expect(readFileSync(join(roots['web-02'], 'etc/motd'), 'utf8')).toBe(MOTD);
    expect(modeOf('web-02', 'etc/motd')).toBe('0600'); // only the content was asked for

    const remaining = await driftItems('web-02', 'open', (items) => items.length === 1);
    expect(remaining.map((item) => item.field)).toEqual(['/spec/files/~1etc~1motd/mode']);
    expect(enforcedEvents('web-02').map((event) => [event.field, event.details['ok']])).toEqual([['/spec/files/~1etc~1motd/content', true]]);
    expect((await call('GET', '/api/v1/hosts/web-02/desired', tokens['web-02'])).body.reverts).toEqual([]);
  });

  it("the desired state is for the host's own agent only", async () => {
    expect((await call('GET', '/api/v1/hosts/web-01/desired', tokens['web-02'])).status).toBe(403);
    expect((await call('GET', '/api/v1/hosts/web-01/desired', tokens.viewer)).status).toBe(403);
  });
});
