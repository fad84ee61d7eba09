import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentLogger, DesiredFile, DesiredState } from '../types.js';
import { enforceFiles, fieldsToRestore, parseFilePointer, writableTarget, type EnforceOptions } from './enforceFiles.js';

const sha = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');
const isRoot = process.getuid?.() === 0;

const MOTD = 'managed by estate\n';
const APP = 'workers = 4\n';

let root: string;
let stateDir: string;
let warnings: string[];
const logger: AgentLogger = { info: () => {}, warn: (message) => warnings.push(message) };

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'estate-enforce-root-'));
  stateDir = await mkdtemp(path.join(tmpdir(), 'estate-enforce-state-'));
  warnings = [];
  await put('/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/srv/app:/bin/sh\n');
  await put('/etc/group', 'root:x:0:\napp:x:1000:\n');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(stateDir, { recursive: true, force: true });
});

async function put(file: string, content: string, mode = 0o644): Promise<void> {
  const target = path.join(root, file);
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, content);
  await chmod(target, mode);
}

const fileMode = async (file: string): Promise<string> => ((await stat(path.join(root, file))).mode & 0o7777).toString(8).padStart(4, '0');

function desiredFile(file: string, content: string, extra: Partial<DesiredFile> = {}): DesiredFile {
  return { path: file, content, encoding: 'utf8', sha256: sha(content), ...extra };
}

function state(files: DesiredFile[], mode: DesiredState['mode'] = 'enforce', reverts: string[] = []): DesiredState {
  return { host: 'web-01', asset: 'host/web-01', commit: 'c'.repeat(40), mode, files, reverts: reverts.map((field) => ({ field, requestedBy: 'ada', requestedAt: '2026-01-01T00:00:00.000Z' })) };
}

function enforce(desired: DesiredState, options: Partial<EnforceOptions> = {}): ReturnType<typeof enforceFiles> {
  return enforceFiles({ root, stateDir, desired, canChown: false, backupsKept: 20, logger, now: new Date('2026-11-26T03:00:00.000Z'), ...options });
}

describe('enforceFiles', () => {
  it('restores an edited file atomically with its mode and keeps the edited content as a backup', async () => {
    await put('/etc/motd', 'hacked\n', 0o666);
    const entries = await enforce(state([desiredFile('/etc/motd', MOTD, { mode: '0644' })]));
    const backup = path.join(stateDir, 'backups/2026-11-26T03:00:00.000Z/etc/motd');
    expect(entries).toEqual([
      { path: '/etc/motd', field: 'content', fromSha256: sha('hacked\n'), toSha256: sha(MOTD), backup, at: '2026-11-26T03:00:00.000Z', ok: true },
      { path: '/etc/motd', field: 'mode', fromSha256: sha('hacked\n'), toSha256: sha(MOTD), from: '0666', to: '0644', at: '2026-11-26T03:00:00.000Z', ok: true },
    ]);
    expect(await readFile(path.join(root, 'etc/motd'), 'utf8')).toBe(MOTD);
    expect(await fileMode('/etc/motd')).toBe('0644');
    expect(await readFile(backup, 'utf8')).toBe('hacked\n');
    expect(((await stat(backup)).mode & 0o777).toString(8)).toBe('600');
    // No temporary file left next to the target.
    expect(await readdir(path.join(root, 'etc'))).toEqual(['group', 'motd', 'passwd']);
    // Converged: a second pass does nothing.
    expect(await enforce(state([desiredFile('/etc/motd', MOTD, { mode: '0644' })]))).toEqual([]);
  });

  it('creates a missing file (no backup), writes base64 contents as bytes, and fixes a mode alone with chmod', async () => {
    await put('/etc/app/app.conf', APP, 0o640);
    const bytes = Buffer.from([0xff, 0x00, 0x7f]);
    const entries = await enforce(
      state([
        desiredFile('/etc/motd', MOTD, { mode: '0600' }),
        { path: '/etc/app/blob', content: bytes.toString('base64'), encoding: 'base64', sha256: sha(bytes) },
        desiredFile('/etc/app/app.conf', APP, { mode: '0644' }),
      ]),
    );
    expect(entries.map((e) => [e.path, e.field, e.fromSha256, e.backup, e.ok])).toEqual([
      ['/etc/motd', 'content', null, undefined, true],
      ['/etc/motd', 'mode', null, undefined, true],
      ['/etc/app/blob', 'content', null, undefined, true],
      ['/etc/app/app.conf', 'mode', sha(APP), undefined, true],
    ]);
    expect([await readFile(path.join(root, 'etc/motd'), 'utf8'), await fileMode('/etc/motd')]).toEqual([MOTD, '0600']);
    expect(await readFile(path.join(root, 'etc/app/blob'))).toEqual(bytes);
    expect(await fileMode('/etc/app/app.conf')).toBe('0644');
    await expect(readdir(path.join(stateDir, 'backups'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('sets the owner only when it may (root), else reports it as not restored', async () => {
    await put('/etc/app/app.conf', APP);
    const desired = state([desiredFile('/etc/app/app.conf', APP, { owner: 'app:app' })]);
    const [refused] = await enforce(desired, { canChown: false });
    expect(refused).toMatchObject({ field: 'owner', from: isRoot ? 'root:root' : expect.any(String), to: 'app:app', ok: false, error: 'owner not restored: the agent does not run as root' });

    const [restored] = await enforce(desired, { canChown: true });
    if (isRoot) {
      expect(restored).toMatchObject({ field: 'owner', to: 'app:app', ok: true });
      expect(await stat(path.join(root, 'etc/app/app.conf'))).toMatchObject({ uid: 1000, gid: 1000 });
    } else {
      // Not root: chown(2) refuses, and the entry says so.
      expect(restored).toMatchObject({ field: 'owner', ok: false, error: expect.stringContaining('EPERM') });
    }
    const [unknown] = await enforce(state([desiredFile('/etc/app/app.conf', APP, { owner: 'nobody-here' })]), { canChown: true });
    expect(unknown).toMatchObject({ field: 'owner', ok: false, error: "'nobody-here' is not in the root's /etc/passwd" });
  });

  it('never writes through a symbolic link out of the root, nor through a dangling one or into a missing directory', async () => {
    const outside = await mkdtemp(path.join(tmpdir(), 'estate-enforce-outside-'));
    try {
      await writeFile(path.join(outside, 'secret'), 'outside\n');
      await mkdir(path.join(root, 'etc'), { recursive: true });
      await symlink(path.join(outside, 'secret'), path.join(root, 'etc/escape.conf'));
      await symlink('/nonexistent/target', path.join(root, 'etc/dangling.conf'));
      const entries = await enforce(state([desiredFile('/etc/escape.conf', MOTD), desiredFile('/etc/dangling.conf', MOTD), desiredFile('/opt/none/app.conf', MOTD)]));
      expect(entries.map((e) => [e.path, e.field, e.ok, e.error])).toEqual([
        ['/etc/escape.conf', 'content', false, expect.stringContaining('leads outside the root')],
        ['/etc/dangling.conf', 'content', false, '/etc/dangling.conf is a symbolic link to a missing file'],
        ['/opt/none/app.conf', 'content', false, 'the directory of /opt/none/app.conf does not exist'],
      ]);
      expect(await readFile(path.join(outside, 'secret'), 'utf8')).toBe('outside\n');
      expect((await lstat(path.join(root, 'etc/dangling.conf'))).isSymbolicLink()).toBe(true);
      expect(warnings).toHaveLength(3);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('writes to the target of a link inside the root, keeping the link', async () => {
    await put('/etc/real/app.conf', 'old\n');
    await symlink('../etc/real/app.conf', path.join(root, 'etc/app.conf'));
    expect(await writableTarget(root, '/etc/app.conf')).toBe(await import('node:fs/promises').then((fs) => fs.realpath(path.join(root, 'etc/real/app.conf'))));
    await enforce(state([desiredFile('/etc/app.conf', APP)]));
    expect((await lstat(path.join(root, 'etc/app.conf'))).isSymbolicLink()).toBe(true);
    expect(await readFile(path.join(root, 'etc/real/app.conf'), 'utf8')).toBe(APP);
  });

  it('in observe mode restores only what revert requests name', async () => {
    await put('/etc/motd', 'hacked\n', 0o666);
    await put('/etc/app/app.conf', 'edited\n', 0o666);
    const files = [desiredFile('/etc/motd', MOTD, { mode: '0644' }), desiredFile('/etc/app/app.conf', APP, { mode: '0644' })];
    expect(await enforce(state(files, 'observe'))).toEqual([]);
    const entries = await enforce(state(files, 'shadow', ['/spec/files/~1etc~1motd/content', '/spec/packages/nginx']));
    expect(entries.map((e) => [e.path, e.field])).toEqual([['/etc/motd', 'content']]);
    expect(await readFile(path.join(root, 'etc/motd'), 'utf8')).toBe(MOTD);
    expect(await fileMode('/etc/motd')).toBe('0666'); // the mode was not asked for
    expect(await readFile(path.join(root, 'etc/app/app.conf'), 'utf8')).toBe('edited\n');
  });

  it('refuses a content that does not match its sha256, and keeps a bounded number of backup directories', async () => {
    await put('/etc/motd', 'hacked\n');
    const [mismatch] = await enforce(state([{ ...desiredFile('/etc/motd', MOTD), sha256: sha('other') }]));
    expect(mismatch).toMatchObject({ field: 'content', ok: false, error: 'the desired content does not match its sha256' });
    expect(await readFile(path.join(root, 'etc/motd'), 'utf8')).toBe('hacked\n');

    for (const [i, content] of ['one\n', 'two\n', 'three\n'].entries()) {
      await put('/etc/motd', content);
      await enforce(state([desiredFile('/etc/motd', MOTD)]), { backupsKept: 2, now: new Date(Date.UTC(2026, 10, 26, 4, i)) });
    }
    expect(await readdir(path.join(stateDir, 'backups'))).toEqual(['2026-11-26T04:01:00.000Z', '2026-11-26T04:02:00.000Z']);
    expect(await readFile(path.join(stateDir, 'backups/2026-11-26T04:02:00.000Z/etc/motd'), 'utf8')).toBe('three\n');
  });
});

describe('fields to restore', () => {
  it('parses file pointers of revert requests', () => {
    expect(parseFilePointer('/spec/files/~1etc~1motd')).toEqual({ path: '/etc/motd' });
    expect(parseFilePointer('/spec/files/~1etc~1a~0b/mode')).toEqual({ path: '/etc/a~b', field: 'mode' });
    expect(['/spec/files/~1etc~1motd/size', '/spec/packages/nginx', '/spec/files/etc', 'spec/files/~1a'].map(parseFilePointer)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('takes every field in enforce mode and only declared files', () => {
    const wanted = fieldsToRestore(state([desiredFile('/etc/motd', MOTD)], 'observe', ['/spec/files/~1etc~1motd/owner', '/spec/files/~1etc~1other']));
    expect([...wanted].map(([file, fields]) => [file, [...fields]])).toEqual([['/etc/motd', ['owner']]]);
    expect([...fieldsToRestore(state([desiredFile('/etc/motd', MOTD)]))].map(([file, fields]) => [file, [...fields]])).toEqual([['/etc/motd', ['content', 'mode', 'owner']]]);
  });
});
