// Drift, config and audit in the web UI end to end: a host drifts (its agent posts a report over
// HTTP) and the drift page shows it; adopting it opens a change request the page links; a config
// with secrets and a gray release is promoted from the config page; the audit page lists the
// promotion and the chain verifies; a viewer sees secrets masked, an allowed token reveals one.
import { encryptSecrets, generateSecretIdentity } from '@estate/core';
import { commitFiles, GitCliRepo, runGit } from '@estate/git';
import { issueToken } from '@estate/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot, seriousViolations, signIn, signOut, startUi, type UiHarness } from './webHarness.js';

/** A parsed JSON answer: the test reads into it freely and asserts what it finds. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** A secret value that must show only after a reveal by a token allowed it. */
const DB_PASSWORD = 'ops-e2e-Db-pa55word-8841';

describe('web UI: drift, config and audit', () => {
  let ui: UiHarness;
  const tokens = { ann: '', vic: '', fleet: '' };
  let host: { id: string; name: string; hostname: string; cpus: number };
  let app: string;

  const api = async (method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: Json }> => {
    const answer = await fetch(ui.server.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await answer.text();
    return { status: answer.status, body: text ? JSON.parse(text) : undefined };
  };
  /** Commits files straight onto the server's main (as a push would) and waits until config has seen it. */
  const commitToMain = async (message: string, files: Record<string, string>): Promise<string> => {
    const repo = await GitCliRepo.open(ui.server.repoDir);
    try {
      const sha = await commitFiles(repo, { ref: 'refs/heads/main', parent: 'refs/heads/main', message, author: { name: 'Ops', email: 'ops@example.com' }, files });
      await waitFor(`config at ${sha}`, async () => (await api('GET', '/api/v1/config', tokens.vic)).body.items.some((i: { version: string }) => i.version === sha));
      return sha;
    } finally {
      await repo.close();
    }
  };

  beforeAll(async () => {
    ui = await startUi();
    const { server } = ui;
    app = (await api('GET', '/api/v1/assets?kind=Application&limit=1', (tokens.vic = (await issueToken(server.store, { name: 'vic', role: 'viewer' })).token))).body.items[0].name;
    tokens.ann = (await issueToken(server.store, { name: 'ann', role: 'approver', scopes: { secrets: [`${app}/prod`] } })).token;
    const hosts = (await api('GET', '/api/v1/assets?kind=Host&limit=1', tokens.vic)).body.items;
    host = { id: hosts[0].id, name: hosts[0].name, hostname: hosts[0].document.spec.hostname, cpus: hosts[0].document.spec.cpus };
    tokens.fleet = (await issueToken(server.store, { name: 'fleet', role: 'agent', scopes: { hosts: [host.name, 'stray-01'] } })).token;

    // The host's agent reports twice the declared CPUs; a host nobody declared reports too.
    await server.indexer.sync();
    const head = await server.store.head();
    await waitFor("the drift engine at main's head", async () => server.drift.commit?.sha === head?.sha);
    let seq = 0;
    const report = async (name: string, facts: Record<string, unknown>): Promise<void> => {
      seq++;
      const body = { reportId: `01JE0PS${String(seq).padStart(19, '0')}`, host: name, seq, collectedAt: new Date().toISOString(), facts };
      expect((await api('POST', '/api/v1/reports', tokens.fleet, body)).status).toBe(202);
    };
    await report(host.name, { hostname: host.hostname, cpus: host.cpus * 2 });
    await report('stray-01', { hostname: 'stray-01.example.com', cpus: 2 });
    await waitFor('the drift item', async () => (await api('GET', `/api/v1/drift?asset=${host.id}`, tokens.vic)).body.items.length === 1);

    // Config of the app with production secrets encrypted to the server, then a gray release and a change under it.
    const estateYaml = (await runGit(['show', 'main:estate.yaml'], { cwd: server.repoDir })).toString('utf8');
    await commitToMain(`config: ${app}`, {
      'estate.yaml': `${estateYaml.trimEnd()}\n  secrets:\n    recipients: [${server.secretsRecipient}]\n`,
      [`config/${app}/base.yaml`]: 'http:\n  port: 8080\ndb:\n  host: db.internal\n  pool: 10\nlogging:\n  level: debug\n',
      [`config/${app}/prod.yaml`]: 'db:\n  host: db.prod.internal\n  pool: 50\nlogging:\n  level: warn\n',
      [`config/${app}/prod.secrets.yaml`]: await encryptSecrets({ app, env: 'prod', recipients: [server.secretsRecipient, (await generateSecretIdentity()).recipient], values: { 'db.password': DB_PASSWORD } }),
    });
    expect((await api('POST', `/api/v1/config/${app}/prod/releases`, tokens.ann, { percentage: 10 })).status).toBe(201);
    await commitToMain(`config: ${app} logs errors only in prod`, { [`config/${app}/prod.yaml`]: 'db:\n  host: db.prod.internal\n  pool: 50\nlogging:\n  level: error\n' });
  }, 180_000);

  afterAll(async () => {
    await ui?.close();
  });

  it('shows the drifting host under its environment with the evidence, and adopting it links the change request', async () => {
    const { page, server } = ui;
    await signIn(page, server.url, tokens.ann, 'ann');
    await page.getByRole('link', { name: 'Drift', exact: true }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Drift', level: 1 }).isVisible()).toBe(true);
    expect(page.url()).toBe(`${server.url}/drift`);

    const group = page.getByRole('region', { name: 'prod · Host' });
    await expect.poll(() => group.getByRole('heading', { level: 3 }).textContent()).toContain('1 asset, 1 open');
    const drift = group.getByRole('article', { name: host.id });
    const row = drift.getByRole('row', { name: /spec\.cpus/ });
    expect(await row.getByRole('cell').allTextContents()).toEqual([String(host.cpus), String(host.cpus * 2), expect.stringMatching(/^report 01JE0PS0+1first seen .+last seen .+$/), expect.stringContaining('Adopt')]);
    // The chart: open drift now, and the numbers behind it.
    expect(await page.getByRole('img', { name: /^Open drift over the last 48 hours: 1 open now, 1 opened and 0 resolved/ }).count()).toBe(1);
    // The unmanaged host, with a way to declare it; no host is stale yet.
    expect(await page.getByRole('table', { name: 'Unmanaged hosts' }).getByRole('row', { name: /stray-01/ }).getByRole('button', { name: 'Declare stray-01' }).isVisible()).toBe(true);
    expect(await page.getByRole('region', { name: 'Stale hosts' }).textContent()).toContain('None.');
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'drift');

    await row.getByRole('button', { name: `Adopt spec.cpus of ${host.id}` }).click();
    const link = page.getByRole('link', { name: /^Open change request #\d+$/ });
    // Opening a change request runs its checks: allow it a while.
    await expect.poll(() => link.isVisible(), { timeout: 20_000 }).toBe(true);
    const id = Number((await link.textContent())!.replace(/\D+/g, ''));
    expect(await link.getAttribute('href')).toBe(`/changes/${id}`);
    const change = await api('GET', `/api/v1/changes/${id}`, tokens.vic);
    expect([change.status, change.body.state, change.body.author]).toEqual([200, 'open', 'ann']);
    expect(JSON.stringify(change.body.checks?.diff ?? change.body)).toContain(host.id);
    expect((await api('GET', '/api/v1/audit?event=drift.adopted', tokens.vic)).body.items.map((e: { subject: string }) => e.subject)).toEqual([`host/${host.name}`]);
    expect(await seriousViolations(page)).toEqual([]);
  });

  it('shows the config with the file of each value, masks the secret, and promotes the gray release', async () => {
    const { page, server } = ui;
    await page.getByRole('link', { name: 'Config', exact: true }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Application config', level: 1 }).isVisible()).toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('link', { name: `${app} in prod` }).click();
    await expect.poll(() => page.getByRole('heading', { name: `${app} · prod`, level: 1 }).isVisible()).toBe(true);
    expect(page.url()).toBe(`${server.url}/config/${app}/prod`);

    const values = page.getByRole('table', { name: 'Values of the merged config and the file each came from' });
    const cells = async (key: string): Promise<string[]> => values.getByRole('row', { name: new RegExp(`^${key.replace('.', '\\.')}\\b`) }).getByRole('cell').allTextContents();
    await expect.poll(() => cells('logging.level')).toEqual(['error', 'prod.yaml']);
    expect(await cells('http.port')).toEqual(['8080', 'base.yaml']);
    expect(await cells('db.password')).toEqual(['•••• Reveal', 'prod.secrets.yaml']);
    expect(await page.content()).not.toContain(DB_PASSWORD);

    // The release holds every instance but the canaries at the version before the change.
    const release = page.getByRole('region', { name: 'Gray release' });
    await expect.poll(() => release.getByRole('status').textContent()).toMatch(/^Release #1: active\. Canaries: 10% of instances\. Started by ann/);
    const versions = page.getByRole('region', { name: 'Versions' });
    expect(await versions.getByRole('table', { name: 'Changes in version #2' }).getByRole('row', { name: /logging\.level/ }).getByRole('cell').allTextContents()).toEqual(['changed', 'warn', 'error']);
    expect(await versions.getByRole('table', { name: 'Changes in version #1' }).getByRole('row', { name: /secret db\.password/ }).getByRole('cell').allTextContents()).toEqual([
      'added',
      'secret value added (values are never shown)',
    ]);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'config');

    await release.getByRole('button', { name: 'Promote release #1' }).click();
    await expect.poll(() => release.getByRole('status').textContent(), { timeout: 10_000 }).toMatch(/^Release #1: promoted\..*; promoted by ann at /);
    expect(await release.getByRole('button', { name: 'Promote release #1' }).count()).toBe(0);
    expect((await api('GET', `/api/v1/config/${app}/prod/releases`, tokens.vic)).body.items[0].state).toBe('promoted');

    // Reveal: this token may read prod's secrets; the server answers and audits it.
    await values.getByRole('button', { name: 'Reveal db.password' }).click();
    await expect.poll(() => cells('db.password')).toEqual([`${DB_PASSWORD} Hide`, 'prod.secrets.yaml']);
    const reads = (await api('GET', '/api/v1/audit?event=config.secrets.read', tokens.vic)).body.items.filter((e: { details: { via?: string } }) => e.details.via === 'reveal');
    expect(reads.map((e: { actor: string; subject: string; details: { key: string } }) => [e.actor, e.subject, e.details.key])).toEqual([['ann', `config/${app}/prod`, 'db.password']]);
    await values.getByRole('button', { name: 'Hide db.password' }).click();
    expect(await cells('db.password')).toEqual(['•••• Reveal', 'prod.secrets.yaml']);
  });

  it('lists the promotion in the audit trail, verifies the chain, and exports it as JSON Lines', async () => {
    const { page, server } = ui;
    await page.getByRole('link', { name: 'Audit', exact: true }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Audit trail', level: 1 }).isVisible()).toBe(true);
    const verify = page.getByRole('region', { name: 'Chain verification' });
    await expect.poll(() => verify.getByRole('status').textContent()).toMatch(/^Verified OK: \d+ entries/);

    await page.getByLabel('Event').fill('config.release.promoted');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await expect.poll(() => page.url()).toBe(`${server.url}/audit?event=config.release.promoted`);
    const rows = page.getByRole('table', { name: 'Audit entries' }).getByRole('row');
    await expect.poll(() => rows.count()).toBe(2);
    const cells = await rows.nth(1).getByRole('cell').allTextContents();
    expect([cells[1], cells[2], cells[3]]).toEqual(['ann', 'config.release.promoted', `config/${app}/prod`]);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'audit');

    // Paging: one entry per page of the whole trail.
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByRole('combobox', { name: 'Per page' }).selectOption('25');
    await expect.poll(() => page.getByRole('status').filter({ hasText: /^Entries 1–/ }).textContent()).toMatch(/^Entries 1–\d+, oldest first/);

    // The export: fetched with the token in the header, saved from a Blob (the address never holds the token).
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSON Lines' }).click()]);
    expect(download.url()).toMatch(/^blob:/);
    expect(download.suggestedFilename()).toMatch(/^estate-audit-\d{4}-\d{2}-\d{2}\.jsonl$/);
    const lines = (await readStream(await download.createReadStream())).trim().split('\n').map((line) => JSON.parse(line) as { seq: number; event: string });
    expect(lines[0]!.seq).toBe(1);
    expect(lines.some((line) => line.event === 'config.release.promoted')).toBe(true);
    expect(page.url()).not.toContain(tokens.ann);
  });

  it('masks secrets for a viewer, who gets no reveal, adopt or promote buttons', async () => {
    const { page, server } = ui;
    await signOut(page);
    await signIn(page, server.url, tokens.vic, 'vic');
    await page.goto(`${server.url}/config/${app}/prod`);
    const values = page.getByRole('table', { name: 'Values of the merged config and the file each came from' });
    await expect.poll(async () => values.getByRole('row', { name: /^db\.password/ }).getByRole('cell').allTextContents()).toEqual(['••••', 'prod.secrets.yaml']);
    expect(await page.getByRole('button', { name: /^Reveal/ }).count()).toBe(0);
    expect(await page.getByText('masked: this token may not read them').isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: /Promote|Abort/ }).count()).toBe(0);
    expect(await page.content()).not.toContain(DB_PASSWORD);
    expect(await seriousViolations(page)).toEqual([]);

    await page.goto(`${server.url}/drift`);
    await expect.poll(() => page.getByRole('table', { name: 'Unmanaged hosts' }).isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: /^(Adopt|Ignore|Revert|Declare)/ }).count()).toBe(0);

    // The dark theme keeps the drift page readable.
    await page.getByRole('button', { name: 'Switch to the dark theme' }).click();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'drift-dark');
    expect(ui.problems).toEqual([]);
  });
});

/** Waits (hooks cannot use expect.poll) until `done` holds, at most 20 s. */
async function waitFor(what: string, done: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await done()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`waited 20 s for ${what}`);
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
