#!/usr/bin/env node
/**
 * Generates a synthetic estate repo for the benchmarks: N assets with realistic relations, written
 * as a git repository with M commits through one `git fast-import` process (no work tree is
 * written; `--checkout` fills it afterwards).
 *
 *   node bench/generateEstate.mjs --assets 10000 --commits 100 --out bench/work/e10k [--seed 1] [--checkout]
 *
 * Layout (folders hold at most a few hundred files, as the issue asks):
 *   estate.yaml
 *   files/motd                                  (the content hosts with `source: files/motd` declare)
 *   assets/teams/<department>/<team>.yaml
 *   assets/networks/<dc>/<network>.yaml
 *   assets/hosts/<dc>/<rack>/<host>.yaml        (~5% "pool" files hold 2–4 hosts)
 *   assets/services/<department>/<team>/<service>.yaml
 *   assets/databases/<department>/<team>/<database>.yaml   (some files hold a primary and replicas)
 *   assets/apps/<department>/<team>/<application>.yaml
 *
 * Kinds in proportion: teams 1%, networks 0.5%, hosts ~60.5%, services 20%, databases 8%,
 * applications 10%. Hosts reference a network, services run on 2–4 hosts and depend on 1–3
 * services/databases, databases run on 1–2 hosts and some are replicas, applications reference a
 * service, every asset's metadata.owner is a team. Host names and IPs are unique.
 *
 * History: commit 1 adds everything; each later commit touches 1–10 files (change a field,
 * add/remove a package, move a file to another folder, now and then commission a new host). A
 * small "hot" set of assets takes a fifth of the changes, so some assets have long histories.
 *
 * Deterministic: the same parameters and seed give the same files, commits and commit ids.
 * When done, writes `bench-manifest.json` in the repo's git dir (commit ids, most-changed assets).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bump when the output changes for the same parameters (invalidates cached repos). */
export const GENERATOR_VERSION = 1;
const MANIFEST = 'bench-manifest.json';
const HOSTS_PER_RACK = 40;
const RACKS_PER_DC = 100;
const TEAMS_PER_DEPARTMENT = 150;
const START_DATE = Date.UTC(2024, 0, 1) / 1000;

// ---------------------------------------------------------------------------------------------
// Seeded PRNG (mulberry32) and helpers.

function createRandom(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = (list) => list[Math.floor(next() * list.length)];
  /** `count` distinct items of `list` (fewer if the list is shorter), by rejection. */
  const sample = (list, count, exclude) => {
    const chosen = new Set();
    const limit = Math.min(count, list.length - (exclude ? 1 : 0));
    for (let tries = 0; chosen.size < limit && tries < count * 20; tries++) {
      const item = pick(list);
      if (item !== exclude) chosen.add(item);
    }
    return [...chosen];
  };
  return { next, int, pick, sample, chance: (p) => next() < p };
}

const pad = (n, width) => String(n).padStart(width, '0');

// ---------------------------------------------------------------------------------------------
// YAML rendering: hand-written templates (fast, deterministic, in the style of the demo estate).

const RESERVED = /^(true|false|null|~|yes|no|on|off|y|n)$/i;
const PLAIN = /^[A-Za-z][A-Za-z0-9_./@-]*$/;
const PLAIN_TEXT = /^[A-Za-z][A-Za-z0-9_.()/ -]*[A-Za-z0-9_.)]$/;
/** A scalar safe in block and flow context: plain when unambiguous, else double-quoted (JSON is valid YAML). */
const q = (s) => (PLAIN.test(s) && !RESERVED.test(s) ? s : JSON.stringify(s));
/** A prose value in block context. */
const text = (s) => (PLAIN_TEXT.test(s) && !RESERVED.test(s) ? s : JSON.stringify(s));
const flowList = (items) => `[${items.map(q).join(', ')}]`;
const flowMap = (obj) => `{${Object.entries(obj).map(([k, v]) => `${q(k)}: ${q(v)}`).join(', ')}}`;

function renderMetadata(a) {
  let out = `metadata:\n  name: ${a.name}\n  labels: ${flowMap(a.labels)}\n  owner: ${a.owner}\n`;
  if (a.description) out += `  description: ${text(a.description)}\n`;
  if (a.annotations) {
    out += '  annotations:\n';
    for (const [k, v] of Object.entries(a.annotations)) out += `    ${k}: ${JSON.stringify(v)}\n`;
  }
  return out;
}

const SPEC_RENDERERS = {
  Team: (s) =>
    `  members: ${flowList(s.members)}\n  contact: ${JSON.stringify(s.contact)}\n  oncall: ${s.oncall}\n`,
  Network: (s) => `  cidr: ${s.cidr}\n  vlan: ${s.vlan}\n  zone: ${s.zone}\n`,
  Host: (s) => {
    let out = `  hostname: ${s.hostname}\n  ip: ${s.ip}\n  os: ${s.os}\n  cpus: ${s.cpus}\n  memoryGiB: ${s.memoryGiB}\n  network: ${s.network}\n  packages:\n`;
    for (const [name, version] of Object.entries(s.packages)) out += `    ${name}: ${q(version)}\n`;
    if (s.files.length) {
      out += '  files:\n';
      for (const f of s.files) {
        out += `    - path: ${f.path}\n      mode: "${f.mode}"\n      owner: ${f.owner}\n`;
        if (f.source) out += `      source: ${f.source}\n`;
        else out += `      content: |\n${f.content.map((l) => `        ${l}`).join('\n')}\n`;
      }
    }
    return out + `  services: ${flowList(s.services)}\n`;
  },
  Service: (s) => {
    let out = `  runsOn: ${flowList(s.runsOn)}\n  dependsOn: ${flowList(s.dependsOn)}\n  ports:\n`;
    for (const p of s.ports) out += `    - {port: ${p.port}, protocol: ${p.protocol}, name: ${p.name}}\n`;
    return out + `  repo: ${s.repo}\n  tier: ${s.tier}\n`;
  },
  Database: (s) => {
    let out = `  engine: ${s.engine}\n  version: "${s.version}"\n  hosts: ${flowList(s.hosts)}\n`;
    if (s.replicaOf) out += `  replicaOf: ${s.replicaOf}\n`;
    return out;
  },
  Application: (s) => `  service: ${s.service}\n`,
};

function renderAsset(a) {
  return `apiVersion: estate/v1\nkind: ${a.kind}\n${renderMetadata(a)}spec:\n${SPEC_RENDERERS[a.kind](a.spec)}`;
}

function renderFile(ids, assets) {
  const docs = ids.map((id) => renderAsset(assets.get(id)));
  return docs.length === 1 ? docs[0] : docs.map((d, i) => (i === 0 ? d : `---\n${d}`)).join('');
}

// ---------------------------------------------------------------------------------------------
// Vocabulary.

const DEPARTMENTS = ['engineering', 'infrastructure', 'data', 'product', 'security', 'finance', 'operations', 'research'];
const TEAM_WORDS = [
  'platform', 'web', 'data', 'payments', 'search', 'identity', 'mobile', 'infra', 'ml', 'growth',
  'billing', 'catalog', 'checkout', 'logistics', 'messaging', 'security', 'observability', 'storage',
  'network', 'support', 'ads', 'risk', 'pricing', 'inventory', 'notifications', 'media', 'maps',
];
const SERVICE_WORDS = [
  'orders', 'cart', 'checkout', 'payments', 'invoices', 'accounts', 'auth', 'sessions', 'profile',
  'search', 'catalog', 'pricing', 'stock', 'shipping', 'tracking', 'reviews', 'ratings', 'email',
  'sms', 'push', 'ledger', 'fraud', 'reports', 'exports', 'imports', 'media', 'thumbnails', 'feeds',
  'recommendations', 'coupons', 'loyalty', 'audit', 'gateway', 'config', 'scheduler', 'geo',
];
const SERVICE_SUFFIXES = ['api', 'worker', 'consumer', 'gateway', 'sync', 'indexer', 'scheduler', 'proxy', 'web', 'grpc'];
const DB_ENGINES = [
  { engine: 'postgresql', versions: ['14', '15', '16'], weight: 5 },
  { engine: 'mysql', versions: ['8.0.36', '8.0.39', '8.4'], weight: 2 },
  { engine: 'mariadb', versions: ['10.11', '11.4'], weight: 1 },
  { engine: 'redis', versions: ['7.2', '7.4'], weight: 2 },
  { engine: 'mongodb', versions: ['6.0', '7.0'], weight: 1 },
];
const ZONES = ['dmz', 'internal', 'storage', 'mgmt'];
const OSES = ['debian-11', 'debian-12', 'ubuntu-22.04', 'ubuntu-24.04', 'rocky-9'];
const PEOPLE = [
  ['Alice Martin', 'alice'], ['Bob Chen', 'bob'], ['Chloe Dubois', 'chloe'], ['Deepak Rao', 'deepak'],
  ['Eva Novak', 'eva'], ['Farid Haddad', 'farid'], ['Grace Okafor', 'grace'], ['Hugo Silva', 'hugo'],
  ['Ines Garcia', 'ines'], ['Jonas Berg', 'jonas'], ['Kenji Sato', 'kenji'], ['Lena Fischer', 'lena'],
];
/** Host roles: share of hosts, cpus/memory choices, packages and systemd units. */
const ROLES = [
  { role: 'web', weight: 15, cpus: [4, 8], mem: [8, 16], pkgs: { nginx: ['1.22.*', '1.24.*', '1.26.1-1'] }, units: ['nginx.service'] },
  { role: 'app', weight: 30, cpus: [8, 16], mem: [16, 32, 64], pkgs: { 'openjdk-17-jre-headless': ['17.0.*', '17.0.12'], 'python3.11': ['3.11.*'] }, units: ['app.service'] },
  { role: 'db', weight: 12, cpus: [16, 32], mem: [64, 128, 256], pkgs: { 'postgresql-16': ['16.*', '16.4-1'], pgbackrest: ['>=2.50', '2.53'] }, units: ['postgresql@16-main.service'] },
  { role: 'cache', weight: 8, cpus: [4, 8], mem: [32, 64], pkgs: { 'redis-server': ['7.2.*', '7.4.1'] }, units: ['redis-server.service'] },
  { role: 'worker', weight: 15, cpus: [8, 16], mem: [16, 32], pkgs: { 'python3.11': ['3.11.*'], celery: ['5.4.*'] }, units: ['worker@default.service'] },
  { role: 'kafka', weight: 5, cpus: [8, 16], mem: [32, 64], pkgs: { kafka: ['3.7.*', '3.8.0'], 'openjdk-17-jre-headless': ['17.0.*'] }, units: ['kafka.service'] },
  { role: 'search', weight: 5, cpus: [8, 16], mem: [32, 64], pkgs: { opensearch: ['2.15.*', '2.17.0'] }, units: ['opensearch.service'] },
  { role: 'lb', weight: 4, cpus: [2, 4], mem: [4, 8], pkgs: { haproxy: ['2.8.*', '3.0.*'], keepalived: ['latest'] }, units: ['haproxy.service', 'keepalived.service'] },
  { role: 'mon', weight: 3, cpus: [4, 8], mem: [16, 32], pkgs: { prometheus: ['2.53.*', '2.54.1'], grafana: ['11.*'] }, units: ['prometheus.service', 'grafana-server.service'] },
  { role: 'bastion', weight: 3, cpus: [2], mem: [4], pkgs: { 'openssh-server': ['latest'], auditd: ['latest'] }, units: ['ssh.service', 'auditd.service'] },
];
const COMMON_PACKAGES = { chrony: ['latest'], 'prometheus-node-exporter': ['latest', '1.8.*'], 'filebeat': ['8.15.*', '8.14.3'], rsyslog: ['latest'] };
const EXTRA_PACKAGES = { htop: 'latest', jq: '1.7.*', tcpdump: 'latest', 'strace': 'latest', 'nftables': '>=1.0', curl: 'latest', vim: '2:9.0.*', git: '1:2.43.*', 'osquery': '5.12.*', 'falco': '0.38.*' };
const CONFIGS = {
  web: ['/etc/nginx/conf.d/site.conf', ['server {', '  listen 443 ssl;', '  location / {', '    proxy_pass http://127.0.0.1:8080;', '  }', '}']],
  db: ['/etc/postgresql/16/main/conf.d/10-estate.conf', ["listen_addresses = '*'", 'max_connections = 300', 'shared_buffers = 16GB', 'wal_level = replica']],
  cache: ['/etc/redis/redis.conf.d/estate.conf', ['maxmemory 24gb', 'maxmemory-policy allkeys-lru']],
  lb: ['/etc/haproxy/haproxy.cfg', ['global', '  maxconn 50000', 'defaults', '  mode http', '  timeout connect 5s']],
};

// ---------------------------------------------------------------------------------------------
// The estate.

/** Asset counts by kind for `total` assets (at least one of each). */
export function kindCounts(total) {
  const teams = Math.max(1, Math.round(total * 0.01));
  const networks = Math.max(1, Math.round(total * 0.005));
  const services = Math.max(1, Math.round(total * 0.2));
  const databases = Math.max(1, Math.round(total * 0.08));
  const applications = Math.max(1, Math.round(total * 0.1));
  const hosts = Math.max(1, total - teams - networks - services - databases - applications);
  return { teams, networks, hosts, services, databases, applications };
}

function buildEstate(total, rnd) {
  const counts = kindCounts(total);
  /** id → asset ({ id, kind, name, labels, owner, description, spec, path }). */
  const assets = new Map();
  /** path → ids of the documents in the file, in order. */
  const files = new Map();
  const add = (asset, path) => {
    asset.id = `${asset.kind.toLowerCase()}/${asset.name}`;
    asset.path = path;
    assets.set(asset.id, asset);
    const ids = files.get(path);
    if (ids) ids.push(asset.id);
    else files.set(path, [asset.id]);
    return asset;
  };

  // Teams, grouped by department.
  const departments = Math.max(1, Math.ceil(counts.teams / TEAMS_PER_DEPARTMENT));
  const teams = [];
  for (let i = 0; i < counts.teams; i++) {
    const word = TEAM_WORDS[i % TEAM_WORDS.length];
    const name = i < TEAM_WORDS.length ? `team-${word}` : `team-${word}-${Math.floor(i / TEAM_WORDS.length) + 1}`;
    const dept = DEPARTMENTS[i % departments % DEPARTMENTS.length] + (i % departments >= DEPARTMENTS.length ? `-${Math.floor((i % departments) / DEPARTMENTS.length) + 1}` : '');
    const members = rnd.sample(PEOPLE, rnd.int(2, 6)).map(([, login]) => (rnd.chance(0.5) ? `${login}@example.com` : login));
    teams.push(
      add(
        {
          kind: 'Team',
          name,
          labels: { department: dept },
          owner: `team/${name}`,
          description: `The ${word} team (${dept})`,
          spec: { members, contact: `#${name}`, oncall: `https://oncall.example.com/rotations/${name}` },
        },
        `assets/teams/${dept}/${name}.yaml`,
      ).id,
    );
  }
  const teamNames = teams.map((id) => id.slice('team/'.length));
  /** Services, databases and applications live under <department>/<team>/. */
  const teamFolder = new Map(teamNames.map((name) => [name, `${assets.get(`team/${name}`).labels.department}/${name}`]));
  const infraTeams = teams.slice(0, Math.max(1, Math.ceil(teams.length / 10)));

  // Datacenters, racks and networks.
  const racks = Math.max(1, Math.ceil(counts.hosts / HOSTS_PER_RACK));
  const dcs = Math.max(1, Math.ceil(racks / RACKS_PER_DC));
  const networkCount = Math.max(counts.networks, dcs);
  const networksByDc = Array.from({ length: dcs }, () => []);
  const networkState = [];
  for (let k = 0; k < networkCount; k++) {
    const dcIndex = k % dcs;
    const dc = `dc${pad(dcIndex + 1, 2)}`;
    const zone = ZONES[Math.floor(k / dcs) % ZONES.length];
    const name = `net-${dc}-${zone}-${pad(Math.floor(k / dcs) + 1, 3)}`;
    // A /20 per network: 10.<k/16>.<(k%16)*16>.0/20; room for 4,000 hosts.
    const base = [10, k >> 4, (k & 15) << 4];
    add(
      {
        kind: 'Network',
        name,
        labels: { dc, zone },
        owner: rnd.pick(infraTeams),
        description: `${zone} network of ${dc}`,
        spec: { cidr: `${base.join('.')}.0/20`, vlan: 100 + k, zone },
      },
      `assets/networks/${dc}/${name}.yaml`,
    );
    networksByDc[dcIndex].push(k);
    networkState.push({ id: `network/${name}`, base, next: 10 });
  }
  const nextIp = (k) => {
    const net = networkState[k];
    let j = net.next++;
    while ((j & 255) === 0 || (j & 255) === 255) j = net.next++;
    return `${net.base[0]}.${net.base[1]}.${net.base[2] + (j >> 8)}.${j & 255}`;
  };

  // Hosts, by datacenter and rack; each rack is on one of its datacenter's networks.
  const roleWeights = ROLES.flatMap((r) => Array(r.weight).fill(r));
  const hostsByRole = new Map(ROLES.map((r) => [r.role, []]));
  const rackState = [];
  for (let r = 0; r < racks; r++) {
    const dcIndex = r % dcs;
    const dc = `dc${pad(dcIndex + 1, 2)}`;
    const rack = `r${pad(Math.floor(r / dcs) + 1, 3)}`;
    rackState.push({ dc, rack, network: networksByDc[dcIndex][r % networksByDc[dcIndex].length], next: 1, folder: `assets/hosts/${dc}/${rack}` });
  }
  const makeHost = (rs, role) => {
    const name = `${role.role}-${rs.dc}-${rs.rack}-${pad(rs.next++, 2)}`;
    const packages = {};
    for (const [pkg, versions] of Object.entries(role.pkgs)) packages[pkg] = rnd.pick(versions);
    for (const [pkg, versions] of Object.entries(COMMON_PACKAGES)) if (rnd.chance(0.8)) packages[pkg] = rnd.pick(versions);
    const config = CONFIGS[role.role];
    const files = config && rnd.chance(0.7) ? [{ path: config[0], mode: '0644', owner: 'root:root', content: config[1] }] : [];
    if (rnd.chance(0.2)) files.push({ path: '/etc/motd', mode: '0644', owner: 'root', source: 'files/motd' });
    return {
      kind: 'Host',
      name,
      labels: { env: 'prod', role: role.role, dc: rs.dc, rack: rs.rack },
      owner: rnd.pick(infraTeams),
      description: `${role.role} node in ${rs.dc} rack ${rs.rack}`,
      spec: {
        hostname: `${name}.${rs.dc}.example.com`,
        ip: nextIp(rs.network),
        os: rnd.pick(OSES),
        cpus: rnd.pick(role.cpus),
        memoryGiB: rnd.pick(role.mem),
        network: networkState[rs.network].id,
        packages,
        files,
        services: [...role.units, 'chrony.service', 'prometheus-node-exporter.service'],
      },
    };
  };
  for (let made = 0, r = 0; made < counts.hosts; r = (r + 1) % racks) {
    const rs = rackState[r];
    // Fill rack by rack: HOSTS_PER_RACK per rack, round the racks again if any remain.
    const inRack = Math.min(HOSTS_PER_RACK, counts.hosts - made);
    for (let h = 0; h < inRack; ) {
      const role = rnd.pick(roleWeights);
      const pool = rnd.chance(0.02) ? Math.min(rnd.int(2, 4), inRack - h) : 1;
      const hosts = Array.from({ length: pool }, () => makeHost(rs, role));
      const path = pool === 1 ? `${rs.folder}/${hosts[0].name}.yaml` : `${rs.folder}/${role.role}-pool-${hosts[0].name.split('-').pop()}.yaml`;
      for (const host of hosts) hostsByRole.get(role.role).push(add(host, path).id);
      h += pool;
      made += pool;
    }
  }
  const allHosts = [...hostsByRole.values()].flat();
  const hostPool = (roles) => {
    const list = roles.flatMap((role) => hostsByRole.get(role));
    return list.length ? list : allHosts;
  };
  const serviceHosts = hostPool(['app', 'web', 'worker']);
  const dbHosts = hostPool(['db', 'cache']);

  // Databases, by owning team; some are replicas (written in their primary's file a third of the time).
  const databases = [];
  const engineWeights = DB_ENGINES.flatMap((e) => Array(e.weight).fill(e));
  for (let i = 0; i < counts.databases; i++) {
    const primaryId = databases.length && rnd.chance(0.3) ? rnd.pick(databases) : undefined;
    const primary = primaryId && assets.get(primaryId);
    const team = primary ? primary.owner.slice('team/'.length) : rnd.pick(teamNames);
    const engine = primary ? DB_ENGINES.find((e) => e.engine === primary.spec.engine) : rnd.pick(engineWeights);
    const name = primary ? `${primary.name.replace(/-replica-\d+$/, '')}-replica-${i}` : `${rnd.pick(SERVICE_WORDS)}-db-${i}`;
    const asset = {
      kind: 'Database',
      name,
      labels: { env: 'prod', role: primary ? 'replica' : 'primary' },
      owner: `team/${team}`,
      description: primary ? `Replica of ${primary.name}` : `${engine.engine} database`,
      spec: {
        engine: engine.engine,
        version: primary ? primary.spec.version : rnd.pick(engine.versions),
        hosts: rnd.sample(dbHosts, rnd.int(1, 2)),
        ...(primary ? { replicaOf: primary.id } : {}),
      },
    };
    const path = primary && rnd.chance(0.33) ? primary.path : `assets/databases/${teamFolder.get(team)}/${name}.yaml`;
    databases.push(add(asset, path).id);
  }

  // Services, by owning team; each depends on earlier services and on databases.
  const services = [];
  for (let i = 0; i < counts.services; i++) {
    const team = rnd.pick(teamNames);
    const name = `${rnd.pick(SERVICE_WORDS)}-${rnd.pick(SERVICE_SUFFIXES)}-${i}`;
    const deps = rnd.int(1, 3);
    const targets = services.length && rnd.chance(0.6) ? services : databases;
    const dependsOn = rnd.sample(targets, deps);
    if (dependsOn.length < deps) dependsOn.push(...rnd.sample(databases, deps - dependsOn.length).filter((d) => !dependsOn.includes(d)));
    const port = 8000 + (i % 1000);
    const ports = [{ port, protocol: 'tcp', name: 'http' }];
    if (rnd.chance(0.6)) ports.push({ port: port + 1000, protocol: 'tcp', name: 'metrics' });
    services.push(
      add(
        {
          kind: 'Service',
          name,
          labels: { env: 'prod', layer: rnd.pick(['frontend', 'backend', 'backend', 'async']) },
          owner: `team/${team}`,
          description: `Owned by ${team}`,
          ...(rnd.chance(0.3) ? { annotations: { runbook: `https://wiki.example.com/runbooks/${name}` } } : {}),
          spec: {
            runsOn: rnd.sample(serviceHosts, rnd.int(2, 4)),
            dependsOn,
            ports,
            repo: `https://git.example.com/${team}/${name}.git`,
            tier: rnd.int(1, 4),
          },
        },
        `assets/services/${teamFolder.get(team)}/${name}.yaml`,
      ).id,
    );
  }

  // Applications: one per service they configure (the first services, shuffled by the PRNG).
  for (let i = 0; i < counts.applications; i++) {
    const service = assets.get(services[i % services.length]);
    const name = i < services.length ? service.name : `${service.name}-${Math.floor(i / services.length)}`;
    const team = service.owner.slice('team/'.length);
    add(
      {
        kind: 'Application',
        name,
        labels: { app: name },
        owner: service.owner,
        description: `Runtime configuration of ${service.name}`,
        spec: { service: service.id },
      },
      `assets/apps/${teamFolder.get(team)}/${name}.yaml`,
    );
  }

  const networkIds = networkState.map((n) => n.id);
  return { assets, files, counts, rackState, networkIds, serviceHosts, teamNames, teamFolder, makeHost, roleWeights };
}

// ---------------------------------------------------------------------------------------------
// History: small commits on top of the first one.

/** Mutates one asset in a realistic way; returns a short description, and a new path for a move. */
function mutate(asset, state, rnd) {
  const s = asset.spec;
  const single = state.files.get(asset.path).length === 1;
  const r = rnd.next();
  switch (asset.kind) {
    case 'Host': {
      // Re-racked: moves to another rack of the same datacenter and network (the IP stays valid).
      const racks = r < 0.02 && single ? state.rackState.filter((rs) => rs.dc === asset.labels.dc && rs.rack !== asset.labels.rack && state.networkIds[rs.network] === s.network) : [];
      if (racks.length) {
        const rs = rnd.pick(racks);
        asset.labels = { ...asset.labels, rack: rs.rack };
        return { what: `move ${asset.name} to ${rs.rack}`, path: `${rs.folder}/${asset.name}.yaml` };
      }
      if (r < 0.35) {
        const pkg = rnd.pick(Object.keys(s.packages));
        const old = s.packages[pkg];
        s.packages[pkg] = old === 'latest' ? '1.2.3' : /\d+$/.test(old) ? old.replace(/\d+$/, (d) => String(Number(d) + 1)) : 'latest';
        return { what: `bump ${pkg} on ${asset.name}` };
      }
      if (r < 0.5) {
        const pkg = rnd.pick(Object.keys(EXTRA_PACKAGES));
        if (!(pkg in s.packages)) {
          s.packages[pkg] = EXTRA_PACKAGES[pkg];
          return { what: `install ${pkg} on ${asset.name}` };
        }
        delete s.packages[pkg];
        return { what: `remove ${pkg} from ${asset.name}` };
      }
      if (r < 0.6 && Object.keys(s.packages).length > 2) {
        const pkg = rnd.pick(Object.keys(s.packages));
        delete s.packages[pkg];
        return { what: `remove ${pkg} from ${asset.name}` };
      }
      if (r < 0.75) {
        s.memoryGiB = s.memoryGiB * 2 > 512 ? s.memoryGiB / 2 : s.memoryGiB * 2;
        return { what: `resize memory of ${asset.name}` };
      }
      if (r < 0.85) {
        s.cpus = s.cpus * 2 > 64 ? s.cpus / 2 : s.cpus * 2;
        return { what: `resize cpus of ${asset.name}` };
      }
      if (r < 0.93) {
        s.os = rnd.pick(OSES);
        return { what: `upgrade ${asset.name} to ${s.os}` };
      }
      asset.labels = { ...asset.labels, maintenance: asset.labels.maintenance === 'true' ? 'false' : 'true' };
      return { what: `toggle maintenance on ${asset.name}` };
    }
    case 'Service': {
      if (r < 0.02) {
        // Handed over to another team: moves to its folder, with a new owner.
        const team = rnd.pick(state.teamNames);
        asset.owner = `team/${team}`;
        asset.description = `Owned by ${team}`;
        return { what: `hand ${asset.name} over to ${team}`, path: `assets/services/${state.teamFolder.get(team)}/${asset.name}.yaml` };
      }
      if (r < 0.35) {
        const i = rnd.int(0, s.runsOn.length - 1);
        const replacement = rnd.pick(state.serviceHosts);
        if (!s.runsOn.includes(replacement)) s.runsOn[i] = replacement;
        return { what: `reschedule ${asset.name}` };
      }
      if (r < 0.55) {
        s.tier = (s.tier % 4) + 1;
        return { what: `set tier of ${asset.name}` };
      }
      if (r < 0.75) {
        if (s.ports.length > 1) s.ports.pop();
        else s.ports.push({ port: s.ports[0].port + 1000, protocol: 'tcp', name: 'metrics' });
        return { what: `change ports of ${asset.name}` };
      }
      asset.labels = { ...asset.labels, canary: asset.labels.canary === 'enabled' ? 'disabled' : 'enabled' };
      return { what: `toggle canary of ${asset.name}` };
    }
    case 'Database': {
      if (r < 0.5) {
        s.version = s.version.replace(/\d+$/, (d) => String(Number(d) + 1));
        return { what: `upgrade ${asset.name} to ${s.version}` };
      }
      const host = rnd.pick(state.serviceHosts.length ? state.serviceHosts : [...state.assets.keys()]);
      if (s.hosts.length < 3 && !s.hosts.includes(host)) s.hosts.push(host);
      else if (s.hosts.length > 1) s.hosts.pop();
      else asset.labels = { ...asset.labels, backup: asset.labels.backup === 'daily' ? 'hourly' : 'daily' };
      return { what: `change hosts of ${asset.name}` };
    }
    case 'Team': {
      const [, login] = rnd.pick(PEOPLE);
      if (s.members.includes(login) && s.members.length > 1) s.members = s.members.filter((m) => m !== login);
      else if (!s.members.includes(login)) s.members = [...s.members, login];
      else s.oncall = `${s.oncall.replace(/-v\d+$/, '')}-v${rnd.int(2, 9)}`;
      return { what: `update members of ${asset.name}` };
    }
    case 'Network': {
      s.zone = rnd.pick(ZONES);
      asset.labels = { ...asset.labels, zone: s.zone };
      return { what: `rezone ${asset.name}` };
    }
    default: {
      asset.labels = { ...asset.labels, release: `r${rnd.int(1, 400)}` };
      return { what: `roll ${asset.name}` };
    }
  }
}

/** Builds the commits after the first as lists of file operations; yields one commit at a time. */
function* history(state, commits, rnd) {
  const ids = [...state.assets.keys()].filter((id) => !id.startsWith('team/') || rnd.chance(0.2));
  // A hot set (hosts and services that change all the time) takes a fifth of the changes.
  const hot = rnd.sample(ids.filter((id) => id.startsWith('host/') || id.startsWith('service/')), 20);
  const changes = new Map();
  const moves = new Map();
  for (let c = 2; c <= commits; c++) {
    const touched = new Map(); // path → 'write' | 'delete'
    const notes = [];
    const count = 1 + Math.floor(rnd.next() ** 2 * 10);
    for (let n = 0; n < count * 3 && touched.size < count; n++) {
      let asset;
      if (rnd.chance(0.03)) {
        // A new host commissioned into an existing rack.
        const rs = rnd.pick(state.rackState);
        asset = state.makeHost(rs, rnd.pick(state.roleWeights));
        asset.id = `host/${asset.name}`;
        asset.path = `${rs.folder}/${asset.name}.yaml`;
        if (touched.has(asset.path) || state.files.has(asset.path)) continue;
        state.assets.set(asset.id, asset);
        state.files.set(asset.path, [asset.id]);
        state.serviceHosts.push(asset.id);
        touched.set(asset.path, 'write');
        notes.push(`commission ${asset.name}`);
        continue;
      }
      asset = state.assets.get(rnd.chance(0.2) ? rnd.pick(hot) : rnd.pick(ids));
      if (touched.has(asset.path)) continue;
      const { what, path } = mutate(asset, state, rnd);
      if (path && path !== asset.path && !state.files.has(path) && !touched.has(path)) {
        state.files.delete(asset.path);
        touched.set(asset.path, 'delete');
        asset.path = path;
        state.files.set(path, [asset.id]);
        moves.set(asset.id, (moves.get(asset.id) ?? 0) + 1);
      }
      touched.set(asset.path, 'write');
      changes.set(asset.id, (changes.get(asset.id) ?? 0) + 1);
      notes.push(what);
    }
    const [name, login] = rnd.pick(PEOPLE);
    const subject = notes.length === 1 ? notes[0] : `${notes[0]} and ${notes.length - 1} more change${notes.length > 2 ? 's' : ''}`;
    yield { author: { name, email: `${login}@example.com` }, message: `${subject}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`, touched };
  }
  return { changes, moves };
}

// ---------------------------------------------------------------------------------------------
// fast-import writer.

/** Buffers the fast-import stream and writes it in large chunks, honouring back-pressure. */
function createStreamWriter(stream) {
  let parts = [];
  let size = 0;
  let bytes = 0;
  const flush = async () => {
    if (!parts.length) return;
    const chunk = parts.join('');
    parts = [];
    size = 0;
    bytes += chunk.length;
    if (!stream.write(chunk)) await once(stream, 'drain');
  };
  return {
    async write(s) {
      parts.push(s);
      size += s.length;
      if (size >= 1 << 20) await flush();
    },
    flush,
    get bytes() {
      return bytes;
    },
  };
}

/** `data` command with the exact byte count (git-fast-import(1), "data"). */
const data = (s) => `data ${Buffer.byteLength(s)}\n${s}\n`;

/**
 * Generates the repo. Returns the manifest written to `<gitDir>/bench-manifest.json`.
 * @param {{assets: number, commits: number, out: string, seed?: number, checkout?: boolean, log?: (s: string) => void}} options
 */
export async function generateEstate(options) {
  const { assets: total, commits } = options;
  const seed = options.seed ?? 1;
  const out = resolve(options.out);
  const log = options.log ?? (() => {});
  if (!(total >= 10) || !(commits >= 1)) throw new Error('--assets must be ≥ 10 and --commits ≥ 1');
  const started = performance.now();
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  git(out, ['init', '-q', '-b', 'main']);
  // Benchmarks read the repo as it is; no background maintenance or auto-gc while they run.
  git(out, ['config', 'gc.auto', '0']);
  git(out, ['config', 'maintenance.auto', 'false']);

  const rnd = createRandom(seed);
  const state = buildEstate(total, rnd);
  const gitDir = join(out, '.git');
  const marksFile = join(gitDir, 'bench-marks');
  const child = spawn('git', ['fast-import', '--quiet', '--done', `--export-marks=${marksFile}`], {
    cwd: out,
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  const exited = new Promise((resolveExit, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolveExit() : reject(new Error(`git fast-import exited with ${code}`))));
  });
  const w = createStreamWriter(child.stdin);
  let when = START_DATE;
  const header = (mark, author, message) => {
    const stamp = `${when} +0000`;
    return `commit refs/heads/main\nmark :${mark}\nauthor ${author.name} <${author.email}> ${stamp}\ncommitter ${author.name} <${author.email}> ${stamp}\n${data(message)}`;
  };

  await w.write(header(1, { name: 'Alice Martin', email: 'alice@example.com' }, `Import the estate: ${state.assets.size} assets in ${state.files.size} files\n`));
  await w.write(`M 100644 inline estate.yaml\n${data(`apiVersion: estate/v1\nkind: Estate\nmetadata:\n  name: bench\n  description: Synthetic estate generated by bench/generateEstate.mjs (seed ${seed})\nspec:\n  environments: [dev, staging, prod]\n`)}`);
  // The file some hosts' /etc/motd comes from (`source: files/motd`).
  await w.write(`M 100644 inline files/motd\n${data('This host is managed by Estate: change it through Git.\n')}`);
  for (const [path, ids] of state.files) await w.write(`M 100644 inline ${path}\n${data(renderFile(ids, state.assets))}`);
  const initialFiles = state.files.size + 2;
  const generateMs = performance.now() - started;
  log(`  ${state.assets.size} assets in ${initialFiles} files (${Math.round(generateMs)} ms to model); writing ${commits} commits`);

  const it = history(state, commits, rnd);
  let mark = 1;
  let filesTouched = 0;
  for (let step = it.next(); ; step = it.next()) {
    if (step.done) {
      state.changes = step.value.changes;
      state.moves = step.value.moves;
      break;
    }
    const { author, message, touched } = step.value;
    when += 600 + Math.floor(rnd.next() * 7200);
    await w.write(`${header(++mark, author, message)}from :${mark - 1}\n`);
    for (const [path, op] of touched) {
      if (op === 'delete') await w.write(`D ${path}\n`);
      else await w.write(`M 100644 inline ${path}\n${data(renderFile(state.files.get(path), state.assets))}`);
    }
    filesTouched += touched.size;
    if (mark % 1000 === 0) log(`  ${mark}/${commits} commits`);
  }
  await w.write('done\n');
  await w.flush();
  child.stdin.end();
  await exited;
  // fast-import does not touch the index or work tree; HEAD already names refs/heads/main.

  const shas = new Map(
    readFileSync(marksFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const [m, sha] = line.split(' ');
        return [Number(m.slice(1)), sha];
      }),
  );
  const commitIds = Array.from({ length: commits }, (_, i) => shas.get(i + 1));
  const mostChanged = [...state.changes]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 20)
    .map(([id, changes]) => ({ id, changes, moves: state.moves.get(id) ?? 0, path: state.assets.get(id).path }));
  const byKind = {};
  for (const a of state.assets.values()) byKind[a.kind] = (byKind[a.kind] ?? 0) + 1;
  const manifest = {
    generator: { version: GENERATOR_VERSION, sourceHash: generatorHash() },
    params: { assets: total, commits, seed },
    head: commitIds[commitIds.length - 1],
    commits: commitIds,
    initial: { assets: total, files: initialFiles },
    final: { assets: state.assets.size, files: state.files.size + 1, byKind },
    history: { filesTouched, averageFilesPerCommit: commits > 1 ? +(filesTouched / (commits - 1)).toFixed(2) : 0 },
    mostChanged,
    streamBytes: w.bytes,
    durationMs: Math.round(performance.now() - started),
    checkedOut: false,
  };
  if (options.checkout) await checkoutEstate(out, manifest);
  writeFileSync(join(gitDir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

/** Fills the work tree and index from HEAD (once); records the time it took in the manifest. */
export async function checkoutEstate(out, manifest) {
  const started = performance.now();
  git(out, ['reset', '-q', '--hard', 'HEAD']);
  manifest.checkedOut = true;
  manifest.checkoutMs = Math.round(performance.now() - started);
  writeFileSync(join(out, '.git', MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

/** The manifest of a finished generation at `out`, or undefined. */
export function readManifest(out) {
  const file = join(resolve(out), '.git', MANIFEST);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Hash of this file: a cached repo made by another version of the generator is regenerated. */
export function generatorHash() {
  return createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url))).digest('hex').slice(0, 12);
}

function git(cwd, args) {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function parseArgs(argv) {
  const options = { assets: 10_000, commits: 100, out: undefined, seed: 1, checkout: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--assets') options.assets = Number(value());
    else if (arg === '--commits') options.commits = Number(value());
    else if (arg === '--seed') options.seed = Number(value());
    else if (arg === '--out') options.out = value();
    else if (arg === '--checkout') options.checkout = true;
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: node bench/generateEstate.mjs --assets N --commits M --out DIR [--seed S] [--checkout]');
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  if (!options.out) throw new Error('--out DIR is required');
  return options;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const options = parseArgs(process.argv.slice(2));
    console.log(`generating ${options.assets} assets, ${options.commits} commits (seed ${options.seed}) in ${options.out}`);
    const manifest = await generateEstate({ ...options, log: (s) => console.log(s) });
    console.log(
      `done in ${manifest.durationMs} ms: ${manifest.final.assets} assets in ${manifest.final.files} files at ${manifest.head.slice(0, 12)}` +
        `; most changed: ${manifest.mostChanged[0]?.id} (${manifest.mostChanged[0]?.changes} changes, ${manifest.mostChanged[0]?.moves} moves)`,
    );
  } catch (error) {
    console.error(`error: ${error.message}`);
    process.exitCode = 2;
  }
}
