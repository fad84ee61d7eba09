import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, commit, ESTATE_YAML, estate, estateAll, git, makeRepo, makeTempDir, parseJson, removeTempDirs, writeFiles } from './helpers.js';

interface HistoryJson {
  id: string;
  entries: Array<{
    commit: { sha: string; parents: string[]; authorName: string; authorEmail: string; authorDate: string; subject: string; body: string };
    change: 'added' | 'changed' | 'moved';
    path: string;
    fromPath?: string;
    fields: Array<{ op: string; pointer: string; old?: unknown; new?: unknown }>;
  }>;
}

const host = (name: string, spec: string): string => `apiVersion: estate/v1
kind: Host
metadata:
  name: ${name}
spec:
  hostname: ${name}.example.com
${spec}`;

const ALICE = { name: 'Alice Ops', email: 'alice@example.com' };
const BOB = { name: 'Bob Admin', email: 'bob@example.com' };

let repo: string;
/** Commit shas by step name. */
const c: Record<string, string> = {};

beforeAll(() => {
  assertBuilt();
  repo = makeRepo({ 'estate.yaml': ESTATE_YAML }, 'empty estate');
  c['empty'] = git(repo, 'rev-parse', 'HEAD');
  let day = 1;
  const step = (name: string, message: string, files: Parameters<typeof commit>[2], author = ALICE): void => {
    c[name] = commit(repo, message, files, { author, date: `2024-05-0${day++}T12:00:00+02:00` });
  };
  step('add', 'add hosts', {
    'assets/hosts/a.yaml': host('a', '  cpus: 2\n'),
    'assets/hosts/o.yaml': host('o', '  cpus: 1\n'),
    'assets/hosts/multi.yaml': host('m1', '  cpus: 1\n'),
    'assets/hosts/multi2.yaml': host('n1', '  cpus: 1\n'),
  });
  step('cpus', 'a: four cores', { 'assets/hosts/a.yaml': host('a', '  cpus: 4\n') }, BOB);
  git(repo, 'mv', 'assets/hosts/a.yaml', 'assets/hosts/prod-a.yaml');
  step('rename', 'rename a.yaml', {});
  step('other', 'o: more cores', { 'assets/hosts/o.yaml': host('o', '  cpus: 8\n') });
  // Into a multi-document file, with a change on the way.
  step('intoMulti', 'merge a into multi.yaml', {
    'assets/hosts/prod-a.yaml': null,
    'assets/hosts/multi.yaml': `${host('m1', '  cpus: 1\n')}---\n${host('a', '  cpus: 4\n  memoryGiB: 16\n')}`,
  });
  step('neighbour', 'm1: more cores', { 'assets/hosts/multi.yaml': `${host('m1', '  cpus: 2\n')}---\n${host('a', '  cpus: 4\n  memoryGiB: 16\n')}` });
  step('os', 'a: set the os', { 'assets/hosts/multi.yaml': `${host('m1', '  cpus: 2\n')}---\n${host('a', '  cpus: 4\n  memoryGiB: 16\n  os: debian-12\n')}` }, BOB);
  step('reformat', 'reformat multi.yaml', {
    'assets/hosts/multi.yaml': `${host('m1', '  cpus: 2\n')}---\n# host a\nkind: Host\napiVersion: estate/v1\nmetadata: {name: a}\nspec: {os: debian-12, memoryGiB: 16, cpus: 4, hostname: a.example.com}\n`,
  });
  // From one multi-document file into another.
  step('toMulti2', 'move a to multi2.yaml', {
    'assets/hosts/multi.yaml': host('m1', '  cpus: 2\n'),
    'assets/hosts/multi2.yaml': `${host('n1', '  cpus: 1\n')}---\n${host('a', '  cpus: 4\n  memoryGiB: 16\n  os: debian-12\n')}`,
  });
  step('last', 'n1: more cores', { 'assets/hosts/multi2.yaml': `${host('n1', '  cpus: 2\n')}---\n${host('a', '  cpus: 4\n  memoryGiB: 16\n  os: debian-12\n')}` });
});
afterAll(removeTempDirs);

/** `estate history <args> --format json`, for each list of args (run at once). */
const histories = async (...queries: string[][]): Promise<HistoryJson[]> => {
  const results = await estateAll(queries.map((args) => [['history', ...args, '--format', 'json'], { cwd: repo }]));
  return results.map((result) => {
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    return parseJson<HistoryJson>(result.stdout);
  });
};
const shas = (history: HistoryJson | undefined): Array<string | undefined> => history?.entries.map((e) => e.commit.sha) ?? [];

describe('estate history', () => {
  it('lists every commit that changed the asset, newest first, across renames and multi-document files', async () => {
    const [{ id, entries }] = (await histories(['host/a'])) as [HistoryJson];
    expect(id).toBe('host/a');
    expect(entries.map((e) => [e.commit.sha, e.change, e.fromPath ?? null, e.path])).toEqual([
      [c['toMulti2'], 'moved', 'assets/hosts/multi.yaml', 'assets/hosts/multi2.yaml'],
      [c['os'], 'changed', null, 'assets/hosts/multi.yaml'],
      [c['intoMulti'], 'moved', 'assets/hosts/prod-a.yaml', 'assets/hosts/multi.yaml'],
      [c['rename'], 'moved', 'assets/hosts/a.yaml', 'assets/hosts/prod-a.yaml'],
      [c['cpus'], 'changed', null, 'assets/hosts/a.yaml'],
      [c['add'], 'added', null, 'assets/hosts/a.yaml'],
    ]);
    expect(entries.map((e) => e.fields)).toEqual([
      [],
      [{ op: 'add', pointer: '/spec/os', new: 'debian-12' }],
      [{ op: 'add', pointer: '/spec/memoryGiB', new: 16 }],
      [],
      [{ op: 'replace', pointer: '/spec/cpus', old: 2, new: 4 }],
      [],
    ]);
    expect(entries[1]?.commit).toMatchObject({
      authorName: 'Bob Admin',
      authorEmail: 'bob@example.com',
      authorDate: '2024-05-07T12:00:00+02:00',
      subject: 'a: set the os',
      parents: [c['neighbour']],
    });
  });

  it('prints sha, change, date, author, message, file and fields as text', () => {
    const result = estate(['history', 'Host/a'], { cwd: repo });
    expect(result.status).toBe(0);
    const blocks = result.stdout.split(/\n(?=[0-9a-f]{12} )/);
    expect(blocks).toHaveLength(6);
    expect(blocks[1]).toBe(
      [
        `${c['os']!.slice(0, 12)} changed  2024-05-07T12:00:00+02:00  Bob Admin <bob@example.com>`,
        '    a: set the os',
        '    assets/hosts/multi.yaml',
        '      + spec.os: "debian-12"',
      ].join('\n'),
    );
    expect(blocks[2]).toBe(
      [
        `${c['intoMulti']!.slice(0, 12)} moved  2024-05-05T12:00:00+02:00  Alice Ops <alice@example.com>`,
        '    merge a into multi.yaml',
        '    assets/hosts/prod-a.yaml → assets/hosts/multi.yaml',
        '      + spec.memoryGiB: 16',
      ].join('\n'),
    );
    expect(blocks[5]).toBe(`${c['add']!.slice(0, 12)} added  2024-05-01T12:00:00+02:00  Alice Ops <alice@example.com>\n    add hosts\n    assets/hosts/a.yaml\n`);
  });

  it('ignores commits that only touched other documents of the same file', async () => {
    const [m1, n1] = await histories(['host/m1'], ['host/n1']);
    expect(shas(m1)).toEqual([c['neighbour'], c['add']]);
    expect(shas(n1)).toEqual([c['last'], c['add']]);
  });

  it('stops after --limit entries and starts at --rev', async () => {
    const [limited, older, both] = await histories(['host/a', '--limit', '2'], ['host/a', '--rev', c['other']!], ['host/a', '--rev', 'HEAD~4', '--limit', '1']);
    expect(shas(limited)).toEqual([c['toMulti2'], c['os']]);
    expect(shas(older)).toEqual([c['rename'], c['cpus'], c['add']]);
    expect(shas(both)).toEqual([c['intoMulti']]);
  });

  it('reads a bare repository', () => {
    const bare = join(makeTempDir(), 'estate.git');
    git(repo, 'clone', '--quiet', '--bare', repo, bare);
    const result = estate(['history', 'host/a', '--repo', bare, '--format', 'json'], { cwd: makeTempDir() });
    expect(result.status).toBe(0);
    expect(parseJson<HistoryJson>(result.stdout).entries.map((e) => e.commit.sha)).toEqual(
      ['toMulti2', 'os', 'intoMulti', 'rename', 'cpus', 'add'].map((step) => c[step]),
    );
  });

  it('exits 1 for an asset that does not exist, and 2 for a bad id, limit, revision or a directory that is not a repository', async () => {
    const plain = makeTempDir();
    writeFiles(plain, { 'estate.yaml': ESTATE_YAML });
    expect(git(repo, 'rev-parse', 'HEAD~10')).toBe(c['empty']);
    const [missing, before, id, limit, rev, notRepo] = await estateAll(
      [
        ['history', 'host/zz'],
        ['history', 'host/a', '--rev', 'HEAD~10'],
        ['history', 'a'],
        ['history', 'host/a', '--limit', '0'],
        ['history', 'host/a', '--rev', 'nope'],
        ['history', 'host/a', '--repo', plain],
      ].map((args): [string[], { cwd: string }] => [args, { cwd: repo }]),
    );
    expect(missing!.status).toBe(1);
    expect(missing!.stdout).toBe('');
    expect(missing!.stderr).toBe("error[E_ASSET_NOT_FOUND]: asset 'host/zz' not found at HEAD\n");
    expect(before!.status).toBe(1);
    expect(before!.stderr).toBe("error[E_ASSET_NOT_FOUND]: asset 'host/a' not found at HEAD~10\n");
    expect(id!.status).toBe(2);
    expect(id!.stderr).toMatch(/^error\[E_USAGE\]: 'a' is not an asset id/);
    expect(limit!.status).toBe(2);
    expect(limit!.stderr).toBe("error[E_USAGE]: --limit must be a whole number of at least 1 (got '0')\n");
    expect(rev!.status).toBe(2);
    expect(rev!.stderr).toBe(`error[E_REV_NOT_FOUND]: revision 'nope' not found in '${repo}'\n`);
    expect(notRepo!.status).toBe(2);
    expect(notRepo!.stderr).toBe(`error[E_NOT_A_REPO]: '${plain}' is not a git repository\n`);
  });
});
