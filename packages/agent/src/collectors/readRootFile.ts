import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';

/** Reads `<root>/<absolutePath>` as UTF-8; `undefined` when it does not exist. Never reads outside the root (see {@link confineToRoot}). */
export async function readRootFile(root: string, absolutePath: string): Promise<string | undefined> {
  try {
    return await readFile(await confineToRoot(root, absolutePath), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** `<root>/<absolutePath>`, normalised so that `..` cannot climb out of the root. */
export function resolveUnderRoot(root: string, absolutePath: string): string {
  return path.join(root, path.posix.normalize('/' + absolutePath));
}

/**
 * `<root>/<absolutePath>` with its symbolic links resolved, refused when they lead out of a root
 * other than `/` (an image's `/etc/app.conf -> /etc/shadow` would otherwise read the agent host's
 * file). Throws `ENOENT` when the file (or a link's target) does not exist.
 */
export async function confineToRoot(root: string, absolutePath: string): Promise<string> {
  const location = resolveUnderRoot(root, absolutePath);
  if (isRealRoot(root)) return location;
  const [realRoot, real] = await Promise.all([realpath(root), realpath(location)]);
  const relative = path.relative(realRoot, real);
  if (relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
    throw new Error(`${absolutePath} leads outside the root ${root} (a symbolic link)`);
  }
  return real;
}

/** Whether the collectors read the real host (root `/`), which allows fallbacks to the OS's own APIs. */
export function isRealRoot(root: string): boolean {
  return path.resolve(root) === '/';
}
