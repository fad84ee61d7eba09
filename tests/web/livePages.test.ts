// The change request and drift pages live (issue 7): with a change request open in the browser,
// another user approves it through the API and the page shows the approval without a reload; the
// list shows a change request opened meanwhile; the drift page shows drift an agent's report opens.
// The asset page in the past says its drift and why timeline are today's. axe-core on each view;
// screenshots in test-results/web/live-*.png.
import { issueToken } from '@estate/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, screenshot, seriousViolations, signIn, startUi, type UiHarness } from './webHarness.js';

describe('web UI: live change request and drift pages', () => {
  let ui: UiHarness;
  let tokens: { ada: string; bob: string; agent: string };
  let host: { id: string; name: string; hostname: string };

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
  /** Marks the window: a reload would lose the mark. */
  const markDocument = (): Promise<unknown> => ui.page.evaluate('window.__sameDocument = true');
  const sameDocument = (): Promise<unknown> => ui.page.evaluate('window.__sameDocument');

  beforeAll(async () => {
    ui = await startUi();
    tokens = { ada: await createToken(ui.server, 'ada', 'admin'), bob: await createToken(ui.server, 'bob', 'approver'), agent: '' };
    const found = await api('GET', '/api/v1/assets?kind=Host&limit=1', tokens.ada);
    const asset = found.items[0] as { id: string; name: string; document: { spec: { hostname: string } } };
    host = { id: asset.id, name: asset.name, hostname: asset.document.spec.hostname };
    tokens.agent = (await issueToken(ui.server.store, { name: `agent-${host.name}`, role: 'agent', scopes: { hosts: [host.name] } })).token;
  }, 120_000);

  afterAll(async () => {
    await ui?.close();
  });

  it("shows another user's approval on the open change request without a reload", async () => {
    const { page } = ui;
    const change = await api('POST', '/api/v1/changes', tokens.ada, { title: 'describe the host live', operations: [{ op: 'patch', id: host.id, patch: { metadata: { description: 'approved live' } } }] });
    await signIn(page, `${ui.server.url}/changes/${change.id}`, tokens.ada, 'ada');
    await expect.poll(() => page.getByRole('heading', { name: 'describe the host live', level: 1 }).isVisible()).toBe(true);
    await expect.poll(() => page.locator('.live').textContent()).toMatch(/^Live:/);
    expect(await page.locator('.facts').textContent()).toContain('Open');
    expect(await page.locator('.verdicts').count()).toBe(0);
    await markDocument();

    await api('POST', `/api/v1/changes/${change.id}/approve`, tokens.bob, { comment: 'looks right' });
    await expect.poll(() => page.locator('.verdicts').textContent(), { timeout: 10_000 }).toContain('bob');
    expect(await page.locator('.verdicts').textContent()).toContain('looks right');
    await expect.poll(() => page.locator('.facts').textContent()).toContain('Approved');
    expect(await sameDocument()).toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'live-change-approved');
  });

  it('lists a change request opened meanwhile without a reload', async () => {
    const { page } = ui;
    await page.getByRole('link', { name: 'Change requests', exact: true }).first().click();
    await expect.poll(() => page.getByRole('heading', { name: 'Change requests', level: 1 }).isVisible()).toBe(true);
    await expect.poll(() => page.getByRole('link', { name: 'describe the host live' }).isVisible()).toBe(true);
    await expect.poll(() => page.locator('.live').textContent()).toMatch(/^Live:/);
    await markDocument();

    const change = await api('POST', '/api/v1/changes', tokens.bob, { title: 'relabel the host live', operations: [{ op: 'patch', id: host.id, patch: { metadata: { labels: { live: 'yes' } } } }] });
    await expect.poll(() => page.getByRole('link', { name: 'relabel the host live' }).getAttribute('href'), { timeout: 10_000 }).toBe(`/changes/${change.id}`);
    expect(await sameDocument()).toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
  });

  it("shows drift an agent's report opens on the drift page without a reload", async () => {
    const { page } = ui;
    await page.goto(`${ui.server.url}/drift`);
    await expect.poll(() => page.getByRole('heading', { name: 'Drift', level: 1 }).isVisible()).toBe(true);
    const open = page.getByRole('region', { name: 'Open drift by environment and kind' });
    await expect.poll(() => open.textContent()).toContain('No open drift');
    await expect.poll(() => page.locator('.live').textContent()).toMatch(/^Live:/);
    await markDocument();

    const report = { reportId: '01JDQ1W3000000000000000077', host: host.name, seq: 1, collectedAt: new Date().toISOString(), facts: { hostname: host.hostname, ip: ['10.250.0.77'] } };
    await api('POST', '/api/v1/reports', tokens.agent, report);
    const item = open.getByRole('article', { name: host.id });
    await expect.poll(() => item.textContent(), { timeout: 10_000 }).toContain('10.250.0.77');
    expect(await item.getByRole('rowheader').first().textContent()).toBe('spec.ip');
    expect(await item.textContent()).toContain(report.reportId);
    expect(await sameDocument()).toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'live-drift-page');
  });

  it('says on a past asset page that its drift and why timeline are as of now', async () => {
    const { page } = ui;
    const history = (await api('GET', `/api/v1/assets/host/${host.name}/history?limit=1`, tokens.ada)).items as Array<{ commit: { sha: string } }>;
    await page.goto(`${ui.server.url}/assets/host/${host.name}?at=${history[0]!.commit.sha}`);
    await expect.poll(() => page.getByRole('heading', { name: host.id, level: 1 }).isVisible()).toBe(true);
    const drift = page.getByRole('region', { name: 'Drift now' });
    await expect.poll(() => drift.textContent()).toContain('10.250.0.77');
    expect(await drift.textContent()).toContain('not as of the commit shown above');
    const why = page.getByRole('region', { name: 'Why: timeline up to now' });
    await expect.poll(() => why.locator('.verdict').textContent()).toMatch(/differ/i);
    expect(await why.textContent()).toContain('as of now');

    await page.getByRole('link', { name: 'Back to now' }).click();
    await expect.poll(() => page.getByRole('region', { name: 'Why: timeline', exact: true }).isVisible()).toBe(true);
    expect(await page.getByRole('region', { name: 'Drift', exact: true }).textContent()).not.toContain('shown above');
    expect(await seriousViolations(page)).toEqual([]);
    expect(ui.problems).toEqual([]);
  });
});
