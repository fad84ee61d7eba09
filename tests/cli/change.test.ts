/**
 * End to end: change requests through the `estate` binary against a real `estate serve` —
 * `change create` from asset files, `show`, approvals by another user, `merge`, the refusals
 * (self-approval, missing approvals, wrong state) with exit 1, `estate edit` with an EDITOR
 * script, emergencies and their review, `close` and `revert`.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { assertBuilt, ESTATE_YAML, estate, git, hostYaml, makeRepo, makeTempDir, parseJson, removeTempDirs, serveEstate, type RunResult, type ServedEstate } from './helpers.js';

let served: ServedEstate | undefined;
let data: string;
let cwd: string;
/** Tokens by user: alice edits, bob and dora approve, carol is an admin. */
const tokens: Record<'alice' | 'bob' | 'carol' | 'dora', string> = { alice: '', bob: '', carol: '', dora: '' };

/** Waits until the server's /readyz reports `sha` as its indexed head. */
async function indexed(url: string, sha: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/readyz`);
      last = await response.text();
      if (response.ok && (JSON.parse(last) as { head: { sha: string } }).head.sha === sha) return;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not index ${sha} within ${timeoutMs} ms; /readyz: ${last}`);
}

/** Runs `estate <args> --server URL` as `user`. */
function as(user: keyof typeof tokens, args: string[], env: Record<string, string> = {}): RunResult {
  return estate([...args, '--server', served!.url], { cwd, env: { ESTATE_TOKEN: tokens[user], ...env } });
}

/** The JSON output of a command that must succeed. */
function json<T>(result: RunResult): T {
  expect(result.stderr, result.stdout).toBe('');
  expect(result.status).toBe(0);
  return parseJson<T>(result.stdout);
}

interface ChangeJson {
  id: number;
  title: string;
  state: string;
  branch: string;
  author: string;
  revision: number;
  blockers: Array<{ code: string; message: string }>;
  requiredApprovals: Array<{ id: string; given: string[]; missing: number }>;
  checks?: { status: string; diff: { main: { assets: Array<{ id: string; status: string; fields: Array<{ pointer: string; old?: unknown; new?: unknown }> }> } } };
  merged?: { sha: string };
  emergency?: { reason: string; by: string };
  review?: { acknowledged?: { by: string } };
}

/** Writes a file of asset documents and opens a change request from it as `user`; returns its id. */
function openChange(user: keyof typeof tokens, title: string, documents: string[]): number {
  const file = join(makeTempDir(), 'change.yaml');
  writeFileSync(file, documents.join('---\n'));
  return json<ChangeJson>(as(user, ['change', 'create', '-m', title, '--apply', file, '--format', 'json'])).id;
}

// Every step starts the CLI as a process (about half a second each): a test runs many of them.
describe('estate change and estate edit against a server', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    assertBuilt();
    const repo = makeRepo({
      'estate.yaml': ESTATE_YAML,
      'assets/hosts/web-01.yaml': hostYaml('web-01', '10.0.0.1', '  cpus: 4\n'),
      'assets/hosts/db-01.yaml': hostYaml('db-01', '10.0.0.9', '  cpus: 2\n'),
    });
    data = join(makeTempDir('estate-cli-data-'), 'data');
    cwd = makeTempDir();
    served = await serveEstate(['--data', data, '--import', repo, '--port', '0'], { cwd });
    await indexed(served.url, git(repo, 'rev-parse', 'HEAD'));
    const roles = { alice: 'editor', bob: 'approver', carol: 'admin', dora: 'approver' } as const;
    for (const [name, role] of Object.entries(roles)) {
      const created = estate(['token', 'create', '--data', data, '--role', role, '--name', name], { cwd });
      expect(created.status, created.stderr).toBe(0);
      tokens[name as keyof typeof tokens] = created.stdout.trim();
    }
  });

  afterAll(async () => {
    await served?.stop('SIGKILL');
    removeTempDirs();
  });

  it('create --apply → show → approve by another user → merge → estate get shows the new value', () => {
    const file = join(makeTempDir(), 'hosts.yaml');
    writeFileSync(file, [hostYaml('web-01', '10.0.0.1', '  cpus: 8\n'), hostYaml('web-02', '10.0.0.2', '  cpus: 4\n')].join('---\n'));
    const created = as('alice', ['change', 'create', '-m', 'web: eight cores, and web-02', '--apply', file]);
    expect(created.stderr).toBe('');
    expect(created.status).toBe(0);
    const id = Number(/^opened change request (\d+): web: eight cores, and web-02\n/.exec(created.stdout)?.[1]);
    expect(id).toBeGreaterThan(0);
    expect(created.stdout).toContain(`  branch    cr/${id} (revision 1, head `);
    expect(created.stdout).toMatch(/\n {2}state {5}open\n/);
    expect(created.stdout).toMatch(/\n {2}checks {4}passed \(risk medium, against main [0-9a-f]{12}\)\n/);
    expect(created.stdout).toContain('  ✓ validation the merged estate is valid');
    expect(created.stdout).toMatch(/\n {2}approvals 0\/1\n {4}… builtin\/default \(medium\): 0\/1 by approver; none given; 1 missing\n/);
    expect(created.stdout).toMatch(/\n {2}blockers\n {4}E_APPROVALS_REQUIRED: needs 1 more approval\(s\) by .*\(builtin\/default\)\n$/);

    const show = as('alice', ['change', 'show', String(id)]);
    expect(show.status).toBe(0);
    expect(show.stdout.split('\n')[0]).toBe(`#${id} web: eight cores, and web-02 [open]`);
    expect(show.stdout).toContain('author    alice\n');
    expect(show.stdout).toContain('changes   1 changed, 1 added, 0 removed, 0 moved (merged onto main now)\n');
    expect(show.stdout).toContain('  ~ host/web-01  assets/hosts/web-01.yaml\n      ~ spec.cpus: 4 → 8\n');
    expect(show.stdout).toContain('  + host/web-02  assets/hosts/web-02.yaml\n');
    const shown = json<ChangeJson>(as('alice', ['change', 'show', `#${id}`, '--format', 'json']));
    expect(shown).toMatchObject({ id, state: 'open', author: 'alice', branch: `cr/${id}`, revision: 1 });
    expect(shown.checks?.status).toBe('passed');

    const approved = as('bob', ['change', 'approve', String(id), '-m', 'looks right']);
    expect(approved.stderr).toBe('');
    expect(approved.status).toBe(0);
    expect(approved.stdout).toBe(`approved change request ${id} (revision 1); it is approved\n  ready to merge\n`);

    const merged = as('alice', ['change', 'merge', String(id)]);
    expect(merged.stderr).toBe('');
    expect(merged.status).toBe(0);
    const sha = /^merged change request \d+ onto main as ([0-9a-f]{12})\n$/.exec(merged.stdout)?.[1];
    expect(sha).toBeDefined();

    const web01 = as('alice', ['get', 'host/web-01', '-o', 'json']);
    expect(web01.status, web01.stderr).toBe(0);
    expect(parseJson<{ spec: { cpus: number } }>(web01.stdout).spec.cpus).toBe(8);
    expect(as('alice', ['get', 'host/web-02']).status).toBe(0);
    const after = json<ChangeJson>(as('alice', ['change', 'show', String(id), '--format', 'json']));
    expect(after.state).toBe('merged');
    expect(after.merged?.sha.slice(0, 12)).toBe(sha);

    // Once merged, it cannot merge again: the refusal is "not OK", exit 1.
    const again = as('alice', ['change', 'merge', String(id)]);
    expect(again.status).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toBe(`error[E_CHANGE_STATE]: change request ${id} is merged\n`);
  });

  it('refuses self-approval (exit 1, E_SELF_APPROVAL), a merge without approvals and an unknown change', () => {
    const id = openChange('bob', 'db-01: four cores', [hostYaml('db-01', '10.0.0.9', '  cpus: 4\n')]);
    const self = as('bob', ['change', 'approve', String(id)]);
    expect(self.status).toBe(1);
    expect(self.stdout).toBe('');
    expect(self.stderr).toBe(`error[E_SELF_APPROVAL]: bob opened change request ${id} and cannot approve it; ask another approver\n`);

    const early = as('bob', ['change', 'merge', String(id)]);
    expect(early.status).toBe(1);
    expect(early.stderr).toMatch(new RegExp(`^error\\[E_APPROVALS_REQUIRED\\]: change request ${id} needs 1 more approval\\(s\\) by .*\\(builtin/default\\)\\n$`));

    const editorApproves = as('alice', ['change', 'approve', String(id)]);
    expect(editorApproves.status).toBe(1);
    expect(editorApproves.stderr).toMatch(/^error\[E_FORBIDDEN\]: /);

    const missing = as('alice', ['change', 'show', '9999']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe('error[E_CHANGE_NOT_FOUND]: no change request 9999\n');

    const badId = as('alice', ['change', 'show', 'twelve']);
    expect(badId.status).toBe(2);
    expect(badId.stderr).toBe("error[E_USAGE]: 'twelve' is not a change request id; expected a number, e.g. 12\n");

    // A rejection blocks the merge until the rejecter approves.
    const rejected = as('dora', ['change', 'reject', String(id), '-m', 'not before the migration']);
    expect(rejected.status).toBe(0);
    expect(rejected.stdout).toContain(`rejected change request ${id} (revision 1)\n`);
    expect(rejected.stdout).toContain('E_REJECTED: rejected by dora: not before the migration\n');
    expect(as('carol', ['change', 'approve', String(id)]).status).toBe(0);
    const blocked = as('bob', ['change', 'merge', String(id)]);
    expect(blocked.status).toBe(1);
    expect(blocked.stderr).toBe(`error[E_REJECTED]: change request ${id} was rejected by dora; they must approve a revision before it can merge\n`);

    const closed = as('bob', ['change', 'close', String(id), '-m', 'after the migration']);
    expect(closed.status).toBe(0);
    expect(closed.stdout).toBe(`closed change request ${id}\n`);
    expect(json<ChangeJson>(as('bob', ['change', 'show', String(id), '--format', 'json'])).state).toBe('closed');
  });

  it('create refuses bad input before asking the server: no operation, bad YAML with line:col, a document that is no asset', () => {
    const none = as('alice', ['change', 'create', '-m', 'nothing']);
    expect(none.status).toBe(2);
    expect(none.stderr).toBe('error[E_USAGE]: a change request needs at least one operation: give --apply FILE, --ops FILE or --delete ID\n');
    const dir = makeTempDir();
    writeFileSync(join(dir, 'broken.yaml'), 'apiVersion: estate/v1\nkind: Host\nmetadata: {name: x\n');
    const broken = estate(['change', 'create', '-m', 'broken', '--apply', 'broken.yaml', '--server', served!.url], { cwd: dir, env: { ESTATE_TOKEN: tokens.alice } });
    expect(broken.status).toBe(1);
    expect(broken.stderr).toMatch(/^broken\.yaml:\d+:\d+: error\[E_YAML_SYNTAX\]: /);
    writeFileSync(join(dir, 'list.yaml'), '- a\n- b\n');
    const list = estate(['change', 'create', '-m', 'list', '--apply', 'list.yaml', '--server', served!.url], { cwd: dir, env: { ESTATE_TOKEN: tokens.alice } });
    expect(list.status).toBe(2);
    expect(list.stderr).toBe('error[E_USAGE]: list.yaml:1: document 1 is not an asset (a mapping with apiVersion, kind, metadata and spec)\n');
    const noServer = estate(['change', 'list'], { cwd: dir, env: { ESTATE_TOKEN: tokens.alice } });
    expect(noServer.status).toBe(2);
    expect(noServer.stderr).toBe('error[E_USAGE]: estate change list talks to an Estate server: give --server URL or set ESTATE_SERVER\n');
    const noToken = estate(['change', 'approve', '1', '--server', served!.url], { cwd: dir });
    expect(noToken.status).toBe(2);
    expect(noToken.stderr).toBe('error[E_USAGE]: estate change approve needs a token: set ESTATE_TOKEN (from estate token create)\n');
  });

  it('--ops and --delete make patch and delete operations; --dry-run creates nothing', () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'ops.json'), JSON.stringify({ operations: [{ op: 'patch', id: 'host/db-01', patch: { metadata: { labels: { tier: 'gold' } } } }] }));
    const before = json<unknown[]>(as('alice', ['change', 'list', '--state', 'all', '--format', 'json'])).length;
    const dry = estate(['change', 'create', '-m', 'dry', '--ops', 'ops.json', '--delete', 'Host/web-02', '--dry-run', '--server', served!.url], { cwd: dir, env: { ESTATE_TOKEN: tokens.alice } });
    expect(dry.stderr).toBe('');
    expect(dry.status).toBe(0);
    expect(dry.stdout).toMatch(/^dry run: nothing was created\nchecks {4}passed/);
    expect(json<unknown[]>(as('alice', ['change', 'list', '--state', 'all', '--format', 'json']))).toHaveLength(before);

    const created = estate(['change', 'create', '-m', 'db-01 gold, no web-02', '--ops', 'ops.json', '--delete', 'host/web-02', '--format', 'json', '--server', served!.url], {
      cwd: dir,
      env: { ESTATE_TOKEN: tokens.alice },
    });
    const change = json<ChangeJson>(created);
    const assets = change.checks!.diff.main.assets;
    expect(assets.map((a) => [a.id, a.status])).toEqual([
      ['host/db-01', 'changed'],
      ['host/web-02', 'removed'],
    ]);
    expect(assets[0]!.fields).toEqual([{ op: 'add', pointer: '/metadata/labels/tier', new: 'gold' }]);

    const table = as('alice', ['change', 'list']);
    expect(table.status).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +STATE +AUTHOR +CHECKS +APPROVALS +UPDATED +TITLE$/);
    expect(lines[1]).toMatch(new RegExp(`^${change.id} +open +alice +passed +0/1 +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\dZ +db-01 gold, no web-02$`));
    // Closed and merged ones are not in the default list.
    expect(lines.some((line) => / (closed|merged) /.test(line))).toBe(false);
    const mine = json<Array<{ author: string }>>(as('bob', ['change', 'list', '--mine', '--state', 'all', '--format', 'json']));
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((c) => c.author === 'bob')).toBe(true);
    const waiting = json<Array<{ id: number }>>(as('dora', ['change', 'list', '--waiting', '--format', 'json']));
    expect(waiting.map((c) => c.id)).toContain(change.id);
    expect(as('alice', ['change', 'close', String(change.id)]).status).toBe(0);
  });

  it('estate edit: an EDITOR that rewrites a field opens a change request with that change', () => {
    // web-01 has 8 cores since the first test; the "editor" is sed, run through the shell.
    const edited = as('alice', ['edit', 'host/web-01'], { EDITOR: "sed -i -e 's/cpus: 8/cpus: 16/'" });
    expect(edited.stderr).toBe('');
    expect(edited.status).toBe(0);
    const id = Number(/^opened change request (\d+): Edit host\/web-01\n/.exec(edited.stdout)?.[1]);
    expect(id).toBeGreaterThan(0);
    const change = json<ChangeJson>(as('alice', ['change', 'show', String(id), '--format', 'json']));
    expect(change.title).toBe('Edit host/web-01');
    expect(change.checks!.diff.main.assets).toEqual([
      { id: 'host/web-01', kind: 'Host', status: 'changed', path: 'assets/hosts/web-01.yaml', fields: [{ op: 'replace', pointer: '/spec/cpus', old: 8, new: 16 }] },
    ]);
    // VISUAL wins over EDITOR, and -m sets the title.
    const visual = as('alice', ['edit', 'host/db-01', '-m', 'db-01: more memory', '--format', 'json'], { VISUAL: "sed -i -e 's/cpus: 2/cpus: 3/'", EDITOR: 'false' });
    expect(json<ChangeJson>(visual).title).toBe('db-01: more memory');
  });

  it('estate edit: an unchanged edit creates nothing; invalid YAML keeps the file and names line:col', () => {
    const count = (): number => json<unknown[]>(as('alice', ['change', 'list', '--state', 'all', '--format', 'json'])).length;
    const before = count();
    const unchanged = as('alice', ['edit', 'host/web-01'], { EDITOR: 'true' });
    expect(unchanged.stderr).toBe('');
    expect(unchanged.status).toBe(0);
    expect(unchanged.stdout).toBe('no change to host/web-01: nothing proposed\n');
    // Reformatting is no change either.
    expect(as('alice', ['edit', 'host/web-01'], { EDITOR: "sed -i -e 's/^# .*$//'" }).stdout).toBe('no change to host/web-01: nothing proposed\n');

    const invalid = as('alice', ['edit', 'host/web-01'], { EDITOR: `printf 'spec: [cpus\\n' >>` });
    expect(invalid.status).toBe(1);
    expect(invalid.stdout).toBe('');
    const [diagnostic, keptLine, hint] = invalid.stderr.trimEnd().split('\n');
    expect(diagnostic).toMatch(/^\/.*host-web-01\.yaml:\d+:\d+: error\[E_YAML_SYNTAX\]: .+/);
    const file = /^your edit is kept in (\/.*\.yaml)$/.exec(keptLine ?? '')?.[1];
    expect(file).toBeDefined();
    expect(diagnostic!.startsWith(`${file}:`)).toBe(true);
    expect(readFileSync(file!, 'utf8')).toContain('spec: [cpus\n');
    expect(hint).toBe(`fix it and propose it with: estate change create -m 'Edit host/web-01' --apply ${file}`);
    rmSync(dirname(file!), { recursive: true, force: true });

    const renamed = as('alice', ['edit', 'host/web-01'], { EDITOR: "sed -i -e 's/name: web-01/name: web-09/'" });
    expect(renamed.status).toBe(1);
    expect(renamed.stderr).toMatch(/^error\[E_USAGE\]: \/.*: the document is now Host 'web-09', not host\/web-01; estate edit changes one asset in place/);
    const renamedFile = /your edit is kept in (\/.*\.yaml)\n/.exec(renamed.stderr)?.[1];
    expect(existsSync(renamedFile!)).toBe(true);
    expect(parse(readFileSync(renamedFile!, 'utf8')).metadata.name).toBe('web-09');
    rmSync(dirname(renamedFile!), { recursive: true, force: true });

    const failing = as('alice', ['edit', 'host/web-01'], { EDITOR: 'false' });
    expect(failing.status).toBe(2);
    expect(failing.stderr).toMatch(/^error\[E_EDITOR\]: the editor 'false' exited with status 1; nothing was proposed, and the file is kept: \/.*\.yaml\n$/);
    expect(count()).toBe(before);
  });

  it('emergency merge by an admin, its review acknowledged by another approver; revert opens a change request', () => {
    const id = openChange('alice', 'web-02 down to two cores', [hostYaml('web-02', '10.0.0.2', '  cpus: 2\n')]);
    const notAdmin = as('bob', ['change', 'merge', String(id), '--emergency', 'outage']);
    expect(notAdmin.status).toBe(1);
    expect(notAdmin.stderr).toBe("error[E_FORBIDDEN]: an emergency merge needs the role 'admin'; bob has 'approver'\n");

    const merged = as('carol', ['change', 'merge', String(id), '--emergency', 'checkout outage']);
    expect(merged.stderr).toBe('');
    expect(merged.status).toBe(0);
    expect(merged.stdout).toMatch(new RegExp(`^merged change request ${id} onto main as [0-9a-f]{12}, an emergency \\(checkout outage\\); its post-merge review is due \\d{4}-\\d\\d-\\d\\dT.*Z\\n$`));
    const shown = as('carol', ['change', 'show', String(id)]);
    expect(shown.stdout.split('\n')[0]).toBe(`#${id} web-02 down to two cores [merged, emergency]`);
    expect(shown.stdout).toContain('emergency checkout outage (by carol)\n');
    expect(shown.stdout).toMatch(/\nreview {4}pending, due /);
    expect(json<Array<{ id: number }>>(as('bob', ['change', 'list', '--emergency', '--format', 'json'])).map((c) => c.id)).toContain(id);

    const own = as('carol', ['change', 'review', String(id)]);
    expect(own.status).toBe(1);
    expect(own.stderr).toBe(`error[E_SELF_APPROVAL]: carol made emergency change ${id} and cannot review it; ask another approver\n`);
    const reviewed = as('bob', ['change', 'review', String(id), '-m', 'fine, follow-up in the postmortem']);
    expect(reviewed.stderr).toBe('');
    expect(reviewed.status).toBe(0);
    expect(reviewed.stdout).toBe(`acknowledged the post-merge review of emergency change ${id}\n`);
    expect(json<ChangeJson>(as('bob', ['change', 'show', String(id), '--format', 'json'])).review?.acknowledged?.by).toBe('bob');

    const reverted = as('alice', ['change', 'revert', String(id)]);
    expect(reverted.stderr).toBe('');
    expect(reverted.status).toBe(0);
    const revertId = Number(/^opened change request (\d+): Revert "web-02 down to two cores"\n/.exec(reverted.stdout)?.[1]);
    expect(revertId).toBeGreaterThan(id);
    const revert = json<ChangeJson>(as('alice', ['change', 'show', String(revertId), '--format', 'json']));
    expect(revert.checks!.diff.main.assets[0]).toMatchObject({ id: 'host/web-02', fields: [{ pointer: '/spec/cpus', old: 2, new: 4 }] });
  });
});
