#!/usr/bin/env node
/**
 * Report ingestion under a simulated fleet (issue 6's benchmark): `estate serve` in its own
 * process over an estate declaring every host, and N hosts (one agent token each) posting fact
 * reports of about 50 facts over loopback from worker processes. Phases, in one server:
 *
 * 1. warm-up (not measured): connections, token cache, every token's first use;
 * 2. capacity: closed loop, C requests in flight: the most reports/s the server acknowledges;
 * 3. sustained: open loop at the target rate: reports/s and facts/s, ack p50/p99, and
 *    report-acked-to-drift-visible for the share of reports that carry a drifting package
 *    (the time the bench, polling ingest.db's drift_events every 10 ms, sees the report's event);
 * 4. overload: open loop at twice the measured capacity: 429s counted, nothing lost.
 *
 * Afterwards, once the backlog is drained: every acknowledged report must be applied (ingest.db:
 * one done row per acknowledged report, each host's observation at its highest acknowledged seq),
 * and the server's peak RSS (VmHWM) is read. Prints a table and writes bench/results/ingest.json.
 *
 *   node bench/ingest.mjs [--hosts 10000] [--rate 2000] [--seconds 20] [--concurrency 64] [--workers 2] [--drift-share 0.1] [--node-flags=--cpu-prof]
 *
 * `--drift-share`: the share of reports that carry a drifting package (default 10 %).
 */
import { fork, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { serve } from './lib/estateProcess.mjs';
import { RESULTS_DIR, ROOT, WORK_DIR } from './lib/paths.mjs';

const TARGETS = { reportsPerSecond: 2000, ackP99Ms: 100, driftVisibleP99Ms: 2000 };
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** Connections a worker process keeps open to the server at most; more requests wait for one. */
const MAX_CONNECTIONS = 256;
/** Requests a worker keeps in flight at most in an open-loop phase; beyond, a due report is counted as not sent. */
const MAX_IN_FLIGHT = 2000;

/** A ULID-shaped id, unique per worker and counter. */
function reportId(worker, n) {
  let tail = '';
  for (let i = 0, v = n; i < 15; i++, v = Math.floor(v / 32)) tail = CROCKFORD[v % 32] + tail;
  return '01JDQ0000' + CROCKFORD[worker % 32] + CROCKFORD[Math.floor(worker / 32) % 32] + tail;
}

const hostName = (i) => `host-${String(i).padStart(5, '0')}`;
const hostIp = (i) => `10.${(i + 1) >> 16}.${((i + 1) >> 8) & 255}.${(i + 1) & 255}`;

/** The declared Host: what a converged report matches (pkg-0 pinned at 1.0.0). */
function hostYaml(i) {
  return `apiVersion: estate/v1
kind: Host
metadata:
  name: ${hostName(i)}
  labels: {env: prod}
spec:
  hostname: ${hostName(i)}.example.com
  ip: ${hostIp(i)}
  os: debian-12
  cpus: 4
  packages:
    pkg-0: "1.0.0"
`;
}

/**
 * A report body of about 50 facts: 5 scalars, 2 addresses, 30 packages, 5 services, 6 ports, 2
 * managed files. `drifting`: pkg-0 is not the declared version. Built from fragments cached per
 * variant (package versions follow seq % 7, a file's content seq % 9): building and stringifying
 * the object for every report was most of a client's CPU.
 */
function reportBody(id, i, seq, drifting) {
  const facts =
    `{"hostname":"${hostName(i)}.example.com","ip":["${hostIp(i)}","2001:db8::1"],${FIXED_FACTS},` +
    `"packages":{"pkg-0":"${drifting ? `2.0.${seq}` : '1.0.0'}",${PACKAGES[seq % 7]}},"files":${FILES[seq % 9]}}`;
  return `{"reportId":"${id}","host":"${hostName(i)}","seq":${seq},"collectedAt":"${new Date().toISOString()}","facts":${facts}}`;
}
const fragment = (value) => JSON.stringify(value).slice(1, -1);
const FIXED_FACTS = fragment({
  os: { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' },
  kernel: '6.1.0-18-amd64',
  cpus: 4,
  memoryGiB: 15.6,
  services: Object.fromEntries(Array.from({ length: 5 }, (_, s) => [`svc-${s}.service`, 'active'])),
  ports: [22, 80, 443, 9100, 8080, 5432].map((port) => ({ protocol: 'tcp', address: '0.0.0.0', port })),
});
const PACKAGES = Array.from({ length: 7 }, (_, v) => fragment(Object.fromEntries(Array.from({ length: 29 }, (_, p) => [`pkg-${p + 1}`, `1.${p + 1}.${v}`]))));
const FILES = Array.from({ length: 9 }, (_, v) =>
  JSON.stringify({
    '/etc/app.conf': { sha256: 'a'.repeat(64), mode: '0644', owner: 'root:root', size: 20, content: `workers = ${v}\nlog = info\n` },
    '/etc/ssh/sshd_config': { sha256: 'b'.repeat(64), mode: '0600', owner: 'root:root', size: 30, content: 'PermitRootLogin no\nPort 22\n' },
  }),
);
const FACTS_PER_REPORT = 50;

/**
 * A worker: its hosts (index, token) post reports as the parent asks, phase by phase. A host has
 * at most one report in flight, like an agent. Every host of a drifting share alternates: an odd
 * seq converged, an even seq with pkg-0 drifting (so each even report opens a drift item).
 */
async function worker() {
  // Its hosts and their tokens come as the first message (10k tokens do not fit in argv). The
  // commands that follow may arrive in the same read: they wait in a queue, none is dropped.
  const commands = [];
  let wake;
  process.on('message', (message) => {
    commands.push(message);
    wake?.();
  });
  const nextCommand = async () => {
    while (commands.length === 0) await new Promise((resolve) => (wake = resolve));
    return commands.shift();
  };
  const { url, hosts, index, driftEvery } = await nextCommand();
  const { hostname, port } = new URL(url);
  const connections = new Connections(hostname, Number(port));
  const seqs = new Int32Array(hosts.length);
  const highest = new Int32Array(hosts.length);
  const busy = new Uint8Array(hosts.length);
  let counter = 0;
  let next = 0;

  const post = (body, token) =>
    connections.request(`POST /api/v1/reports HTTP/1.1\r\nhost: ${hostname}:${port}\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);

  /** Sends the next report of the next idle host; undefined when every host is busy. */
  function sendOne(stats) {
    for (let tries = 0; tries < hosts.length; tries++) {
      const h = next++ % hosts.length;
      if (busy[h]) continue;
      busy[h] = 1;
      const { i, token } = hosts[h];
      const seq = ++seqs[h];
      const drifting = i % driftEvery === 0 && seq % 2 === 0;
      const id = reportId(index, ++counter);
      const body = reportBody(id, i, seq, drifting);
      const started = performance.now();
      stats.inFlight++;
      return post(body, token).then((status) => {
        stats.inFlight--;
        busy[h] = 0;
        if (status === 202) {
          stats.latencies.push(performance.now() - started);
          highest[h] = Math.max(highest[h], seq);
          if (drifting) stats.driftAcks.push([id, performance.timeOrigin + performance.now()]);
        } else if (status === 429) stats.tooMany++;
        else stats.errors++;
      });
    }
    return undefined;
  }

  async function closedLoop({ concurrency, seconds }, stats) {
    const deadline = performance.now() + seconds * 1000;
    const client = async () => {
      while (performance.now() < deadline) await (sendOne(stats) ?? new Promise((r) => setTimeout(r, 1)));
    };
    await Promise.all(Array.from({ length: concurrency }, client));
  }

  async function openLoop({ rate, seconds }, stats) {
    const start = performance.now();
    const pending = new Set();
    let due = 0;
    while (performance.now() - start < seconds * 1000) {
      const shouldHave = Math.floor(((performance.now() - start) / 1000) * rate);
      for (; due < shouldHave; due++) {
        const sent = stats.inFlight < MAX_IN_FLIGHT ? sendOne(stats) : undefined;
        if (sent === undefined) stats.notSent++;
        else {
          pending.add(sent);
          void sent.then(() => pending.delete(sent));
        }
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(pending);
  }

  for (;;) {
    const command = await nextCommand();
    if (command.cmd === 'final') {
      const acked = {};
      hosts.forEach(({ i }, h) => {
        if (highest[h] > 0) acked[hostName(i)] = highest[h];
      });
      process.send({ highest: acked });
      connections.destroy();
      process.disconnect();
      return;
    }
    const stats = { latencies: [], driftAcks: [], tooMany: 0, errors: 0, notSent: 0, inFlight: 0 };
    const started = performance.now();
    const cpu = process.cpuUsage();
    await (command.mode === 'closed' ? closedLoop(command, stats) : openLoop(command, stats));
    const used = process.cpuUsage(cpu);
    process.send({ ...stats, seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6 });
  }
}

/**
 * Keep-alive HTTP/1.1 connections to the server, one request at a time each, written and read
 * with no HTTP library: the load generator shares the server's two cores, so it must cost little
 * (Node's http client took about a quarter of a core per 1,000 reports/s). Answers carry a
 * content-length (Fastify's JSON answers do); a connection that closes or errs answers 0.
 */
class Connections {
  #idle = [];
  #all = new Set();
  /** Requests waiting for a connection (at most MAX_CONNECTIONS are open). */
  #waiting = [];

  constructor(host, port) {
    this.host = host;
    this.port = port;
  }

  /** Sends a whole request (head and body) and resolves with the answer's status (0 when the connection failed). */
  request(text) {
    return new Promise((resolve) => {
      const connection = this.#idle.pop() ?? (this.#all.size < MAX_CONNECTIONS ? this.#open() : undefined);
      if (connection) this.#send(connection, text, resolve);
      else this.#waiting.push([text, resolve]);
    });
  }

  #send(connection, text, resolve) {
    connection.pending = resolve;
    connection.socket.write(text);
  }

  /** A connection is free (or one closed): the next waiting request goes. */
  #next(connection) {
    const waiting = this.#waiting.shift();
    if (!waiting) {
      if (connection) this.#idle.push(connection);
      return;
    }
    this.#send(connection ?? this.#open(), ...waiting);
  }

  #open() {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    const connection = { socket, pending: undefined, buffer: '' };
    this.#all.add(connection);
    const fail = () => {
      if (!this.#all.delete(connection)) return;
      this.#idle = this.#idle.filter((c) => c !== connection);
      connection.pending?.(0);
      connection.pending = undefined;
      this.#next(undefined);
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => {
      connection.buffer += chunk;
      const headEnd = connection.buffer.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(connection.buffer.slice(0, headEnd));
      if (!length) return socket.destroy();
      if (connection.buffer.length < headEnd + 4 + Number(length[1])) return;
      const status = Number(connection.buffer.slice(9, 12));
      const close = /\r\nconnection: *close/i.test(connection.buffer.slice(0, headEnd));
      connection.buffer = '';
      const resolve = connection.pending;
      connection.pending = undefined;
      resolve?.(status);
      if (close) {
        this.#all.delete(connection);
        socket.destroy();
        this.#next(undefined);
      } else {
        this.#next(connection);
      }
    });
    socket.on('error', fail);
    socket.on('close', fail);
    return connection;
  }

  destroy() {
    for (const connection of this.#all) connection.socket.destroy();
  }
}

function percentile(sorted, p) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const round = (n) => Math.round(n);

async function metrics(url, token) {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  return Object.fromEntries([...text.matchAll(/^(estate_\w+) (\S+)$/gm)].map((m) => [m[1], Number(m[2])]));
}

/** Polls drift_events (a read-only connection to ingest.db) and records when each report's first event was seen. */
function watchDriftEvents(file) {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  const read = db.prepare('SELECT id, report_id FROM drift_events WHERE id > ? ORDER BY id LIMIT 5000');
  const seen = new Map();
  let after = 0;
  const timer = setInterval(() => {
    const now = performance.timeOrigin + performance.now();
    for (const row of read.all(after)) {
      after = row.id;
      if (row.report_id !== null && !seen.has(row.report_id)) seen.set(row.report_id, now);
    }
  }, 10);
  return {
    seen,
    stop() {
      clearInterval(timer);
      db.close();
    },
  };
}

/** CPU time a process used so far, all its threads, in seconds (Linux: utime + stime of /proc/<pid>/stat). */
function cpuSecondsOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // Fields 14 and 15 of stat(5), counted from the state (field 3) here; in clock ticks (100 a second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Peak resident set of a process, in MiB (Linux: VmHWM). */
function peakRssMiB(pid) {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? round(Number(match[1]) / 1024) : NaN;
}

async function parent() {
  const { values } = parseArgs({
    options: {
      hosts: { type: 'string', default: '10000' },
      rate: { type: 'string', default: String(TARGETS.reportsPerSecond) },
      seconds: { type: 'string', default: '20' },
      concurrency: { type: 'string', default: '64' },
      workers: { type: 'string', default: '2' },
      'drift-share': { type: 'string', default: '0.1' },
      'node-flags': { type: 'string', default: '' },
    },
  });
  const hostCount = Number(values.hosts);
  const workerCount = Number(values.workers);
  const seconds = Number(values.seconds);
  // Hosts whose index is a multiple of driftEvery drift in every other report.
  const driftEvery = Math.max(1, Math.round(1 / (2 * Number(values['drift-share']))));
  const loadAverageAtStart = loadavg();
  const log = (line) => process.stderr.write(line + '\n');
  mkdirSync(WORK_DIR, { recursive: true });
  const dir = mkdtempSync(join(WORK_DIR, 'ingest-'));
  let server;
  try {
    // An estate declaring every host.
    const repo = join(dir, 'repo');
    mkdirSync(repo);
    writeFileSync(join(repo, 'estate.yaml'), 'apiVersion: estate/v1\nkind: Estate\nmetadata:\n  name: bench\nspec:\n  environments: [prod]\n');
    for (let i = 0; i < hostCount; i++) {
      const folder = join(repo, 'assets/hosts', String(Math.floor(i / 100)).padStart(3, '0'));
      if (i % 100 === 0) mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, `${hostName(i)}.yaml`), hostYaml(i));
    }
    const git = (...args) => spawnSync('git', ['-C', repo, '-c', 'user.name=bench', '-c', 'user.email=bench@example.com', '-c', 'gc.auto=0', ...args], { encoding: 'utf8' });
    git('init', '--quiet', '--initial-branch=main');
    git('add', '.');
    git('commit', '--quiet', '-m', 'bench');
    const data = join(dir, 'data');
    log(`ingest bench: ${hostCount} declared hosts; starting estate serve`);
    server = await serve(['--data', data, '--import', repo], values['node-flags'].split(' ').filter(Boolean));
    server.child.stderr.pipe(process.stderr);
    for (;;) {
      const ready = await fetch(`${server.url}/readyz`).then((r) => r.ok, () => false);
      if (ready) break;
      await new Promise((r) => setTimeout(r, 200));
    }

    // One agent token per host, issued next to the running server (the workflow database is shared in WAL mode).
    const { openDataStore, issueToken } = await import(join(ROOT, 'packages/server/dist/index.js'));
    const store = await openDataStore(data, { create: false });
    const tokensStarted = performance.now();
    const hosts = [];
    for (let i = 0; i < hostCount; i++) hosts.push({ i, token: (await issueToken(store, { name: `agent-${hostName(i)}`, role: 'agent', scopes: { hosts: [hostName(i)] } })).token });
    const viewer = (await issueToken(store, { name: 'bench', role: 'viewer' })).token;
    await store.close();
    log(`issued ${hostCount} agent tokens in ${round(performance.now() - tokensStarted)} ms`);

    const workers = Array.from({ length: workerCount }, (_, index) => {
      const share = hosts.filter((_, h) => h % workerCount === index);
      const child = fork(fileURLToPath(import.meta.url), ['worker']);
      child.send({ url: server.url, hosts: share, index, driftEvery });
      child.on('exit', (code) => code !== 0 && code !== null && log(`worker ${index} exited ${code}`));
      return child;
    });
    const ask = (command) =>
      Promise.all(workers.map((child, index) => new Promise((resolve) => {
        child.once('message', resolve);
        child.send(typeof command === 'function' ? command(index) : command);
      })));
    const phase = async (name, command) => {
      log(`phase ${name}…`);
      const m0 = await metrics(server.url, viewer);
      const serverCpu0 = cpuSecondsOf(server.pid);
      const benchCpu0 = process.cpuUsage();
      const results = await ask(command);
      const serverCpu = cpuSecondsOf(server.pid) - serverCpu0;
      const benchCpu = process.cpuUsage(benchCpu0);
      const m1 = await metrics(server.url, viewer);
      const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
      const elapsed = Math.max(...results.map((r) => r.seconds));
      return {
        seconds: Math.round(elapsed * 10) / 10,
        acked: latencies.length,
        reportsPerSecond: round(latencies.length / elapsed),
        factsPerSecond: round((latencies.length * FACTS_PER_REPORT) / elapsed),
        ackP50Ms: round(percentile(latencies, 50)),
        ackP99Ms: round(percentile(latencies, 99)),
        ackMaxMs: round(latencies.at(-1) ?? NaN),
        tooMany: results.reduce((n, r) => n + r.tooMany, 0),
        errors: results.reduce((n, r) => n + r.errors, 0),
        notSent: results.reduce((n, r) => n + r.notSent, 0),
        consumedPerSecond: round((m1.estate_ingest_reports_consumed_total - m0.estate_ingest_reports_consumed_total) / elapsed),
        backlogAtEnd: m1.estate_ingest_backlog,
        // Cores busy on average: the server (all its threads), the client processes, this process (drift polling).
        coresServer: Math.round((serverCpu / elapsed) * 100) / 100,
        coresClients: Math.round((results.reduce((n, r) => n + r.cpuSeconds, 0) / elapsed) * 100) / 100,
        coresBench: Math.round(((benchCpu.user + benchCpu.system) / 1e6 / elapsed) * 100) / 100,
        driftAcks: results.flatMap((r) => r.driftAcks),
      };
    };
    const waitDrained = async () => {
      const started = performance.now();
      for (;;) {
        const m = await metrics(server.url, viewer);
        if (m.estate_ingest_backlog === 0) return round(performance.now() - started);
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    const events = watchDriftEvents(join(data, 'ingest.db'));
    const warmup = await phase('warm-up', { mode: 'open', rate: Math.round(TARGETS.reportsPerSecond / 2 / workerCount), seconds: Math.max(5, Math.ceil(hostCount / TARGETS.reportsPerSecond) * 2) });
    await waitDrained();
    const capacity = await phase('capacity', { mode: 'closed', concurrency: Math.ceil(Number(values.concurrency) / workerCount), seconds: 10 });
    const capacityDrainMs = await waitDrained();
    const sustained = await phase('sustained', { mode: 'open', rate: Number(values.rate) / workerCount, seconds });
    const sustainedDrainMs = await waitDrained();
    await new Promise((r) => setTimeout(r, 100));
    const visible = sustained.driftAcks.map(([id, ackedAt]) => (events.seen.has(id) ? Math.max(0, events.seen.get(id) - ackedAt) : Infinity)).sort((a, b) => a - b);
    const overloadRate = Math.max(2 * capacity.reportsPerSecond, 2 * Number(values.rate));
    const overload = await phase('overload', { mode: 'open', rate: overloadRate / workerCount, seconds: 15 });
    const overloadDrainMs = await waitDrained();
    events.stop();

    // Nothing lost: every acknowledged report applied, each host at its highest acknowledged seq.
    const highest = Object.assign({}, ...(await ask({ cmd: 'final' })).map((r) => r.highest));
    const totalAcked = [warmup, capacity, sustained, overload].reduce((n, p) => n + p.acked, 0);
    const m = await metrics(server.url, viewer);
    const rssMiB = peakRssMiB(server.pid);
    const db = new Database(join(data, 'ingest.db'), { readonly: true });
    const done = db.prepare(`SELECT count(*) AS n FROM ingest_reports WHERE state = 'done'`).get().n;
    const observed = new Map(db.prepare('SELECT host, seq FROM host_observations').all().map((o) => [o.host, o.seq]));
    db.close();
    const wrongHosts = Object.entries(highest).filter(([host, seq]) => observed.get(host) !== seq).length;
    const check = { acked: totalAcked, done, consumed: m.estate_ingest_reports_consumed_total, duplicates: m.estate_ingest_reports_duplicate_total, deadLetters: m.estate_ingest_dead_letters, hostsNotAtHighestAcked: wrongHosts };
    const nothingLost = done === totalAcked && check.consumed === totalAcked && check.deadLetters === 0 && wrongHosts === 0;
    await server.stop();
    server = undefined;

    const strip = ({ driftAcks: _drift, ...rest }) => rest;
    const results = {
      hosts: hostCount,
      factsPerReport: FACTS_PER_REPORT,
      driftShare: 1 / driftEvery / 2,
      capacity: { ...strip(capacity), concurrency: Number(values.concurrency), drainAfterMs: capacityDrainMs },
      sustained: {
        ...strip(sustained),
        targetRate: Number(values.rate),
        drainAfterMs: sustainedDrainMs,
        driftReports: visible.length,
        driftVisibleP50Ms: round(percentile(visible, 50)),
        driftVisibleP99Ms: round(percentile(visible, 99)),
        driftNeverSeen: visible.filter((v) => v === Infinity).length,
      },
      overload: { ...strip(overload), offeredRate: overloadRate, drainAfterMs: overloadDrainMs },
      check: { ...check, nothingLost },
      serverPeakRssMiB: rssMiB,
      serverCommits: m.estate_ingest_commits_total,
      serverBatches: m.estate_ingest_batches_total,
    };

    const s = results.sustained;
    const rows = [
      [`capacity (closed loop, ${values.concurrency} in flight): reports/s`, capacity.reportsPerSecond.toLocaleString('en'), '', undefined],
      ['capacity: ack p50 / p99 ms', `${capacity.ackP50Ms} / ${capacity.ackP99Ms}`, '', undefined],
      [`sustained (open loop at ${values.rate}/s): reports/s`, s.reportsPerSecond.toLocaleString('en'), `≥ ${TARGETS.reportsPerSecond.toLocaleString('en')}`, s.reportsPerSecond >= TARGETS.reportsPerSecond * 0.98 && s.notSent === 0],
      ['sustained: facts/s', s.factsPerSecond.toLocaleString('en'), '', undefined],
      ['sustained: ack p50 / p99 / max ms', `${s.ackP50Ms} / ${s.ackP99Ms} / ${s.ackMaxMs}`, `p99 ≤ ${TARGETS.ackP99Ms}`, s.ackP99Ms <= TARGETS.ackP99Ms],
      ['sustained: applied reports/s, backlog at end', `${s.consumedPerSecond.toLocaleString('en')}, ${s.backlogAtEnd}`, '', undefined],
      [`sustained: cores busy — server / clients / bench (of ${cpus().length})`, `${s.coresServer} / ${s.coresClients} / ${s.coresBench}`, '', undefined],
      [`sustained: drift visible after ack p50 / p99 ms (${s.driftReports} reports)`, `${s.driftVisibleP50Ms} / ${s.driftVisibleP99Ms}`, `p99 ≤ ${TARGETS.driftVisibleP99Ms}`, s.driftVisibleP99Ms <= TARGETS.driftVisibleP99Ms && s.driftNeverSeen === 0],
      [`overload (open loop at ${overloadRate}/s): acked/s, 429s, other errors`, `${overload.reportsPerSecond.toLocaleString('en')}, ${overload.tooMany}, ${overload.errors}`, '', undefined],
      ['overload: ack p50 / p99 ms; not sent (client at its in-flight cap)', `${overload.ackP50Ms} / ${overload.ackP99Ms}; ${overload.notSent}`, '', undefined],
      [`every acknowledged report applied (${totalAcked.toLocaleString('en')})`, nothingLost ? 'yes' : 'NO', 'yes', nothingLost],
      ['server peak RSS, MiB', rssMiB, '', undefined],
    ];
    console.log(`\n${hostCount} hosts, ~${FACTS_PER_REPORT} facts a report, ${workerCount} client processes; load average ${loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')} at start\n`);
    console.log('| metric | measured | target | met |');
    console.log('|---|---:|---|---|');
    for (const [name, value, target, ok] of rows) console.log(`| ${name} | ${value} | ${target} | ${ok === undefined ? '' : ok ? 'yes' : '**no**'} |`);

    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = join(RESULTS_DIR, 'ingest.json');
    const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10, node: process.version, loadAverageAtStart, loadAverageAtEnd: loadavg() };
    const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
    const dirty = spawnSync('git', ['status', '--porcelain', 'packages/'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() !== '';
    writeFileSync(file, JSON.stringify({ commit, packagesDirty: dirty, date: new Date().toISOString(), machine, targets: TARGETS, results }, null, 2) + '\n');
    log(`\nwrote ${relative(ROOT, file)}`);
  } finally {
    if (server) await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'worker') await worker();
else await parent();
