/**
 * Crash safety of merges (issue 4): the real `estate serve` is killed with SIGKILL at random
 * moments while change requests merge, round after round. After each kill, main must be the old
 * commit or a chain of whole merge commits of our change requests, `git fsck` must be clean, and
 * the restarted server must agree with the repo: merge records, provenance and read model.
 *
 * The kill moments come from a seeded generator; the seed is printed, and
 * `ESTATE_CRASH_SEED=<seed>` replays a run (`ESTATE_CRASH_ROUNDS` changes the number of rounds).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDataStore } from '@estate/server';
import { assertBuilt, BIN, estateAll, makeRepo, makeTempDir, removeTempDirs, testEnv } from '../cli/helpers.js';
import { getJson, waitFor, type JsonBody } from './helpers.js';
import { dumpStore } from './storeDump.js';

const ROUNDS = Number(process.env.ESTATE_CRASH_ROUNDS ?? 20);
const SEED = process.env.ESTATE_CRASH_SEED !== undefined ? Number(process.env.ESTATE_CRASH_SEED) : Math.floor(Math.random() * 2 ** 31);
/**
 * Merges fired per round: the change requests a kill left unmerged, topped up with new ones (few
 * active change requests keep the rechecks that follow every move of main cheap).
 */
const FIRED_PER_ROUND = 3;
/**
 * The kill comes a random moment after the merge calls go out: up to this long, or up to the time
 * the first {@link KILL_WINDOW_MERGES} merges take (measured on a first merge) when that is
 * longer, so that on a slow or busy machine kills still land among the merges, not only before.
 */
const MIN_KILL_WINDOW_MS = 300;
const KILL_WINDOW_MERGES = 3;

const POLICY = `apiVersion: estate/v1
kind: ApprovalPolicy
metadata: {name: default}
spec:
  rules:
    - name: every-change
      match: {}
      risk: medium
      approvals: 1
`;

const ESTATE = `apiVersion: estate/v1
kind: Estate
metadata:
  name: crash
spec:
  environments: [dev, prod]
`;

/** mulberry32: a small seeded generator of floats in [0, 1), enough to replay kill moments. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A served estate whose process group we own: the kill hits the server, the wait covers its git children. */
interface CrashableServer {
  url: string;
  stderr(): string;
  /** SIGKILL to the server process only, then waits until every process of its group is gone. */
  kill(): Promise<void>;
  /** SIGTERM, and waits for the same. */
  stop(): Promise<void>;
}

const running = new Set<number>();

/**
 * Starts `estate serve` as the leader of a new process group (like `serveEstate` of the CLI
 * helpers, which keeps the pid to itself). Git commands the server runs belong to that group, so
 * after the server dies the test can wait for a `git update-ref` it left running to finish
 * before reading main.
 */
function serve(args: string[], cwd: string): Promise<CrashableServer> {
  assertBuilt();
  const child = spawn(process.execPath, [BIN, 'serve', ...args, '--port', '0'], { cwd, env: testEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const pid = child.pid!;
  running.add(pid);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
    await waitFor(`the processes of server ${pid} to end`, async () => (groupAlive(pid) ? undefined : true), 10_000, 5);
    running.delete(pid);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`estate serve printed no URL within 20 s:\n${stdout}\n${stderr}`)), 20_000);
    child.stdout.on('data', () => {
      const url = /^(https?:\/\/\S+)$/m.exec(stdout)?.[1];
      if (url === undefined) return;
      clearTimeout(timer);
      resolve({ url, stderr: () => stderr, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') });
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`estate serve exited before printing its URL:\n${stdout}\n${stderr}`));
    });
  });
}

/**
 * True while a process of the group led by `pgid` runs. Children the dead server left are
 * reparented to init, which may reap them late: zombies (state Z in /proc/<pid>/stat, proc(5))
 * no longer count. Without /proc, any member counts.
 */
function groupAlive(pgid: number): boolean {
  if (existsSync('/proc/self/stat')) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      } catch {
        continue; // ended meanwhile
      }
      // After "pid (comm) ": state, ppid, pgrp; comm may hold spaces and parentheses.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') return true;
    }
    return false;
  }
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

afterAll(() => {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  removeTempDirs();
});

/** git in `dir`; returns trimmed stdout, fails with git's stderr. */
function git(dir: string, ...args: string[]): string {
  const child = spawnSync('git', args, { cwd: dir, env: testEnv(), encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`git ${args.join(' ')} failed (${child.status}): ${child.stderr}`);
  return child.stdout.trim();
}

async function call(method: string, url: string, token: string, body?: unknown): Promise<{ status: number; body: JsonBody }> {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** A new host, so that change requests never conflict and each one is a fresh file. */
function newHost(round: number, k: number): unknown {
  const name = `n-${round}-${k}`;
  return {
    op: 'put',
    asset: { apiVersion: 'estate/v1', kind: 'Host', metadata: { name, labels: { env: 'dev' } }, spec: { hostname: `${name}.example.com`, ip: `10.${round}.${k}.10`, os: 'debian-12' } },
  };
}

describe('merges survive SIGKILL', () => {
  it(`main is the old or a new merge commit, fsck is clean, and the restarted server agrees with the repo (${ROUNDS} kills)`, async () => {
    console.log(`mergeCrash: seed ${SEED} (replay with ESTATE_CRASH_SEED=${SEED}), ${ROUNDS} rounds`);
    const random = seededRandom(SEED);
    const work = makeTempDir('estate-crash-');
    const source = makeRepo({ 'estate.yaml': ESTATE, 'policies/default.yaml': POLICY, 'assets/hosts/web-01.yaml': hostFile('web-01') });
    const data = join(work, 'data');
    const bare = join(data, 'estate.git');

    let server = await serve(['--data', data, '--import', source], work);
    const [alice, bob] = (
      await estateAll([
        [['token', 'create', '--data', data, '--name', 'alice', '--role', 'editor'], { cwd: work }],
        [['token', 'create', '--data', data, '--name', 'bob', '--role', 'approver'], { cwd: work }],
      ])
    ).map((r) => {
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.trim();
    }) as [string, string];
    const start = git(bare, 'rev-parse', 'refs/heads/main');
    await waitReady(server.url, start);

    /** Every merge commit on main since the start, by change request, and back. */
    const landedSha = new Map<number, string>();
    const landedId = new Map<string, number>();
    let leftovers: number[] = [];
    const stats = { fired: 0, acknowledged: 0, landedUnacknowledged: 0, cut: 0, recoveredIntents: 0, roundsMainMoved: 0 };

    // Two merges without a kill: the happy path, and (the second, with warm caches) how long one
    // merge takes here and now.
    let mergeMs = 0;
    for (const k of [0, 1]) {
      const opened = await call('POST', `${server.url}/api/v1/changes`, alice, { title: `add n-0-${k}`, operations: [newHost(0, k)] });
      expect(opened.status, JSON.stringify(opened.body)).toBe(201);
      const approval = await call('POST', `${server.url}/api/v1/changes/${opened.body.id}/approve`, bob);
      expect(approval.body.state, JSON.stringify(approval.body.blockers)).toBe('approved');
      const timed = performance.now();
      const merged = await call('POST', `${server.url}/api/v1/changes/${opened.body.id}/merge`, alice, {});
      mergeMs = performance.now() - timed;
      expect(merged.status, JSON.stringify(merged.body)).toBe(200);
      expect(git(bare, 'rev-parse', 'refs/heads/main')).toBe(merged.body.merged.sha);
      landedSha.set(opened.body.id, merged.body.merged.sha);
      landedId.set(merged.body.merged.sha, opened.body.id);
    }
    console.log(`mergeCrash: one merge takes ${Math.round(mergeMs)} ms here`);

    for (let round = 1; round <= ROUNDS; round++) {
      const window = Math.max(MIN_KILL_WINDOW_MS, Math.round(Math.min(FIRED_PER_ROUND, KILL_WINDOW_MERGES) * mergeMs));
      const delay = Math.floor(random() * (window + 1));
      const context = `round ${round} (seed ${SEED}, kill after ${delay} ms of ${window})`;

      // Open and approve this round's change requests.
      const opened = await Promise.all(
        Array.from({ length: Math.max(0, FIRED_PER_ROUND - leftovers.length) }, (_, k) => call('POST', `${server.url}/api/v1/changes`, alice, { title: `add n-${round}-${k}`, operations: [newHost(round, k)] })),
      );
      for (const answer of opened) expect(answer.status, `${context}: ${JSON.stringify(answer.body)}`).toBe(201);
      const fresh = opened.map((a) => a.body.id as number);
      const approved = await Promise.all(fresh.map((id) => call('POST', `${server.url}/api/v1/changes/${id}/approve`, bob)));
      for (const answer of approved) expect(answer.body.state, `${context}: ${JSON.stringify(answer.body.blockers)}`).toBe('approved');

      // Fire every merge at once and kill the server a random moment later.
      const firing = [...leftovers, ...fresh];
      const before = git(bare, 'rev-parse', 'refs/heads/main');
      const answers = firing.map((id) =>
        call('POST', `${server.url}/api/v1/changes/${id}/merge`, alice, {}).then(
          (answer) => ({ id, answer }),
          (error: unknown) => ({ id, error }),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
      await server.kill();
      const settled = await Promise.all(answers);
      stats.fired += firing.length;

      // Main is the old commit, or whole merge commits of change requests we fired, in a line.
      const main = git(bare, 'rev-parse', 'refs/heads/main');
      expect(spawnSync('git', ['merge-base', '--is-ancestor', before, main], { cwd: bare, env: testEnv() }).status, `${context}: main ${main} does not descend from ${before}`).toBe(0);
      const chain = main === before ? [] : git(bare, 'rev-list', '--reverse', '--parents', `${before}..${main}`).split('\n');
      const landedNow = new Map<number, string>();
      for (const line of chain) {
        const [sha, ...parents] = line.split(' ');
        expect(parents, `${context}: ${sha} is not a one-parent commit`).toHaveLength(1);
        const trailer = git(bare, 'log', '-1', '--format=%(trailers:key=Change-Request,valueonly)', sha!).trim();
        const id = Number(trailer);
        expect(firing, `${context}: ${sha} has the trailer 'Change-Request: ${trailer}', not one of the change requests fired`).toContain(id);
        expect(landedSha.has(id) || landedNow.has(id), `${context}: change request ${id} reached main twice`).toBe(false);
        landedNow.set(id, sha!);
      }
      const fsck = spawnSync('git', ['fsck', '--no-dangling'], { cwd: bare, env: testEnv(), encoding: 'utf8' });
      expect(fsck.status, `${context}: git fsck: ${fsck.stdout}${fsck.stderr}`).toBe(0);

      // An answered merge is never lost; any other answer than a merge or a cut connection is a defect.
      for (const result of settled) {
        if ('error' in result) continue;
        expect(result.answer.status, `${context}: merge of ${result.id}: ${JSON.stringify(result.answer.body)}`).toBe(200);
        expect(landedNow.get(result.id), `${context}: merge of ${result.id} was acknowledged as ${result.answer.body.merged?.sha} but is not on main`).toBe(result.answer.body.merged.sha);
        stats.acknowledged++;
      }
      stats.landedUnacknowledged += landedNow.size - settled.filter((r) => !('error' in r)).length;
      stats.cut += firing.length - landedNow.size;
      if (landedNow.size > 0) stats.roundsMainMoved++;
      for (const [id, sha] of landedNow) {
        landedSha.set(id, sha);
        landedId.set(sha, id);
      }

      // Restart on the same data dir while a copy of the repo is reindexed from scratch.
      const rebuilt = join(work, `rebuilt-${round}`);
      cpSync(bare, join(rebuilt, 'estate.git'), { recursive: true });
      const [restarted, [reindexed]] = await Promise.all([serve(['--data', data], work), estateAll([[['reindex', '--data', rebuilt], { cwd: work }]])]);
      server = restarted;
      expect(reindexed!.status, reindexed!.stderr).toBe(0);
      await waitReady(server.url, main);
      stats.recoveredIntents += (server.stderr().match(/which reached main before the server stopped/g) ?? []).length;

      // Every change request whose commit is on main is merged with that commit; the others are not.
      for (const id of firing) {
        const change = await call('GET', `${server.url}/api/v1/changes/${id}`, alice);
        if (landedNow.has(id)) {
          expect(change.body, `${context}: change request ${id}`).toMatchObject({ state: 'merged', merged: { sha: landedNow.get(id) } });
        } else {
          expect(['open', 'approved'], `${context}: change request ${id} is ${change.body.state} but not on main`).toContain(change.body.state);
          expect(change.body.merged, `${context}: change request ${id}`).toBeUndefined();
        }
      }
      const merged = await call('GET', `${server.url}/api/v1/changes?state=merged&limit=1000`, alice);
      expect(new Map(merged.body.items.map((c: JsonBody) => [c.id, c.merged.sha])), context).toEqual(landedSha);

      // Provenance names the change request of every commit since the start, and no other.
      const provenance = await call('GET', `${server.url}/api/v1/provenance?limit=1000`, alice);
      const governed = provenance.body.items.filter((item: JsonBody) => item.sha !== start);
      expect(governed.map((item: JsonBody) => [item.sha, item.status, item.change?.id]), context).toEqual(
        [...landedId].reverse().map(([sha, id]) => [sha, 'change-request', id]),
      );

      // The read model the restarted server built equals one rebuilt from the repo alone.
      const live = await openDataStore(data);
      const fromScratch = await openDataStore(rebuilt);
      try {
        expect(await dumpStore(live, { every: 3 }), `${context}: read model after restart vs reindex`).toEqual(await dumpStore(fromScratch, { every: 3 }));
      } finally {
        await live.close();
        await fromScratch.close();
      }
      rmSync(rebuilt, { recursive: true, force: true });

      // What the kill cut off is merged in the next round (it must still be approved).
      leftovers = [];
      for (const id of firing.filter((id) => !landedNow.has(id))) {
        const change = await call('GET', `${server.url}/api/v1/changes/${id}`, alice);
        if (change.body.state === 'approved') leftovers.push(id);
      }
    }
    await server.stop();
    console.log(`mergeCrash: ${JSON.stringify(stats)}`);

    // The kills must have cut merges and let others through, or the rounds proved nothing.
    expect(stats.roundsMainMoved, 'no merge ever landed before a kill').toBeGreaterThan(0);
    expect(stats.cut, 'no kill ever cut a merge').toBeGreaterThan(0);
  }, 400_000);
});

function hostFile(name: string): string {
  return `apiVersion: estate/v1
kind: Host
metadata:
  name: ${name}
  labels: {env: dev}
spec:
  hostname: ${name}.example.com
  ip: 10.0.0.1
`;
}

/** Waits until the server is ready with main's head `sha` indexed. */
async function waitReady(url: string, sha: string): Promise<void> {
  await waitFor(`the server to be ready at ${sha}`, async () => {
    const ready = await getJson(`${url}/readyz`);
    return ready.status === 200 && ready.body.state === 'ready' && ready.body.head?.sha === sha ? true : undefined;
  }, 30_000, 20);
}
