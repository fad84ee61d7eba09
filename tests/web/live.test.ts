// The asset page live (issue 7): it follows main without a reload when a change request merges,
// travels back in time (a commit of its history, or a date and time) to the old value, shows a
// host's drift and the "why" timeline as the report arrives; the browser shows counts per kind.
// axe-core on each view; screenshots in test-results/web/live-*.png.
import { issueToken } from '@estate/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, screenshot, seriousViolations, signIn, startUi, type UiHarness } from './webHarness.js';

interface HostSpec {
  hostname: string;
  ip: string;
}

describe('web UI: live updates, time travel, drift and why', () => {
  let ui: UiHarness;
  let tokens: { ada: string; bob: string; agent: string };
  let host: { id: string; name: string; spec: HostSpec };
  /** main's head before the test's change request merged. */
  let before: string;
  const description = 'moved by the live test';

  const api = async (method: string, path: string, token: string, body?: unknown): Promise<any> => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const response = await fetch(`${ui.server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const answer = (await response.json()) as unknown;
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(answer)}`);
    return answer;
  };

  beforeAll(async () => {
    ui = await startUi();
    const found = await api('GET', '/api/v1/assets?kind=Host&limit=1', (await issueToken(ui.server.store, { name: 'probe', role: 'viewer' })).token);
    const asset = found.items[0] as { id: string; name: string; document: { spec: HostSpec; metadata: { description?: string } } };
    expect(asset.document.metadata.description).not.toBe(description);
    host = { id: asset.id, name: asset.name, spec: asset.document.spec };
    tokens = {
      ada: await createToken(ui.server, 'ada', 'admin'),
      bob: await createToken(ui.server, 'bob', 'approver'),
      agent: (await issueToken(ui.server.store, { name: `agent-${host.name}`, role: 'agent', scopes: { hosts: [host.name] } })).token,
    };
    before = (await ui.server.store.head())!.sha;
  }, 120_000);

  afterAll(async () => {
    await ui?.close();
  });

  it('follows main without a reload when a change request merges', async () => {
    const { page } = ui;
    await signIn(page, ui.server.url, tokens.ada, 'ada');
    await page.goto(`${ui.server.url}/assets/host/${host.name}`);
    await expect.poll(() => page.getByRole('heading', { name: host.id, level: 1 }).isVisible()).toBe(true);
    await expect.poll(() => page.locator('.live').textContent()).toContain(`Live: showing main's head, commit ${before.slice(0, 8)}`);
    // A marker on the window: a reload would lose it.
    await page.evaluate('window.__sameDocument = true');

    const change = await api('POST', '/api/v1/changes', tokens.ada, { title: 'describe the host', operations: [{ op: 'patch', id: host.id, patch: { metadata: { description } } }] });
    await api('POST', `/api/v1/changes/${change.id}/approve`, tokens.bob, {});
    await expect.poll(async () => (await api('GET', `/api/v1/changes/${change.id}`, tokens.ada)).state).toBe('approved');
    const merged = await api('POST', `/api/v1/changes/${change.id}/merge`, tokens.ada, {});

    await expect.poll(() => page.locator('.facts').textContent(), { timeout: 10_000 }).toContain(description);
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    await expect.poll(() => page.locator('.live').textContent()).toContain(merged.merged.sha.slice(0, 8));
    // The new history entry names its change request, who wrote it and who approved it.
    const history = page.getByRole('region', { name: 'History' });
    await expect.poll(() => history.locator('.provenance').first().textContent()).toContain(`Change request #${change.id} by ada, approved by bob`);
    expect(await history.getByRole('link', { name: `Change request #${change.id}` }).first().getAttribute('href')).toBe(`/changes/${change.id}`);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'live-asset-updated');
  });

  it('travels back to a commit of its history, and to a date and time, showing the old value', async () => {
    const { page } = ui;
    const history = (await api('GET', `/api/v1/assets/host/${host.name}/history?limit=5`, tokens.ada)).items as Array<{ commit: { sha: string } }>;
    const older = history[1]!.commit.sha;
    await page.getByLabel('Commit that changed it').selectOption(older);
    await expect.poll(() => page.url()).toContain(`at=${older}`);
    await expect.poll(() => page.getByRole('note').textContent()).toContain(`as of commit ${older.slice(0, 8)}`);
    expect(await page.locator('.facts').textContent()).not.toContain(description);
    // Links to the browser keep the point in time.
    expect(await page.getByRole('link', { name: 'Host', exact: true }).getAttribute('href')).toContain(`at=${older}`);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'live-time-travel');

    await page.getByRole('link', { name: 'Back to now' }).click();
    await expect.poll(() => page.locator('.facts').textContent()).toContain(description);
    expect(page.url()).not.toContain('at=');

    // Generated commits are dated 2024; the merge is today: mid-2025 is just before it.
    await page.getByLabel('Or a date and time').fill('2025-06-01T12:00');
    await page.getByRole('button', { name: 'Show as of then' }).click();
    await expect.poll(() => page.getByRole('note').textContent()).toContain(`as of commit ${before.slice(0, 8)}`);
    expect(await page.locator('.facts').textContent()).not.toContain(description);
    await page.getByRole('link', { name: 'Back to now' }).click();
    await expect.poll(() => page.locator('.facts').textContent()).toContain(description);
  });

  it("shows the host's drift and the why timeline as its report arrives, without a reload", async () => {
    const { page } = ui;
    const drift = page.getByRole('region', { name: 'Drift' });
    await expect.poll(() => drift.textContent()).toContain('No open drift');
    const report = { reportId: '01JDQ1W3000000000000000001', host: host.name, seq: 1, collectedAt: new Date().toISOString(), facts: { hostname: host.spec.hostname, ip: ['10.250.0.1'] } };
    await api('POST', '/api/v1/reports', tokens.agent, report);

    await expect.poll(() => drift.textContent(), { timeout: 10_000 }).toContain('10.250.0.1');
    expect(await drift.getByRole('rowheader').first().textContent()).toBe('spec.ip');
    const why = page.getByRole('region', { name: 'Why: timeline' });
    await expect.poll(() => why.locator('.verdict').textContent()).toMatch(/differ/i);
    expect(await why.getByRole('list', { name: 'Open drift and what explains it' }).textContent()).toContain('spec.ip');
    await expect.poll(() => why.getByRole('list', { name: 'Timeline, newest first' }).textContent()).toContain('drift.opened');
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'live-drift-why');
  });

  it('counts matches per kind and in all in the browser', async () => {
    const { page } = ui;
    await page.getByRole('link', { name: 'Browse assets' }).click();
    const facets = await api('GET', '/api/v1/assets/facets', tokens.ada);
    const hosts = (facets.kinds as Array<{ kind: string; count: number }>).find((k) => k.kind === 'Host')!.count;
    await expect.poll(() => page.getByRole('radio', { name: /^Host/ }).locator('..').textContent()).toContain(`(${hosts.toLocaleString('en-US')})`);
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Assets 1–' }).textContent()).toContain(`of ${facets.total.toLocaleString('en-US')}`);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'live-browser-counts');
    expect(ui.problems).toEqual([]);
  });
});
