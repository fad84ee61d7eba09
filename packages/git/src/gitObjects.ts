import type { CommitInfo, TreeChange } from './GitCliRepo.js';
import { GitError } from './GitError.js';

/** A parsed commit object: what `git log` would tell of it, plus its tree. */
export interface CommitObject extends CommitInfo {
  tree: string;
}

/** One entry of a tree object. */
export interface TreeObjectEntry {
  mode: string;
  name: string;
  oid: string;
}

const TREE_MODE = '40000';
const GITLINK_MODE = '160000';
const SYMLINK_MODE = '120000';

/**
 * Parses a raw commit object (git-cat-file(1) `--batch` content) into the fields of
 * {@link CommitInfo}, formatted as `git log --format=%H%P%an%ae%aI%cn%ce%cI%s%b` gives them:
 * dates in strict ISO 8601 with the signer's offset, the subject as the first paragraph's lines
 * joined by spaces, the body as the rest without trailing newlines.
 */
export function parseCommitObject(sha: string, content: Buffer): CommitObject {
  const text = content.toString('utf8');
  const split = text.indexOf('\n\n');
  const header = split < 0 ? text : text.slice(0, split);
  const message = split < 0 ? '' : text.slice(split + 2);
  let tree = '';
  const parents: string[] = [];
  let author: Signature | undefined;
  let committer: Signature | undefined;
  for (const line of header.split('\n')) {
    if (line.startsWith(' ')) continue; // the continuation of a multi-line header (gpgsig, mergetag)
    const space = line.indexOf(' ');
    const name = line.slice(0, space);
    const value = line.slice(space + 1);
    if (name === 'tree') tree = value;
    else if (name === 'parent') parents.push(value);
    else if (name === 'author') author = parseSignature(value);
    else if (name === 'committer') committer = parseSignature(value);
  }
  if (tree === '' || !author || !committer) throw new GitError('E_GIT', `object ${sha} is not a well-formed commit`, { oid: sha });
  const { subject, body } = splitMessage(message);
  return {
    sha,
    tree,
    parents,
    authorName: author.name,
    authorEmail: author.email,
    authorDate: author.date,
    committerName: committer.name,
    committerEmail: committer.email,
    committerDate: committer.date,
    subject,
    body,
  };
}

/** Parses a raw tree object: `<mode> <name>\0<binary oid>` entries. */
export function parseTreeObject(oid: string, content: Buffer, oidBytes = 20): TreeObjectEntry[] {
  const entries: TreeObjectEntry[] = [];
  let at = 0;
  while (at < content.length) {
    const space = content.indexOf(0x20, at);
    const nul = content.indexOf(0, space + 1);
    if (space < 0 || nul < 0 || nul + 1 + oidBytes > content.length) throw new GitError('E_GIT', `object ${oid} is not a well-formed tree`, { oid });
    entries.push({ mode: content.toString('latin1', at, space), name: content.toString('utf8', space + 1, nul), oid: content.toString('hex', nul + 1, nul + 1 + oidBytes) });
    at = nul + 1 + oidBytes;
  }
  return entries;
}

/**
 * The blob paths that differ between two trees, as `git diff-tree -r --raw --no-renames` lists
 * them (submodules count as absent; a file ↔ symlink change is `T`), reading trees through
 * `readTree` and descending only into subtrees whose ids differ.
 */
export async function diffTreeObjects(from: string | undefined, to: string, readTree: (oid: string) => Promise<TreeObjectEntry[]>): Promise<TreeChange[]> {
  const changes: TreeChange[] = [];
  const walk = async (oldTree: string | undefined, newTree: string | undefined, prefix: string): Promise<void> => {
    if (oldTree === newTree) return;
    const [before, after] = await Promise.all([oldTree ? readTree(oldTree) : [], newTree ? readTree(newTree) : []]);
    const old = new Map(before.filter((e) => e.mode !== GITLINK_MODE).map((e) => [e.name, e]));
    const now = new Map(after.filter((e) => e.mode !== GITLINK_MODE).map((e) => [e.name, e]));
    for (const name of [...new Set([...old.keys(), ...now.keys()])].sort()) {
      const a = old.get(name);
      const b = now.get(name);
      const path = prefix + name;
      if (a && b && a.mode === b.mode && a.oid === b.oid) continue;
      const aTree = a?.mode === TREE_MODE;
      const bTree = b?.mode === TREE_MODE;
      if (aTree || bTree) {
        await walk(aTree ? a!.oid : undefined, bTree ? b!.oid : undefined, `${path}/`);
        if (a && !aTree) changes.push({ status: 'D', path, oldOid: a.oid });
        if (b && !bTree) changes.push({ status: 'A', path, newOid: b.oid });
      } else if (a && b) {
        const typeChanged = (a.mode === SYMLINK_MODE) !== (b.mode === SYMLINK_MODE);
        changes.push({ status: typeChanged ? 'T' : 'M', path, oldOid: a.oid, newOid: b.oid });
      } else if (a) {
        changes.push({ status: 'D', path, oldOid: a.oid });
      } else if (b) {
        changes.push({ status: 'A', path, newOid: b.oid });
      }
    }
  };
  await walk(from, to, '');
  return changes.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

interface Signature {
  name: string;
  email: string;
  date: string;
}

/** `Name <email> 1704110400 +0100` → name, email and the date as `%aI` prints it. */
function parseSignature(value: string): Signature {
  const match = /^(.*?) ?<([^>]*)> (\d+) ([+-])(\d\d)(\d\d)$/.exec(value);
  if (!match) return { name: value, email: '', date: '' };
  const [, name, email, seconds, sign, hours, minutes] = match;
  const offset = (sign === '-' ? -1 : 1) * (Number(hours) * 60 + Number(minutes));
  const local = new Date((Number(seconds) + offset * 60) * 1000).toISOString().slice(0, 19);
  return { name: name!, email: email!, date: `${local}${sign}${hours}:${minutes}` };
}

/** The message's subject (`%s`: its first paragraph, lines joined by spaces) and body (`%b`, without trailing newlines). */
function splitMessage(message: string): { subject: string; body: string } {
  const lines = message.split('\n');
  const blank = (line: string): boolean => line.trim() === '';
  let i = 0;
  while (i < lines.length && blank(lines[i]!)) i++;
  const subject: string[] = [];
  while (i < lines.length && !blank(lines[i]!)) subject.push(lines[i++]!.replace(/\s+$/, ''));
  while (i < lines.length && blank(lines[i]!)) i++;
  return { subject: subject.join(' '), body: lines.slice(i).join('\n').replace(/\n+$/, '') };
}
