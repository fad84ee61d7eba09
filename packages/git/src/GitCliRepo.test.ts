import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, symlink, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GitCliRepo, type PathLogEntry } from './GitCliRepo.js';
import { hashBlob } from './hashBlob.js';
import { initRepo } from './initRepo.js';
import { useTempRepos } from './testing/tempRepos.js';

const { tempDir, track } = useTempRepos('estate-git');

async function open(dir: string): Promise<GitCliRepo> {
  return track(await GitCliRepo.open(dir));
}

/** Runs git like a user would, with a fixed identity and clock so shas are stable. */
function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'commit.gpgSign=false', ...args], {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Ada',
      GIT_AUTHOR_EMAIL: 'ada@example.com',
      GIT_AUTHOR_DATE: '2024-05-01T12:00:00+02:00',
      GIT_COMMITTER_NAME: 'Bob',
      GIT_COMMITTER_EMAIL: 'bob@example.com',
      GIT_COMMITTER_DATE: '2024-05-02T08:30:00Z',
    },
    maxBuffer: 64 * 1024 * 1024,
  });
}

async function write(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

/** Writes files, stages everything and commits; returns the new sha. */
async function commit(root: string, message: string, files: Record<string, string | Buffer> = {}): Promise<string> {
  await write(root, files);
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '--allow-empty', '-m', message);
  return git(root, 'rev-parse', 'HEAD').trim();
}

/** A work tree repository on branch main. */
async function workRepo(): Promise<{ root: string; repo: GitCliRepo }> {
  const root = await tempDir();
  git(root, 'init', '-q', '--initial-branch=main');
  return { root, repo: await open(root) };
}

describe('GitCliRepo.open', () => {
  it('rejects a directory that is not in a repository', async () => {
    const dir = await tempDir();
    const error = await GitCliRepo.open(dir).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'E_NOT_A_REPO', message: `'${dir}' is not a git repository` });
  });

  it('rejects a directory that does not exist', async () => {
    const dir = join(await tempDir(), 'missing');
    await expect(GitCliRepo.open(dir)).rejects.toMatchObject({ code: 'E_NOT_A_REPO', data: { dir } });
  });

  it('opens a work tree from a subdirectory', async () => {
    const { root } = await workRepo();
    await mkdir(join(root, 'assets'));
    const repo = await open(join(root, 'assets'));
    expect(repo).toMatchObject({ dir: join(root, 'assets'), gitDir: join(root, '.git'), bare: false, workTree: root });
  });

  it('opens a bare repository', async () => {
    const dir = join(await tempDir(), 'estate.git');
    const repo = track(await initRepo(dir, { bare: true }));
    expect(repo).toMatchObject({ dir, gitDir: dir, bare: true, workTree: undefined });
  });
});

describe('resolveCommit', () => {
  it('resolves branches, relative revisions and sha prefixes to full shas', async () => {
    const { root, repo } = await workRepo();
    const first = await commit(root, 'first', { a: '1' });
    const second = await commit(root, 'second', { a: '2' });
    git(root, 'tag', '-a', '-m', 'v1', 'v1', first);
    expect(await repo.resolveCommit('main')).toBe(second);
    expect(await repo.resolveCommit('HEAD~1')).toBe(first);
    expect(await repo.resolveCommit(first.slice(0, 8))).toBe(first);
    expect(await repo.resolveCommit('v1')).toBe(first); // an annotated tag is peeled to its commit
  });

  it('reports unknown revisions and revisions that would be options', async () => {
    const { root, repo } = await workRepo();
    const first = await commit(root, 'first', { a: '1' });
    const tree = git(root, 'rev-parse', 'HEAD^{tree}').trim();
    for (const rev of ['nope', 'HEAD~5', '-x', '--all', '', tree]) {
      await expect(repo.resolveCommit(rev), rev).rejects.toMatchObject({
        code: 'E_REV_NOT_FOUND',
        message: `revision '${rev}' not found in '${root}'`,
        data: { rev },
      });
      expect(await repo.tryResolveCommit(rev)).toBeUndefined();
    }
    expect(await repo.tryResolveCommit('main')).toBe(first);
  });

  it('finds nothing on an unborn branch', async () => {
    const { repo } = await workRepo();
    expect(await repo.tryResolveCommit('HEAD')).toBeUndefined();
    expect(await repo.tryReadRef('refs/heads/main')).toBeUndefined();
  });

  it('reads loose and packed refs from their files, as git resolves them', async () => {
    const { root, repo } = await workRepo();
    const first = await commit(root, 'first', { a: '1' });
    git(root, 'branch', 'cr/1');
    expect(await repo.tryReadRef('refs/heads/main')).toBe(first);
    git(root, 'pack-refs', '--all');
    const second = await commit(root, 'second', { a: '2' });
    expect(await repo.tryReadRef('refs/heads/main')).toBe(second); // loose again, over the packed one
    expect(await repo.tryReadRef('refs/heads/cr/1')).toBe(first); // packed only
    expect(await repo.tryReadRef('refs/heads/nope')).toBeUndefined();
    git(root, 'symbolic-ref', 'refs/heads/alias', 'refs/heads/main');
    expect(await repo.tryReadRef('refs/heads/alias')).toBe(second); // symbolic: through git
    expect(await repo.tryReadRef('refs/heads/../../config')).toBeUndefined();
  });
});

describe('listTree', () => {
  const files = {
    'estate.yaml': 'name: demo\n',
    'schemas/host.json': '{}\n',
    'schemasX/not-a-schema.json': '{}\n',
    'assets/hosts/web 01.yaml': 'kind: Host\n',
    'assets/hosts/ünïcødé — 名前.yaml': 'kind: Host\n',
    'assets/a/b/c/deep.yaml': 'kind: Service\n',
    'README.md': '# demo\n',
  };

  it('lists every blob with its id, mode and size', async () => {
    const { root, repo } = await workRepo();
    await write(root, files);
    await chmod(join(root, 'README.md'), 0o755);
    const sha = await commit(root, 'all');
    expect((await repo.listTree(sha)).every((e) => e.size === undefined)).toBe(true);
    const entries = await repo.listTree(sha, undefined, { sizes: true });
    expect(entries.map((e) => e.path).sort()).toEqual(Object.keys(files).sort());
    for (const entry of entries) {
      const content = Buffer.from(files[entry.path as keyof typeof files]);
      expect(entry).toEqual({
        path: entry.path,
        oid: hashBlob(content),
        mode: entry.path === 'README.md' ? '100755' : '100644',
        size: content.length,
      });
    }
  });

  it('restricts the listing to whole-component path prefixes', async () => {
    const { root, repo } = await workRepo();
    const sha = await commit(root, 'all', files);
    const paths = async (prefixes: string[]): Promise<string[]> =>
      (await repo.listTree(sha, prefixes)).map((e) => e.path).sort();
    expect(await paths(['estate.yaml', 'schemas/', 'assets/'])).toEqual([
      'assets/a/b/c/deep.yaml',
      'assets/hosts/web 01.yaml',
      'assets/hosts/ünïcødé — 名前.yaml',
      'estate.yaml',
      'schemas/host.json',
    ]);
    expect(await paths(['assets/a'])).toEqual(['assets/a/b/c/deep.yaml']);
    expect(await paths(['sch', 'assets/hosts/web'])).toEqual([]);
    expect(await paths([])).toEqual([]);
  });

  it('skips submodules', async () => {
    const { root, repo } = await workRepo();
    const first = await commit(root, 'first', { a: '1' });
    git(root, 'update-index', '--add', '--cacheinfo', `160000,${first},vendor/lib`);
    git(root, 'commit', '-q', '-m', 'submodule');
    expect((await repo.listTree('HEAD')).map((e) => e.path)).toEqual(['a']);
    expect(await repo.diffTrees(first, 'HEAD')).toEqual([]);
  });

  it('reports an unknown commit', async () => {
    const { root, repo } = await workRepo();
    await commit(root, 'first', { a: '1' });
    await expect(repo.listTree('nope')).rejects.toMatchObject({ code: 'E_REV_NOT_FOUND', data: { rev: 'nope' } });
    await expect(repo.listTree('--help')).rejects.toMatchObject({ code: 'E_REV_NOT_FOUND' });
  });
});

describe('readBlob and readBlobs', () => {
  it('read the bytes git stores', async () => {
    const { root, repo } = await workRepo();
    const binary = randomBytes(1000);
    const sha = await commit(root, 'first', { 'a.yaml': 'kind: Host\n', 'bin.dat': binary, empty: '' });
    for (const entry of await repo.listTree(sha)) {
      const blob = await repo.readBlob(entry.oid);
      expect(blob.equals(execFileSync('git', ['cat-file', '-p', entry.oid], { cwd: root }))).toBe(true);
      expect(hashBlob(blob)).toBe(entry.oid);
    }
    expect((await repo.readBlob(hashBlob(binary))).equals(binary)).toBe(true);
  });

  it('read a 5 MB blob and 2,000 small ones in one call', async () => {
    const { root, repo } = await workRepo();
    const big = randomBytes(5 * 1024 * 1024);
    const small = Array.from({ length: 2000 }, (_, i) => `kind: Host\nmetadata:\n  name: host-${i}\n`);
    await write(root, Object.fromEntries(small.map((content, i) => [`assets/h${i}.yaml`, content])));
    await commit(root, 'many', { 'big.bin': big });
    const contents = [big, ...small.map((s) => Buffer.from(s)), big];
    const blobs = await repo.readBlobs(contents.map(hashBlob));
    expect(blobs).toHaveLength(contents.length);
    blobs.forEach((blob, i) => expect(blob.equals(contents[i] ?? Buffer.alloc(0)), `blob ${i}`).toBe(true));
  });

  it('answer concurrent callers correctly', async () => {
    const { root, repo } = await workRepo();
    const contents = Array.from({ length: 300 }, (_, i) =>
      i % 50 === 0 ? randomBytes(300_000 + i) : Buffer.from(`content ${i}\n`),
    );
    await commit(root, 'many', Object.fromEntries(contents.map((c, i) => [`f${i}`, c])));
    const blobs = await Promise.all(contents.map((c) => repo.readBlob(hashBlob(c))));
    blobs.forEach((blob, i) => expect(blob.equals(contents[i] ?? Buffer.alloc(0)), `blob ${i}`).toBe(true));
  });

  it('tell blob sizes without reading them: undefined for a missing id or another object', async () => {
    const { root, repo } = await workRepo();
    const big = randomBytes(300_000);
    const sha = await commit(root, 'sizes', { a: 'A', big });
    const missing = 'deadbeef'.repeat(5);
    expect(await repo.blobSizes([hashBlob(big), missing, hashBlob(Buffer.from('A')), sha])).toEqual([300_000, undefined, 1, undefined]);
    expect(await repo.blobSizes([])).toEqual([]);
    await expect(repo.blobSizes(['HEAD:a'])).rejects.toMatchObject({ code: 'E_OBJECT_NOT_FOUND' });
  });

  it('report missing objects and non-blobs, and keep working', async () => {
    const { root, repo } = await workRepo();
    const sha = await commit(root, 'first', { a: 'A' });
    const missing = 'deadbeef'.repeat(5);
    await expect(repo.readBlob(missing)).rejects.toMatchObject({
      code: 'E_OBJECT_NOT_FOUND',
      message: `blob '${missing}' not found in '${root}'`,
      data: { oid: missing },
    });
    await expect(repo.readBlobs([hashBlob(Buffer.from('A')), missing])).rejects.toMatchObject({ data: { oid: missing } });
    await expect(repo.readBlob(sha)).rejects.toMatchObject({
      code: 'E_OBJECT_NOT_FOUND',
      message: `blob '${sha}' is a commit, not a blob in '${root}'`,
    });
    await expect(repo.readBlob('HEAD:a')).rejects.toMatchObject({
      code: 'E_OBJECT_NOT_FOUND',
      message: "invalid object id 'HEAD:a'",
    });
    expect((await repo.readBlob(hashBlob(Buffer.from('A')))).toString()).toBe('A');
  });

  it('read from a bare repository', async () => {
    const { root } = await workRepo();
    const sha = await commit(root, 'first', { 'assets/a.yaml': 'kind: Host\n' });
    const bareDir = join(await tempDir(), 'estate.git');
    git(root, 'clone', '-q', '--bare', root, bareDir);
    const repo = await open(bareDir);
    expect(await repo.resolveCommit('main')).toBe(sha);
    const [entry] = await repo.listTree(sha, ['assets/']);
    expect((await repo.readBlob(entry?.oid ?? '')).toString()).toBe('kind: Host\n');
    expect((await repo.readCommit(sha)).subject).toBe('first');
  });
});

describe('close', () => {
  /** Handles that keep node's event loop alive. */
  const liveHandles = (): number =>
    process.getActiveResourcesInfo().filter((type) => type === 'ProcessWrap' || type === 'PipeWrap').length;

  it('ends the cat-file process; an idle repo never keeps node alive', async () => {
    const { root, repo } = await workRepo();
    await commit(root, 'first', { a: 'A' });
    const baseline = liveHandles();
    const reading = repo.readBlob(hashBlob(Buffer.from('A')));
    expect(liveHandles()).toBeGreaterThan(baseline); // pending: node must wait for the answer
    await reading;
    expect(liveHandles()).toBe(baseline); // idle: unref'd

    const pids = (): string[] => {
      try {
        return execFileSync('pgrep', ['-P', String(process.pid), '-f', 'cat-file'], { encoding: 'utf8' }).split('\n').filter(Boolean);
      } catch {
        return []; // pgrep exits 1 when nothing matches
      }
    };
    expect(pids()).toHaveLength(1);
    await Promise.all([repo.close(), repo.close()]);
    await repo.close();
    expect(pids()).toHaveLength(0);
    // A later read starts a new process.
    expect((await repo.readBlob(hashBlob(Buffer.from('A')))).toString()).toBe('A');
  });

  it('answers reads made before it', async () => {
    const { root, repo } = await workRepo();
    await commit(root, 'first', { a: 'A' });
    const reading = repo.readBlob(hashBlob(Buffer.from('A')));
    await repo.close();
    expect((await reading).toString()).toBe('A');
  });
});

describe('diffTrees', () => {
  it('reports added, modified, deleted and type-changed paths', async () => {
    const { root, repo } = await workRepo();
    const first = await commit(root, 'first', {
      'assets/keep.yaml': 'same',
      'assets/edit.yaml': 'v1',
      'assets/gone.yaml': 'bye',
      'assets/link': 'target',
      'other.txt': 'x',
    });
    await unlink(join(root, 'assets/gone.yaml'));
    await unlink(join(root, 'assets/link'));
    await symlink('keep.yaml', join(root, 'assets/link'));
    const second = await commit(root, 'second', { 'assets/edit.yaml': 'v2', 'assets/new/deep.yaml': 'hi', 'other.txt': 'y' });
    const oid = (s: string): string => hashBlob(Buffer.from(s));

    expect(await repo.diffTrees(first, second, ['assets/'])).toEqual([
      { status: 'M', path: 'assets/edit.yaml', oldOid: oid('v1'), newOid: oid('v2') },
      { status: 'D', path: 'assets/gone.yaml', oldOid: oid('bye') },
      { status: 'T', path: 'assets/link', oldOid: oid('target'), newOid: oid('keep.yaml') },
      { status: 'A', path: 'assets/new/deep.yaml', newOid: oid('hi') },
    ]);
    expect((await repo.diffTrees(first, second)).map((c) => c.path)).toContain('other.txt');
    expect(await repo.diffTrees(second, second)).toEqual([]);
  });

  it('compares with the empty tree when from is undefined', async () => {
    const { root, repo } = await workRepo();
    const sha = await commit(root, 'first', { 'a b.yaml': '1', 'd/ü.yaml': '2' });
    expect(await repo.diffTrees(undefined, sha)).toEqual([
      { status: 'A', path: 'a b.yaml', newOid: hashBlob(Buffer.from('1')) },
      { status: 'A', path: 'd/ü.yaml', newOid: hashBlob(Buffer.from('2')) },
    ]);
    expect(await repo.diffTrees(undefined, sha, ['d'])).toHaveLength(1);
  });

  it('reports an unknown revision', async () => {
    const { root, repo } = await workRepo();
    const sha = await commit(root, 'first', { a: '1' });
    await expect(repo.diffTrees('nope', sha)).rejects.toMatchObject({ code: 'E_REV_NOT_FOUND', data: { rev: 'nope' } });
    await expect(repo.diffTrees(sha, '-p')).rejects.toMatchObject({ code: 'E_REV_NOT_FOUND', data: { rev: '-p' } });
  });
});

describe('log and readCommit', () => {
  it('read commit metadata', async () => {
    const { root, repo } = await workRepo();
    const first = await commit(root, 'first', { a: '1' });
    const second = await commit(root, 'Add web hosts\nto the estate\n\nWhy: capacity.\n\nRefs: #12\n', { a: '2' });
    expect(await repo.readCommit(second)).toEqual({
      sha: second,
      parents: [first],
      authorName: 'Ada',
      authorEmail: 'ada@example.com',
      authorDate: '2024-05-01T12:00:00+02:00',
      committerName: 'Bob',
      committerEmail: 'bob@example.com',
      committerDate: '2024-05-02T08:30:00Z'.replace('Z', '+00:00'),
      subject: 'Add web hosts to the estate',
      body: 'Why: capacity.\n\nRefs: #12',
    });
    expect(await repo.readCommit(first)).toMatchObject({ parents: [], subject: 'first', body: '' });
    await expect(repo.readCommit('nope')).rejects.toMatchObject({ code: 'E_REV_NOT_FOUND', data: { rev: 'nope' } });
  });

  it('lists commits newest first, with limit and skip', async () => {
    const { root, repo } = await workRepo();
    const shas: string[] = [];
    for (let i = 0; i < 5; i++) shas.push(await commit(root, `commit ${i}`, { a: String(i) }));
    const newestFirst = [...shas].reverse();
    expect((await repo.log('main')).map((c) => c.sha)).toEqual(newestFirst);
    expect((await repo.log('HEAD', { limit: 2 })).map((c) => c.subject)).toEqual(['commit 4', 'commit 3']);
    expect((await repo.log('HEAD', { limit: 2, skip: 3 })).map((c) => c.sha)).toEqual(newestFirst.slice(3, 5));
    await expect(repo.log('-n1')).rejects.toMatchObject({ code: 'E_REV_NOT_FOUND' });
  });
});

describe('logPaths', () => {
  it('follows a path newest first with the blob ids before and after', async () => {
    const { root, repo } = await workRepo();
    const oid = (s: string): string => hashBlob(Buffer.from(s));
    const c1 = await commit(root, 'add', { 'assets/web.yaml': 'v1', 'assets/db.yaml': 'db' });
    await commit(root, 'unrelated', { 'assets/db.yaml': 'db2' });
    const c3 = await commit(root, 'edit', { 'assets/web.yaml': 'v2', 'other.txt': 'x' });
    await unlink(join(root, 'assets/web.yaml'));
    const c4 = await commit(root, 'delete');

    const log = await repo.logPaths('HEAD', ['assets/web.yaml']);
    expect(log.map((e) => [e.commit.sha, e.commit.subject, e.changes])).toEqual([
      [c4, 'delete', [{ status: 'D', path: 'assets/web.yaml', oldOid: oid('v2') }]],
      [c3, 'edit', [{ status: 'M', path: 'assets/web.yaml', oldOid: oid('v1'), newOid: oid('v2') }]],
      [c1, 'add', [{ status: 'A', path: 'assets/web.yaml', newOid: oid('v1') }]],
    ]);
    expect((await repo.logPaths('HEAD', ['assets/web.yaml'], { limit: 2 })).map((e) => e.commit.sha)).toEqual([c4, c3]);
    expect((await repo.logPaths(c3, ['assets/'])).map((e) => e.changes.map((c) => c.path))).toEqual([
      ['assets/web.yaml'],
      ['assets/db.yaml'],
      ['assets/db.yaml', 'assets/web.yaml'],
    ]);
    expect(await repo.logPaths('HEAD', [])).toEqual([]);
    await expect(repo.logPaths('nope', ['assets/'])).rejects.toMatchObject({ code: 'E_REV_NOT_FOUND' });
  });

  it('skips merges that took one side, and diffs other merges against the first parent', async () => {
    const { root, repo } = await workRepo();
    const oid = (s: string): string => hashBlob(Buffer.from(s));
    const base = await commit(root, 'base', { 'a.yaml': 'a0', 'b.yaml': 'b0' });
    git(root, 'checkout', '-q', '-b', 'side');
    const sideA = await commit(root, 'side a', { 'a.yaml': 'a-side' });
    const sideB = await commit(root, 'side b', { 'b.yaml': 'b-side' });
    git(root, 'checkout', '-q', 'main');
    const mainB = await commit(root, 'main b', { 'b.yaml': 'b-main' });
    expect(() => git(root, 'merge', '-q', 'side')).toThrow(); // conflict on b.yaml
    const merge = await commit(root, 'merge', { 'b.yaml': 'b-merged' });

    // a.yaml came from the side branch unchanged by the merge: the merge is skipped.
    expect((await repo.logPaths('HEAD', ['a.yaml'])).map((e) => e.commit.sha)).toEqual([sideA, base]);
    // b.yaml differs from both parents after the merge: it is listed, compared with main.
    const log = await repo.logPaths('HEAD', ['b.yaml']);
    expect(log[0]).toMatchObject({
      commit: { sha: merge, parents: [mainB, sideB] },
      changes: [{ status: 'M', path: 'b.yaml', oldOid: oid('b-main'), newOid: oid('b-merged') }],
    });
    expect(log.map((e) => e.commit.sha).sort()).toEqual([merge, mainB, sideB, base].sort());

    // First-parent: main's own commits only; the side's change to a.yaml is the merge's.
    const firstParent = async (path: string): Promise<PathLogEntry[]> => {
      const entries: PathLogEntry[] = [];
      for await (const entry of repo.iterateLogPaths('HEAD', [path], { firstParent: true })) entries.push(entry);
      return entries;
    };
    expect((await firstParent('a.yaml')).map((e) => [e.commit.sha, e.changes])).toEqual([
      [merge, [{ status: 'M', path: 'a.yaml', oldOid: oid('a0'), newOid: oid('a-side') }]],
      [base, [{ status: 'A', path: 'a.yaml', newOid: oid('a0') }]],
    ]);
    expect((await firstParent('b.yaml')).map((e) => e.commit.sha)).toEqual([merge, mainB, base]);
  });

  it("ignores log.follow in the user's config, which would detect renames", async () => {
    const { root, repo } = await workRepo();
    git(root, 'config', 'log.follow', 'true');
    const oid = (s: string): string => hashBlob(Buffer.from(s));
    const first = await commit(root, 'add a', { 'a.yaml': 'content of a\n' });
    git(root, 'rm', '-q', 'a.yaml');
    await commit(root, 'delete a');
    await commit(root, 'add b', { 'b.yaml': 'content of a, almost\n' });
    const readd = await commit(root, 're-add a', { 'a.yaml': 'content of a, almost\n' });

    const log = await repo.logPaths('HEAD', ['a.yaml']);
    expect(log.map((e) => e.commit.subject)).toEqual(['re-add a', 'delete a', 'add a']);
    expect(log[0]).toMatchObject({ commit: { sha: readd }, changes: [{ status: 'A', path: 'a.yaml', newOid: oid('content of a, almost\n') }] });
    expect(log[2]).toMatchObject({ commit: { sha: first } });
  });
});

describe('listWorkTreeFiles', () => {
  it('lists tracked and untracked files, not ignored or deleted ones', async () => {
    const { root, repo } = await workRepo();
    await commit(root, 'first', {
      '.gitignore': '*.log\nbuild/\n',
      'assets/web.yaml': 'web',
      'assets/deleted.yaml': 'gone soon',
      'assets/staged-then-deleted.yaml': 'x',
    });
    await write(root, {
      'assets/new host.yaml': 'new',
      'assets/ünï/名前.yaml': 'unicode',
      'assets/debug.log': 'ignored',
      'build/out.yaml': 'ignored',
      'schemas/host.json': '{}',
    });
    await unlink(join(root, 'assets/deleted.yaml'));
    await write(root, { 'assets/staged-then-deleted.yaml': 'y' });
    git(root, 'add', 'assets/staged-then-deleted.yaml');
    await unlink(join(root, 'assets/staged-then-deleted.yaml'));
    git(root, 'init', '-q', join(root, 'assets/nested')); // a nested repository is not ours
    await write(root, { 'assets/nested/inner.yaml': 'inner' });

    expect(await repo.listWorkTreeFiles()).toEqual([
      '.gitignore',
      'assets/new host.yaml',
      'assets/web.yaml',
      'assets/ünï/名前.yaml',
      'schemas/host.json',
    ]);
    expect(await repo.listWorkTreeFiles(['assets/ünï', 'schemas/'])).toEqual(['assets/ünï/名前.yaml', 'schemas/host.json']);
    expect(await repo.listWorkTreeFiles([])).toEqual([]);
  });

  it('lists files from a subdirectory relative to the top level', async () => {
    const { root } = await workRepo();
    await write(root, { 'assets/a.yaml': 'a', 'b.yaml': 'b' });
    const repo = await open(join(root, 'assets'));
    expect(await repo.listWorkTreeFiles()).toEqual(['assets/a.yaml', 'b.yaml']);
  });

  it('rejects a bare repository', async () => {
    const dir = await tempDir();
    const repo = track(await initRepo(dir, { bare: true }));
    await expect(repo.listWorkTreeFiles()).rejects.toMatchObject({
      code: 'E_BARE_REPO',
      message: `repository '${dir}' has no work tree`,
    });
  });
});

describe('iterateFirstParentChain, countFirstParent and isAncestor', () => {
  async function chain(repo: GitCliRepo, to: string, from?: string): Promise<Array<{ subject: string; changes: string[] }>> {
    const out: Array<{ subject: string; changes: string[] }> = [];
    for await (const entry of repo.iterateFirstParentChain(to, from)) {
      out.push({ subject: entry.commit.subject, changes: entry.changes.map((c) => `${c.status} ${c.path}`) });
    }
    return out;
  }

  it('replays main oldest first, merges against their first parent, side branches left out', async () => {
    const { root, repo } = await workRepo();
    const first = await commit(root, 'first', { 'assets/a.yaml': 'a: 1\n', 'README.md': 'x' });
    await commit(root, 'second', { 'assets/a.yaml': 'a: 2\n' });
    git(root, 'checkout', '-q', '-b', 'side');
    await commit(root, 'on side', { 'assets/b.yaml': 'b: 1\n' });
    git(root, 'checkout', '-q', 'main');
    await commit(root, 'third', { 'assets/c.yaml': 'c: 1\n' });
    git(root, 'merge', '-q', '--no-ff', '-m', 'merge side', 'side');
    expect(await chain(repo, 'main')).toEqual([
      { subject: 'first', changes: ['A README.md', 'A assets/a.yaml'] },
      { subject: 'second', changes: ['M assets/a.yaml'] },
      { subject: 'third', changes: ['A assets/c.yaml'] },
      { subject: 'merge side', changes: ['A assets/b.yaml'] },
    ]);
    expect((await chain(repo, 'main', first)).map((e) => e.subject)).toEqual(['second', 'third', 'merge side']);
    expect(await repo.countFirstParent('main')).toBe(4);
    expect((await repo.firstParentShas('main')).length).toBe(4);
    expect((await repo.firstParentShas('main')).at(-1)).toBe(first);
    expect(await repo.countFirstParent('main', first)).toBe(3);
    expect(await repo.isAncestor(first, 'main')).toBe(true);
    expect(await repo.isAncestor('main', first)).toBe(false);
    expect(await repo.isAncestor('side', 'main')).toBe(true);
    await expect(repo.isAncestor('nope', 'main')).rejects.toMatchObject({ code: 'E_REV_NOT_FOUND' });
    await expect(chain(repo, 'nope')).rejects.toMatchObject({ code: 'E_REV_NOT_FOUND' });
  });

  it('streams a commit whose changes span many chunks of git output', async () => {
    const { root, repo } = await workRepo();
    const files: Record<string, string> = {};
    for (let i = 0; i < 3000; i++) files[`assets/hosts/rack-${Math.floor(i / 100)}/host-with-a-long-name-${i}.yaml`] = `n: ${i}\n`;
    await commit(root, 'many', files);
    await commit(root, 'one more', { 'assets/x.yaml': 'x: 1\n' });
    const entries = await chain(repo, 'main');
    expect(entries.map((e) => e.changes.length)).toEqual([3000, 1]);
    expect(new Set(entries[0]!.changes).size).toBe(3000);
  });
});
