// Shared setup of the web UI's end-to-end tests: a real server on a generated estate serving the
// built UI, tokens, Debian's chromium through playwright-core, axe-core and screenshots.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { issueToken, startServer, type RunningServer } from '@estate/server';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { generateEstate } from '../../bench/generateEstate.mjs';

export const CHROMIUM = '/usr/bin/chromium';
const root = fileURLToPath(new URL('../../', import.meta.url));
/** Where screenshots go (CI keeps them as artifacts). */
export const SHOTS = join(root, 'test-results', 'web');
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/** axe-core's violations of the page as it is now, serious and critical ones only. */
export async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  if (!(await page.evaluate('typeof axe !== "undefined"'))) await page.evaluate(axeSource);
  const violations = (await page.evaluate('axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations)')) as AxeViolation[];
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

/** A full-page screenshot in test-results/web/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** A running UI: the server, its temporary data, a browser page, and the script errors seen. */
export interface UiHarness {
  server: RunningServer;
  browser: Browser;
  page: Page;
  /** Script errors and CSP refusals of the page; a test expects it empty. */
  problems: string[];
  close(): Promise<void>;
}

/**
 * Starts a server on a generated estate (`assets` assets, `commits` commits) and a chromium page.
 * Fails clearly when chromium or the UI's build is missing.
 */
export async function startUi(options: { assets?: number; commits?: number; seed?: number } = {}): Promise<UiHarness> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the web UI tests need Debian's chromium (apt-get install -y chromium; .ci/run installs it)${process.env['CI'] ? ' — CI must install it' : ''}`);
  }
  if (!existsSync(join(root, 'packages/web/dist/index.html'))) throw new Error('the web UI is not built: run npm run build');
  const work = await mkdtemp(join(tmpdir(), 'estate-web-'));
  await generateEstate({ assets: options.assets ?? 150, commits: options.commits ?? 40, out: join(work, 'seed'), seed: options.seed ?? 7 });
  const server = await startServer({ dataDir: join(work, 'data'), importFrom: join(work, 'seed'), port: 0 });
  await server.indexer.sync();
  mkdirSync(SHOTS, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // Refused requests (a wrong token, an action the server refuses) are logged by the browser and expected.
    if (message.type() === 'error' && !/\b(401|403|409|422)\b/.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  return {
    server,
    browser,
    page,
    problems,
    async close() {
      await browser.close();
      await server.close();
      await rm(work, { recursive: true, force: true });
    },
  };
}

/** A token of a new user with a role. */
export async function createToken(server: RunningServer, name: string, role: 'viewer' | 'editor' | 'approver' | 'admin'): Promise<string> {
  return (await issueToken(server.store, { name, role })).token;
}

/** Signs in through the form (from any page) and waits for the header to name the user. */
export async function signIn(page: Page, url: string, token: string, name: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect.poll(() => page.locator('.who').textContent()).toContain(`Signed in as ${name}`);
}

/** Signs out through the header's button. */
export async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect.poll(() => page.getByRole('heading', { name: 'Sign in to Estate' }).isVisible()).toBe(true);
}
