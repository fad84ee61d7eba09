import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** Reads `<root>/<absolutePath>` as UTF-8; `undefined` when it does not exist. */
export async function readRootFile(root: string, absolutePath: string): Promise<string | undefined> {
  try {
    return await readFile(resolveUnderRoot(root, absolutePath), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** `<root>/<absolutePath>`, normalised so that `..` cannot climb out of the root. */
export function resolveUnderRoot(root: string, absolutePath: string): string {
  return path.join(root, path.posix.normalize('/' + absolutePath));
}

/** Whether the collectors read the real host (root `/`), which allows fallbacks to the OS's own APIs. */
export function isRealRoot(root: string): boolean {
  return path.resolve(root) === '/';
}
