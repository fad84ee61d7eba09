/**
 * Crash safety of report ingestion (issue 6, "Done when"): the real server (tests/fleet/
 * crashServer.mjs, startServer with a processor that writes one row per applied report into a
 * table without a unique constraint) is killed with SIGKILL at random moments while a fleet of
 * hosts posts reports, and restarted, round after round. Each host sends its reports in seq order
 * and retries an unacknowledged one with the same reportId until it gets a 202, as the agent does;
 * now and then it sends an acknowledged report again. At the end every acknowledged report has
 * exactly one effect row, none more, and each host's observation is its highest acknowledged seq.
 *
 * The kill moments and pauses come from a seeded generator; the seed is printed, and
 * `ESTATE_CRASH_SEED=<seed>` replays the schedule (`ESTATE_CRASH_ROUNDS` changes the number of kills).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { assertBuilt, ESTATE_YAML, hostYaml, makeRepo, makeTempDir, removeTempDirs, ROOT, testEnv } from '../cli/helpers.js';

const ROUNDS = Number(process.env.ESTATE_CRASH_ROUNDS ?? 20);
const SEED = process.env.ESTATE_CRASH_SEED !== undefined ? Number(process.env.ESTATE_CRASH_SEED) : Math.floor(Math.random() * 2 ** 31);
const HOSTS = 200;
/** A host waits this long (uniform, ms) between two reports: about 700 reports/s for the fleet. */
const PAUSE_MS = [100, 500] as const;
/**
 * A round lets the restarted server acknowledge this many reports (so that every kill lands
 * among reports being queued and applied, however slow the machine), then kills it a random
 * moment later: uniform in KILL_AFTER_MS.
 */
const ACKS_PER_ROUND = 20;
const KILL_AFTER_MS = [0, 300] as const;
/** Share of acknowledged reports a host sends once more (a lost answer, as the agent sees it). */
const RESEND_SHARE = 0.05;
const SCRIPT = join(ROOT, 'tests/fleet/crashServer.mjs');
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** mulberry32: a small seeded generator of floats in [0, 1). */
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

/** A ULID-shaped id for report `seq` of host number `host`. */
function reportId(host: number, seq: number): string {
  let tail = '';
  for (let i = 0, v = host * 1_000_000 + seq; i < 16; i++, v = Math.floor(v / 32)) tail = CROCKFORD[v % 32] + tail;
  return '01JDQ00000' + tail;
}

interface Running {
  url: string;
  token: string;
  child: ChildProcess;
  exited: Promise<void>;
}

const children = new Set<ChildProcess>();
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  removeTempDirs();
});

/**
 * Loads a crash server (node and the server's modules) without starting it: `start()` starts it
 * and resolves once it printed its URL and token. Loading the next one while the current one runs
 * keeps a round short.
 */
function loadCrashServer(data: string, source: string): { start(): Promise<Running> } {
  const child = spawn(process.execPath, [SCRIPT, data, String(HOSTS), source], { env: testEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  const running = listening(child);
  return {
    start() {
      child.stdin!.write('start\n');
      return running;
    },
  };
}

function listening(child: ChildProcess): Promise<Running> {
  let stdout = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  void exited.then(() => children.delete(child));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the crash server printed nothing within 60 s:\n${stderr}`)), 60_000);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (line === undefined || !stdout.includes('\n')) return;
      clearTimeout(timer);
      const { url, token } = JSON.parse(line) as { url: string; token: string };
      resolve({ url, token, child, exited });
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the crash server exited before it listened:\n${stderr}`));
    });
  });
}

describe('report ingestion survives SIGKILL', () => {
  it(`applies every acknowledged report exactly once across ${ROUNDS} kills of the server`, async () => {
    assertBuilt();
    console.log(`ingestCrash: seed ${SEED} (replay with ESTATE_CRASH_SEED=${SEED}), ${ROUNDS} kills`);
    const random = seededRandom(SEED);
    const between = ([low, high]: readonly [number, number]): number => low + random() * (high - low);
    const declared = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`assets/hosts/host-00${i}.yaml`, hostYaml(`host-00${i}`, `10.0.0.${i + 1}`)]));
    const source = makeRepo({ 'estate.yaml': ESTATE_YAML, ...declared });
    const data = join(makeTempDir('estate-ingest-crash-'), 'data');

    let server = await loadCrashServer(data, source).start();
    let next = loadCrashServer(data, source);
    /** Resolves with the server that is up; replaced while one is down. */
    let up: Promise<Running> = Promise.resolve(server);
    let stopping = false;
    /** Highest acknowledged seq per host, and every acknowledged report id. */
    const ackedSeq = new Map<string, number>();
    const acked = new Set<string>();
    let sent = 0;
    let retries = 0;
    let resends = 0;

    /** Posts one report until a 202; tells whether the answer called it a duplicate. */
    async function deliver(body: string, id: string): Promise<boolean> {
      for (;;) {
        const { url, token } = await up;
        sent++;
        try {
          const response = await fetch(`${url}/api/v1/reports`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
          const answer = (await response.json()) as { reportId?: string; duplicate?: boolean; error?: { code: string } };
          if (response.status === 202) {
            expect(answer.reportId).toBe(id);
            return answer.duplicate === true;
          }
          // 503 while the server shuts down or starts, 429 when the backlog is full: retried.
          expect([429, 503], JSON.stringify(answer)).toContain(response.status);
        } catch (error) {
          if (error instanceof Error && error.name === 'AssertionError') throw error;
          // The connection failed: the server is down (or died while answering).
        }
        retries++;
        await new Promise((resolve) => setTimeout(resolve, 20 + random() * 50));
      }
    }

    async function host(index: number): Promise<void> {
      const name = `host-${String(index).padStart(3, '0')}`;
      for (let seq = 1; !stopping; seq++) {
        const id = reportId(index, seq);
        const body = JSON.stringify({ reportId: id, host: name, seq, collectedAt: new Date().toISOString(), facts: { hostname: name, cpus: 2, packages: { app: `1.${seq}` } } });
        // A first delivery may be answered as a duplicate: an earlier attempt was stored, its answer lost to a kill.
        await deliver(body, id);
        acked.add(id);
        ackedSeq.set(name, seq);
        if (random() < RESEND_SHARE) {
          resends++;
          expect(await deliver(body, id)).toBe(true);
        }
        await new Promise((resolve) => setTimeout(resolve, between(PAUSE_MS)));
      }
    }

    const fleet = Promise.all(Array.from({ length: HOSTS }, (_, i) => host(i)));
    fleet.catch(() => undefined); // awaited below; a failed assertion must not surface as unhandled first
    let kills = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const target = acked.size + ACKS_PER_ROUND;
      while (acked.size < target) await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setTimeout(resolve, between(KILL_AFTER_MS)));
      let restarted!: (running: Running) => void;
      up = new Promise((resolve) => (restarted = resolve));
      server.child.kill('SIGKILL');
      await server.exited;
      kills++;
      server = await next.start();
      restarted(server);
      if (round < ROUNDS - 1) next = loadCrashServer(data, source);
    }
    stopping = true;
    await fleet;
    server.child.kill('SIGTERM');
    await server.exited;

    const db = new Database(join(data, 'ingest.db'), { readonly: true });
    try {
      const effects = db.prepare('SELECT report_id AS id, count(*) AS n FROM crash_effects GROUP BY report_id').all() as Array<{ id: string; n: number }>;
      const doubled = effects.filter((e) => e.n !== 1);
      const unasked = effects.filter((e) => !acked.has(e.id));
      const missing = [...acked].filter((id) => !effects.some((e) => e.id === id));
      console.log(`ingestCrash: ${kills} kills, ${acked.size} reports acknowledged, ${sent} requests (${retries} retries, ${resends} resends of acknowledged reports), ${effects.length} effects`);
      expect(kills).toBeGreaterThanOrEqual(20);
      expect(acked.size).toBeGreaterThan(HOSTS * 3);
      expect({ doubled, unasked, missing: missing.slice(0, 10), missingCount: missing.length }).toEqual({ doubled: [], unasked: [], missing: [], missingCount: 0 });
      expect(db.prepare(`SELECT state, count(*) AS n FROM ingest_reports GROUP BY state`).all()).toEqual([{ state: 'done', n: acked.size }]);
      expect(db.prepare('SELECT count(*) AS n FROM ingest_dead_letters').get()).toEqual({ n: 0 });
      const observed = new Map((db.prepare('SELECT host, seq, report_id FROM host_observations').all() as Array<{ host: string; seq: number; report_id: string }>).map((o) => [o.host, o]));
      expect(observed.size).toBe(HOSTS);
      for (const [name, seq] of ackedSeq) {
        expect(observed.get(name), name).toEqual({ host: name, seq, report_id: reportId(Number(name.slice(5)), seq) });
      }
    } finally {
      db.close();
    }
  }, 180_000);
});
