import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commit, copyDemo, estate, git, makeTempDir, removeTempDirs, serveEstate, type ServedEstate } from '../cli/helpers.js';
import { getJson, waitFor } from './helpers.js';

afterAll(removeTempDirs);

const BASTION = 'assets/hosts/prod/bastion-01.yaml';

/** Waits until the server's index reaches `sha`; returns the /readyz body. */
function indexed(server: ServedEstate, sha: string): Promise<{ status: string; errors: number }> {
  return waitFor(`the index to reach ${sha}`, async () => {
    const ready = await getJson(`${server.url}/readyz`);
    return ready.status === 200 && ready.body.head?.sha === sha ? ready.body : undefined;
  });
}

describe('estate serve over a real repository', () => {
  it('imports a repo, follows pushes to main, reports a broken push as degraded, and rebuilds after a force push', async () => {
    const work = copyDemo();
    const data = join(makeTempDir('estate-serve-'), 'data');
    const server = await serveEstate(['--data', data, '--import', work, '--port', '0'], { cwd: work });
    try {
      const token = estate(['token', 'create', '--data', data, '--role', 'viewer'], { cwd: work }).stdout.trim();
      const bare = join(data, 'estate.git');
      expect(statSync(join(data, 'estate.db')).mode & 0o777).toBe(0o600);
      const first = git(work, 'rev-parse', 'HEAD');
      const bastion = readFileSync(join(work, BASTION), 'utf8');
      expect((await indexed(server, first)).status).toBe('ready');

      // A push moves main: the server notices without being told.
      const resized = commit(work, 'bastion-01: 16 cores', { [BASTION]: bastion.replace(/cpus: \d+/, 'cpus: 16') });
      git(work, 'push', '--quiet', bare, 'main:main');
      await indexed(server, resized);
      const host = await getJson(`${server.url}/api/v1/assets/host/bastion-01`, token);
      expect(host.body.asset.document.spec.cpus).toBe(16);
      expect(host.body.asset.since.sha).toBe(resized);
      expect(host.headers.get('x-estate-commit')).toBe(resized);

      // A push around the gates that breaks the estate is indexed, its problems recorded.
      const broken = commit(work, 'break a host', { 'assets/hosts/prod/broken.yaml': 'apiVersion: estate/v1\nkind: Host\nmetadata: {name: broken\n' });
      git(work, 'push', '--quiet', bare, 'main:main');
      const degraded = await indexed(server, broken);
      expect(degraded).toMatchObject({ status: 'degraded' });
      expect(degraded.errors).toBeGreaterThan(0);
      const record = await getJson(`${server.url}/api/v1/commits/${broken}`, token);
      expect(record.body.item.errors).toBe(degraded.errors);
      expect(record.body.item.diagnostics.map((d: { code: string }) => d.code)).toContain('E_YAML_SYNTAX');

      // A force push that drops those commits: the index describes main as it is now.
      git(work, 'reset', '--quiet', '--hard', first);
      const replacement = commit(work, 'bastion-01: 12 cores instead', { [BASTION]: bastion.replace(/cpus: \d+/, 'cpus: 12') });
      git(work, 'push', '--quiet', '--force', bare, 'main:main');
      expect((await indexed(server, replacement)).status).toBe('ready');
      expect((await getJson(`${server.url}/api/v1/commits/${broken}`, token)).status).toBe(404);
      expect((await getJson(`${server.url}/api/v1/assets/host/bastion-01`, token)).body.asset.document.spec.cpus).toBe(12);
    } finally {
      expect((await server.stop()).status).toBe(0);
    }
  });

  it('keeps admin routes for admins: 403 for a viewer, the token list for an admin, never a secret', async () => {
    const work = copyDemo();
    const data = join(makeTempDir('estate-serve-'), 'data');
    const server = await serveEstate(['--data', data, '--import', work, '--port', '0'], { cwd: work });
    try {
      const viewer = estate(['token', 'create', '--data', data, '--role', 'viewer', '--name', 'dashboards'], { cwd: work }).stdout.trim();
      const admin = estate(['token', 'create', '--data', data, '--role', 'admin', '--name', 'alice'], { cwd: work }).stdout.trim();
      const refused = await getJson(`${server.url}/api/v1/tokens`, viewer);
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({ code: 'E_FORBIDDEN', details: { required: 'admin', role: 'viewer' } });
      const listed = await getJson(`${server.url}/api/v1/tokens`, admin);
      expect(listed.status).toBe(200);
      expect(listed.body.items.map((t: { name: string; role: string }) => [t.name, t.role])).toEqual([
        ['dashboards', 'viewer'],
        ['alice', 'admin'],
      ]);
      const text = JSON.stringify(listed.body);
      expect(text).not.toContain(viewer.slice(4, 20));
      expect(text).not.toMatch(/hash/i);
      expect((await getJson(`${server.url}/api/v1/tokens`)).status).toBe(401);
    } finally {
      await server.stop();
    }
  });

  it('refuses what it cannot serve, with a code and a hint', async () => {
    const work = copyDemo();
    const base = makeTempDir('estate-serve-');
    const run = (...args: string[]) => estate(['serve', ...args, '--port', '0'], { cwd: work });

    const notBare = run('--data', join(base, 'a'), '--repo', work);
    expect(notBare.status).toBe(2);
    expect(notBare.stderr).toMatch(/error\[E_NOT_BARE\].*git clone --bare/);

    const gitDir = run('--data', join(base, 'a'), '--repo', join(work, '.git'));
    expect(gitDir.status).toBe(2);
    expect(gitDir.stderr).toContain('error[E_NOT_BARE]');

    const noStore = estate(['token', 'create', '--data', base, '--role', 'admin'], { cwd: work });
    expect(noStore.status).toBe(2);
    expect(noStore.stderr).toContain('error[E_NO_DATA_DIR]');
    expect(noStore.stdout).toBe('');
    expect(existsSync(join(base, 'estate.db'))).toBe(false);

    const both = run('--data', join(base, 'b'), '--repo', work, '--import', work);
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('error[E_USAGE]');

    const noMain = makeTempDir('estate-nomain-');
    git(noMain, 'init', '--quiet', '--initial-branch=trunk');
    commit(noMain, 'first');
    const imported = run('--data', join(base, 'c'), '--import', noMain);
    expect(imported.status).toBe(2);
    expect(imported.stderr).toMatch(/error\[E_NO_MAIN\].*git branch -m/);

    // One process per data dir.
    const data = join(base, 'd');
    mkdirSync(data);
    const server = await serveEstate(['--data', data, '--import', work, '--port', '0'], { cwd: work });
    try {
      const second = run('--data', data);
      expect(second.status).toBe(2);
      expect(second.stderr).toContain('error[E_DATA_DIR_LOCKED]');
      const reindex = estate(['reindex', '--data', data], { cwd: work });
      expect(reindex.status).toBe(2);
      expect(reindex.stderr).toContain('error[E_DATA_DIR_LOCKED]');
    } finally {
      await server.stop('SIGKILL');
    }
    // A holder that died leaves no lock behind.
    const after = await serveEstate(['--data', data, '--port', '0'], { cwd: work });
    expect((await after.stop()).status).toBe(0);

    const noRepo = join(base, 'e');
    mkdirSync(noRepo);
    const emptyReindex = estate(['reindex', '--data', noRepo], { cwd: work });
    expect(emptyReindex.status).toBe(2);
    expect(emptyReindex.stderr).toContain('error[E_NOT_A_REPO]');
    expect(existsSync(join(noRepo, 'estate.git'))).toBe(false);
  });
});
