#!/usr/bin/env node
/**
 * The change-request benchmark (issue 4): merge throughput (CRs/s) with 32 concurrent clients on
 * disjoint and on overlapping assets, and the latency from the merge call to the change being
 * visible in the API (p50/p99/max). The server runs in this process (the built
 * packages/server/dist), over the demo-sized estate (330 assets, 300 commits, like `npm start`);
 * clients talk to it over loopback HTTP. A third, smaller run is profiled (V8 CPU profile of this
 * process and a trace2 log of every git command) to show where the time of a merge goes.
 * Prints a table and writes bench/results/changes.json. Run with `npm run bench:changes` (builds
 * first), or alone:
 *
 *   node bench/changes.mjs [--crs 200] [--clients 32] [--hot 8] [--profile-crs 64] [--fresh]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { generateEstate, generatorHash, readManifest } from './generateEstate.mjs';
import { RESULTS_DIR, ROOT, WORK_DIR } from './lib/paths.mjs';
import { startProfiler } from './lib/profile.mjs';

const { issueToken, startServer } = await import(join(ROOT, 'packages/server/dist/index.js'));

const { values: flags } = parseArgs({
  options: {
    crs: { type: 'string', default: '200' },
    clients: { type: 'string', default: '32' },
    hot: { type: 'string', default: '8' },
    'profile-crs': { type: 'string', default: '64' },
    fresh: { type: 'boolean', default: false },
  },
});
const CRS = Number(flags.crs);
const CLIENTS = Number(flags.clients);
/** Overlapping: every change request edits one of these few hosts… */
const HOT_HOSTS = Number(flags.hot);
const PROFILE_CRS = Number(flags['profile-crs']);
/** …in one of these fields, each on its own line of the file, far enough apart to merge cleanly. */
const HOT_FIELDS = [
  { name: 'metadata.labels.bench', patch: (v) => ({ metadata: { labels: { bench: v } } }), read: (d) => d.metadata?.labels?.bench },
  { name: 'spec.cpus', patch: (v) => ({ spec: { cpus: v } }), read: (d) => d.spec?.cpus },
  { name: 'spec.packages.rsyslog', patch: (v) => ({ spec: { packages: { rsyslog: v } } }), read: (d) => d.spec?.packages?.rsyslog },
];
/** The demo estate of `npm start` (scripts/start.mjs). */
const ESTATE = { assets: 330, commits: 300, seed: 7 };
/** Issue 4: the indexer shows a merge in ≤ 1 s (measured from main moving, not from the call, which queues). */
const TARGETS = { visibleP99Ms: 1000 };
/** How often a client asks whether its merge is visible yet. */
const POLL_MS = 2;

const log = (s) => process.stderr.write(`${s}\n`);
const round = (x, d = 1) => Number(x.toFixed(d));
const now = () => performance.timeOrigin + performance.now();

/** Nearest-rank percentiles and the max of a list of milliseconds. */
function percentiles(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p) => (sorted.length === 0 ? undefined : round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]));
  return { n: sorted.length, p50: at(50), p99: at(99), max: sorted.length ? round(sorted[sorted.length - 1]) : undefined };
}

/** The demo estate: generated once and cached under bench/work/, like the other benches' estates. */
async function ensureEstate({ assets, commits, seed }) {
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

/** One JSON call; returns status and parsed body. */
async function call(url, method, token, body) {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** Runs `fn` over `items` with at most `limit` at a time; results in order. */
async function pool(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i], i);
      }
    }),
  );
  return results;
}

/**
 * Opens one approved change request per edit (alice opens, bob approves) and returns them with
 * what to look for once merged. Fails when one does not open or is not approved.
 */
async function prepare(url, tokens, edits, label) {
  log(`${label}: opening ${edits.length} change requests`);
  const started = now();
  const openMs = [];
  const crs = await pool(edits, 4, async (edit) => {
    const t0 = now();
    const opened = await call(`${url}/api/v1/changes`, 'POST', tokens.alice, { title: `bench: ${edit.assetId} ${edit.field} = ${edit.value}`, operations: [{ op: 'patch', id: edit.assetId, patch: edit.patch }] });
    openMs.push(now() - t0);
    if (opened.status !== 201) throw new Error(`${label}: opening a change request on ${edit.assetId} answered ${opened.status}: ${JSON.stringify(opened.body)}`);
    const approved = await call(`${url}/api/v1/changes/${opened.body.id}/approve`, 'POST', tokens.bob);
    if (approved.body?.state !== 'approved') throw new Error(`${label}: change request ${opened.body.id} is not approved: ${JSON.stringify(approved.body?.blockers ?? approved.body)}`);
    return { ...edit, id: opened.body.id };
  });
  return { crs, openMs: percentiles(openMs), prepareSeconds: round((now() - started) / 1000) };
}

/**
 * `clients` concurrent clients merge the change requests (each takes the next one when its merge
 * answered, and for a merged one first polls the asset until the API shows the new value). Per
 * merge: the call's latency, when the server recorded the merge (its `merged.at`, same clock: same
 * process), and when the value was visible.
 */
async function mergeAll(url, tokens, crs, clients) {
  const results = [];
  const started = now();
  await pool(crs, clients, async (cr) => {
    const sent = now();
    const answer = await call(`${url}/api/v1/changes/${cr.id}/merge`, 'POST', tokens.alice, {});
    const answered = now();
    const result = { id: cr.id, status: answer.status, code: answer.body?.error?.code, callMs: answered - sent };
    if (answer.status === 200) {
      result.mergedAtMs = Date.parse(answer.body.merged.at) - sent;
      const [kind, name] = cr.assetId.split('/');
      let polls = 0;
      for (;;) {
        polls++;
        const asset = await call(`${url}/api/v1/assets/${kind}/${name}`, 'GET', tokens.alice);
        if (asset.status === 200 && cr.read(asset.body.asset.document) === cr.value) break;
        if (now() - sent > 30_000) throw new Error(`change request ${cr.id} merged but ${cr.assetId} does not show ${cr.field} = ${cr.value} after 30 s`);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      result.visibleMs = now() - sent;
      result.polls = polls;
    }
    results.push(result);
  });
  const wallSeconds = (now() - started) / 1000;
  const merged = results.filter((r) => r.status === 200);
  const conflicts = results.filter((r) => r.code === 'E_CONFLICT');
  const other = results.filter((r) => r.status !== 200 && r.code !== 'E_CONFLICT');
  return {
    crs: crs.length,
    clients,
    merged: merged.length,
    conflicts: conflicts.length,
    other: other.length,
    otherCodes: [...new Set(other.map((r) => `${r.status} ${r.code}`))],
    wallSeconds: round(wallSeconds, 2),
    mergedPerSecond: round(merged.length / wallSeconds, 2),
    attemptsPerSecond: round(results.length / wallSeconds, 2),
    callMs: percentiles(merged.map((r) => r.callMs)),
    conflictCallMs: percentiles(conflicts.map((r) => r.callMs)),
    recordedMs: percentiles(merged.map((r) => r.mergedAtMs)),
    visibleMs: percentiles(merged.map((r) => r.visibleMs)),
    visibleAfterAnswerMs: percentiles(merged.map((r) => r.visibleMs - r.callMs)),
    /** From the server recording the merge (main has moved: `merged.at`) to the API showing it. */
    visibleAfterMainMovedMs: percentiles(merged.map((r) => r.visibleMs - r.mergedAtMs)),
    firstPollVisible: merged.filter((r) => r.polls === 1).length,
  };
}

/** Self time of this process by what the code is, for the profiled run. */
const CATEGORIES = [
  ['idle (waiting for git processes, sockets, timers)', (fn) => fn === '(idle)'],
  ['garbage collection', (fn) => fn === '(garbage collector)'],
  ['bench clients (fetch/undici in this process)', (fn, url) => url.includes('undici')],
  ['YAML parsing (js-yaml)', (fn, url) => url.includes('/js-yaml/') || fn.startsWith('RegExp: [\\x00-\\x08')],
  ['schema validation (ajv)', (fn, url) => url.includes('/ajv') || (/^validate\d*$/.test(fn) && !url.includes('/packages/'))],
  ['core: estate checks, diff, policies (@estate/core)', (fn, url) => url.includes('/packages/core/')],
  ['git adapter (@estate/git: spawning git, parsing output)', (fn, url) => url.includes('/packages/git/')],
  ['change requests (server/changes)', (fn, url) => url.includes('/server/dist/changes/')],
  ['indexer and read model (server/indexer, server/store, SQLite)', (fn, url) => url.includes('/server/dist/indexer/') || url.includes('/server/dist/store/') || url.includes('better-sqlite3')],
  ['audit, webhooks', (fn, url) => url.includes('/server/dist/audit/') || url.includes('/server/dist/webhooks/')],
  ['HTTP (fastify, server/http)', (fn, url) => url.includes('/fastify') || url.includes('/server/dist/http/') || url.includes('/find-my-way/') || url.includes('/avvio/')],
  ['child processes (node: spawn, pipes)', (fn, url) => url.startsWith('node:internal/child_process') || fn === 'spawn'],
  ['other node internals (streams, net, timers)', (fn, url) => url.startsWith('node:')],
];

function summarizeProfile(profile) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const overhead = new Set();
  const mark = (node, inside) => {
    const now = inside || node.callFrame.url.startsWith('node:inspector');
    if (now) overhead.add(node.id);
    for (const child of node.children ?? []) mark(nodes.get(child), now);
  };
  mark(profile.nodes[0], false);
  const byCategory = new Map();
  const byFn = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    if (overhead.has(id)) return;
    const us = profile.timeDeltas[i] ?? 0;
    total += us;
    const { functionName, url, lineNumber } = nodes.get(id).callFrame;
    const fn = functionName || '(anonymous)';
    const category = CATEGORIES.find(([, test]) => test(fn, url))?.[0] ?? 'other (V8 native, program)';
    byCategory.set(category, (byCategory.get(category) ?? 0) + us);
    const key = `${fn} ${url.replace(/^.*\/(node_modules|packages)\//, '$1/')}:${lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
  });
  return {
    totalMs: Math.round(total / 1000),
    categories: [...byCategory].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, ms: Math.round(us / 1000) })),
    top: [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([fn, us]) => ({ fn, ms: Math.round(us / 1000) })),
  };
}

/** Git commands of a trace2 event log (git's `GIT_TRACE2_EVENT`): count and summed run time by subcommand. */
function summarizeGitTrace(file) {
  const started = new Map();
  const byCommand = new Map();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const event = JSON.parse(line);
    // Top-level git processes only (a git that git itself runs has a sid with '/').
    if (event.sid.includes('/')) continue;
    if (event.event === 'start') started.set(event.sid, event.argv.slice(1).find((a) => !a.startsWith('-')) ?? '?');
    if (event.event === 'exit' && started.has(event.sid)) {
      const command = started.get(event.sid);
      const entry = byCommand.get(command) ?? { command, count: 0, ms: 0 };
      entry.count++;
      entry.ms += event.t_abs * 1000;
      byCommand.set(command, entry);
    }
  }
  return [...byCommand.values()].sort((a, b) => b.ms - a.ms).map((e) => ({ ...e, ms: Math.round(e.ms) }));
}

/**
 * How long starting one git process blocks this process's event loop (node's spawn forks
 * synchronously, so it grows with the process's memory), measured here, with the server loaded.
 */
async function measureSpawn(times = 20) {
  const blocked = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    const child = spawn('git', ['--version'], { stdio: 'ignore' });
    blocked.push(performance.now() - t0);
    await new Promise((resolve) => child.on('close', resolve));
  }
  return { blockedMs: percentiles(blocked), rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20) };
}

async function waitReady(url, sha) {
  for (const deadline = Date.now() + 120_000; ; ) {
    const ready = await fetch(`${url}/readyz`).then((r) => r.json()).catch(() => undefined);
    if (ready?.head?.sha === sha && ready.state === 'ready') return;
    if (Date.now() > deadline) throw new Error(`server did not reach ${sha}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main() {
  const loadAtStart = loadavg();
  const { dir } = await ensureEstate(ESTATE);
  const data = join(WORK_DIR, 'changes-data');
  rmSync(data, { recursive: true, force: true });
  const server = await startServer({ dataDir: data, importFrom: dir, port: 0, log: (level, message) => level !== 'info' && log(`[${level}] ${message}`) });
  const results = {};
  let profileSummary;
  let gitTrace;
  try {
    const head = spawnSync('git', ['rev-parse', 'refs/heads/main'], { cwd: server.repoDir, encoding: 'utf8' }).stdout.trim();
    await waitReady(server.url, head);
    const tokens = {
      alice: (await issueToken(server.store, { name: 'alice', role: 'editor', groups: [] })).token,
      bob: (await issueToken(server.store, { name: 'bob', role: 'approver', groups: ['sre'] })).token,
    };
    const list = await call(`${server.url}/api/v1/assets?limit=1000`, 'GET', tokens.alice);
    // One asset per file, so that disjoint change requests never touch the same file.
    const byPath = new Map();
    for (const asset of list.body.items) byPath.set(asset.path, byPath.has(asset.path) ? null : asset);
    const single = [...byPath.values()].filter(Boolean).sort((a, b) => a.id.localeCompare(b.id));
    const hosts = single.filter((a) => a.id.startsWith('host/') && a.document.spec?.packages?.rsyslog !== undefined);
    const hot = new Set(hosts.slice(0, HOT_HOSTS).map((a) => a.id));
    const others = single.filter((a) => !hot.has(a.id));
    if (others.length < CRS + PROFILE_CRS) throw new Error(`the estate has ${others.length} single-asset files; ${CRS + PROFILE_CRS} are needed`);
    const label = HOT_FIELDS[0];
    const disjointEdit = (asset, i, tag) => ({ assetId: asset.id, field: label.name, value: `${tag}-${i}`, patch: label.patch(`${tag}-${i}`), read: label.read });

    // 1. Disjoint: each change request edits another asset (a label, in its own file).
    const disjoint = await prepare(server.url, tokens, others.slice(0, CRS).map((a, i) => disjointEdit(a, i, 'd')), 'disjoint');
    log(`disjoint: ${CLIENTS} clients merge ${CRS} change requests`);
    results.disjoint = { ...(await mergeAll(server.url, tokens, disjoint.crs, CLIENTS)), open: disjoint.openMs, prepareSeconds: disjoint.prepareSeconds };

    // 2. The same, smaller, under the CPU profiler and with every git command traced.
    const profiled = await prepare(server.url, tokens, others.slice(CRS, CRS + PROFILE_CRS).map((a, i) => disjointEdit(a, i, 'p')), 'profiled');
    const traceFile = join(WORK_DIR, 'changes-git-trace2.jsonl');
    rmSync(traceFile, { force: true });
    process.env.GIT_TRACE2_EVENT = traceFile;
    const profiler = await startProfiler();
    log(`profiled: ${CLIENTS} clients merge ${PROFILE_CRS} change requests`);
    results.profiled = await mergeAll(server.url, tokens, profiled.crs, CLIENTS);
    const profile = await profiler.stop();
    delete process.env.GIT_TRACE2_EVENT;
    profileSummary = summarizeProfile(profile);
    gitTrace = summarizeGitTrace(traceFile);

    // 3. Overlapping: every change request edits one of three fields of one of a few hosts; the
    // first merge of each (host, field) wins, the later ones conflict with it. A patch writes the
    // whole document in the server's own YAML style (block maps and lists, fewer quotes), so each
    // hot host is rewritten once first: otherwise the first merge on a host restyles its file and
    // every other change request on it conflicts, whatever field it edits.
    const restyle = await prepare(server.url, tokens, [...hot].map((id) => ({ assetId: id, field: label.name, value: 'o-base', patch: label.patch('o-base'), read: label.read })), 'overlapping, restyling');
    const restyled = await mergeAll(server.url, tokens, restyle.crs, 1);
    if (restyled.merged !== hot.size) throw new Error(`restyling the hot hosts merged ${restyled.merged} of ${hot.size}: ${restyled.otherCodes.join(', ')}`);
    const hotEdits = Array.from({ length: CRS }, (_, i) => {
      const field = HOT_FIELDS[Math.floor(i / HOT_HOSTS) % HOT_FIELDS.length];
      const value = field.name === 'spec.cpus' ? 100 + i : `o-${i}`;
      return { assetId: [...hot][i % HOT_HOSTS], field: field.name, value, patch: field.patch(value), read: field.read };
    });
    const overlapping = await prepare(server.url, tokens, hotEdits, 'overlapping');
    log(`overlapping: ${CLIENTS} clients merge ${CRS} change requests on ${HOT_HOSTS} hosts × ${HOT_FIELDS.length} fields`);
    results.overlapping = { ...(await mergeAll(server.url, tokens, overlapping.crs, CLIENTS)), open: overlapping.openMs, prepareSeconds: overlapping.prepareSeconds };
    results.spawn = await measureSpawn();
  } finally {
    await server.close();
  }

  const p = results.profiled;
  const perMerge = (ms) => round(ms / p.merged, 1);
  console.log(`\n| run | CRs | clients | merged | E_CONFLICT | merged/s | call p50 / p99 / max ms | call→visible p50 / p99 / max ms | main moved→visible p50 / p99 / max ms | ≤ ${TARGETS.visibleP99Ms} ms (p99) |`);
  console.log('|---|---:|---:|---:|---:|---:|---|---|---|---|');
  for (const [name, r] of [['disjoint assets', results.disjoint], ['overlapping: ' + `${HOT_HOSTS} hosts × ${HOT_FIELDS.length} fields`, results.overlapping], ['disjoint, profiled', results.profiled]]) {
    console.log(`| ${name} | ${r.crs} | ${r.clients} | ${r.merged} | ${r.conflicts} | ${r.mergedPerSecond} | ${r.callMs.p50} / ${r.callMs.p99} / ${r.callMs.max} | ${r.visibleMs.p50} / ${r.visibleMs.p99} / ${r.visibleMs.max} | ${r.visibleAfterMainMovedMs.p50} / ${r.visibleAfterMainMovedMs.p99} / ${r.visibleAfterMainMovedMs.max} | ${r.visibleAfterMainMovedMs.p99 <= TARGETS.visibleP99Ms ? 'yes' : 'no'} |`);
  }
  console.log(`\nopening a change request (checks included, 4 at a time): p50 ${results.disjoint.open.p50} ms, p99 ${results.disjoint.open.p99} ms`);
  console.log(`visible after the merge answered: p50 ${results.disjoint.visibleAfterAnswerMs.p50} ms, max ${results.disjoint.visibleAfterAnswerMs.max} ms (${results.disjoint.firstPollVisible}/${results.disjoint.merged} at the first read)`);
  console.log(`overlapping: ${results.overlapping.merged} merged, ${results.overlapping.conflicts} E_CONFLICT (answered in p50 ${results.overlapping.conflictCallMs.p50} ms), ${results.overlapping.attemptsPerSecond} attempts/s`);
  console.log(`\nwhere the time of a merge goes (profiled run, ${p.merged} merges in ${p.wallSeconds} s = ${perMerge(p.wallSeconds * 1000)} ms each):`);
  console.log('  this process, self time per merge:');
  for (const c of profileSummary.categories) console.log(`  ${String(perMerge(c.ms)).padStart(8)} ms  ${c.name}`);
  console.log(`  (starting one git process blocks the event loop ${results.spawn.blockedMs.p50} ms, p99 ${results.spawn.blockedMs.p99} ms, at ${results.spawn.rssMiB} MiB RSS)`);
  console.log('  git commands (run time, summed; they overlap with the above and each other):');
  for (const g of gitTrace) console.log(`  ${String(perMerge(g.ms)).padStart(8)} ms  ${String(round(g.count / p.merged, 1)).padStart(5)} × git ${g.command}`);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, 'changes.json');
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: round(totalmem() / 2 ** 30), node: process.version, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg() };
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  writeFileSync(
    file,
    JSON.stringify(
      { commit, date: new Date().toISOString(), machine, estate: ESTATE, crs: CRS, clients: CLIENTS, hot: { hosts: HOT_HOSTS, fields: HOT_FIELDS.map((f) => f.name) }, targets: TARGETS, results, profile: { ...profileSummary, git: gitTrace } },
      null,
      2,
    ) + '\n',
  );
  log(`\nwrote ${relative(ROOT, file)}`);
}

await main();
