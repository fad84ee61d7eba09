import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { FileFact } from '../types.js';
import { confineToRoot, readRootFile } from './readRootFile.js';

/** Contents larger than this are not sent (the fact says `truncated: true`); sha256 still covers the whole file. */
export const MAX_CONTENT_BYTES = 64 * 1024;

/**
 * sha256, mode (octal string, e.g. `0644`), owner (`user:group` by the root's /etc/passwd and
 * /etc/group, else `uid:gid`) and UTF-8 content (up to {@link MAX_CONTENT_BYTES}) of each managed
 * file. A file that does not exist is `{missing: true}`.
 */
export async function collectManagedFiles(root: string, files: readonly string[]): Promise<Record<string, FileFact>> {
  const accounts = await readAccounts(root);
  const facts: Record<string, FileFact> = {};
  for (const file of files) {
    if (!path.posix.isAbsolute(file)) throw new Error(`managed file '${file}' is not an absolute path`);
    facts[file] = await collectFile(root, file, accounts);
  }
  return facts;
}

/** The user and group names of a root, by id (its `/etc/passwd` and `/etc/group`). */
export interface Accounts {
  users: Map<number, string>;
  groups: Map<number, string>;
}

/** Reads the root's `/etc/passwd` and `/etc/group` (empty when missing). */
export async function readAccounts(root: string): Promise<Accounts> {
  return { users: parseIdNames((await readRootFile(root, '/etc/passwd')) ?? ''), groups: parseIdNames((await readRootFile(root, '/etc/group')) ?? '') };
}

/** The fact of one managed file (below the root, symbolic links confined to it); `{missing: true}` when it does not exist. */
export async function collectFile(root: string, file: string, { users, groups }: Accounts): Promise<FileFact> {
  let location: string;
  let info;
  try {
    location = await confineToRoot(root, file);
    info = await stat(location);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { missing: true };
    throw error;
  }
  if (!info.isFile()) throw new Error(`${location} is not a regular file`);
  const hash = createHash('sha256');
  const kept: Buffer[] = [];
  let size = 0;
  for await (const chunk of createReadStream(location) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
    if (size <= MAX_CONTENT_BYTES) kept.push(chunk);
  }
  const fact: FileFact = {
    sha256: hash.digest('hex'),
    mode: (info.mode & 0o7777).toString(8).padStart(4, '0'),
    owner: `${users.get(info.uid) ?? info.uid}:${groups.get(info.gid) ?? info.gid}`,
    size,
  };
  if (size <= MAX_CONTENT_BYTES) fact.content = Buffer.concat(kept).toString('utf8');
  else fact.truncated = true;
  return fact;
}

/** id → name of a passwd(5) or group(5) file (`name:x:id:…`). */
function parseIdNames(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (name && id && /^\d+$/.test(id) && !names.has(Number(id))) names.set(Number(id), name);
  }
  return names;
}
