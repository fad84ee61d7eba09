#!/usr/bin/env node
/**
 * The config center benchmark (issue 5): on a small repo whose app `app` has a merged prod config
 * of about 2 KB, with the server in its own process (`estate serve`):
 * 1. config reads over loopback with keep-alive (autocannon in this process, a viewer token);
 * 2. push latency at 1k and 10k SSE watchers (raw sockets in two child processes,
 *    bench/lib/configWatchers.mjs): from the ref update of main (git plumbing in the served bare
 *    repo) to each watcher's receipt of the event with that version id, over several commits;
 * 3. the server's RSS per idle watcher (VmRSS before the watchers and with 10k connected).
 * Prints a table and writes bench/results/config.json. Run with `npm run bench:config` (builds
 * first), or alone:
 *
 *   node bench/config.mjs [--duration 10] [--rounds 5] [--watchers 10000] [--profile]
 *
 * `--profile` runs the server under `node --cpu-prof` and summarizes its profile by category.
 */
import { fork, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { estate, serve } from './lib/estateProcess.mjs';
import { BENCH_DIR, RESULTS_DIR, ROOT, WORK_DIR } from './lib/paths.mjs';
import { formatSummary, summarizeProfiles } from './lib/profile.mjs';

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '5' },
    watchers: { type: 'string', default: '10000' },
    profile: { type: 'boolean', default: false },
  },
});
const DURATION = Number(flags.duration);
const ROUNDS = Number(flags.rounds);
const MANY = Number(flags.watchers);
const FEW = Math.min(1000, MANY);
const WATCHER_PROCESSES = 2;
const READ_CONNECTIONS = [32, 64];
const TARGETS = { readRps: 15_000, readP99Ms: 10, pushP99Ms: 200, rssPerWatcherKiB: 20 };
const ANCHORS = {
  Apollo: 'push to clients in about 1 s (long poll)',
  Nacos: 'publish to listener 35–183 ms; about 15k config reads/s on one node',
  'Spring Cloud Config': 'no push without a message bus; reads touch Git',
};
const APP = 'app';
const ENV = 'prod';
const CONFIG_PATH = `/api/v1/config/${APP}/${ENV}`;
/** USER_HZ of /proc/<pid>/stat times. */
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const log = (s) => process.stderr.write(`${s}\n`);
const round = (x, d = 1) => Number(x.toFixed(d));
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/** `config/app/base.yaml`: a service's settings, about 2 KB once merged and rendered as JSON. */
function baseYaml() {
  const lines = ['server:', '  port: 8080', '  host: 0.0.0.0', '  readTimeoutMs: 5000', '  writeTimeoutMs: 10000', '  maxBodyKiB: 512', 'db:', '  host: db.internal', '  port: 5432', '  name: app', '  user: app', '  pool: 10', '  idleTimeoutMs: 30000', '  ssl: false'];
  lines.push('cache:', '  host: cache.internal', '  port: 6379', '  ttlSeconds: 300', '  maxEntries: 100000');
  lines.push('log:', '  level: info', '  format: json', '  sampling: 1');
  lines.push('features:');
  for (let i = 0; i < 24; i++) lines.push(`  flag${String(i).padStart(2, '0')}: ${i % 3 === 0}`);
  lines.push('limits:');
  for (const name of ['orders', 'payments', 'invoices', 'customers', 'reports', 'exports', 'imports', 'webhooks', 'refunds', 'sessions']) {
    lines.push(`  ${name}:`, `    perMinute: ${60 * name.length}`, `    burst: ${10 * name.length}`);
  }
  lines.push('upstreams:');
  for (const name of ['billing', 'search', 'accounts', 'notifications', 'ledger', 'inventory', 'shipping', 'pricing', 'identity', 'audit']) lines.push(`  - name: ${name}`, `    url: https://${name}.internal:8443`, '    timeoutMs: 2000');
  return `${lines.join('\n')}\n`;
}

/** `config/app/prod.yaml`: prod overrides; `rev` changes in every pushed commit. */
const prodYaml = (rev) => `db:\n  host: db.prod.internal\n  pool: 50\n  ssl: true\nlog:\n  level: warn\nrelease:\n  rev: ${rev}\n`;

/** `git <args>` in `gitDir`; throws on failure, returns stdout trimmed. */
function git(gitDir, args, { input, env } = {}) {
  const r = spawnSync('git', args, { cwd: gitDir, encoding: 'utf8', input, env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** A bare repo with estate.yaml (envs dev, prod) and the app's base and prod config, one commit on main. */
function configRepo(gitDir) {
  mkdirSync(gitDir, { recursive: true });
  git(gitDir, ['init', '-q', '--bare', '--initial-branch=main', '.']);
  const files = {
    'estate.yaml': 'apiVersion: estate/v1\nkind: Estate\nmetadata:\n  name: bench-config\nspec:\n  environments: [dev, prod]\n',
    [`config/${APP}/base.yaml`]: baseYaml(),
    [`config/${APP}/dev.yaml`]: 'log:\n  level: debug\n',
    [`config/${APP}/${ENV}.yaml`]: prodYaml(0),
  };
  const stream = `commit refs/heads/main\ncommitter Bench <bench@example.com> 1700000000 +0000\ndata 6\nconfig\n${Object.entries(files)
    .map(([path, text]) => `M 100644 inline ${path}\ndata ${Buffer.byteLength(text)}\n${text}\n`)
    .join('')}\n`;
  const r = spawnSync('git', ['fast-import', '--quiet'], { cwd: gitDir, input: stream });
  if (r.status !== 0) throw new Error(`fast-import failed: ${r.stderr}`);
  return git(gitDir, ['rev-parse', 'main']);
}

/**
 * Writes a commit changing `config/app/prod.yaml` (no work tree) and moves main to it; returns the
 * sha and the time (this process's clock) just before `git update-ref` was started.
 */
function pushConfigCommit(gitDir, rev) {
  const env = { GIT_INDEX_FILE: join(gitDir, 'bench-index') };
  const parent = git(gitDir, ['rev-parse', 'main']);
  git(gitDir, ['read-tree', parent], { env });
  const blob = git(gitDir, ['hash-object', '-w', '--stdin'], { input: prodYaml(rev) });
  git(gitDir, ['update-index', '--cacheinfo', `100644,${blob},config/${APP}/${ENV}.yaml`], { env });
  const tree = git(gitDir, ['write-tree'], { env });
  const sha = git(gitDir, ['commit-tree', tree, '-p', parent, '-m', `bench: config rev ${rev}`]);
  const movedAt = now();
  git(gitDir, ['update-ref', 'refs/heads/main', sha, parent]);
  const updateRefMs = now() - movedAt;
  rmSync(env.GIT_INDEX_FILE, { force: true });
  return { sha, movedAt, updateRefMs };
}

/** The server's resident memory (VmRSS), KiB. */
function rssKiB(pid) {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
}

/** CPU time (user + system) a process has used, ms. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** GET the config until it is served at `sha`; resolves with the answer. */
async function waitForVersion(url, token, sha, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${url}${CONFIG_PATH}`, { headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
    if (response?.ok && response.headers.get('estate-config-version') === sha) return { text: await response.text(), headers: response.headers };
    await response?.text();
    if (Date.now() > deadline) throw new Error(`the server did not serve ${APP}/${ENV} at ${sha}`);
    await sleep(100);
  }
}

/** A child process holding SSE watchers; `ask` sends a message and resolves with its answer. */
function watcherProcess() {
  const child = fork(join(BENCH_DIR, 'lib/configWatchers.mjs'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = [];
  child.on('message', (message) => {
    const next = waiting.shift();
    if (message.type === 'error') next.reject(new Error(`watcher process: ${message.message}`));
    else next.resolve(message);
  });
  return {
    ask: (message) => new Promise((resolve, reject) => {
      waiting.push({ resolve, reject });
      child.send(message);
    }),
    close: () => new Promise((r) => {
      child.on('exit', r);
      child.send({ type: 'close' });
    }),
  };
}

/** Opens `total` watchers in all, split across the watcher processes. */
async function openWatchers(processes, url, token, total, already) {
  const started = now();
  const answers = await Promise.all(processes.map((p, i) => {
    const count = Math.floor(total / processes.length) + (i < total % processes.length ? 1 : 0) - Math.floor(already / processes.length);
    return p.ask({ type: 'open', url, token, path: `${CONFIG_PATH}/watch`, count, prefix: `bench-${i}-${already}` });
  }));
  const connected = answers.reduce((n, a) => n + a.count, 0);
  const ms = now() - started;
  log(`  ${connected} watchers connected, each with its first event (${round(ms / 1000)} s)`);
  return { connected, seconds: round(ms / 1000, 2), versions: [...new Set(answers.flatMap((a) => a.versions))] };
}

/** ROUNDS commits, 1 s apart: ref update → receipt of the event on every watcher. */
async function pushRounds(label, processes, gitDir, firstRev) {
  const rounds = [];
  const all = [];
  for (let i = 0; i < ROUNDS; i++) {
    await sleep(1000);
    const { sha, movedAt, updateRefMs } = pushConfigCommit(gitDir, firstRev + i);
    const answers = await Promise.all(processes.map((p) => p.ask({ type: 'collect', sha, timeoutMs: 30_000 })));
    const latencies = answers.flatMap((a) => a.times.map((t) => t - movedAt)).sort((a, b) => a - b);
    const missing = answers.reduce((n, a) => n + a.missing, 0);
    all.push(...latencies);
    const row = { sha, movedAtEpochMs: round(movedAt, 3), watchers: latencies.length, missing, updateRefMs: round(updateRefMs), firstMs: round(latencies[0]), p50Ms: round(percentile(latencies, 50)), p99Ms: round(percentile(latencies, 99)), maxMs: round(latencies.at(-1)) };
    log(`  ${label} round ${i + 1}: first ${row.firstMs} ms, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, max ${row.maxMs} ms${missing ? `, ${missing} missing` : ''}`);
    rounds.push(row);
  }
  all.sort((a, b) => a - b);
  const missing = rounds.reduce((n, r) => n + r.missing, 0);
  return { watchers: rounds[0].watchers + rounds[0].missing, rounds, events: all.length, missing, p50Ms: round(percentile(all, 50)), p99Ms: round(percentile(all, 99)), maxMs: round(all.at(-1)) };
}

/** Loads GET /api/v1/config/app/prod with keep-alive; fails if any answer is not 200. */
async function readLoad(url, token, connections, serverPid) {
  const started = performance.now();
  const serverCpu = cpuMs(serverPid);
  const clientCpu = process.cpuUsage();
  const result = await autocannon({ url: `${url}${CONFIG_PATH}`, connections, duration: DURATION, headers: { authorization: `Bearer ${token}` } });
  const wallMs = performance.now() - started;
  const client = process.cpuUsage(clientCpu);
  if (result.non2xx || result.errors || result.timeouts) throw new Error(`reads: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  const row = {
    connections,
    requests: result.requests.total,
    rps: round(result.requests.average, 0),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    // Share of one core each process used: tells whether the server or autocannon was the limit.
    serverCpuPercent: round(((cpuMs(serverPid) - serverCpu) / wallMs) * 100, 0),
    autocannonCpuPercent: round(((client.user + client.system) / 1000 / wallMs) * 100, 0),
    loadAverage1m: loadavg()[0],
  };
  log(`  reads, ${connections} connections: ${row.rps} req/s, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms (CPU: server ${row.serverCpuPercent} %, autocannon ${row.autocannonCpuPercent} %)`);
  return row;
}

async function main() {
  const work = join(WORK_DIR, 'config');
  rmSync(work, { recursive: true, force: true });
  const data = join(work, 'data');
  const gitDir = join(data, 'estate.git');
  const firstSha = configRepo(gitDir);
  estate(['reindex', '--data', data]);
  const token = estate(['token', 'create', '--data', data, '--role', 'viewer', '--name', 'bench']).trim();
  const profileDir = join(work, 'profile');
  const nodeFlags = flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const server = await serve(['--data', data], nodeFlags);
  const results = {};
  const processes = [];
  try {
    const first = await waitForVersion(server.url, token, firstSha);
    results.configBytes = Buffer.byteLength(first.text);
    log(`server ${server.url} (pid ${server.pid}); ${APP}/${ENV} is ${results.configBytes} bytes of JSON`);

    // Warm the server (JIT, token cache, one watch) before its baseline memory is read.
    await autocannon({ url: `${server.url}${CONFIG_PATH}`, connections: 4, amount: 2000, headers: { authorization: `Bearer ${token}` } });
    const warm = await fetch(`${server.url}${CONFIG_PATH}/watch`, { headers: { authorization: `Bearer ${token}` } });
    const reader = warm.body.getReader();
    await reader.read();
    await reader.cancel();
    await sleep(5000);
    const rssBefore = rssKiB(server.pid);

    for (let i = 0; i < WATCHER_PROCESSES; i++) processes.push(watcherProcess());
    log(`push at ${FEW} watchers:`);
    const few = await openWatchers(processes, server.url, token, FEW, 0);
    results.push1k = { open: few, ...(await pushRounds(`${FEW}`, processes, gitDir, 1)) };

    log(`push at ${MANY} watchers:`);
    const many = await openWatchers(processes, server.url, token, MANY, FEW);
    log('  idle 10 s for the memory to settle...');
    await sleep(10_000);
    const rssAfter = rssKiB(server.pid);
    results.rss = { beforeKiB: rssBefore, withWatchersKiB: rssAfter, watchers: many.connected, perWatcherKiB: round((rssAfter - rssBefore) / many.connected, 2) };
    log(`  server RSS ${round(rssBefore / 1024)} MiB → ${round(rssAfter / 1024)} MiB: ${results.rss.perWatcherKiB} KiB per watcher`);
    results.push10k = { open: many, ...(await pushRounds(`${MANY}`, processes, gitDir, 1 + ROUNDS)) };
    await Promise.all(processes.splice(0).map((p) => p.close()));
    await sleep(2000);

    log('reads:');
    results.reads = [];
    for (const connections of READ_CONNECTIONS) results.reads.push(await readLoad(server.url, token, connections, server.pid));
  } finally {
    await Promise.all(processes.map((p) => p.close()));
    await server.stop();
  }

  let profile;
  if (flags.profile) {
    const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(profileDir, f));
    profile = summarizeProfiles(files);
    log(formatSummary('server CPU profile (whole run)', profile));
  }

  const rows = [
    ...results.reads.map((r) => [
      `config reads, ${r.connections} connections: req/s; p50 / p99 ms`,
      `${r.rps}; ${r.p50Ms} / ${r.p99Ms}`,
      `≥ ${TARGETS.readRps.toLocaleString('en')}; p99 ≤ ${TARGETS.readP99Ms}`,
      r.rps >= TARGETS.readRps && r.p99Ms <= TARGETS.readP99Ms,
    ]),
    [`push, ${results.push1k.watchers} watchers: p50 / p99 / max ms`, `${results.push1k.p50Ms} / ${results.push1k.p99Ms} / ${results.push1k.maxMs}`, '', undefined],
    [`push, ${results.push10k.watchers} watchers: p50 / p99 / max ms`, `${results.push10k.p50Ms} / ${results.push10k.p99Ms} / ${results.push10k.maxMs}`, `p99 ≤ ${TARGETS.pushP99Ms}`, results.push10k.p99Ms <= TARGETS.pushP99Ms && results.push10k.missing === 0],
    [`RSS per idle watcher (${results.rss.watchers}), KiB`, results.rss.perWatcherKiB, `≤ ${TARGETS.rssPerWatcherKiB}`, results.rss.perWatcherKiB <= TARGETS.rssPerWatcherKiB],
  ];
  console.log(`\n${APP}/${ENV}: ${results.configBytes} bytes of JSON; ${ROUNDS} commits per watcher count, 1 s apart\n`);
  console.log('| metric | measured | target | met |');
  console.log('|---|---:|---|---|');
  for (const [name, value, target, ok] of rows) console.log(`| ${name} | ${value} | ${target} | ${ok === undefined ? '' : ok ? 'yes' : 'no'} |`);
  console.log(`\nevents missing: ${results.push1k.missing} at ${results.push1k.watchers}, ${results.push10k.missing} at ${results.push10k.watchers}; connecting ${results.push10k.open.connected} watchers took ${results.push10k.open.seconds} s`);
  console.log('\nanchors:');
  for (const [name, figure] of Object.entries(ANCHORS)) console.log(`  ${name}: ${figure}`);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, 'config.json');
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: round(totalmem() / 2 ** 30), node: process.version, loadAverageAtStart: loadAverageAtStart, loadAverageAtEnd: loadavg() };
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  const dirty = spawnSync('git', ['status', '--porcelain', 'packages/'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() !== '';
  writeFileSync(file, JSON.stringify({ commit, packagesDirty: dirty, date: new Date().toISOString(), machine, durationSeconds: DURATION, rounds: ROUNDS, targets: TARGETS, anchors: ANCHORS, results, ...(profile ? { profile } : {}) }, null, 2) + '\n');
  log(`\nwrote ${relative(ROOT, file)}`);
}

const loadAverageAtStart = loadavg();
await main();
