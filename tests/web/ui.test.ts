// The web UI end to end: a real server on a generated demo-like estate, serving the built UI, driven
// by Debian's chromium through playwright-core. Screenshots go to test-results/web/ (CI artifacts).
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { issueToken, startServer, type RunningServer } from '@estate/server';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEstate } from '../../bench/generateEstate.mjs';
import { CHROMIUM, SHOTS as shots, screenshot, seriousViolations } from './webHarness.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('web UI', () => {
  let work: string;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let token: string;
  /** A host that services depend on, some of them through others (impact two hops deep). */
  let host: { id: string; name: string; direct: string; transitive: string };
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: the web UI tests need Debian's chromium (apt-get install -y chromium; .ci/run installs it)${process.env['CI'] ? ' — CI must install it' : ''}`);
    }
    if (!existsSync(join(root, 'packages/web/dist/index.html'))) throw new Error('the web UI is not built: run npm run build');
    work = await mkdtemp(join(tmpdir(), 'estate-web-'));
    await generateEstate({ assets: 150, commits: 40, out: join(work, 'seed'), seed: 7 });
    server = await startServer({ dataDir: join(work, 'data'), importFrom: join(work, 'seed'), port: 0 });
    ({ token } = await issueToken(server.store, { name: 'ada', role: 'approver' }));
    await server.indexer.sync();
    host = await findImpactedHost(server.url, token);
    mkdirSync(shots, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    // Script errors and CSP refusals would show here.
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().includes('401')) problems.push(`console: ${message.text()}`);
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('signs in with a token kept in sessionStorage, never in the address, and shows the role', async () => {
    // The build's script, Brotli-compressed for the browser (the build writes the copy beside it).
    const script = page.waitForResponse((response) => /\/static\/index-[\w-]+\.js$/.test(response.url()));
    await page.goto(server.url);
    expect((await (await script).allHeaders())['content-encoding']).toBe('br');
    await expect.poll(() => page.getByRole('heading', { name: 'Sign in to Estate' }).isVisible()).toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'sign-in');

    await page.getByLabel('API token').fill('est_wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('E_UNAUTHORIZED');

    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Assets', level: 1 }).isVisible()).toBe(true);
    expect(await page.locator('.who').textContent()).toContain('Signed in as ada');
    expect(await page.getByLabel('role approver').textContent()).toBe('approver');
    expect(await page.evaluate('sessionStorage.getItem("estate.token")')).toBe(token);
    expect(await page.evaluate('localStorage.getItem("estate.token")')).toBeNull();
    expect(page.url()).not.toContain(token);
  });

  it('searches as you type, filters by kind, and keeps the whole state in the address', async () => {
    await page.getByLabel('Search names, labels and spec text').pressSequentially(host.name, { delay: 20 });
    await expect.poll(() => page.url()).toContain(`q=${host.name}`);
    await page.getByRole('radio', { name: 'Host' }).check();
    await expect.poll(() => page.url()).toContain('kind=Host');
    const link = page.getByRole('link', { name: host.id, exact: true });
    await expect.poll(() => link.isVisible()).toBe(true);
    expect(await page.locator('tbody tr').count()).toBe(1);
    await page.getByRole('checkbox', { name: 'File' }).check();
    await expect.poll(() => page.getByRole('columnheader', { name: 'File' }).isVisible()).toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'browser');

    // A deep link opens the same view: search, facet and columns.
    const deepLink = page.url();
    expect(deepLink).toContain('cols=');
    await page.goto(`${server.url}/`);
    await page.goto(deepLink);
    await expect.poll(() => link.isVisible()).toBe(true);
    expect(await page.getByLabel('Search names, labels and spec text').inputValue()).toBe(host.name);
    expect(await page.getByRole('radio', { name: 'Host' }).isChecked()).toBe(true);
    expect(await page.getByRole('columnheader', { name: 'File' }).isVisible()).toBe(true);
  });

  it('opens the host: its YAML, labels, owner, impact graph with transitive paths, and history', async () => {
    await page.getByRole('link', { name: host.id, exact: true }).click();
    await expect.poll(() => page.getByRole('heading', { name: host.id, level: 1 }).isVisible()).toBe(true);
    expect(page.url()).toBe(`${server.url}/assets/host/${host.name}`);
    const yaml = page.getByLabel(/as YAML$/);
    expect(await yaml.textContent()).toContain(`hostname: ${host.name}.`);
    expect(await yaml.locator('.key', { hasText: 'hostname' }).count()).toBe(1);
    expect(await page.getByRole('list', { name: 'Labels' }).textContent()).toContain('env=');

    // Impact ("what depends on this"), three hops by default: a direct dependant and one through it.
    const graph = page.getByRole('group', { name: /What depends on this \(impact\): graph of \d+ assets/ });
    await expect.poll(() => graph.isVisible()).toBe(true);
    expect(await graph.getByRole('link', { name: new RegExp(`^${host.direct}, 1 hop away`) }).count()).toBe(1);
    expect(await graph.getByRole('link', { name: new RegExp(`^${host.transitive}, 2 hops away`) }).count()).toBe(1);
    const paths = page.getByRole('list', { name: 'What depends on this (impact): paths' });
    expect(await paths.textContent()).toMatch(new RegExp(`${host.id} —hosts→ \\S+ —\\w+→ ${host.transitive}`));

    const history = page.getByRole('region', { name: 'History' });
    await expect.poll(() => history.getByText(/^added$/).count()).toBeGreaterThan(0);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'asset');

    // One hop only, kept in the address.
    await page.getByRole('combobox', { name: 'Hops' }).selectOption('1');
    await expect.poll(() => page.url()).toContain('depth=1');
    await expect.poll(() => graph.getByRole('link', { name: new RegExp(`^${host.transitive},`) }).count()).toBe(0);
  });

  it('highlights the paths of the asset pointed at or focused in the graph, and opens it with Enter', async () => {
    await page.goto(`${server.url}/assets/host/${host.name}?direction=in&depth=3`);
    const graph = page.getByRole('group', { name: /What depends on this \(impact\): graph of \d+ assets/ });
    await expect.poll(() => graph.isVisible()).toBe(true);
    const explained = page.locator('.graph-paths');
    expect(await explained.textContent()).toContain(`to ${host.id}`);

    // Pointing at the transitive dependant: its path through a direct one, drawn and spelled out.
    await graph.getByRole('link', { name: new RegExp(`^${host.transitive},`) }).hover();
    await expect.poll(() => explained.textContent()).toMatch(new RegExp(`${host.id} —hosts→ \\S+ —\\w+→ ${host.transitive}$`));
    const middle = /—hosts→ (\S+) —/.exec((await explained.textContent())!)![1]!;
    expect(await graph.locator('.node.on-path').count()).toBe(3);
    expect(await graph.locator('a.on-path').evaluateAll((links) => links.map((link) => link.getAttribute('aria-label')!.split(',')[0]).sort())).toEqual([middle, host.transitive].sort());
    expect(await graph.locator('g > path.edge.on-path').count()).toBe(2);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'asset-graph-highlight');
    await page.mouse.move(0, 0);
    await expect.poll(() => page.locator('.graph.highlighting').count()).toBe(0);

    // The keyboard: Tab reaches the boxes, focus highlights, Enter opens the asset.
    const direct = graph.getByRole('link', { name: new RegExp(`^${host.direct}, 1 hop away`) });
    await direct.focus();
    await expect.poll(() => explained.textContent()).toMatch(new RegExp(`${host.id} —hosts→ ${host.direct}$`));
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.getAttribute("aria-label")')).toMatch(/hops? away$/);
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('heading', { name: host.direct, level: 1 }).isVisible()).toBe(true);
    await page.goBack();
    await expect.poll(() => page.getByRole('heading', { name: host.id, level: 1 }).isVisible()).toBe(true);
  });

  it('switches to the dark theme, stays accessible, and is keyboard navigable', async () => {
    await page.getByRole('button', { name: 'Switch to the dark theme' }).click();
    expect(await page.evaluate('document.documentElement.dataset.theme')).toBe('dark');
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'asset-dark');

    await page.goto(`${server.url}/`);
    await expect.poll(() => page.getByRole('heading', { name: 'Assets', level: 1 }).isVisible()).toBe(true);
    expect(await page.evaluate('document.documentElement.dataset.theme')).toBe('dark');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.url()).toBe(`${server.url}/`);
  });

  it('signs out: the token is gone from the tab', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Sign in to Estate' }).isVisible()).toBe(true);
    expect(await page.evaluate('sessionStorage.getItem("estate.token")')).toBeNull();
    await page.reload();
    await expect.poll(() => page.getByRole('heading', { name: 'Sign in to Estate' }).isVisible()).toBe(true);
    expect(problems).toEqual([]);
  });
});

/** A host with a dependant one hop away and another two hops away, found through the API. */
async function findImpactedHost(url: string, token: string): Promise<{ id: string; name: string; direct: string; transitive: string }> {
  const get = async (path: string): Promise<{ items: Array<{ id: string; name: string; depth: number; path: unknown[] }> }> => {
    const answer = await fetch(url + path, { headers: { authorization: `Bearer ${token}` } });
    expect(answer.status, path).toBe(200);
    return (await answer.json()) as { items: Array<{ id: string; name: string; depth: number; path: unknown[] }> };
  };
  for (const candidate of (await get('/api/v1/assets?kind=Host&limit=1000')).items) {
    const { items } = await get(`/api/v1/assets/host/${candidate.name}/relations?direction=in&depth=3`);
    const direct = items.find((item) => item.depth === 1);
    const transitive = items.find((item) => item.depth === 2);
    if (direct && transitive) return { id: candidate.id, name: candidate.name, direct: direct.id, transitive: transitive.id };
  }
  throw new Error('the generated estate has no host with dependants two hops away');
}
