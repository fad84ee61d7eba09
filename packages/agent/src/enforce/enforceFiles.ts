import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, readFile, realpath, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { collectFile, readAccounts, type Accounts } from '../collectors/files.js';
import { confineToRoot, isRealRoot, resolveUnderRoot } from '../collectors/readRootFile.js';
import { syncDirectory, writeFileDurably } from '../durableFile.js';
import type { AgentLogger, DesiredFile, DesiredState, EnforcementEntry } from '../types.js';

/** A field of a managed file that enforcement restores. */
export type FileField = 'content' | 'mode' | 'owner';
const ALL_FIELDS: readonly FileField[] = ['content', 'mode', 'owner'];

/** What {@link enforceFiles} works on. */
export interface EnforceOptions {
  /** The filesystem root the files are below (`/` on a real host). */
  root: string;
  /** The agent's state dir: backups go to `<stateDir>/backups/<ISO time>/<path>`. */
  stateDir: string;
  desired: DesiredState;
  /** Whether owners may be set (the agent runs as root); otherwise a differing owner is reported as not restored. */
  canChown: boolean;
  /** How many backup directories (one per pass that replaced content) are kept; the oldest go first. */
  backupsKept: number;
  logger: AgentLogger;
  now?: Date;
}

/**
 * Which fields of which files to restore: every field of every desired file when the host's mode
 * is `enforce`; otherwise those that revert requests name (`/spec/files/<path>` names all three).
 */
export function fieldsToRestore(desired: DesiredState): Map<string, Set<FileField>> {
  const declared = new Set(desired.files.map((file) => file.path));
  const wanted = new Map<string, Set<FileField>>();
  const add = (file: string, fields: readonly FileField[]): void => {
    if (!declared.has(file)) return;
    const set = wanted.get(file) ?? new Set<FileField>();
    for (const field of fields) set.add(field);
    wanted.set(file, set);
  };
  if (desired.mode === 'enforce') for (const file of desired.files) add(file.path, ALL_FIELDS);
  for (const revert of desired.reverts) {
    const named = parseFilePointer(revert.field);
    if (named) add(named.path, named.field ? [named.field] : ALL_FIELDS);
  }
  return wanted;
}

/** `/spec/files/~1etc~1motd[/content|/mode|/owner]` → the path and field (RFC 6901 unescaping); undefined for other pointers. */
export function parseFilePointer(pointer: string): { path: string; field?: FileField } | undefined {
  const segments = pointer.split('/').slice(1).map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (pointer[0] !== '/' || segments[0] !== 'spec' || segments[1] !== 'files' || !segments[2]?.startsWith('/')) return undefined;
  if (segments.length === 3) return { path: segments[2] };
  const field = segments[3] as FileField;
  return segments.length === 4 && ALL_FIELDS.includes(field) ? { path: segments[2], field } : undefined;
}

/**
 * Restores the managed files that differ from the desired state ({@link fieldsToRestore}), below the
 * root with symbolic links confined to it as the collectors do. Content is written atomically (a
 * temporary file in the same directory, fsync, rename, fsync of the directory) with the desired mode
 * and, as root, owner; the previous content is kept under `<stateDir>/backups/<ISO time>/<path>`.
 * A differing mode alone is a chmod, an owner alone a chown. Returns one entry per field restored or
 * failed; a file that cannot be restored never stops the others.
 */
export async function enforceFiles(options: EnforceOptions): Promise<EnforcementEntry[]> {
  const wanted = fieldsToRestore(options.desired);
  if (wanted.size === 0) return [];
  const now = options.now ?? new Date();
  const context: FileContext = { ...options, accounts: await readAccounts(options.root), at: now.toISOString(), stamp: now.toISOString() };
  const entries: EnforcementEntry[] = [];
  for (const file of options.desired.files) {
    const fields = wanted.get(file.path);
    if (fields) entries.push(...(await enforceFile(file, fields, context)));
  }
  if (entries.some((entry) => entry.backup !== undefined)) await pruneBackups(options.stateDir, options.backupsKept);
  return entries;
}

interface FileContext extends EnforceOptions {
  accounts: Accounts;
  at: string;
  /** The backup directory's name for this pass. */
  stamp: string;
}

async function enforceFile(file: DesiredFile, fields: Set<FileField>, context: FileContext): Promise<EnforcementEntry[]> {
  const { root, logger, at } = context;
  let target: string;
  let current;
  try {
    target = await writableTarget(root, file.path);
    current = await collectFile(root, file.path, context.accounts);
  } catch (error) {
    logger.warn(`enforcement: ${file.path} left alone: ${(error as Error).message}`);
    return [...fields].filter((field) => file[field] !== undefined && (field !== 'content' || file.sha256 !== undefined)).map((field) => failed(file, field, null, null, at, (error as Error).message));
  }
  const before = 'missing' in current ? undefined : current;
  const missing = before === undefined;
  const fromSha256 = before === undefined ? null : before.sha256;
  if (fields.has('content') && file.sha256 === undefined && file.problem) {
    logger.warn(`enforcement: the server does not serve the content of ${file.path} (${file.problem.code}): its content is left alone`);
  }
  const content = fields.has('content') && file.sha256 !== undefined && file.content !== undefined && (before === undefined || before.sha256 !== file.sha256);
  // A missing file gets its mode and owner when it is created; without content it cannot be.
  const mode = fields.has('mode') && file.mode !== undefined && (before === undefined ? content : parseInt(before.mode, 8) !== parseInt(file.mode, 8));
  const owner = fields.has('owner') && file.owner !== undefined && (before === undefined ? content : !ownerMatches(file.owner, before.owner));
  if (!content && !mode && !owner) return [];

  const toSha256 = content ? file.sha256! : fromSha256;
  const entries: EnforcementEntry[] = [];
  try {
    const info = missing ? undefined : await stat(target);
    let ownerIds: { uid: number; gid: number } | undefined;
    let ownerError: string | undefined;
    if (owner && !context.canChown) ownerError = 'owner not restored: the agent does not run as root';
    else if (owner) ownerIds = resolveOwner(file.owner!, context.accounts, info?.gid ?? 0);
    // The declared mode when it is restored (or the file is new), else the file keeps its own.
    const modeBits = file.mode !== undefined && (mode || !info) ? parseInt(file.mode, 8) : info ? info.mode & 0o7777 : 0o644;
    if (content) {
      const bytes = Buffer.from(file.content!, file.encoding === 'base64' ? 'base64' : 'utf8');
      if (createHash('sha256').update(bytes).digest('hex') !== file.sha256) throw new Error('the desired content does not match its sha256');
      const backup = info ? await backUp(context, target, file.path) : undefined;
      const keepOwner = context.canChown && info ? { uid: info.uid, gid: info.gid } : undefined;
      await writeAtomically(target, bytes, modeBits, ownerIds ?? keepOwner);
      entries.push({ path: file.path, field: 'content', fromSha256, toSha256: file.sha256!, ...(backup === undefined ? {} : { backup }), at, ok: true });
    } else {
      const handle = await open(target, 'r');
      try {
        if (ownerIds) await handle.chown(ownerIds.uid, ownerIds.gid);
        if (mode || ownerIds) await handle.chmod(modeBits); // after chown, which clears set-id bits
      } finally {
        await handle.close();
      }
    }
    if (mode) entries.push({ path: file.path, field: 'mode', fromSha256, toSha256: toSha256!, ...(before === undefined ? {} : { from: before.mode }), to: file.mode!, at, ok: true });
    if (owner) entries.push({ path: file.path, field: 'owner', fromSha256, toSha256: toSha256!, ...(before === undefined ? {} : { from: before.owner }), to: file.owner!, at, ok: ownerError === undefined, ...(ownerError === undefined ? {} : { error: ownerError }) });
  } catch (error) {
    const message = (error as Error).message;
    logger.warn(`enforcement: restoring ${file.path} failed: ${message}`);
    return (['content', 'mode', 'owner'] as const).filter((field) => ({ content, mode, owner })[field]).map((field) => failed(file, field, fromSha256, toSha256, at, message));
  }
  return entries;
}

function failed(file: DesiredFile, field: FileField, fromSha256: string | null, toSha256: string | null, at: string, error: string): EnforcementEntry {
  return { path: file.path, field, fromSha256, toSha256: toSha256 ?? file.sha256 ?? null, at, ok: false, error };
}

/** `root` declares the user only, `root:adm` the group too (as the server compares them). */
function ownerMatches(declared: string, observed: string): boolean {
  return declared === (declared.includes(':') ? observed : observed.split(':')[0]);
}

/** Numeric ids of `user[:group]` by the root's account files (or numbers as given); without a group the file keeps `currentGid`. */
function resolveOwner(owner: string, accounts: Accounts, currentGid: number): { uid: number; gid: number } {
  const [user = '', group] = owner.split(':');
  const id = (name: string, names: Map<number, string>, file: string): number => {
    if (/^\d+$/.test(name)) return Number(name);
    for (const [number, known] of names) if (known === name) return number;
    throw new Error(`'${name}' is not in the root's ${file}`);
  };
  return { uid: id(user, accounts.users, '/etc/passwd'), gid: group === undefined ? currentGid : id(group, accounts.groups, '/etc/group') };
}

/**
 * The real path to write `file` at: the existing file's (its symbolic links resolved, refused when
 * they lead out of the root), or for a missing file a new name in its existing directory. A
 * dangling link, a missing directory and anything but a regular file are refused.
 */
export async function writableTarget(root: string, file: string): Promise<string> {
  const resolve = async (absolute: string): Promise<string> => {
    const confined = await confineToRoot(root, absolute);
    return isRealRoot(root) ? realpath(confined) : confined;
  };
  try {
    const existing = await resolve(file);
    if (!(await stat(existing)).isFile()) throw new Error(`${file} is not a regular file`);
    return existing;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if ((await lstat(resolveUnderRoot(root, file)).catch(() => undefined))?.isSymbolicLink()) throw new Error(`${file} is a symbolic link to a missing file`);
  let directory: string;
  try {
    directory = await resolve(path.posix.dirname(file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`the directory of ${file} does not exist`, { cause: error });
    throw error;
  }
  if (!(await stat(directory)).isDirectory()) throw new Error(`the directory of ${file} is not a directory`);
  return path.join(directory, path.posix.basename(file));
}

/** Writes `bytes` to `target` so that a crash leaves the old or the new file, with `mode` (and `owner`) set before it appears. */
export async function writeAtomically(target: string, bytes: Buffer, mode: number, owner?: { uid: number; gid: number }): Promise<void> {
  const directory = path.dirname(target);
  const temporary = path.join(directory, `.${path.basename(target)}.estate-agent-${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(bytes);
      if (owner) await handle.chown(owner.uid, owner.gid);
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, target);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await syncDirectory(directory);
}

/** Copies the current content of `source` (the real file of `file`) to `<stateDir>/backups/<stamp>/<file>` (mode 0600); returns that path. */
async function backUp(context: FileContext, source: string, file: string): Promise<string> {
  const backup = path.join(context.stateDir, 'backups', context.stamp, path.posix.normalize('/' + file));
  await mkdir(path.dirname(backup), { recursive: true, mode: 0o700 });
  await writeFileDurably(backup, await readFile(source));
  return backup;
}

/** Keeps the newest `kept` backup directories (their names are ISO times, so they sort by age). */
async function pruneBackups(stateDir: string, kept: number): Promise<void> {
  const directory = path.join(stateDir, 'backups');
  const stamps = (await readdir(directory)).sort();
  for (const stamp of stamps.slice(0, Math.max(0, stamps.length - kept))) await rm(path.join(directory, stamp), { recursive: true, force: true });
}
