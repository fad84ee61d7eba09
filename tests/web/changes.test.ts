// Change requests in the web UI end to end: an editor edits a host through the schema form (messages
// as you type, the server's dry run), opens a change request; an approver finds it waiting, approves
// and merges it; the asset shows the new value and the history entry; a viewer sees no actions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, screenshot, seriousViolations, signIn, signOut, startUi, type UiHarness } from './webHarness.js';

describe('web UI: change requests and the edit form', () => {
  let ui: UiHarness;
  let tokens: Record<'alice' | 'bob' | 'vic', string>;
  let host: { id: string; name: string; cpus: number };
  let changeUrl: string;
  const title = 'More cores for the host';

  beforeAll(async () => {
    ui = await startUi();
    tokens = {
      alice: await createToken(ui.server, 'alice', 'editor'),
      bob: await createToken(ui.server, 'bob', 'approver'),
      vic: await createToken(ui.server, 'vic', 'viewer'),
    };
    const answer = await fetch(`${ui.server.url}/api/v1/assets?kind=Host&limit=1`, { headers: { authorization: `Bearer ${tokens.vic}` } });
    const { items } = (await answer.json()) as { items: Array<{ id: string; name: string; document: { spec: { cpus: number } } }> };
    host = { id: items[0]!.id, name: items[0]!.name, cpus: items[0]!.document.spec.cpus };
  }, 120_000);

  afterAll(async () => {
    await ui?.close();
  });

  it('an editor edits a field through the form: messages as you type, then the dry run', async () => {
    const { page, server } = ui;
    await signIn(page, server.url, tokens.alice, 'alice');
    await page.getByLabel('Search names, labels and spec text').fill(host.name);
    await page.getByRole('link', { name: host.id, exact: true }).click();
    await expect.poll(() => page.getByRole('heading', { name: host.id, level: 1 }).isVisible()).toBe(true);
    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await expect.poll(() => page.getByRole('heading', { name: `Edit ${host.id}`, level: 1 }).isVisible()).toBe(true);
    expect(page.url()).toBe(`${server.url}/assets/host/${host.name}/edit`);

    // The fields come from the kind's schema: the name is fixed, a reference suggests assets, a map and a YAML fallback.
    expect(await page.getByLabel('name (required)', { exact: true }).isDisabled()).toBe(true);
    expect(await page.getByLabel('hostname (required)', { exact: true }).inputValue()).toContain(host.name);
    expect(await page.getByRole('group', { name: 'packages' }).isVisible()).toBe(true);
    const network = page.getByLabel('network', { exact: true });
    await network.focus();
    const networkList = page.locator(`#${await network.getAttribute('list')} option`);
    await expect.poll(() => networkList.count()).toBeGreaterThan(0);

    // Messages as you type, next to the field.
    const cpus = page.getByLabel('cpus', { exact: true });
    expect(await cpus.inputValue()).toBe(String(host.cpus));
    await cpus.fill('0');
    const cpusErrors = page.locator(`#${await cpus.getAttribute('id')}-errors`);
    await expect.poll(() => cpusErrors.textContent()).toBe('must be at least 1');
    expect(await cpus.getAttribute('aria-invalid')).toBe('true');
    await cpus.fill('many');
    await expect.poll(() => cpusErrors.textContent()).toBe('must be an integer');
    expect(await page.getByRole('button', { name: 'Open change request' }).isDisabled()).toBe(true);
    await screenshot(page, 'change-form-invalid');

    await cpus.fill(String(host.cpus + 8));
    await expect.poll(() => cpusErrors.count()).toBe(0);
    await page.getByLabel('Title').fill(title);
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    const dryRun = page.getByRole('region', { name: /^Check result/ });
    await expect.poll(() => dryRun.getByRole('heading', { level: 2 }).textContent()).toBe('Check result: passed');
    expect(await dryRun.getByRole('list', { name: 'Checks' }).textContent()).toMatch(/Passed validation: the merged estate is valid/);
    const row = dryRun.getByRole('row', { name: /spec\.cpus/ });
    expect(await row.getByRole('cell').allTextContents()).toEqual([String(host.cpus), String(host.cpus + 8)]);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'change-form');
  });

  it('opens the change request and shows it: diff, checks, approvals, blockers; a refused merge shows why', async () => {
    const { page } = ui;
    await page.getByRole('button', { name: 'Open change request' }).click();
    await expect.poll(() => page.getByRole('heading', { name: title, level: 1 }).isVisible()).toBe(true);
    changeUrl = page.url();
    expect(changeUrl).toMatch(/\/changes\/\d+$/);
    expect(await page.locator('.facts').textContent()).toContain('Authoralice');
    const diff = page.getByRole('region', { name: `Changes: ${host.id}` });
    expect(await diff.getByRole('row', { name: /spec\.cpus/ }).getByRole('cell').allTextContents()).toEqual([String(host.cpus), String(host.cpus + 8)]);
    expect(await page.getByRole('region', { name: 'What stands between it and main' }).textContent()).toContain('E_APPROVALS_REQUIRED');
    expect(await page.getByRole('region', { name: 'Approvals' }).textContent()).toContain('nobody yet');

    // Her own change: no approve or reject; merge asks first and shows the server's refusal.
    const actions = page.getByRole('region', { name: 'Actions' });
    expect(await actions.getByRole('button').allTextContents()).toEqual(['Merge', 'Close']);
    await actions.getByRole('button', { name: 'Merge' }).click();
    await actions.getByRole('button', { name: 'Yes, merge' }).click();
    await expect.poll(() => actions.getByRole('alert').textContent()).toContain('E_APPROVALS_REQUIRED');
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'change-detail');
    await signOut(page);
  });

  it('an approver finds it waiting, approves and merges it; the asset shows the new value and its history', async () => {
    const { page, server } = ui;
    await signIn(page, `${server.url}/changes`, tokens.bob, 'bob');
    await expect.poll(() => page.getByRole('heading', { name: 'Change requests', level: 1 }).isVisible()).toBe(true);
    await page.getByRole('radio', { name: 'Waiting for me' }).check();
    await expect.poll(() => page.url()).toContain('filter=waiting');
    const link = page.getByRole('link', { name: title });
    await expect.poll(() => link.isVisible()).toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'change-list');

    await link.click();
    await expect.poll(() => page.url()).toBe(changeUrl);
    const actions = page.getByRole('region', { name: 'Actions' });
    await expect.poll(() => actions.getByRole('button').allTextContents()).toEqual(['Approve', 'Reject', 'Merge', 'Close']);
    await page.getByLabel('Comment (for approve, reject, close or review)').fill('fine by me');
    await actions.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => page.locator('.facts .state').textContent()).toBe('Approved');
    expect(await page.getByRole('region', { name: 'Approvals' }).textContent()).toContain('bob (approver, revision 1');
    expect(await page.getByRole('region', { name: 'What stands between it and main' }).textContent()).toContain('it may merge now');

    // Once approved it no longer waits for him.
    await page.goto(`${server.url}/changes?filter=waiting`);
    await expect.poll(() => page.getByRole('status').filter({ hasNotText: /^Live/ }).first().textContent()).toBe('No change requests match.');
    await page.goto(changeUrl);
    await actions.getByRole('button', { name: 'Merge' }).click();
    await actions.getByRole('button', { name: 'Yes, merge' }).click();
    await expect.poll(() => page.locator('.facts .state').textContent()).toBe('Merged');
    expect(await actions.getByRole('button').allTextContents()).toEqual(['Revert']);
    expect(await page.locator('.facts').textContent()).toMatch(/Mergedby bob as [0-9a-f]{8}/);

    await page.getByRole('link', { name: host.id }).first().click();
    await expect.poll(() => page.getByRole('heading', { name: host.id, level: 1 }).isVisible()).toBe(true);
    await expect.poll(() => page.getByLabel(/as YAML$/).textContent()).toContain(`cpus: ${host.cpus + 8}`);
    const latest = page.getByRole('region', { name: 'History' }).getByRole('listitem').first();
    await expect.poll(() => latest.textContent()).toContain(title);
    expect(await latest.getByRole('row', { name: /spec\.cpus/ }).getByRole('cell').allTextContents()).toEqual([String(host.cpus), String(host.cpus + 8)]);
    await signOut(page);
  });

  it('a viewer sees the change request without any action, and no Edit or New asset', async () => {
    const { page, server } = ui;
    await signIn(page, changeUrl, tokens.vic, 'vic');
    await expect.poll(() => page.getByRole('heading', { name: title, level: 1 }).isVisible()).toBe(true);
    expect(await page.getByRole('region', { name: 'Actions' }).count()).toBe(0);
    expect(await page.getByRole('main').getByRole('button').count()).toBe(0);
    expect(await page.getByRole('link', { name: 'New asset' }).count()).toBe(0);
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Switch to the dark theme' }).click();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'change-detail-dark');
    await page.getByRole('button', { name: 'Switch to the light theme' }).click();
    await page.goto(`${server.url}/assets/host/${host.name}`);
    await expect.poll(() => page.getByRole('heading', { name: host.id, level: 1 }).isVisible()).toBe(true);
    expect(await page.getByRole('link', { name: 'Edit', exact: true }).count()).toBe(0);
    await signOut(page);
  });

  it('an editor creates an asset from a kind: map entries, a list, a reference and a YAML part', async () => {
    const { page, server } = ui;
    await signIn(page, server.url, tokens.alice, 'alice');
    await page.getByRole('link', { name: 'New asset' }).click();
    await page.getByRole('navigation', { name: 'Kinds' }).getByRole('link', { name: 'Host', exact: true }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'New Host', level: 1 }).isVisible()).toBe(true);
    await page.getByLabel('name (required)', { exact: true }).fill('web-new-01');
    await page.getByLabel('hostname (required)', { exact: true }).fill('web-new-01.example.com');
    await page.getByRole('button', { name: 'Add to labels' }).click();
    await page.getByLabel('labels key 1').fill('env');
    await page.getByLabel('labels env', { exact: true }).fill('prod');
    await page.getByRole('button', { name: 'Add to services' }).click();
    await page.getByLabel('services 1', { exact: true }).fill('nginx.service');
    await page.getByLabel('owner', { exact: true }).fill('team/nobody-here');
    const files = page.getByLabel(/^files/);
    await files.fill('- path: /etc/motd\n  content: |\n    hello\n');
    await files.fill('- path: [unclosed\n');
    const filesErrors = page.locator(`#${await files.getAttribute('id')}-errors`);
    await expect.poll(() => filesErrors.textContent()).toContain('YAML: line 1');
    await files.fill('- path: /etc/motd\n  content: |\n    hello\n');
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    const dryRun = page.getByRole('region', { name: /^Check result/ });
    // The dangling owner is the server's finding: the dry run says so before anything is opened.
    await expect.poll(() => dryRun.getByRole('heading', { level: 2 }).textContent()).toBe('Check result: failed');
    expect(await dryRun.textContent()).toContain('team/nobody-here');
    const owner = page.getByLabel('owner', { exact: true });
    await owner.fill('');
    await owner.pressSequentially('team/', { delay: 10 });
    const teams = page.locator(`#${await owner.getAttribute('list')} option`);
    await expect.poll(() => teams.count()).toBeGreaterThan(0);
    const team = await teams.first().getAttribute('value');
    await owner.fill(team!);
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    await expect.poll(() => dryRun.getByRole('heading', { level: 2 }).textContent()).toBe('Check result: passed');
    expect(await dryRun.getByRole('region', { name: 'Would change: host/web-new-01' }).textContent()).toContain('added');
    await page.getByRole('button', { name: 'Open change request' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'New Host web-new-01', level: 1 }).isVisible()).toBe(true);

    const id = page.url().split('/').pop();
    const answer = await fetch(`${server.url}/api/v1/changes/${id}`, { headers: { authorization: `Bearer ${tokens.vic}` } });
    const change = (await answer.json()) as { checks: { diff: { base: { assets: Array<{ id: string; status: string }> } } } };
    expect(change.checks.diff.base.assets).toEqual([expect.objectContaining({ id: 'host/web-new-01', status: 'added' })]);
    expect(ui.problems).toEqual([]);
  });
});
