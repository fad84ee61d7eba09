import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { ConflictError, InputError, ValidationError } from '../errors.js';
import { DNS_LABEL } from '../assetChecks.js';
import { AGE_RECIPIENT, readSecretsFile, renderSecretsFile, SECRET_KEY, type SecretsFileContent } from './secretsFile.js';

/** An age X25519 key pair: the secret identity (`AGE-SECRET-KEY-1...`) and its public recipient (`age1...`). */
export interface SecretIdentity {
  identity: string;
  recipient: string;
}

/** What {@link encryptSecrets} writes: a whole secrets file for one app and environment. */
export interface EncryptSecretsInput {
  app: string;
  env: string;
  /** The environment's age recipients (from estate.yaml). */
  recipients: readonly string[];
  /** Plaintext values by key. */
  values: Readonly<Record<string, string>>;
}

/** What {@link setSecret} changes: one key of one app and environment. */
export interface SetSecretInput {
  app: string;
  env: string;
  /** The environment's recipients; must equal the file's (else rotate first). */
  recipients: readonly string[];
  key: string;
  value: string;
  /** Identities able to read the file's MAC key; unused when the file is new. */
  identities: readonly string[];
}

/** Keys added, removed and changed between two versions of a secrets file (values are never shown). */
export interface SecretsDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

/** Largest plaintext value accepted, in UTF-8 bytes. */
export const MAX_SECRET_VALUE_BYTES = 64 * 1024;

/** Used in diagnostics when the caller names no file. */
const DEFAULT_PATH = '<secrets>';
const MAC_KEY_BYTES = 32;
/** Web Crypto's key type, spelled without the DOM lib (core compiles for Node and browsers). */
type CryptoKey = Awaited<ReturnType<typeof globalThis.crypto.subtle.importKey>>;
const BINDING_BYTES = 32;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const NO_IDENTITY_MATCHED = /no identity matched/;
const encoder = new TextEncoder();
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A secrets file whose MAC verified: its content, the MAC key and a decrypter for its values. */
interface OpenedFile {
  content: SecretsFileContent & { app: string; env: string; macKey: string; mac: string };
  hmac: CryptoKey;
  decrypter: Decrypter;
}

/** Makes a new age X25519 identity, e.g. for an environment or the server's data dir. */
export async function generateSecretIdentity(): Promise<SecretIdentity> {
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}

/** The public recipient (`age1...`) of an age X25519 identity; InputError E_SECRET_IDENTITY for anything else. */
export async function recipientOfIdentity(identity: string): Promise<string> {
  try {
    return await identityToRecipient(identity.trim());
  } catch {
    throw new InputError('E_SECRET_IDENTITY', 'not an age X25519 identity (expected AGE-SECRET-KEY-1...)', {});
  }
}

/**
 * Writes a secrets file: each value encrypted on its own to every recipient, with a fresh random
 * MAC key (also encrypted to the recipients) that binds each value to its key and authenticates
 * the whole file. See docs/secrets.md for the format.
 */
export async function encryptSecrets(input: EncryptSecretsInput): Promise<string> {
  checkTarget(input.app, input.env);
  const recipients = checkRecipients(input.recipients);
  const entries = Object.entries(input.values);
  for (const [key, value] of entries) checkEntry(key, value);
  const encrypter = newEncrypter(recipients);
  const macKeyBytes = globalThis.crypto.getRandomValues(new Uint8Array(MAC_KEY_BYTES));
  const hmac = await importMacKey(macKeyBytes);
  const macKey = toBase64(await encrypter.encrypt(macKeyBytes));
  const values = new Map(await Promise.all(entries.map(async ([key, value]) => [key, await encryptValue(encrypter, hmac, key, value)] as const)));
  const mac = await computeMac(hmac, input.app, input.env, recipients, values, macKey);
  return renderSecretsFile({ app: input.app, env: input.env, recipients, values, macKey, mac });
}

/**
 * Decrypts every value of a secrets file with any of `identities`, after verifying the file's
 * MAC: `E_SECRET_FORMAT` for a malformed file, `E_SECRET_DECRYPT` when no identity can read it,
 * `E_SECRET_MAC` when it was edited by anyone but a key holder. Errors never contain a value.
 */
export async function decryptSecrets(text: string, identities: readonly string[], path = DEFAULT_PATH): Promise<Record<string, string>> {
  const opened = await openSecretsFile(text, identities, path);
  return Object.fromEntries(await decryptAll(opened, path));
}

/**
 * Sets one key, creating the file when `text` is undefined. The other values keep their exact
 * ciphertexts (so the diff shows only this key); the MAC is recomputed with the file's MAC key,
 * which is why an identity is needed: a writer without one could otherwise re-key the MAC and
 * hide tampering. The whole file is verified first, so nobody builds on a tampered file.
 */
export async function setSecret(text: string | undefined, input: SetSecretInput, path = DEFAULT_PATH): Promise<string> {
  checkEntry(input.key, input.value);
  if (text === undefined) {
    return encryptSecrets({ app: input.app, env: input.env, recipients: input.recipients, values: { [input.key]: input.value } });
  }
  checkTarget(input.app, input.env);
  const recipients = checkRecipients(input.recipients);
  const opened = await openSecretsFile(text, input.identities, path);
  const { content } = opened;
  if (content.app !== input.app || content.env !== input.env) {
    throw new ConflictError('E_SECRET_MISMATCH', `secrets file ${path} belongs to ${content.app}/${content.env}, not ${input.app}/${input.env}`, {
      path,
      app: content.app,
      env: content.env,
    });
  }
  const added = recipients.filter((r) => !content.recipients.includes(r));
  const removed = content.recipients.filter((r) => !recipients.includes(r));
  if (added.length > 0 || removed.length > 0) {
    throw new ConflictError(
      'E_SECRET_MISMATCH',
      `secrets of ${content.app}/${content.env} are encrypted to other recipients than the environment's ` +
        `(added: ${added.join(', ') || 'none'}; removed: ${removed.join(', ') || 'none'}); rotate the file first`,
      { path, app: content.app, env: content.env, added, removed },
    );
  }
  await decryptAll(opened, path);
  const values = new Map(content.values);
  values.set(input.key, await encryptValue(newEncrypter(content.recipients), opened.hmac, input.key, input.value));
  const mac = await computeMac(opened.hmac, content.app, content.env, content.recipients, values, content.macKey);
  return renderSecretsFile({ app: content.app, env: content.env, recipients: content.recipients, values, macKey: content.macKey, mac });
}

/**
 * Re-encrypts a verified secrets file to `newRecipients` with a fresh MAC key: every ciphertext
 * changes, and only the new recipients' identities can read the result.
 */
export async function rotateSecrets(text: string, identities: readonly string[], newRecipients: readonly string[], path = DEFAULT_PATH): Promise<string> {
  checkRecipients(newRecipients);
  const opened = await openSecretsFile(text, identities, path);
  const values = Object.fromEntries(await decryptAll(opened, path));
  return encryptSecrets({ app: opened.content.app, env: opened.content.env, recipients: newRecipients, values });
}

/**
 * Compares two versions of a secrets file by ciphertext only (no key needed): a key whose
 * ciphertext differs is "changed", even if the plaintext happens to be the same. `undefined`
 * stands for a missing file. Throws `E_SECRET_FORMAT` for a malformed version.
 */
export function diffSecrets(oldText: string | undefined, newText: string | undefined, path = DEFAULT_PATH): SecretsDiff {
  const before = oldText === undefined ? new Map<string, string>() : wellFormed(readSecretsFile(path, oldText), path).values;
  const after = newText === undefined ? new Map<string, string>() : wellFormed(readSecretsFile(path, newText), path).values;
  const added = [...after.keys()].filter((key) => !before.has(key)).sort();
  const removed = [...before.keys()].filter((key) => !after.has(key)).sort();
  const changed = [...after.keys()].filter((key) => before.has(key) && before.get(key) !== after.get(key)).sort();
  return { added, removed, changed };
}

/** Parses, checks the format, decrypts the MAC key and verifies the file's MAC. */
async function openSecretsFile(text: string, identities: readonly string[], path: string): Promise<OpenedFile> {
  const content = wellFormed(readSecretsFile(path, text), path);
  const decrypter = await newDecrypter(identities);
  const where = `${content.app}/${content.env}`;
  let macKeyBytes: Uint8Array;
  try {
    macKeyBytes = await decrypter.decrypt(fromBase64(content.macKey));
  } catch (error) {
    if (error instanceof Error && NO_IDENTITY_MATCHED.test(error.message)) {
      throw new InputError(
        'E_SECRET_DECRYPT',
        `none of the ${identities.length} identities given can decrypt the secrets of ${where} (encrypted to ${content.recipients.join(', ')})`,
        { path, app: content.app, env: content.env, recipients: content.recipients },
        { cause: error },
      );
    }
    throw macError(path, content, 'its MAC key does not decrypt', error);
  }
  if (macKeyBytes.length !== MAC_KEY_BYTES) throw macError(path, content, 'its MAC key has the wrong length');
  const hmac = await importMacKey(macKeyBytes);
  const tag = fromBase64(content.mac);
  const message = macMessage(content.app, content.env, content.recipients, content.values, content.macKey);
  if (!(await globalThis.crypto.subtle.verify('HMAC', hmac, tag, message))) {
    throw macError(path, content, 'its MAC does not match its content');
  }
  return { content, hmac, decrypter };
}

/** Decrypts every value of an opened file, checking each is bound to its key by the MAC key. */
async function decryptAll(opened: OpenedFile, path: string): Promise<Array<[string, string]>> {
  const { content, decrypter, hmac } = opened;
  return Promise.all(
    content.keys.map(async (key): Promise<[string, string]> => {
      let plaintext: Uint8Array;
      try {
        plaintext = await decrypter.decrypt(fromBase64(content.values.get(key) as string));
      } catch (error) {
        if (error instanceof Error && NO_IDENTITY_MATCHED.test(error.message)) {
          throw new InputError('E_SECRET_DECRYPT', `none of the identities given can decrypt secret '${key}' of ${content.app}/${content.env}`, {
            path,
            app: content.app,
            env: content.env,
            key,
          }, { cause: error });
        }
        throw macError(path, content, `the value of '${key}' does not decrypt`, error, key);
      }
      const expected = await binding(hmac, key);
      if (plaintext.length < BINDING_BYTES || !equalBytes(plaintext.subarray(0, BINDING_BYTES), expected)) {
        throw macError(path, content, `the value of '${key}' was not written for this key of this file`, undefined, key);
      }
      try {
        return [key, utf8.decode(plaintext.subarray(BINDING_BYTES))];
      } catch {
        throw macError(path, content, `the value of '${key}' is not UTF-8`, undefined, key);
      }
    }),
  );
}

/** Encrypts `binding(key) || value`, so a ciphertext moved to another key or file is detected. */
async function encryptValue(encrypter: Encrypter, hmac: CryptoKey, key: string, value: string): Promise<string> {
  const body = encoder.encode(value);
  const plaintext = new Uint8Array(BINDING_BYTES + body.length);
  plaintext.set(await binding(hmac, key), 0);
  plaintext.set(body, BINDING_BYTES);
  return toBase64(await encrypter.encrypt(plaintext));
}

async function binding(hmac: CryptoKey, key: string): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', hmac, encoder.encode(`estate/v1 secret value\0${key}`)));
}

async function computeMac(
  hmac: CryptoKey,
  app: string,
  env: string,
  recipients: readonly string[],
  values: ReadonlyMap<string, string>,
  macKey: string,
): Promise<string> {
  return toBase64(new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', hmac, macMessage(app, env, recipients, values, macKey))));
}

/**
 * The bytes the file MAC covers: app, env, the recipient set, every key with its ciphertext and
 * the encrypted MAC key, as canonical JSON (sorted, so YAML order does not matter).
 */
function macMessage(app: string, env: string, recipients: readonly string[], values: ReadonlyMap<string, string>, macKey: string): Uint8Array {
  const entries = [...values.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return encoder.encode(JSON.stringify(['estate/v1 secrets file', app, env, [...recipients].sort(), entries, macKey]));
}

async function importMacKey(bytes: Uint8Array): Promise<CryptoKey> {
  return globalThis.crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

function macError(path: string, content: SecretsFileContent, reason: string, cause?: unknown, key?: string): ValidationError {
  return new ValidationError(
    'E_SECRET_MAC',
    `secrets file ${path} of ${content.app}/${content.env} was modified without its key: ${reason}`,
    { path, app: content.app, env: content.env, ...(key === undefined ? {} : { key }) },
    cause === undefined ? undefined : { cause },
  );
}

function wellFormed(content: SecretsFileContent, path: string): OpenedFile['content'] {
  const { app, env, macKey, mac } = content;
  if (content.diagnostics.length > 0 || app === undefined || env === undefined || macKey === undefined || mac === undefined) {
    const first = content.diagnostics[0];
    throw new ValidationError(
      'E_SECRET_FORMAT',
      `secrets file ${path} is malformed${first ? `: ${first.line}:${first.col}: ${first.message}` : ''}`,
      { path, errors: content.diagnostics },
    );
  }
  return { ...content, app, env, macKey, mac };
}

function newEncrypter(recipients: readonly string[]): Encrypter {
  const encrypter = new Encrypter();
  for (const recipient of recipients) encrypter.addRecipient(recipient);
  return encrypter;
}

async function newDecrypter(identities: readonly string[]): Promise<Decrypter> {
  if (identities.length === 0) throw new InputError('E_SECRET_IDENTITY', 'no age identity given to decrypt secrets', {});
  const decrypter = new Decrypter();
  for (const [index, identity] of identities.entries()) {
    // Checked up front so a typo is reported as such, not as "no identity matched"; the
    // identity itself is secret and never echoed.
    try {
      await identityToRecipient(identity);
      decrypter.addIdentity(identity);
    } catch (error) {
      throw new InputError('E_SECRET_IDENTITY', `identity #${index + 1} is not an age secret key (AGE-SECRET-KEY-1...)`, { index }, { cause: error });
    }
  }
  return decrypter;
}

function checkTarget(app: string, env: string): void {
  if (!DNS_LABEL.test(app)) throw new InputError('E_SECRET_TARGET', `app '${app}' is not a DNS label`, { app });
  if (!DNS_LABEL.test(env)) throw new InputError('E_SECRET_TARGET', `env '${env}' is not a DNS label`, { env });
}

function checkRecipients(recipients: readonly string[]): string[] {
  if (recipients.length === 0) throw new InputError('E_SECRET_RECIPIENT', 'secrets need at least one age recipient', {});
  for (const recipient of recipients) {
    if (!AGE_RECIPIENT.test(recipient)) {
      throw new InputError('E_SECRET_RECIPIENT', `recipient '${recipient.slice(0, 100)}' is not an age X25519 recipient (age1...)`, { recipient: recipient.slice(0, 100) });
    }
    try {
      new Encrypter().addRecipient(recipient);
    } catch (error) {
      throw new InputError('E_SECRET_RECIPIENT', `recipient '${recipient}' is not a valid age recipient: ${(error as Error).message}`, { recipient }, { cause: error });
    }
  }
  return [...new Set(recipients)];
}

function checkEntry(key: string, value: string): void {
  if (!SECRET_KEY.test(key) || FORBIDDEN_KEYS.has(key)) {
    throw new InputError(
      'E_SECRET_KEY',
      `secret key '${key.slice(0, 140)}' is not valid (letters, digits, '_', '.', '-'; starting with a letter or '_'; at most 128 characters)`,
      { key: key.slice(0, 140) },
    );
  }
  if (typeof value !== 'string') throw new InputError('E_SECRET_VALUE', `value of secret '${key}' must be a string`, { key });
  const bytes = encoder.encode(value).length;
  if (bytes > MAX_SECRET_VALUE_BYTES) {
    throw new InputError('E_SECRET_VALUE', `value of secret '${key}' is ${bytes} bytes; the limit is ${MAX_SECRET_VALUE_BYTES} bytes`, { key, bytes });
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number);
  return difference === 0;
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
