import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Agent } from './Agent.js';
import type { AgentOptionsInput } from './agentOptions.js';
import { main } from './main.js';
import type { Report } from './types.js';

const TOKEN = 'est_agent-s3cret-token';

/** One request the stand-in for `POST /api/v1/reports` received (the real endpoint is being built in packages/server). */
interface Received {
  at: number;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  report: Report;
}

/** How the stand-in answers: a status with headers, or `drop` to cut the connection (an outage). */
type Answer = { status: number; headers?: Record<string, string>; delayMs?: number } | 'drop';

let server: Server;
let serverUrl: string;
let received: Received[] = [];
let answers: Answer[] = [];
let stateDir: string;
let root: string;
let warnings: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const answer = answers.length > 0 ? answers.shift()! : { status: 202 };
      if (answer === 'drop') return req.socket.destroy();
      received.push({ at: Date.now(), method: req.method ?? '', url: req.url ?? '', headers: req.headers, report: JSON.parse(body) as Report });
      setTimeout(() => res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end('{}'), answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(async () => {
  received = [];
  answers = [];
  warnings = [];
  stateDir = await mkdtemp(path.join(tmpdir(), 'estate-agent-state-'));
  root = await mkdtemp(path.join(tmpdir(), 'estate-agent-root-'));
  await mkdir(path.join(root, 'etc'), { recursive: true });
  await writeFile(path.join(root, 'etc/hostname'), 'web-01\n');
  await writeFile(path.join(root, 'etc/motd'), 'hello\n');
});

afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
  await rm(root, { recursive: true, force: true });
});

function newAgent(overrides: Partial<AgentOptionsInput> = {}): Agent {
  return new Agent({
    server: serverUrl,
    host: 'web-01',
    token: TOKEN,
    root,
    stateDir,
    files: ['/etc/motd'],
    backoffBaseMs: 100,
    random: () => 0.5,
    logger: { info: () => {}, warn: (message) => warnings.push(message) },
    ...overrides,
  });
}

describe('Agent', () => {
  it('posts the report of issue 6 with the bearer token', async () => {
    const agent = newAgent();
    const started = Date.now();
    await agent.collectToSpool();
    expect(await agent.flush()).toEqual({ delivered: 1, remaining: 0 });
    expect(received).toHaveLength(1);
    const [{ method, url, headers, report }] = received as [Received];
    expect([method, url, headers.authorization, headers['content-type']]).toEqual(['POST', '/api/v1/reports', `Bearer ${TOKEN}`, 'application/json']);
    expect(Object.keys(report)).toEqual(['reportId', 'host', 'seq', 'collectedAt', 'facts', 'errors']);
    expect(report.reportId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    // A new state dir: seq starts at the clock's milliseconds.
    expect(report.seq).toBeGreaterThanOrEqual(started);
    expect(report.seq).toBeLessThanOrEqual(Date.now());
    expect(report).toMatchObject({ host: 'web-01', facts: { hostname: 'web-01', files: { '/etc/motd': { content: 'hello\n' } } } });
    expect(new Date(report.collectedAt).toISOString()).toBe(report.collectedAt);
    expect(report.errors?.['kernel']).toBe('no /proc/sys/kernel/osrelease');
    expect(await agent.spool.list()).toEqual([]);
  });

  it('keeps seq increasing across a restart, and from the clock when the state is lost or unreadable', async () => {
    const started = Date.now();
    const first = newAgent();
    const seq = (await first.collectReport()).seq;
    expect(seq).toBeGreaterThanOrEqual(started);
    expect((await first.collectReport()).seq).toBe(seq + 1);
    const restarted = newAgent();
    expect((await restarted.collectReport()).seq).toBe(seq + 2);
    expect((await newAgent({ host: 'web-02' }).collectReport()).seq).toBeGreaterThanOrEqual(started);

    // State lost: the next agent counts from the clock again, not from 1.
    await rm(path.join(stateDir, 'seq.json'));
    const lost = Date.now();
    expect((await newAgent().collectReport()).seq).toBeGreaterThanOrEqual(lost);

    // An unreadable seq.json is set aside with a warning instead of stopping every collection.
    await writeFile(path.join(stateDir, 'seq.json'), '{"web-01": 4');
    const torn = Date.now();
    expect((await newAgent().collectReport()).seq).toBeGreaterThanOrEqual(torn);
    expect((await readdir(stateDir)).filter((name) => name.startsWith('seq.json.corrupt-'))).toHaveLength(1);
    expect(warnings.some((warning) => warning.includes('seq.json is not a JSON object of sequence numbers'))).toBe(true);
  });

  it('spools through an outage and an agent restart, then delivers in seq order without duplicates', async () => {
    const first = newAgent();
    answers = ['drop', 'drop'];
    const seq = (await first.collectToSpool())!.seq;
    const outage = await first.flush();
    expect(outage).toMatchObject({ delivered: 0, remaining: 1 });
    await first.collectToSpool();
    expect(await first.flush()).toMatchObject({ delivered: 0, remaining: 2 });
    expect(warnings.some((warning) => warning.includes('E_UNREACHABLE'))).toBe(true);
    expect(await first.spool.list()).toEqual([seq, seq + 1]);

    const restarted = newAgent();
    answers = [{ status: 500 }];
    await restarted.collectToSpool();
    expect(await restarted.flush()).toMatchObject({ delivered: 0, remaining: 3 });
    expect(await restarted.flush()).toEqual({ delivered: 3, remaining: 0 });
    expect(await restarted.flush()).toEqual({ delivered: 0, remaining: 0 });

    // The 500 answered seq 1 once; after that every report arrived exactly once, in order.
    const delivered = received.slice(1).map((entry) => entry.report);
    expect(delivered.map((report) => report.seq)).toEqual([seq, seq + 1, seq + 2]);
    expect(new Set(delivered.map((report) => report.reportId)).size).toBe(3);
    expect(received[0]?.report.reportId).toBe(delivered[0]?.reportId);
  });

  it('backs off exponentially with full jitter on 5xx', async () => {
    const agent = newAgent({ backoffBaseMs: 1000, backoffMaxMs: 3000 });
    await agent.collectToSpool();
    answers = [{ status: 503 }, { status: 500 }, { status: 502 }, { status: 500 }];
    // random() = 0.5: half of min(3000, 1000·2^failures).
    const delays = [];
    for (let i = 0; i < 4; i++) delays.push((await agent.flush()).retryInMs);
    expect(delays).toEqual([500, 1000, 1500, 1500]);
  });

  it('honours 429 Retry-After before sending again', async () => {
    const agent = newAgent({ intervalMs: 600_000 });
    answers = [{ status: 429, headers: { 'retry-after': '1' } }];
    const controller = new AbortController();
    const running = agent.run(controller.signal);
    while (received.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    await running;
    const [limited, accepted] = received as [Received, Received];
    expect(accepted.report.reportId).toBe(limited.report.reportId);
    expect(accepted.at - limited.at).toBeGreaterThanOrEqual(950);
    expect(await agent.spool.list()).toEqual([]);
  });

  it('drops the oldest reports past the spool bound and counts them', async () => {
    const agent = newAgent({ spoolMaxReports: 3 });
    const seqs = [];
    for (let i = 0; i < 5; i++) seqs.push((await agent.collectToSpool())!.seq);
    expect(await agent.spool.list()).toEqual(seqs.slice(2));
    expect(await agent.spool.droppedCount()).toBe(2);
    expect(warnings.filter((warning) => warning.startsWith('spool full'))).toHaveLength(2);
  });

  it('moves a report the server refuses for good out of the queue and sends the next', async () => {
    const agent = newAgent();
    const refused = (await agent.collectToSpool())!.seq;
    await agent.collectToSpool();
    answers = [{ status: 422 }];
    expect(await agent.flush()).toEqual({ delivered: 1, remaining: 0 });
    expect(await readdir(path.join(stateDir, 'rejected'))).toEqual([`${refused}.json`]);
    expect(received.map((entry) => entry.report.seq)).toEqual([refused, refused + 1]);
  });
});

describe('Agent limits and damaged state', () => {
  it('leaves out file contents, largest first, to fit the report size cap, and spools nothing it cannot fit', async () => {
    await writeFile(path.join(root, 'etc/big.conf'), 'x'.repeat(60_000));
    await writeFile(path.join(root, 'etc/small.conf'), 'y'.repeat(30_000));
    const agent = newAgent({ files: ['/etc/motd', '/etc/big.conf', '/etc/small.conf'], maxReportBytes: 50_000 });
    const report = (await agent.collectToSpool())!;
    expect(report.facts.files).toMatchObject({
      '/etc/big.conf': { truncated: true, size: 60_000 },
      '/etc/small.conf': { content: 'y'.repeat(30_000) },
      '/etc/motd': { content: 'hello\n' },
    });
    expect(report.facts.files?.['/etc/big.conf']).not.toHaveProperty('content');
    expect(warnings).toContain(`report seq ${report.seq} was over 50000 bytes: the content of 1 managed file(s) left out (marked truncated)`);
    expect(await agent.flush()).toEqual({ delivered: 1, remaining: 0 });
    expect(Buffer.byteLength(JSON.stringify(received[0]!.report))).toBeLessThanOrEqual(50_000);

    // Too big even without contents (a cap below the facts themselves): not spooled, a warning instead.
    const tiny = newAgent({ maxReportBytes: 100 });
    expect(await tiny.collectToSpool()).toBeUndefined();
    expect(await tiny.spool.list()).toEqual([]);
    expect(warnings.some((warning) => /report seq \d+ is larger than 100 bytes even without file contents: not sent/.test(warning))).toBe(true);
  });

  it('sets a corrupt spool entry and an oversized one aside instead of stopping the spool', async () => {
    const agent = newAgent();
    const first = (await agent.collectToSpool())!;
    const second = (await agent.collectToSpool())!;
    const third = (await agent.collectToSpool())!;
    await writeFile(path.join(stateDir, 'spool', `${first.seq}.json`), '{"reportId": "01J');
    // An entry an agent without the cap spooled: too big even without contents.
    await writeFile(path.join(stateDir, 'spool', `${second.seq}.json`), JSON.stringify({ ...second, errors: { packages: 'z'.repeat(2 * 1024 * 1024) } }));
    expect(await agent.flush()).toEqual({ delivered: 1, remaining: 0 });
    expect(received.map((entry) => entry.report.seq)).toEqual([third.seq]);
    expect(await readdir(path.join(stateDir, 'corrupt'))).toEqual([`${first.seq}.json`]);
    expect(await readdir(path.join(stateDir, 'rejected'))).toEqual([`${second.seq}.json`]);
    expect(warnings.some((warning) => warning.startsWith(`spooled report seq ${first.seq} cannot be read`))).toBe(true);
  });
});

describe('estate-agent command', () => {
  const stderr: string[] = [];
  const environment = (env: NodeJS.ProcessEnv) => ({ env, stderr: (line: string) => stderr.push(line), onStop: () => () => {} });

  it('--once reports with the token from the environment, never from a flag', async () => {
    const args = ['--server', serverUrl, '--host', 'web-01', '--root', root, '--state-dir', stateDir, '--files', '/etc/motd', '--once'];
    expect(await main(args, environment({ ESTATE_AGENT_TOKEN: TOKEN }))).toBe(0);
    expect(received.map((entry) => entry.headers.authorization)).toEqual([`Bearer ${TOKEN}`]);

    expect(await main([...args, '--token', TOKEN], environment({}))).toBe(2);
    expect(await main(args, environment({}))).toBe(2);
    expect(stderr.join('\n')).toContain('error[E_TOKEN]: no agent token');
    expect(stderr.join('\n')).not.toContain(TOKEN);

    answers = ['drop'];
    expect(await main(args, environment({ ESTATE_AGENT_TOKEN: TOKEN }))).toBe(1);
  });

  it('finishes the send in flight on SIGTERM and exits 0', async () => {
    const tokenFile = path.join(stateDir, 'token');
    await writeFile(tokenFile, TOKEN + '\n', { mode: 0o600 });
    answers = [{ status: 202, delayMs: 500 }];
    const bin = fileURLToPath(new URL('../bin/estate-agent.js', import.meta.url));
    const child = spawn(process.execPath, [bin, '--server', serverUrl, '--host', 'web-01', '--root', root, '--state-dir', stateDir, '--token-file', tokenFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let output = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    while (received.length < 1) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(output).not.toContain(TOKEN);
    // The answer came after SIGTERM, and the report still left the spool.
    expect(await readdir(path.join(stateDir, 'spool'))).toEqual([]);
  });

  it('SIGUSR1 collects and sends a report now, long before the interval', async () => {
    const tokenFile = path.join(stateDir, 'token');
    await writeFile(tokenFile, TOKEN + '\n', { mode: 0o600 });
    const bin = fileURLToPath(new URL('../bin/estate-agent.js', import.meta.url));
    const child = spawn(process.execPath, [bin, '--server', serverUrl, '--host', 'web-01', '--root', root, '--state-dir', stateDir, '--token-file', tokenFile, '--interval', '1h'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let output = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    while (received.length < 1) await new Promise((resolve) => setTimeout(resolve, 20));
    await writeFile(path.join(root, 'etc/hostname'), 'web-01-renamed\n');
    child.kill('SIGUSR1');
    while (received.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill('SIGTERM');
    expect(await new Promise<number | null>((resolve) => child.on('exit', resolve))).toBe(0);
    expect(received.map((entry) => entry.report.facts.hostname)).toEqual(['web-01', 'web-01-renamed']);
    expect(received[1]!.report.seq).toBe(received[0]!.report.seq + 1);
    expect(output).toContain('SIGUSR1: collecting and sending a report now');
  });
});
