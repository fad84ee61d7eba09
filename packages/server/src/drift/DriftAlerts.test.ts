import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../auth/tokens.js';
import { startServer, type RunningServer, type ServeOptions } from '../server.js';
import { callJson } from '../testing/callJson.js';
import { hostYaml, makeTestRepo, type TestRepo } from '../testing/gitRepo.js';
import { verifyWebhookSignature } from '../webhooks/signWebhookBody.js';
import { Receiver } from '../webhooks/testReceiver.js';
import { SqliteIngestStore } from '../ingest/SqliteIngestStore.js';
import { DriftAlerts, DRIFT_ALERT_TYPES, isRedactedField, REDACTED, redactValue } from './DriftAlerts.js';
import { DriftStore } from './DriftStore.js';
import { driftAtHead, eventually } from '../testing/eventually.js';

const SECRET = 'drift-alerts-webhook-secret';
const MOTD = 'managed by estate\n';
const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
const PACKAGES = Array.from({ length: 50 }, (_, i) => `pkg${String(i).padStart(2, '0')}`);
const RATE_PACKAGES = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'];

const HOSTS: Record<string, string> = {
  'assets/hosts/web-01.yaml': hostYaml('web-01', {
    extra: `  packages: {nginx: ">=1.22"}
  files:
    - {path: /etc/motd, content: ${JSON.stringify(MOTD)}, mode: "0644", owner: root}
    - {path: /etc/app/secret.env, content: "TOKEN=x\\n", mode: "0600", owner: root}
`,
  }),
  'assets/hosts/web-02.yaml': hostYaml('web-02', { ip: '10.0.0.2', extra: '  packages: {nginx: ">=1.22"}\n' }),
  'assets/hosts/burst-01.yaml': hostYaml('burst-01', { ip: '10.0.0.3', extra: `  packages: {${PACKAGES.map((p) => `${p}: "1.0"`).join(', ')}}\n` }),
  'assets/hosts/rate-01.yaml': hostYaml('rate-01', { ip: '10.0.0.4', extra: `  packages: {${RATE_PACKAGES.map((p) => `${p}: "1.0"`).join(', ')}}\n` }),
};

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let ids = 0;
const seqs = new Map<string, number>();
function report(host: string, facts: Record<string, unknown>): Record<string, unknown> {
  const seq = (seqs.get(host) ?? 0) + 1;
  seqs.set(host, seq);
  return { reportId: `01JDQ2${String(++ids).padStart(20, '0')}`, host, seq, collectedAt: new Date().toISOString(), facts };
}

/** A test server with drift alerts on short windows, its receivers and a clock the test moves. */
class Harness {
  source!: TestRepo;
  data!: string;
  server!: RunningServer;
  agent!: string;
  readonly estate = new Receiver();
  readonly slack = new Receiver();
  /** Added to the alerter's clock: moves it past rate-limit minutes, flap windows and stale thresholds. */
  offset = 0;
  private readDb!: Database.Database;

  options(): ServeOptions {
    return {
      dataDir: this.data,
      port: 0,
      pollMs: 100,
      drift: { staleAfterMs: 86_400_000 },
      // The failing processor runs in-process only.
      ingestThread: false,
      ingest: {
        processors: [
          (r) => {
            if (r.host === 'bad-01') throw new Error('cannot apply this report');
          },
        ],
      },
      alerts: { pollMs: 20, groupWindowMs: 150, stalePollMs: 50, maxPerMinute: 5, now: () => Date.now() + this.offset },
    };
  }

  async start(alerts: ServeOptions['alerts'] = {}): Promise<void> {
    if (!this.source) {
      this.source = makeTestRepo('estate-alerts-');
      this.source.commit('hosts', HOSTS);
      this.data = mkdtempSync(join(tmpdir(), 'estate-alerts-data-'));
      await this.estate.listen();
      await this.slack.listen();
    }
    const first = !this.server;
    const options = this.options();
    this.server = await startServer({ ...options, ...(first ? { importFrom: this.source.dir } : {}), alerts: { ...options.alerts, ...alerts } });
    if (first) {
      this.agent = (await issueToken(this.server.store, { name: 'fleet', role: 'agent', scopes: { hosts: ['web-01', 'web-02', 'burst-01', 'rate-01', 'bad-01'] } })).token;
      this.server.webhooks.create({ url: this.estate.url, secret: SECRET, events: ['drift.*', 'host.*', 'ingest.*'] });
      this.server.webhooks.create({ url: this.slack.url, secret: SECRET, events: ['drift.opened'], format: 'slack' });
    }
    await this.server.indexer.sync();
    await driftAtHead(this.server);
    this.readDb = new Database(join(this.data, 'ingest.db'), { readonly: true });
  }

  async stop(): Promise<void> {
    this.readDb.close();
    await this.server.close();
  }

  async remove(): Promise<void> {
    await this.estate.close();
    await this.slack.close();
    rmSync(this.data, { recursive: true, force: true });
    this.source.remove();
  }

  async post(body: Record<string, unknown>): Promise<void> {
    expect((await callJson('POST', `${this.server.url}/api/v1/reports`, this.agent, body)).status).toBe(202);
  }

  /** Events of the drift log, in order. */
  events(): Array<{ id: number; type: string; asset: string | null; field: string | null }> {
    return this.readDb.prepare('SELECT id, type, asset, field FROM drift_events ORDER BY id').all() as Array<{ id: number; type: string; asset: string | null; field: string | null }>;
  }

  /** Waits until the report `reportId` has produced an event of `type` (or been dead-lettered). */
  async applied(reportId: unknown, type: string): Promise<void> {
    await eventually(
      async () =>
        type === 'ingest.dead_letter'
          ? this.readDb.prepare('SELECT 1 FROM ingest_dead_letters WHERE report_id = ?').get(reportId)
          : this.readDb.prepare('SELECT 1 FROM drift_events WHERE report_id = ? AND type = ?').get(reportId, type),
      (row) => row !== undefined,
    );
  }

  /** Waits until the alerter has handled every event and dead letter, and the deliveries it made are sent. */
  async settled(): Promise<void> {
    const state = (name: string): number => Number((this.readDb.prepare('SELECT value FROM drift_alert_state WHERE name = ?').get(name) as { value: string } | undefined)?.value ?? 0);
    await eventually(
      async () => {
        const behind = this.readDb
          .prepare(`SELECT count(*) AS n FROM drift_events WHERE id > ? AND type IN (SELECT value FROM json_each(?))`)
          .get(state('cursor'), JSON.stringify(DRIFT_ALERT_TYPES)) as { n: number };
        const letters = this.readDb.prepare('SELECT count(*) AS n FROM ingest_dead_letters WHERE id > ?').get(state('deadLetterCursor')) as { n: number };
        const outbox = this.readDb.prepare('SELECT count(*) AS n FROM drift_alert_outbox').get() as { n: number };
        const pending = this.server.webhooks.list().flatMap((hook) => this.server.webhooks.deliveries(hook.id, { limit: 1000 })).filter((d) => d.state === 'pending');
        return behind.n + letters.n + outbox.n + pending.length;
      },
      (n) => n === 0,
    );
  }

  /** The alerts the estate-format receiver got, of one type. */
  alerts(type: string): Body[] {
    return this.estate.bodies().filter((b) => b['type'] === type) as Body[];
  }

  /** Moves the alerter's clock past the rate limit's minute. */
  nextMinute(): void {
    this.offset += 61_000;
  }
}

const h = new Harness();

describe('drift alerts over webhooks', () => {
  beforeAll(async () => h.start());
  afterAll(async () => {
    await h.stop();
    await h.remove();
  });

  it('sends one signed drift.opened with the evidence, file contents and secret-looking fields redacted, and a slack message', async () => {
    const hacked = 'hacked TOKEN=42\n';
    const r = report('web-01', {
      packages: { nginx: '1.18.0-6' },
      files: {
        '/etc/motd': { sha256: sha(hacked), mode: '0644', owner: 'root:root', size: hacked.length, content: hacked },
        '/etc/app/secret.env': { sha256: sha('TOKEN=x\n'), mode: '0644', owner: 'root:root', size: 8 },
      },
    });
    await h.post(r);
    await h.applied(r['reportId'], 'drift.opened');
    await h.settled();

    const [alert, ...others] = h.alerts('drift.opened');
    expect(others).toEqual([]);
    expect(alert!['data']['count']).toBe(3);
    const byField = Object.fromEntries((alert!['data']['items'] as Body[]).map((item) => [item['field'], item]));
    expect(Object.keys(byField).sort()).toEqual(['/spec/files/~1etc~1app~1secret.env/mode', '/spec/files/~1etc~1motd/content', '/spec/packages/nginx']);
    expect(byField['/spec/packages/nginx']).toEqual({
      eventId: expect.any(Number),
      at: r['collectedAt'],
      asset: 'host/web-01',
      host: 'web-01',
      field: '/spec/packages/nginx',
      declared: '>=1.22',
      observed: '1.18.0-6',
      commit: h.server.drift.commit!.sha,
      reportId: r['reportId'],
      firstSeen: r['collectedAt'],
      url: `${h.server.url}/api/v1/drift?asset=host%2Fweb-01&state=all`,
    });
    expect(byField['/spec/files/~1etc~1motd/content']).toMatchObject({ declared: REDACTED, observed: REDACTED });
    expect(byField['/spec/files/~1etc~1app~1secret.env/mode']).toMatchObject({ declared: REDACTED, observed: REDACTED });
    expect(JSON.stringify(h.estate.bodies())).not.toMatch(/hacked|TOKEN|sha256:/);

    const request = h.estate.requests.find((q) => JSON.parse(q.body)['type'] === 'drift.opened')!;
    expect(verifyWebhookSignature(SECRET, request.body, request.headers['x-estate-signature-256'] as string)).toBe(true);
    expect(request.headers['x-estate-dedup-key']).toBe(alert!['dedupKey']);
    expect(alert!['dedupKey']).toMatch(/^drift-alert:[0-9a-f]{12}:\d+$/);

    expect(h.slack.requests).toHaveLength(1);
    const slack = JSON.parse(h.slack.requests[0]!.body) as Body;
    expect(Object.keys(slack).sort()).toEqual(['blocks', 'text']);
    expect(slack['text']).toBe('Drift opened: 3 fields on host/web-01');
    expect(JSON.stringify(slack['blocks'])).toContain('host/web-01 /spec/packages/nginx: declared \\"&gt;=1.22\\" → observed \\"1.18.0-6\\"');
    expect(JSON.stringify(slack['blocks'])).not.toMatch(/hacked|TOKEN/);
    expect(verifyWebhookSignature(SECRET, h.slack.requests[0]!.body, h.slack.requests[0]!.headers['x-estate-signature-256'] as string)).toBe(true);
  });

  it('alerts a flapping field once, and its resolution once it stays resolved past the window', async () => {
    h.nextMinute();
    const before = h.alerts('drift.opened').length;
    const steps: Array<[string, string]> = [
      ['1.18.0-6', 'drift.opened'],
      ['1.22.1-9', 'drift.resolved'],
      ['1.18.0-7', 'drift.opened'],
    ];
    for (const [version, type] of steps) {
      const r = report('web-02', { packages: { nginx: version } });
      await h.post(r);
      await h.applied(r['reportId'], type);
      await h.settled();
    }
    const opened = h.alerts('drift.opened').slice(before);
    expect(opened.flatMap((a) => a['data']['items'].map((i: Body) => [i['asset'], i['field'], i['observed']]))).toEqual([['host/web-02', '/spec/packages/nginx', '1.18.0-6']]);
    expect(h.alerts('drift.resolved')).toEqual([]);
    // drift.changed is not alerted either.
    const changed = report('web-02', { packages: { nginx: '1.18.0-8' } });
    await h.post(changed);
    await h.applied(changed['reportId'], 'drift.changed');
    await h.settled();
    expect(h.alerts('drift.opened').slice(before)).toHaveLength(1);

    // Past the flap window, a resolution is alerted at once.
    h.offset += 11 * 60_000;
    const fixed = report('web-02', { packages: { nginx: '1.22.1-9' } });
    await h.post(fixed);
    await h.applied(fixed['reportId'], 'drift.resolved');
    await h.settled();
    const [resolved, ...more] = h.alerts('drift.resolved');
    expect(more).toEqual([]);
    expect(resolved!['data']['items']).toEqual([expect.objectContaining({ asset: 'host/web-02', field: '/spec/packages/nginx', reason: 'converged', reportId: fixed['reportId'], firstSeen: expect.any(String) })]);
  });

  it('holds a quick resolution until the flap window ends, then alerts it', async () => {
    h.nextMinute();
    const open = report('web-02', { packages: { nginx: '1.10' } });
    await h.post(open);
    await h.applied(open['reportId'], 'drift.opened');
    const fixed = report('web-02', { packages: { nginx: '1.22.1-9' } });
    await h.post(fixed);
    await h.applied(fixed['reportId'], 'drift.resolved');
    await h.settled();
    const resolvedBefore = h.alerts('drift.resolved').length;
    h.offset += 11 * 60_000;
    await eventually(async () => h.alerts('drift.resolved').length, (n) => n === resolvedBefore + 1);
    expect(h.alerts('drift.resolved').at(-1)!['data']['items']).toEqual([expect.objectContaining({ asset: 'host/web-02', reportId: fixed['reportId'] })]);
  });

  it('groups a burst of 50 drifting fields into one or two deliveries', async () => {
    h.nextMinute();
    const before = h.alerts('drift.opened').length;
    const r = report('burst-01', { packages: Object.fromEntries(PACKAGES.map((p) => [p, '0.9'])) });
    await h.post(r);
    await h.applied(r['reportId'], 'drift.opened');
    await h.settled();
    const alerts = h.alerts('drift.opened').slice(before);
    expect(alerts.length).toBeGreaterThanOrEqual(1);
    expect(alerts.length).toBeLessThanOrEqual(2);
    const fields = alerts.flatMap((a) => a['data']['items'].map((i: Body) => i['field']));
    expect(fields.sort()).toEqual(PACKAGES.map((p) => `/spec/packages/${p}`));
    expect(alerts.reduce((sum, a) => sum + a['data']['count'], 0)).toBe(50);
  });

  it('sends at most maxPerMinute deliveries a minute and counts the rest in the next one as suppressed', async () => {
    h.nextMinute();
    const before = h.alerts('drift.opened').length;
    // Seven separate groups: five are sent within the minute, two are held back.
    for (let n = 1; n <= RATE_PACKAGES.length; n++) {
      const r = report('rate-01', { packages: Object.fromEntries(RATE_PACKAGES.map((p, i) => [p, i < n ? '0.1' : '1.0'])) });
      await h.post(r);
      await h.applied(r['reportId'], 'drift.opened');
      await h.settled();
    }
    const within = h.alerts('drift.opened').slice(before);
    expect(within).toHaveLength(5);
    expect(within.map((a) => a['data']['items'][0]['field'])).toEqual(RATE_PACKAGES.slice(0, 5).map((p) => `/spec/packages/${p}`));

    h.nextMinute();
    await eventually(async () => h.alerts('drift.opened').length, (n) => n === before + 6);
    const next = h.alerts('drift.opened').at(-1)!;
    expect(next['data']).toEqual({ count: 0, items: [], suppressed: 2 });
  });

  it('alerts host.stale once per stale episode', async () => {
    h.nextMinute();
    h.offset += 2 * 86_400_000;
    await eventually(async () => h.alerts('host.stale'), (alerts) => alerts.length > 0);
    await h.settled();
    const stale = h.alerts('host.stale').flatMap((a) => a['data']['items'] as Body[]);
    expect(stale.map((i) => i['asset']).sort()).toEqual(['host/burst-01', 'host/rate-01', 'host/web-01', 'host/web-02']);
    expect(stale.find((i) => i['asset'] === 'host/web-01')).toMatchObject({ host: 'web-01', reportId: expect.any(String), lastReportAt: expect.any(String) });

    // web-01 reports again: its episode ends; the next stale one is alerted, the others' go on silently.
    const again = report('web-01', { packages: { nginx: '1.22.1-9' } });
    await h.post(again);
    await h.applied(again['reportId'], 'drift.resolved');
    h.nextMinute();
    h.offset += 2 * 86_400_000;
    await eventually(async () => h.events().filter((e) => e.type === 'host.stale').length, (n) => n === 5);
    await h.settled();
    const later = h.alerts('host.stale').flatMap((a) => a['data']['items'] as Body[]);
    expect(later.map((i) => i['asset']).filter((a) => a === 'host/web-01')).toHaveLength(2);
    expect(later).toHaveLength(5);
  });

  it('alerts a report that went to the dead letters', async () => {
    h.nextMinute();
    const r = report('bad-01', { packages: { nginx: '1.0' } });
    await h.post(r);
    await h.applied(r['reportId'], 'ingest.dead_letter');
    await h.settled();
    const [alert] = h.alerts('ingest.dead_letter');
    expect(alert!['data']).toMatchObject({ count: 1 });
    expect(alert!['data']['items']).toEqual([
      {
        deadLetterId: expect.any(Number),
        host: 'bad-01',
        reportId: r['reportId'],
        seq: r['seq'],
        attempts: 3,
        reason: 'cannot apply this report',
        failedAt: expect.any(String),
        url: `${h.server.url}/api/v1/reports/dead-letters`,
      },
    ]);
  });

  it('after a restart, sends the events it had not flushed once, and an outbox row already dispatched not again', async () => {
    // Back to the real clock: no host is stale and the new run's rate limit has its whole minute.
    h.offset = 0;
    const sentBefore = h.estate.requests.length;
    await h.stop();
    // Nothing is flushed in this run: the group window outlasts it.
    await h.start({ groupWindowMs: 3_600_000 });
    const r = report('web-02', { packages: { nginx: '0.1' } });
    await h.post(r);
    await h.applied(r['reportId'], 'drift.opened');
    await h.stop();
    // A crash between a dispatch and the deletion of its outbox row leaves the row: put back the last one sent.
    const last = h.estate.bodies().at(-1)!;
    const id = Number(String(last['dedupKey']).split(':')[2]);
    const db = new Database(join(h.data, 'ingest.db'));
    db.prepare('INSERT INTO drift_alert_outbox (id, type, at, data) VALUES (?, ?, ?, ?)').run(id, last['type'], last['at'], JSON.stringify(last['data']));
    db.close();

    await h.start();
    await h.settled();
    const after = h.estate.bodies().slice(sentBefore);
    expect(after.map((b) => b['type'])).toEqual(['drift.opened']);
    expect((after[0]!['data'] as Record<string, unknown>)['items']).toEqual([expect.objectContaining({ asset: 'host/web-02', reportId: r['reportId'] })]);
    const keys = h.estate.bodies().map((b) => b['dedupKey']);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

/**
 * A drift store that notes, at each read of a page of events by a flush (not the one-event peeks),
 * whether another connection could take ingest.db's write lock (as the ingest thread would) and
 * how many turns the event loop had taken; `onPage` runs there too.
 */
class ObservedDriftStore extends DriftStore {
  readonly pages: Array<{ lockFree: boolean; turns: number }> = [];
  onPage: (page: number) => void = () => undefined;
  readonly #other: Database.Database;
  readonly #turns: () => number;

  constructor(db: Database.Database, other: Database.Database, turns: () => number) {
    super(db);
    this.#other = other;
    this.#turns = turns;
  }

  override events(query: Parameters<DriftStore['events']>[0]): ReturnType<DriftStore['events']> {
    if (query.limit > 1) {
      let lockFree = true;
      try {
        this.#other.exec('BEGIN IMMEDIATE');
        this.#other.exec('COMMIT');
      } catch {
        lockFree = false;
      }
      this.pages.push({ lockFree, turns: this.#turns() });
      this.onPage(this.pages.length);
    }
    return super.events(query);
  }
}

describe('a flush and the event loop', () => {
  let dir: string;
  let store: SqliteIngestStore;
  let other: Database.Database;
  let drift: ObservedDriftStore;
  let alerts: DriftAlerts;
  const dispatched: Array<{ type: string; data: Record<string, unknown> }> = [];
  let turns = 0;
  let spinning = true;
  const spin = (): void => {
    turns++;
    if (spinning) setImmediate(spin);
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'estate-alerts-loop-'));
    // No checkpoint thread: it could still be writing the files when the folder is removed.
    store = new SqliteIngestStore(join(dir, 'ingest.db'), { checkpoint: false });
    other = new Database(join(dir, 'ingest.db'), { timeout: 0 });
    drift = new ObservedDriftStore(store.db, other, () => turns);
    alerts = new DriftAlerts(
      { db: store.db, drift, engine: { stale: () => [] }, webhooks: { dispatch: (event) => dispatched.push({ type: event.type, data: event.data }) }, publicUrl: () => 'http://estate.test' },
      // A slice of 0 ms: the flush lets the loop run after every page.
      { pollMs: 5, groupWindowMs: 10, flapWindowMs: 60_000, sliceMs: 0 },
    );
    const at = new Date().toISOString();
    for (let i = 0; i < 1000; i++) drift.appendEvent({ at, type: 'drift.opened', asset: `host/h-${i}`, host: `h-${i}`, field: '/spec/packages/nginx', details: { declared: '1.22', observed: '1.24' } });
    // Opened and resolved at once: held for the flap window, not alerted yet.
    drift.appendEvent({ at, type: 'drift.resolved', asset: 'host/h-0', host: 'h-0', field: '/spec/packages/nginx', details: { declared: '1.22', observed: '1.22' } });
    spin();
  });
  afterAll(() => {
    spinning = false;
    alerts.stop();
    other.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cursor = (): number => Number((store.db.prepare(`SELECT value FROM drift_alert_state WHERE name = 'cursor'`).get() as { value: string }).value);

  it('stopped while deciding, writes nothing', async () => {
    const stopped = new Promise<void>((resolve) => {
      drift.onPage = (page) => {
        if (page === 2) {
          alerts.stop();
          resolve();
        }
      };
    });
    alerts.start();
    await stopped;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(drift.pages).toHaveLength(2);
    expect(cursor()).toBe(0);
    expect(store.db.prepare('SELECT count(*) AS n FROM drift_alert_keys').get()).toEqual({ n: 0 });
    expect(dispatched).toEqual([]);
  });

  it('decides a page at a time without the write lock, letting the loop run between pages, then writes what it decided', async () => {
    drift.pages.length = 0;
    drift.onPage = () => undefined;
    alerts.start();
    await eventually(
      () => dispatched.length,
      (n) => n > 0,
    );
    alerts.stop();
    // 1,001 events: four pages of 250 and one short.
    expect(drift.pages).toHaveLength(5);
    expect(drift.pages.every((page) => page.lockFree)).toBe(true);
    for (let i = 1; i < drift.pages.length; i++) expect(drift.pages[i]!.turns).toBeGreaterThan(drift.pages[i - 1]!.turns);
    expect(dispatched).toHaveLength(1);
    expect(dispatched[0]!.type).toBe('drift.opened');
    expect(dispatched[0]!.data['count']).toBe(1000);
    const keys = store.db.prepare('SELECT asset, held IS NOT NULL AS held FROM drift_alert_keys').all() as Array<{ asset: string; held: number }>;
    expect(keys).toHaveLength(1000);
    expect(keys.filter((k) => k.held === 1).map((k) => k.asset)).toEqual(['host/h-0']);
    expect(cursor()).toBe(1001);
  });
});

describe('redaction', () => {
  it('redacts secret-looking fields and file contents, and secret-looking members of values', () => {
    expect(isRedactedField('/spec/files/~1etc~1motd/content')).toBe(true);
    expect(isRedactedField('/spec/files/~1etc~1motd/mode')).toBe(false);
    expect(isRedactedField('/spec/files/~1etc~1ssl~1private~1server.key/mode')).toBe(false);
    expect(isRedactedField('/spec/settings/dbPassword')).toBe(true);
    expect(isRedactedField('/spec/env/API_KEY')).toBe(true);
    expect(isRedactedField('/spec/files/~1run~1secrets~1db/owner')).toBe(true);
    expect(isRedactedField('/spec/packages/nginx')).toBe(false);
    expect(redactValue({ path: '/etc/motd', content: 'x', nested: [{ token: 't', mode: '0644' }] })).toEqual({
      path: '/etc/motd',
      content: REDACTED,
      nested: [{ token: REDACTED, mode: '0644' }],
    });
  });
});
