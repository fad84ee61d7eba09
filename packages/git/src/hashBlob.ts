import { createHash } from 'node:crypto';

/**
 * Computes the git blob id of `content` without calling git: the SHA-1 of `blob <length>\0`
 * followed by the bytes (gitformat-object; SHA-1 repositories, git's default).
 */
export function hashBlob(content: Uint8Array): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}
