import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EstateError, generateSecretIdentity, recipientOfIdentity } from '@estate/core';

/** The file in the data dir holding the server's age identities (mode 0600). */
export const IDENTITY_FILE = 'age-identities.txt';

/** The server's age identities: the newest one's recipient is what estate.yaml should list. */
export interface ServerIdentities {
  /** `AGE-SECRET-KEY-1...` lines, newest first. */
  identities: string[];
  /** The recipient (`age1...`) of the newest identity. */
  recipient: string;
}

/**
 * Reads the server's age identities from `<dataDir>/age-identities.txt`, creating the file with a
 * new identity on first start. The file holds one identity per line (`#` comments allowed; an
 * operator may add older identities below the first to keep reading files not yet rotated); it is
 * made readable by its owner only.
 */
export async function loadServerIdentities(dataDir: string): Promise<ServerIdentities> {
  const file = join(dataDir, IDENTITY_FILE);
  let text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (text === undefined) {
    const created = await generateSecretIdentity();
    text = `# The Estate server's age identity: it decrypts config secrets for tokens allowed them.\n# Public recipient (add it to estate.yaml): ${created.recipient}\n${created.identity}\n`;
    await writeFile(file, text, { mode: 0o600, flag: 'wx' });
  }
  await chmod(file, 0o600);
  const identities = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (identities.length === 0) throw new EstateError('E_SECRET_IDENTITY', `${file} holds no age identity (AGE-SECRET-KEY-1...)`, { file });
  try {
    return { identities, recipient: await recipientOfIdentity(identities[0]!) };
  } catch {
    throw new EstateError('E_SECRET_IDENTITY', `${file} does not start with an age X25519 identity (AGE-SECRET-KEY-1...)`, { file });
  }
}
