#!/usr/bin/env node
/**
 * The server benchmark (issue 3): a read model of 100k assets and 10k commits, loaded over
 * loopback at concurrency 32 (autocannon in this process, the server in its own): point get, list
 * 1,000 by selector, history (flat in history length: 100 vs 10,000 versions), time-travel get
 * 5,000 commits back, impact query depth 3 — p50/p99 and req/s each; the cold index of 100k
 * assets; and how long after the ref moves a 10-file commit is visible. Prints a table and writes
 * bench/results/server.json. Run with `npm run bench` (builds first), or alone:
 *
 *   node bench/server.mjs [--fresh] [--duration 10]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { generateEstate, generatorHash, readManifest } from './generateEstate.mjs';
import { estate, serve } from './lib/estateProcess.mjs';
import { RESULTS_DIR, ROOT, WORK_DIR } from './lib/paths.mjs';

const { values: flags } = parseArgs({ options: { fresh: { type: 'boolean', default: false }, duration: { type: 'string', default: '10' } } });
const DURATION = Number(flags.duration);
const CONNECTIONS = 32;
const TARGETS = { pointP99Ms: 5, pointRps: 5000, listP99Ms: 50, historyP99Ms: 10, visibleMs: 1000, coldIndexS: 30 };
const ANCHORS = {
  'Argo CD': 'notices Git changes by polling every 3 min',
  Backstage: 'refreshes catalog entities every 100–150 s',
  NetBox: 'REST API: 7–9 s per 1,000 objects',
  Dolt: 'per-row history query: 2.4 s at 5k commits, growing with history',
};
const log = (s) => process.stderr.write(`${s}\n`);
const round = (x, d = 1) => Number(x.toFixed(d));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The big estate: generated once and cached under bench/work/, like the foundation bench's. */
async function ensureEstate(assets, commits, seed = 1) {
  const dir = join(WORK_DIR, `e${assets}-c${commits}-s${seed}`);
  let manifest = flags.fresh ? undefined : readManifest(dir);
  const head = manifest && spawnSync('git', ['rev-parse', '--verify', '-q', 'refs/heads/main'], { cwd: dir, encoding: 'utf8' }).stdout.trim();
  const reusable = manifest && manifest.generator?.sourceHash === generatorHash() && manifest.params.assets === assets && manifest.params.commits === commits && head === manifest.head;
  if (!reusable) {
    log(`generating ${assets} assets, ${commits} commits → ${relative(ROOT, dir)}`);
    manifest = await generateEstate({ assets, commits, seed, out: dir, log });
  } else log(`reusing ${relative(ROOT, dir)}`);
  return { dir, manifest };
}

/**
 * A small repo whose two hosts have 100 and 10,000 versions (one changes in every commit, the
 * other in every 100th), written with git fast-import.
 */
function historyRepo(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  spawnSync('git', ['init', '-q', '--bare', '--initial-branch=main', dir]);
  const host = (name, n) => `apiVersion: estate/v1\nkind: Host\nmetadata:\n  name: ${name}\n  labels: {env: prod}\n  owner: team/ops\nspec:\n  hostname: ${name}.example.com\n  cpus: ${(n % 64) + 1}\n  memoryGiB: ${(n % 100) + 1}\n`;
  const files = (entries) => entries.map(([path, text]) => `M 100644 inline ${path}\ndata ${Buffer.byteLength(text)}\n${text}\n`).join('');
  let stream = '';
  const start = Date.UTC(2024, 0, 1) / 1000;
  for (let i = 1; i <= 10_000; i++) {
    const changes = i === 1
      ? [['estate.yaml', 'apiVersion: estate/v1\nkind: Estate\nmetadata:\n  name: bench\nspec:\n  environments: [prod]\n'], ['assets/teams/ops.yaml', 'apiVersion: estate/v1\nkind: Team\nmetadata:\n  name: ops\nspec:\n  members: [ada]\n']]
      : [];
    changes.push(['assets/hosts/hot.yaml', host('hot', i)]);
    if (i % 100 === 1) changes.push(['assets/hosts/warm.yaml', host('warm', i)]);
    const message = `change ${i}`;
    stream += `commit refs/heads/main\ncommitter Bench <bench@example.com> ${start + i * 60} +0000\ndata ${message.length}\n${message}\n${files(changes)}\n`;
  }
  const r = spawnSync('git', ['fast-import', '--quiet'], { cwd: dir, input: stream, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`fast-import failed: ${r.stderr}`);
  return dir;
}

async function get(url, token) {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
  return response.json();
}

async function waitReady(url, token, sha, timeoutMs = 30 * 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ready = await fetch(`${url}/readyz`).then((r) => r.json()).catch(() => undefined);
    // `ready` (not `indexing`): the estate of the head is loaded, the server is in its steady state.
    if (ready?.head?.sha === sha && ready.state === 'ready') return ready;
    if (Date.now() > deadline) throw new Error(`server did not reach ${sha}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Loads the server with `paths` in turn at concurrency 32; fails if any answer is not 200. */
async function load(label, url, token, paths, { connections = CONNECTIONS, rate } = {}) {
  let i = 0;
  const result = await autocannon({
    url,
    connections,
    ...(rate ? { overallRate: rate } : {}),
    duration: DURATION,
    headers: { authorization: `Bearer ${token}` },
    requests: [{ setupRequest: (req) => ({ ...req, path: paths[i++ % paths.length] }) }],
  });
  if (result.non2xx || result.errors || result.timeouts) throw new Error(`${label}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  const row = { connections, ...(rate ? { rate } : {}), requests: result.requests.total, rps: round(result.requests.average, 0), p50Ms: result.latency.p50, p99Ms: result.latency.p99, maxMs: result.latency.max };
  log(`  ${label}: ${row.rps} req/s, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms`);
  return row;
}

async function main() {
  const work = join(WORK_DIR, 'server');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const { dir: source, manifest } = await ensureEstate(100_000, 10_000);

  // Cold index: the whole history into an empty data dir (reindex reports progress per commit).
  const data = join(work, 'data');
  spawnSync('git', ['clone', '-q', '--bare', source, join(data, 'estate.git')]);
  log('indexing 100k assets × 10k commits from scratch...');
  const indexStarted = performance.now();
  const reindexOut = estate(['reindex', '--data', data, '--format', 'json']);
  const indexSeconds = (performance.now() - indexStarted) / 1000;
  const reindex = JSON.parse(reindexOut);
  log(`  indexed ${reindex.commits} commits, ${reindex.assets} assets in ${round(indexSeconds)} s (first commit: ${reindex.firstCommitSeconds} s)`);

  const token = estate(['token', 'create', '--data', data, '--role', 'viewer', '--name', 'bench']).trim();
  const server = await serve(['--data', data]);
  const results = {};
  try {
    await waitReady(server.url, token, manifest.head);
    const api = `${server.url}/api/v1`;
    const hosts = (await get(`${api}/assets?kind=Host&limit=1000`, token)).items.map((a) => a.id);
    const past = manifest.commits[manifest.commits.length - 1 - 5000];
    const pastHosts = (await get(`${api}/assets?kind=Host&limit=1000&at=${past}`, token)).items.map((a) => a.id);
    results.pointGet = await load('point get', server.url, token, hosts.map((id) => `/api/v1/assets/${id}`));
    results.pointGetAt5000 = await load('point get at 5,000 req/s', server.url, token, hosts.map((id) => `/api/v1/assets/${id}`), { rate: 5000 });
    const list = ['/api/v1/assets?kind=Host&selector=env%3Dprod%2Crole%20in%20(web%2Capp%2Cdb)&limit=1000'];
    results.list1000 = await load('list 1,000 by selector', server.url, token, list);
    results.list1000Single = await load('list 1,000 by selector, one client', server.url, token, list, { connections: 1 });
    results.timeTravelGet = await load('time-travel get, 5,000 commits back', server.url, token, pastHosts.map((id) => `/api/v1/assets/${id}?at=${past}`));
    results.impactDepth3 = await load('impact depth 3', server.url, token, hosts.slice(0, 200).map((id) => `/api/v1/assets/${id}/relations?direction=in&depth=3`));
    const hot = manifest.mostChanged[0];
    results.historyMostChanged = { asset: hot.id, versions: hot.changes + 1, ...(await load(`history of ${hot.id}`, server.url, token, [`/api/v1/assets/${hot.id}/history?limit=20`])) };

    // Ref moved → visible, for 10-file commits written straight into the served repo.
    const visible = [];
    const repoDir = join(data, 'estate.git');
    for (let run = 0; run < 5; run++) {
      const sha = tenFileCommit(repoDir, run);
      const moved = performance.now();
      for (;;) {
        const head = await fetch(`${server.url}/readyz`).then((r) => r.json());
        if (head.head?.sha === sha) break;
        await new Promise((r) => setTimeout(r, 2));
      }
      visible.push(performance.now() - moved);
    }
    results.visibleAfterRefMove = { runsMs: visible.map((x) => round(x)), medianMs: round(median(visible)), maxMs: round(Math.max(...visible)) };
    log(`  visible after the ref moved: median ${results.visibleAfterRefMove.medianMs} ms, max ${results.visibleAfterRefMove.maxMs} ms`);
  } finally {
    await server.stop();
  }

  // History flatness: the same page of history for assets with 100 and 10,000 versions.
  const historyData = join(work, 'history');
  historyRepo(join(historyData, 'estate.git'));
  estate(['reindex', '--data', historyData]);
  const historyToken = estate(['token', 'create', '--data', historyData, '--role', 'viewer']).trim();
  const historyServer = await serve(['--data', historyData]);
  try {
    await waitReady(historyServer.url, historyToken, spawnSync('git', ['rev-parse', 'main'], { cwd: join(historyData, 'estate.git'), encoding: 'utf8' }).stdout.trim());
    results.history100 = await load('history, 100 versions', historyServer.url, historyToken, ['/api/v1/assets/host/warm/history?limit=20']);
    results.history10000 = await load('history, 10,000 versions', historyServer.url, historyToken, ['/api/v1/assets/host/hot/history?limit=20']);
  } finally {
    await historyServer.stop();
  }

  const rows = [
    ['point get, saturating', results.pointGet, `≥ ${TARGETS.pointRps} req/s`, results.pointGet.rps >= TARGETS.pointRps],
    ['point get at 5,000 req/s', results.pointGetAt5000, `p99 ≤ ${TARGETS.pointP99Ms} ms`, results.pointGetAt5000.p99Ms <= TARGETS.pointP99Ms && results.pointGetAt5000.rps >= TARGETS.pointRps * 0.95],
    ['list 1,000 by selector', results.list1000, `p99 ≤ ${TARGETS.listP99Ms} ms`, results.list1000.p99Ms <= TARGETS.listP99Ms],
    ['list 1,000 by selector, one client', results.list1000Single, `p99 ≤ ${TARGETS.listP99Ms} ms`, results.list1000Single.p99Ms <= TARGETS.listP99Ms],
    ['history, 100 versions', results.history100, `p99 ≤ ${TARGETS.historyP99Ms} ms`, results.history100.p99Ms <= TARGETS.historyP99Ms],
    ['history, 10,000 versions', results.history10000, `p99 ≤ ${TARGETS.historyP99Ms} ms, flat`, results.history10000.p99Ms <= TARGETS.historyP99Ms],
    [`history, ${results.historyMostChanged.versions} versions (big estate)`, results.historyMostChanged, `p99 ≤ ${TARGETS.historyP99Ms} ms`, results.historyMostChanged.p99Ms <= TARGETS.historyP99Ms],
    ['time-travel get, 5,000 commits back', results.timeTravelGet, '', undefined],
    ['impact query, depth 3', results.impactDepth3, '', undefined],
  ];
  const summary = {
    coldIndex: { commits: reindex.commits, assets: reindex.assets, firstCommitSeconds: reindex.firstCommitSeconds, allCommitsSeconds: round(indexSeconds), target: `first commit (100k assets) ≤ ${TARGETS.coldIndexS} s`, ok: reindex.firstCommitSeconds <= TARGETS.coldIndexS },
    historyRatio10000to100: round(results.history10000.p99Ms / results.history100.p99Ms, 2),
    visible: { ...results.visibleAfterRefMove, target: `≤ ${TARGETS.visibleMs} ms`, ok: results.visibleAfterRefMove.maxMs <= TARGETS.visibleMs },
  };

  console.log('\n| load over loopback | clients | req/s | p50 ms | p99 ms | target | met |');
  console.log('|---|---:|---:|---:|---:|---|---|');
  for (const [name, r, target, ok] of rows) console.log(`| ${name} | ${r.connections} | ${r.rps} | ${r.p50Ms} | ${r.p99Ms} | ${target} | ${ok === undefined ? '' : ok ? 'yes' : 'no'} |`);
  console.log(`\ncold index: first commit (100k assets) ${round(summary.coldIndex.firstCommitSeconds)} s (target ≤ ${TARGETS.coldIndexS} s); all ${reindex.commits} commits ${summary.coldIndex.allCommitsSeconds} s`);
  console.log(`history p99, 10,000 vs 100 versions: ×${summary.historyRatio10000to100}`);
  console.log(`visible after the ref moved (10-file commit): median ${summary.visible.medianMs} ms, max ${summary.visible.maxMs} ms (target ≤ ${TARGETS.visibleMs} ms)`);
  console.log('\nanchors:');
  for (const [name, figure] of Object.entries(ANCHORS)) console.log(`  ${name}: ${figure}`);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, 'server.json');
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: round(totalmem() / 2 ** 30), node: process.version, loadAverageAtStart: loadavg() };
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  writeFileSync(file, JSON.stringify({ commit, date: new Date().toISOString(), machine, connections: CONNECTIONS, durationSeconds: DURATION, targets: TARGETS, anchors: ANCHORS, results, summary }, null, 2) + '\n');
  log(`\nwrote ${relative(ROOT, file)}`);
}

/** Changes ten host files in one commit on main, with plumbing (no work tree), like a push would. */
function tenFileCommit(gitDir, run) {
  const git = (args, input) => {
    const r = spawnSync('git', args, { cwd: gitDir, encoding: 'utf8', input, maxBuffer: 1 << 28, env: { ...process.env, GIT_INDEX_FILE: join(gitDir, 'bench-index') } });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const parent = git(['rev-parse', 'main']);
  git(['read-tree', parent]);
  const files = git(['ls-tree', '-r', '--name-only', parent, 'assets/hosts/']).split('\n').slice(run * 10, run * 10 + 10);
  for (const path of files) {
    const text = git(['cat-file', 'blob', `${parent}:${path}`]).replace(/cpus: \d+/, `cpus: ${96 + run}`);
    const blob = git(['hash-object', '-w', '--stdin'], text + '\n');
    git(['update-index', '--cacheinfo', `100644,${blob},${path}`]);
  }
  const tree = git(['write-tree']);
  const sha = git(['commit-tree', tree, '-p', parent, '-m', `bench: resize ten hosts (${run})`]);
  git(['update-ref', 'refs/heads/main', sha, parent]);
  rmSync(join(gitDir, 'bench-index'), { force: true });
  return sha;
}

await main();
