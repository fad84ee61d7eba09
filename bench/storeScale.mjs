#!/usr/bin/env node
/**
 * Scale check of the SQLite read model (packages/server/src/store/sqliteStore.ts), run by hand:
 * one commit of 100k assets (3 labels, ~3 references each), then 2,000 commits of 10 assets each,
 * then the queries the API makes. Not a test and not part of `npm run bench`; build first.
 *
 *   npm run build && node bench/storeScale.mjs [--assets 100000] [--commits 2000] [--group 1] [--keep]
 *
 * --group N appends the small commits N at a time with appendCommits (one transaction each), as
 * the indexer does while catching up.
 *
 * Prints a table and writes bench/results/storeScale.json (storeScale-groupN.json with --group). The store file goes to
 * bench/work/storeScale.db (removed afterwards unless --keep; STORE_FILE=:memory: for no disk).
 * Latencies are of the store's methods in process (no HTTP), sequential, on a warm cache.
 */
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RESULTS_DIR, ROOT, WORK_DIR } from './lib/paths.mjs';

const { openSqliteStore } = await import(join(ROOT, 'packages/server/dist/store/sqliteStore.js'));
const { parseLabelSelector } = await import(join(ROOT, 'packages/core/dist/index.js'));

const { values: flags } = parseArgs({
  options: {
    assets: { type: 'string', default: '100000' },
    commits: { type: 'string', default: '2000' },
    group: { type: 'string', default: '1' },
    keep: { type: 'boolean', default: false },
  },
});
const ASSETS = Number(flags.assets);
const COMMITS = Number(flags.commits);
const GROUP = Number(flags.group);
const PER_COMMIT = 10;
const HOT = 'host/hot'; // changed in every 4th commit: 1 + COMMITS/4 versions
const FIVE = 'host/five'; // 5 versions
const FILE = process.env.STORE_FILE ?? join(WORK_DIR, 'storeScale.db');

const log = (s) => process.stderr.write(`${s}\n`);
let rng = 1;
const random = () => ((rng = (Math.imul(rng, 1103515245) + 12345) >>> 0) / 2 ** 32);
const pick = (xs) => xs[Math.floor(random() * xs.length)];
const sha = (n) => (n + 1).toString(16).padStart(8, '0').repeat(5);

const ENVS = ['prod', 'staging', 'dev'];
const ROLES = ['web', 'api', 'db', 'cache', 'queue', 'batch', 'lb', 'proxy', 'mq', 'search'];
const ZONES = ['a', 'b', 'c', 'd'];
const TEAMS = Array.from({ length: 100 }, (_, i) => `team/t${i}`);
const NETWORKS = Array.from({ length: 500 }, (_, i) => `network/n${i}`);

/** Kinds in the proportions of bench/generateEstate.mjs, roughly. */
function idOf(i) {
  if (i < TEAMS.length) return TEAMS[i];
  if (i < TEAMS.length + NETWORKS.length) return NETWORKS[i - TEAMS.length];
  const r = i % 10;
  const kind = r < 6 ? 'host' : r < 8 ? 'service' : r < 9 ? 'database' : 'volume';
  return `${kind}/${kind[0]}${String(i).padStart(6, '0')}`;
}

function write(id, revision, hosts) {
  const [kind, name] = id.split('/');
  const labels = { env: pick(ENVS), role: pick(ROLES), zone: pick(ZONES) };
  const owner = pick(TEAMS);
  const references = [];
  if (kind !== 'team') references.push({ to: owner, type: 'ownedBy', inverse: 'owns', field: 'metadata.owner' });
  if (kind !== 'team' && kind !== 'network') {
    references.push({ to: pick(NETWORKS), type: 'memberOf', inverse: 'members', field: 'spec.network' });
    const target = hosts.length > 0 ? pick(hosts) : NETWORKS[0];
    references.push({ to: target, type: 'runsOn', inverse: 'hosts', field: 'spec.runsOn' });
  }
  const description = `${kind} ${name} of ${owner}, revision ${revision}`;
  const document = {
    apiVersion: 'estate/v1',
    kind,
    metadata: { name, labels, owner, annotations: { 'estate.io/revision': String(revision) } },
    spec: {
      description,
      network: references[1]?.to,
      runsOn: references[2]?.to,
      cpu: 2 + (revision % 6),
      memoryGiB: 4 * (1 + (revision % 8)),
      os: { family: 'linux', distribution: 'debian', version: '12' },
      tags: ['managed', `zone-${labels.zone}`, `rev-${revision}`],
    },
  };
  return {
    id,
    kind,
    name,
    path: `assets/${kind}s/${name}.yaml`,
    blobId: sha(revision * 7919 + name.length).slice(0, 40),
    document,
    labels,
    owner,
    searchText: `${name} ${description} env=${labels.env} role=${labels.role} zone=${labels.zone}`.toLowerCase(),
    references,
  };
}

function batch(n, assets, date) {
  const signature = { name: 'Bench', email: 'bench@example.com', date };
  return {
    commit: { sha: sha(n), parents: n > 0 ? [sha(n - 1)] : [], author: signature, committer: signature, message: `commit ${n}`, errors: 0 },
    assets,
    diagnostics: new Map(),
  };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Runs fn `runs` times (after `warmup` runs) and returns latency stats in ms. */
async function measure(runs, fn, warmup = Math.min(100, runs)) {
  for (let i = 0; i < warmup; i++) await fn(i);
  const times = new Array(runs);
  const start = performance.now();
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn(i);
    times[i] = performance.now() - t;
  }
  const total = performance.now() - start;
  times.sort((a, b) => a - b);
  return { runs, p50: percentile(times, 50), p99: percentile(times, 99), max: times.at(-1), perSecond: Math.round((runs / total) * 1000) };
}

const loadAtStart = loadavg();
const rows = [];
const record = (name, value, unit, note = '') => {
  rows.push({ name, value, unit, note });
  log(`${name.padEnd(52)} ${String(typeof value === 'number' ? Number(value.toFixed(3)) : value).padStart(12)} ${unit} ${note}`);
};

mkdirSync(WORK_DIR, { recursive: true });
for (const suffix of ['', '-wal', '-shm']) rmSync(FILE + suffix, { force: true });
const store = await openSqliteStore(FILE);
const base = Date.parse('2024-01-01T00:00:00Z');

// 1. One commit with every asset.
const ids = Array.from({ length: ASSETS - 2 }, (_, i) => idOf(i));
ids.push(HOT, FIVE);
const hosts = ids.filter((id) => id.startsWith('host/'));
const initial = new Map(ids.map((id) => [id, write(id, 0, hosts)]));
let t = performance.now();
await store.appendCommit(batch(0, initial, new Date(base).toISOString()));
record(`append 1 commit of ${ASSETS} assets`, performance.now() - t, 'ms');
const refs = [...initial.values()].reduce((n, w) => n + w.references.length, 0);
record('  references in it', refs, '', `(${(refs / ASSETS).toFixed(2)} per asset)`);

// 2. Many small commits.
const appendTimes = [];
let pending = [];
t = performance.now();
for (let n = 1; n <= COMMITS; n++) {
  const assets = new Map();
  if (n % 4 === 0) assets.set(HOT, write(HOT, n, hosts));
  if (n % 100 === 0 && n <= 400) assets.set(FIVE, write(FIVE, n, hosts));
  while (assets.size < PER_COMMIT) {
    const id = pick(ids);
    if (id === HOT || id === FIVE) continue;
    assets.set(id, random() < 0.05 ? null : write(id, n, hosts)); // 5 % deletions
  }
  pending.push(batch(n, assets, new Date(base + n * 60_000).toISOString()));
  if (pending.length === GROUP || n === COMMITS) {
    const t1 = performance.now();
    await (pending.length === 1 ? store.appendCommit(pending[0]) : store.appendCommits(pending));
    appendTimes.push(performance.now() - t1);
    pending = [];
  }
}
appendTimes.sort((a, b) => a - b);
const unit = GROUP === 1 ? 'commit' : `transaction of ${GROUP} commits`;
record(`append ${COMMITS} commits of ${PER_COMMIT} assets`, performance.now() - t, 'ms', `(p50 ${percentile(appendTimes, 50).toFixed(2)} ms, p99 ${percentile(appendTimes, 99).toFixed(2)} ms per ${unit})`);

const head = (await store.head()).seq;
const past = head - 1000;
const liveAtHead = [];
for (const id of ids) if (liveAtHead.length < 20_000 && random() < 0.3) liveAtHead.push(id);

// 3. Point reads.
for (const [label, seq] of [
  ['head', head],
  ['1,000 commits back', past],
]) {
  let found = 0;
  const stats = await measure(20_000, async (i) => {
    if (await store.getAsset(liveAtHead[i % liveAtHead.length], seq)) found++;
  });
  record(`getAsset at ${label}: p50`, stats.p50, 'ms');
  record(`getAsset at ${label}: p99`, stats.p99, 'ms', `(${stats.perSecond}/s sequential, ${Math.round((found / (20_000 + 100)) * 100)} % found)`);
}
const hotGet = await measure(5_000, () => store.getAsset(HOT, 1 + Math.floor(random() * head)));
record(`getAsset of ${HOT} at random seqs: p99`, hotGet.p99, 'ms');

// 4. Lists.
const lists = [
  ['env=prod', { selector: parseLabelSelector('env=prod') }],
  ['env=prod,role=web,zone!=a', { selector: parseLabelSelector('env=prod,role=web,zone!=a') }],
  ['env in (prod,staging)', { selector: parseLabelSelector('env in (prod,staging)') }],
  ['role (exists)', { selector: parseLabelSelector('role') }],
  ['!legacy (only negative)', { selector: parseLabelSelector('!legacy') }],
  ['kind=service', { kind: 'service' }],
  ['owner=team/t7', { owner: 'team/t7' }],
  ['kind=host,env=prod', { kind: 'host', selector: parseLabelSelector('env=prod') }],
  ['terms: "revision 0"', { terms: ['revision 0'] }],
  ['terms: rare "h000742"', { terms: ['h000742'] }],
  ['(all)', {}],
];
for (const [label, filter] of lists) {
  for (const [at, seq] of [
    ['head', head],
    ['-1000', past],
  ]) {
    let count = 0;
    const stats = await measure(
      10,
      async () => {
        count = (await store.listAssets({ ...filter, seq, limit: 1000 })).length;
      },
      2,
    );
    record(`list 1,000 ${label} at ${at}: p50`, stats.p50, 'ms', `(max ${stats.max.toFixed(1)} ms, ${count} items)`);
  }
}
// The last page of env=prod: after an id near the end.
{
  const stats = await measure(10, () => store.listAssets({ seq: head, limit: 1000, selector: parseLabelSelector('env=prod'), after: 'volume/v090000' }), 2);
  record('list env=prod, page after volume/v090000: p50', stats.p50, 'ms');
}

// 5. History.
// The same page size for both, so that only the history's length differs.
for (const id of [HOT, FIVE]) {
  const n = (await store.assetVersions(id, { limit: 10_000 })).length;
  const stats = await measure(2_000, () => store.assetVersions(id, { limit: 5 }));
  record(`assetVersions(${id}, newest 5): p50`, stats.p50, 'ms', `(${n} versions; p99 ${stats.p99.toFixed(3)} ms)`);
  const older = await measure(2_000, () => store.assetVersions(id, { limit: 5, beforeSeq: 10 }));
  record(`assetVersions(${id}, oldest page): p50`, older.p50, 'ms', `(p99 ${older.p99.toFixed(3)} ms)`);
}
{
  const stats = await measure(1_000, () => store.assetVersions(HOT, { limit: 100, beforeSeq: Math.floor(head / 2) }));
  record(`assetVersions(${HOT}, 100 from the middle): p50`, stats.p50, 'ms');
}

// 6. Other queries.
const edgeOut = await measure(2_000, (i) => store.edges(liveAtHead[i % liveAtHead.length], head, 'out'));
record('edges out at head: p50', edgeOut.p50, 'ms', `(p99 ${edgeOut.p99.toFixed(3)} ms)`);
const edgeOutPast = await measure(2_000, (i) => store.edges(liveAtHead[i % liveAtHead.length], past, 'out'));
record('edges out 1,000 back: p50', edgeOutPast.p50, 'ms', `(p99 ${edgeOutPast.p99.toFixed(3)} ms)`);
const edgeIn = await measure(200, (i) => store.edges(NETWORKS[i % NETWORKS.length], head, 'in'));
record('edges in of a network (~200) at head: p50', edgeIn.p50, 'ms');
const edgeInPast = await measure(200, (i) => store.edges(NETWORKS[i % NETWORKS.length], past, 'in'));
record('edges in of a network 1,000 back: p50', edgeInPast.p50, 'ms');
const changed = await measure(10, () => store.changedAssetIds(past, head), 2);
record('changedAssetIds over 1,000 commits: p50', changed.p50, 'ms');
const counts = await measure(10, () => store.countByKind(head), 2);
record('countByKind at head: p50', counts.p50, 'ms');
const countsPast = await measure(5, () => store.countByKind(past), 1);
record('countByKind 1,000 back: p50', countsPast.p50, 'ms');
const at = await measure(1_000, (i) => store.commitAtTime(new Date(base + (i % COMMITS) * 60_000 + 30_000)));
record('commitAtTime: p50', at.p50, 'ms');
const prefix = await measure(1_000, (i) => store.findCommit(sha(i % COMMITS).slice(0, 12)));
record('findCommit by prefix: p50', prefix.p50, 'ms');

await store.close(); // checkpoints the WAL into the main file
const size = (f) => (existsSync(f) ? statSync(f).size : 0);
record('file size after close', size(FILE) / 2 ** 20, 'MiB', `(wal ${(size(`${FILE}-wal`) / 2 ** 20).toFixed(1)} MiB)`);

mkdirSync(RESULTS_DIR, { recursive: true });
const out = join(RESULTS_DIR, GROUP === 1 ? 'storeScale.json' : `storeScale-group${GROUP}.json`);
writeFileSync(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, loadavg: { start: loadAtStart, end: loadavg() }, assets: ASSETS, commits: COMMITS, group: GROUP, rows }, null, 2)}\n`,
);
log(`\nwrote ${out}`);
if (!flags.keep) for (const suffix of ['', '-wal', '-shm']) rmSync(FILE + suffix, { force: true });
