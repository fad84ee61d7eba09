/**
 * End to end: `estate drift adopt|revert|ignore|declare` (the built CLI) against a real `estate
 * serve`. An agent token posts a report that drifts from web-01's Host asset and one from a host
 * nobody declared; an editor acts on them, a viewer is refused.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ESTATE_YAML, estate, hostYaml, makeRepo, makeTempDir, parseJson, removeTempDirs, serveEstate, type RunResult, type ServedEstate } from './helpers.js';

let served: ServedEstate | undefined;
let cwd: string;
const tokens = { viewer: '', editor: '', agent: '' };

const MOTD = 'managed\n';
const EXTRA = `  packages: {nginx: ">=1.22"}
  files:
    - {path: /etc/motd, content: ${JSON.stringify(MOTD)}, mode: "0644"}
`;
const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Runs `estate <args> --server URL` with `token` in ESTATE_TOKEN. */
function as(token: string, args: string[]): RunResult {
  return estate([...args, '--server', served!.url], { cwd, env: { ESTATE_TOKEN: token } });
}

async function post(body: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${served!.url}/api/v1/reports`, { method: 'POST', headers: { authorization: `Bearer ${tokens.agent}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(202);
}

/** Polls a GET with the viewer token until `done` accepts its JSON. */
async function waitFor(path: string, done: (body: { items: unknown[] }) => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const response = await fetch(`${served!.url}${path}`, { headers: { authorization: `Bearer ${tokens.viewer}` } });
    last = await response.text();
    if (response.status === 200 && done(JSON.parse(last) as { items: unknown[] })) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${path} did not get there within ${timeoutMs} ms; last answer: ${last}`);
}

describe('estate drift adopt, revert, ignore and declare against a server', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    assertBuilt();
    const repo = makeRepo({ 'estate.yaml': ESTATE_YAML, 'assets/hosts/web-01.yaml': hostYaml('web-01', '10.0.0.1', EXTRA) });
    const data = join(makeTempDir('estate-cli-data-'), 'data');
    cwd = makeTempDir();
    served = await serveEstate(['--data', data, '--import', repo, '--port', '0'], { cwd });
    const roles = { viewer: ['--role', 'viewer', '--name', 'victor'], editor: ['--role', 'editor', '--name', 'edna'], agent: ['--role', 'agent', '--host', 'web-01', '--host', 'db-09'] };
    for (const [name, args] of Object.entries(roles)) {
      const created = estate(['token', 'create', '--data', data, ...args], { cwd });
      expect(created.status, created.stderr).toBe(0);
      tokens[name as keyof typeof tokens] = created.stdout.trim();
    }
    const hacked = 'hacked\n';
    await post({
      reportId: '01JDQ9A0000000000000000001',
      host: 'web-01',
      seq: 1,
      collectedAt: new Date().toISOString(),
      facts: { hostname: 'web-01.example.com', packages: { nginx: '1.18.0-6' }, files: { '/etc/motd': { sha256: sha(hacked), mode: '0666', owner: 'root:root', size: hacked.length, content: hacked } } },
    });
    await post({ reportId: '01JDQ9A0000000000000000002', host: 'db-09', seq: 1, collectedAt: new Date().toISOString(), facts: { hostname: 'db-09.example.com', ip: ['10.0.9.9'], cpus: 8 } });
    await waitFor('/api/v1/drift?asset=host/web-01', (body) => body.items.length === 3);
    await waitFor('/api/v1/drift/unmanaged', (body) => body.items.length === 1);
  });

  afterAll(async () => {
    await served?.stop('SIGKILL');
    removeTempDirs();
  });

  it('adopt opens a change request and prints its id and URL; nothing adoptable and a viewer exit 1', () => {
    const denied = as(tokens.viewer, ['drift', 'adopt', 'web-01']);
    expect(denied.status).toBe(1);
    expect(denied.stderr).toMatch(/^error\[E_FORBIDDEN\]: /);

    const nothing = as(tokens.editor, ['drift', 'adopt', 'web-01', '--field', '/spec/cpus']);
    expect(nothing.status).toBe(1);
    expect(nothing.stderr).toMatch(/^error\[E_NOTHING_TO_ADOPT\]: nothing of host\/web-01 can be adopted: \/spec\/cpus: no open drift item/);

    const adopted = as(tokens.editor, ['drift', 'adopt', 'web-01', '--field', '/spec/packages/nginx', '--field', 'files/~1etc~1motd/mode']);
    expect(adopted.stderr).toBe('');
    expect(adopted.status).toBe(0);
    const id = /^opened change request (\d+): drift: adopt observed state of host\/web-01\n/.exec(adopted.stdout)?.[1];
    expect(id).toBeDefined();
    expect(adopted.stdout).toContain(`url       ${served!.url}/api/v1/changes/${id}\n`);
    expect(adopted.stdout).toMatch(/author +edna/);

    const json = as(tokens.editor, ['drift', 'adopt', 'host/web-01', '--title', 'take the new motd', '--format', 'json']);
    expect(json.status).toBe(0);
    const answer = parseJson<{ change: { id: number; title: string }; skipped: unknown[] }>(json.stdout);
    expect(answer.change.title).toBe('take the new motd');
    expect(answer.skipped).toEqual([]);
  });

  it('ignore needs a reason and hides the item from open drift; revert records a request for a file and refuses a package', () => {
    const noReason = as(tokens.editor, ['drift', 'ignore', 'web-01', '/spec/packages/nginx']);
    expect(noReason.status).toBe(2);
    expect(noReason.stderr).toMatch(/^error\[E_USAGE\]: estate drift ignore needs --reason/);

    const ignored = as(tokens.editor, ['drift', 'ignore', 'web-01', '/spec/packages/nginx', '--reason', 'pinned for a rollback']);
    expect(ignored.stderr).toBe('');
    expect(ignored.status).toBe(0);
    expect(ignored.stdout).toMatch(/^ignored: host\/web-01 \/spec\/packages\/nginx \(observed 1\.18\.0-6\)\nignored while the observed value stays the same; .*DriftIgnore/);
    const list = as(tokens.viewer, ['drift', 'list', '--state', 'ignored', '--format', 'json']);
    expect(parseJson(list.stdout)).toEqual([expect.objectContaining({ field: '/spec/packages/nginx', state: 'ignored', ignored: expect.objectContaining({ reason: 'pinned for a rollback', by: 'edna' }) })]);
    const show = as(tokens.viewer, ['drift', 'show', 'web-01', '--state', 'ignored']);
    expect(show.stdout).toMatch(/ignored {5}by edna at \S+: pinned for a rollback/);
    const open = as(tokens.viewer, ['drift', 'list', '--format', 'json']);
    expect(parseJson<Array<{ field: string }>>(open.stdout).map((i) => i.field)).toEqual(['/spec/files/~1etc~1motd/content', '/spec/files/~1etc~1motd/mode']);

    const reverted = as(tokens.editor, ['drift', 'revert', 'web-01', '/spec/files/~1etc~1motd/content']);
    expect(reverted.stderr).toBe('');
    expect(reverted.status).toBe(0);
    expect(reverted.stdout).toMatch(/^revert requested: host\/web-01 \/spec\/files\/~1etc~1motd\/content \(by edna at \S+\)\n.*enforcement on \(mode observe\)\n$/);

    const refused = as(tokens.editor, ['drift', 'revert', 'web-01', '/spec/packages/nginx']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^error\[E_NOT_REVERTIBLE\]: \/spec\/packages\/nginx cannot be reverted by the agent.*adopt the observed one/);
  });

  it('declare opens the change request declaring an unmanaged host; a declared one exits 1', () => {
    const declared = as(tokens.editor, ['drift', 'declare', 'db-09', '--label', 'env=dev']);
    expect(declared.stderr).toBe('');
    expect(declared.status).toBe(0);
    expect(declared.stdout).toMatch(/^opened change request \d+: drift: declare host\/db-09\n {2}url +http:\/\/\S+\/api\/v1\/changes\/\d+\n/);
    expect(declared.stdout).toMatch(/checks +passed/);

    const again = as(tokens.editor, ['drift', 'declare', 'web-01']);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^error\[E_ALREADY_DECLARED\]: /);
    const badLabel = as(tokens.editor, ['drift', 'declare', 'db-09', '--label', 'dev']);
    expect(badLabel.status).toBe(2);
  });
});
