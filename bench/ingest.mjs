#!/usr/bin/env node
/**
 * Report ingestion under a simulated fleet (issue 6's benchmark, first part): `estate serve` in its
 * own process, and N hosts posting fact reports (about 50 facts each) over loopback from child
 * processes, C requests in flight at once (closed loop: each client sends its next report when
 * the previous one is acknowledged). Prints reports/s, ack p50/p99/max, 429s, and whether every
 * acknowledged report was applied.
 *
 *   node bench/ingest.mjs [--hosts 1000] [--concurrency 100] [--seconds 10] [--workers 2] [--node-flags=--trace-gc]
 */
import { fork, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { estate, serve } from './lib/estateProcess.mjs';
import { WORK_DIR } from './lib/paths.mjs';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID-shaped id, unique per worker and counter. */
function reportId(worker, n) {
  let tail = '';
  for (let i = 0, v = n; i < 15; i++, v = Math.floor(v / 32)) tail = CROCKFORD[v % 32] + tail;
  return '01JDQ0000' + CROCKFORD[worker % 32] + CROCKFORD[Math.floor(worker / 32) % 32] + tail;
}

/** About 50 facts: the scalars, two addresses, 30 packages, 5 services, 6 ports, 2 managed files. */
function facts(host, seq) {
  const packages = {};
  for (let i = 0; i < 30; i++) packages[`pkg-${i}`] = `1.${i}.${seq % 7}`;
  const services = {};
  for (let i = 0; i < 5; i++) services[`svc-${i}.service`] = 'active';
  return {
    hostname: host,
    ip: ['10.0.0.1', '2001:db8::1'],
    os: { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' },
    kernel: '6.1.0-18-amd64',
    cpus: 4,
    memoryGiB: 15.6,
    packages,
    services,
    ports: [22, 80, 443, 9100, 8080, 5432].map((port) => ({ protocol: 'tcp', address: '0.0.0.0', port })),
    files: {
      '/etc/app.conf': { sha256: 'a'.repeat(64), mode: '0644', owner: 'root:root', size: 20, content: `workers = ${seq % 9}\nlog = info\n` },
      '/etc/ssh/sshd_config': { sha256: 'b'.repeat(64), mode: '0600', owner: 'root:root', size: 30, content: 'PermitRootLogin no\nPort 22\n' },
    },
  };
}

/** A worker: posts reports for its hosts until told to stop; sends its ack latencies to the parent. */
async function worker() {
  const { url, token, hosts, concurrency, index, seconds } = JSON.parse(process.argv[3]);
  const { hostname, port } = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const seqs = new Map(hosts.map((h) => [h, 0]));
  const latencies = [];
  let tooMany = 0;
  let errors = 0;
  let counter = 0;
  let next = 0;
  const deadline = performance.now() + seconds * 1000;
  const post = (body) =>
    new Promise((resolve) => {
      const req = request({ host: hostname, port, path: '/api/v1/reports', method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', () => resolve(0));
      req.end(body);
    });
  async function client() {
    while (performance.now() < deadline) {
      const host = hosts[next++ % hosts.length];
      const seq = seqs.get(host) + 1;
      seqs.set(host, seq);
      const body = JSON.stringify({ reportId: reportId(index, ++counter), host, seq, collectedAt: new Date().toISOString(), facts: facts(host, seq) });
      const started = performance.now();
      const status = await post(body);
      if (status === 202) latencies.push(performance.now() - started);
      else if (status === 429) tooMany++;
      else errors++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, client));
  process.send({ latencies, tooMany, errors });
  agent.destroy();
}

function percentile(sorted, p) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function metrics(url, token) {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  return Object.fromEntries([...text.matchAll(/^(estate_ingest_\w+) (\S+)$/gm)].map((m) => [m[1], Number(m[2])]));
}

async function parent() {
  const { values } = parseArgs({ options: { hosts: { type: 'string', default: '1000' }, concurrency: { type: 'string', default: '100' }, seconds: { type: 'string', default: '10' }, workers: { type: 'string', default: '2' }, 'node-flags': { type: 'string', default: '' } } });
  const hostCount = Number(values.hosts);
  const concurrency = Number(values.concurrency);
  const workers = Number(values.workers);
  const seconds = Number(values.seconds);
  mkdirSync(WORK_DIR, { recursive: true });
  const dir = mkdtempSync(join(WORK_DIR, 'ingest-'));
  try {
    const repo = join(dir, 'repo');
    mkdirSync(repo);
    writeFileSync(join(repo, 'estate.yaml'), 'apiVersion: estate/v1\nkind: Estate\nmetadata:\n  name: bench\nspec:\n  environments: [prod]\n');
    const git = (...args) => spawnSync('git', ['-C', repo, '-c', 'user.name=bench', '-c', 'user.email=bench@example.com', ...args], { encoding: 'utf8' });
    git('init', '--quiet', '--initial-branch=main');
    git('add', '.');
    git('commit', '--quiet', '-m', 'bench');
    const data = join(dir, 'data');
    const server = await serve(['--data', data, '--import', repo], values['node-flags'].split(' ').filter(Boolean));
    server.child.stderr.pipe(process.stderr);
    const hosts = Array.from({ length: hostCount }, (_, i) => `host-${String(i).padStart(5, '0')}`);
    const agentToken = estate(['token', 'create', '--data', data, '--role', 'agent', '--name', 'fleet', ...hosts.flatMap((h) => ['--host', h])]).trim();
    const viewer = estate(['token', 'create', '--data', data, '--role', 'viewer', '--name', 'bench']).trim();
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: workers }, (_, index) => {
        const share = hosts.filter((_, i) => i % workers === index);
        const child = fork(fileURLToPath(import.meta.url), ['worker', JSON.stringify({ url: server.url, token: agentToken, hosts: share, concurrency: Math.ceil(concurrency / workers), index, seconds })]);
        return new Promise((resolve, reject) => {
          child.once('message', resolve);
          child.once('exit', (code) => code !== 0 && reject(new Error(`worker ${index} exited ${code}`)));
        });
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
    let m = await metrics(server.url, viewer);
    const drainStarted = performance.now();
    while (m.estate_ingest_backlog > 0) {
      await new Promise((r) => setTimeout(r, 100));
      m = await metrics(server.url, viewer);
    }
    const result = {
      hosts: hostCount,
      concurrency,
      seconds: Math.round(elapsed * 10) / 10,
      acked: latencies.length,
      reportsPerSecond: Math.round(latencies.length / elapsed),
      ackP50Ms: Math.round(percentile(latencies, 50)),
      ackP99Ms: Math.round(percentile(latencies, 99)),
      ackMaxMs: Math.round(latencies.at(-1) ?? NaN),
      tooMany: results.reduce((n, r) => n + r.tooMany, 0),
      errors: results.reduce((n, r) => n + r.errors, 0),
      drainAfterMs: Math.round(performance.now() - drainStarted),
      consumed: m.estate_ingest_reports_consumed_total,
      allApplied: m.estate_ingest_reports_consumed_total === latencies.length && m.estate_ingest_reports_duplicate_total === 0,
      commits: m.estate_ingest_commits_total,
      batches: m.estate_ingest_batches_total,
    };
    console.log(JSON.stringify(result, null, 2));
    await server.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'worker') await worker();
else await parent();
