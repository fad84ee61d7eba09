/**
 * End to end: the built `estate-agent` binary on a fake host root against the real `estate serve`
 * (issue 6) — a report accepted and visible as the host's observation, the spool through a server
 * outage and an agent restart (delivered in seq order, each exactly once), and a token of another
 * host refused with nothing stored.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ESTATE_YAML, estate, hostYaml, makeRepo, makeTempDir, removeTempDirs, ROOT, serveEstate, testEnv, type ServedEstate } from '../cli/helpers.js';

const AGENT_BIN = join(ROOT, 'packages/agent/bin/estate-agent.js');

let served: ServedEstate | undefined;
let data: string;
let cwd: string;
let hostRoot: string;
/** An editor's token: managed file contents in observations are for editors and up. */
let readerToken: string;
const tokenFiles = { web01: '', web02: '' };

/** What one run of the agent did. */
interface AgentRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `estate-agent --once` as web-01 on the fake root; the token is read from a file, never argv. */
function agentOnce(options: { server: string; stateDir: string; tokenFile: string }): Promise<AgentRun> {
  const args = [AGENT_BIN, '--once', '--server', options.server, '--host', 'web-01', '--root', hostRoot, '--state-dir', options.stateDir, '--token-file', options.tokenFile];
  args.push('--files', '/etc/app/app.conf', '--units', 'app.service');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: testEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Writes a file below the fake host root. */
function put(file: string, content: string): void {
  const target = join(hostRoot, file);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, content);
}

/** Creates a token with `estate token create` and returns it. */
function createToken(args: string[]): string {
  const created = estate(['token', 'create', '--data', data, ...args], { cwd });
  expect(created.status, created.stderr).toBe(0);
  return created.stdout.trim();
}

/** Stores a token in a file of mode 0600, as an operator would. */
function tokenFile(name: string, token: string): string {
  const file = join(makeTempDir('estate-agent-token-'), name);
  writeFileSync(file, token + '\n', { mode: 0o600 });
  return file;
}

/** `GET path` with the viewer token. */
async function get(path: string): Promise<Response> {
  return fetch(`${served!.url}${path}`, { headers: { authorization: `Bearer ${readerToken}` } });
}

/** The server's ingest metrics by name. */
async function ingestMetrics(): Promise<Record<string, number>> {
  const response = await get('/metrics');
  expect(response.status).toBe(200);
  const metrics: Record<string, number> = {};
  for (const line of (await response.text()).split('\n')) {
    const match = /^(estate_ingest_\w+) (\S+)$/.exec(line);
    if (match) metrics[match[1]!] = Number(match[2]);
  }
  return metrics;
}

/** The host's observation, once the consumer applied a report with `seq` (it runs right after the ack). */
async function observationAt(seq: number, timeoutMs = 10_000): Promise<{ seq: number; reportId: string; facts: Record<string, unknown> }> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const response = await get('/api/v1/hosts/web-01/observation');
    last = await response.text();
    if (response.ok && (JSON.parse(last) as { seq: number }).seq === seq) return JSON.parse(last) as { seq: number; reportId: string; facts: Record<string, unknown> };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no observation of web-01 at seq ${seq} within ${timeoutMs} ms; last answer: ${last}`);
}

/** Every report the server accepted, in order of arrival, read from its queue database (real SQLite). */
function storedReports(): Array<{ reportId: string; host: string; seq: number }> {
  const db = new Database(join(data, 'ingest.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT report_id AS reportId, host, seq FROM ingest_reports ORDER BY id').all() as Array<{ reportId: string; host: string; seq: number }>;
  } finally {
    db.close();
  }
}

/** Starts `estate serve` on the data dir (already imported). */
async function serve(): Promise<ServedEstate> {
  return serveEstate(['--data', data, '--port', '0'], { cwd });
}

const spooled = (stateDir: string): string[] => readdirSync(join(stateDir, 'spool')).sort();

describe('estate-agent against estate serve', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    assertBuilt();
    const repo = makeRepo({ 'estate.yaml': ESTATE_YAML, 'assets/hosts/web-01.yaml': hostYaml('web-01', '10.0.1.11') });
    data = join(makeTempDir('estate-agent-data-'), 'data');
    cwd = makeTempDir();
    served = await serveEstate(['--data', data, '--import', repo, '--port', '0'], { cwd });
    readerToken = createToken(['--role', 'editor', '--name', 'reader']);
    tokenFiles.web01 = tokenFile('web-01', createToken(['--role', 'agent', '--host', 'web-01']));
    tokenFiles.web02 = tokenFile('web-02', createToken(['--role', 'agent', '--host', 'web-02']));

    hostRoot = makeTempDir('estate-agent-root-');
    put('etc/hostname', 'web-01\n');
    put('etc/os-release', 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n');
    put('proc/sys/kernel/osrelease', '6.1.0-18-amd64\n');
    put('proc/cpuinfo', 'processor\t: 0\nmodel name\t: test\n\nprocessor\t: 1\nmodel name\t: test\n');
    put('proc/meminfo', 'MemTotal:        8167256 kB\nMemFree:         1000000 kB\n');
    put('var/lib/dpkg/status', 'Package: nginx\nStatus: install ok installed\nVersion: 1.22.1-9\n');
    put('etc/app/app.conf', 'workers = 4\n');
    put('run/estate-agent/units/app.service', 'active\n');
  });

  afterAll(async () => {
    await served?.stop('SIGKILL');
    removeTempDirs();
  });

  it('--once: the report is accepted and the observation shows its facts', async () => {
    const stateDir = makeTempDir('estate-agent-state-');
    const started = Date.now();
    const run = await agentOnce({ server: served!.url, stateDir, tokenFile: tokenFiles.web01 });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    expect(spooled(stateDir)).toEqual([]);

    // A new state dir: seq starts from the clock (ms), so it stays above what a lost state dir had reached.
    const seq = storedReports()[0]!.seq;
    expect(seq).toBeGreaterThanOrEqual(started);
    const observation = await observationAt(seq);
    expect(observation.facts).toMatchObject({
      hostname: 'web-01',
      os: { id: 'debian', versionId: '12' },
      kernel: '6.1.0-18-amd64',
      cpus: 2,
      memoryGiB: 7.8,
      packages: { nginx: '1.22.1-9' },
      services: { 'app.service': 'active' },
      files: { '/etc/app/app.conf': { content: 'workers = 4\n', size: 12 } },
    });
    expect(storedReports()).toEqual([{ reportId: observation.reportId, host: 'web-01', seq }]);
  });

  it('server stopped → the agent spools; server back and agent restarted → delivered in seq order, each once', async () => {
    const stateDir = makeTempDir('estate-agent-state-');
    const first = await agentOnce({ server: served!.url, stateDir, tokenFile: tokenFiles.web01 });
    expect(first.status, first.stderr).toBe(0);
    const before = storedReports().length;
    const seq = storedReports().at(-1)!.seq;
    const url = served!.url;
    await served!.stop('SIGTERM');
    served = undefined;

    // Three runs while the server is down: each spools its report and keeps the older ones.
    const names = [seq + 1, seq + 2, seq + 3].map((n) => `${n}.json`);
    for (const expected of [names.slice(0, 1), names.slice(0, 2), names]) {
      const down = await agentOnce({ server: url, stateDir, tokenFile: tokenFiles.web01 });
      expect(down.status, down.stderr).toBe(1);
      expect(down.stderr).toContain(`warning: sending report seq ${seq + 1} failed`);
      expect(down.stderr).toContain('stay in the spool and go with the next run');
      expect(spooled(stateDir)).toEqual(expected);
    }
    put('etc/app/app.conf', 'workers = 8\n');

    served = await serve();
    const restarted = await agentOnce({ server: served.url, stateDir, tokenFile: tokenFiles.web01 });
    expect(restarted.status, restarted.stderr).toBe(0);
    expect(spooled(stateDir)).toEqual([]);

    const observation = await observationAt(seq + 4);
    expect(observation.facts).toMatchObject({ files: { '/etc/app/app.conf': { content: 'workers = 8\n' } } });
    const delivered = storedReports().slice(before);
    expect(delivered.map((r) => r.seq)).toEqual([seq + 1, seq + 2, seq + 3, seq + 4]);
    expect(new Set(delivered.map((r) => r.reportId)).size).toBe(4);
    expect(await ingestMetrics()).toMatchObject({
      estate_ingest_reports_received_total: 4,
      estate_ingest_reports_duplicate_total: 0,
      estate_ingest_reports_consumed_total: 4,
      estate_ingest_backlog: 0,
      estate_ingest_dead_letters: 0,
    });
  });

  it('a token for another host: 403, the report stays in the spool (retried later), the server stores nothing', async () => {
    const stateDir = makeTempDir('estate-agent-state-');
    const stored = storedReports();
    const observed = await (await get('/api/v1/hosts/web-01/observation')).json();
    const metrics = await ingestMetrics();

    const run = await agentOnce({ server: served!.url, stateDir, tokenFile: tokenFiles.web02 });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/warning: sending report seq \d+ failed \(E_FORBIDDEN: /);
    expect(run.stderr).not.toContain(readFileSync(tokenFiles.web02, 'utf8').trim());
    expect(spooled(stateDir)).toHaveLength(1);
    expect(readdirSync(stateDir)).not.toContain('rejected');

    expect(storedReports()).toEqual(stored);
    expect(await (await get('/api/v1/hosts/web-01/observation')).json()).toEqual(observed);
    expect(await ingestMetrics()).toMatchObject({ estate_ingest_reports_received_total: metrics['estate_ingest_reports_received_total'] });
  });
});

