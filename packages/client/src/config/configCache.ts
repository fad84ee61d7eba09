import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
// The last-known-good copy of an app's config (issue 5) is the one local file the client keeps.
// eslint-disable-next-line no-restricted-imports
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ConfigSnapshot } from './types.js';

/** Which config a cache file holds, and the token its keys derive from. */
export interface ConfigCacheKey {
  app: string;
  env: string;
  cluster?: string;
  /** The API token: the cache's encryption and MAC keys derive from it (HKDF-SHA256). */
  token?: string;
}

/** The fields of a snapshot that identify it; authenticated with the values in every file. */
interface CacheMeta {
  app: string;
  env: string;
  cluster: string | null;
  version: string;
  seq: number;
  secrets: ConfigSnapshot['secrets'];
  release: ConfigSnapshot['release'];
}

/** A cache file as JSON: plain values with a MAC, or (with secrets) AES-256-GCM ciphertext. */
type CacheFile =
  | { format: typeof FORMAT; meta: CacheMeta; encrypted: false; values: Record<string, unknown>; mac: string }
  | { format: typeof FORMAT; meta: CacheMeta; encrypted: true; iv: string; ciphertext: string; tag: string };

const FORMAT = 'estate-config-cache/1';
const KEY_BYTES = 32;
const IV_BYTES = 12;

/**
 * The last-known-good copy of one app/env(/cluster) config on disk:
 * `<dir>/<app>.<env>[.<cluster>].json`, written atomically (a temp file in the same directory,
 * mode 0600, synced, then renamed over the old one).
 *
 * Both keys derive from the API token with HKDF-SHA256 (RFC 5869), bound to app, env and cluster:
 * - a snapshot holding secrets (`secrets: included`) is encrypted with AES-256-GCM, its metadata
 *   as additional data, so a stolen file without the token reveals nothing;
 * - any other snapshot is stored readable, with an HMAC-SHA256 over metadata and values.
 * A file that is missing, corrupt, tampered with, written for another app/env/cluster or under
 * another token reads as no cache at all. A snapshot with secrets is never written without a token.
 */
export class FileConfigCache {
  /** The cache file's path. */
  readonly path: string;
  readonly #key: ConfigCacheKey;

  constructor(dir: string, key: ConfigCacheKey) {
    this.#key = key;
    this.path = join(dir, `${[key.app, key.env, ...(key.cluster !== undefined ? [key.cluster] : [])].join('.')}.json`);
  }

  /** The cached snapshot (source `cache`), or undefined when there is no usable one. */
  async read(): Promise<ConfigSnapshot | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return this.#open(text);
  }

  /** Replaces the cache file with `snapshot`. */
  async write(snapshot: ConfigSnapshot): Promise<void> {
    const meta: CacheMeta = canonicalMeta({ ...snapshot, cluster: this.#key.cluster ?? null });
    let file: CacheFile;
    if (snapshot.secrets === 'included') {
      if (this.#key.token === undefined) throw new Error(`not caching ${snapshot.app}/${snapshot.env}: it holds secrets and there is no token to encrypt them with`);
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.#derive('encrypt'), iv);
      cipher.setAAD(Buffer.from(JSON.stringify(meta)));
      const ciphertext = Buffer.concat([cipher.update(JSON.stringify(snapshot.values), 'utf8'), cipher.final()]);
      file = { format: FORMAT, meta, encrypted: true, iv: iv.toString('base64'), ciphertext: ciphertext.toString('base64'), tag: cipher.getAuthTag().toString('base64') };
    } else {
      file = { format: FORMAT, meta, encrypted: false, values: snapshot.values, mac: this.#mac(meta, snapshot.values) };
    }
    await writeAtomically(this.path, `${JSON.stringify(file, null, 2)}\n`);
  }

  #open(text: string): ConfigSnapshot | undefined {
    let file: CacheFile;
    try {
      file = JSON.parse(text) as CacheFile;
    } catch {
      return undefined;
    }
    if (!isObject(file) || file.format !== FORMAT || !isObject(file.meta)) return undefined;
    const meta = canonicalMeta(file.meta);
    const expected = { app: this.#key.app, env: this.#key.env, cluster: this.#key.cluster ?? null };
    if (meta.app !== expected.app || meta.env !== expected.env || meta.cluster !== expected.cluster) return undefined;
    if (typeof meta.version !== 'string' || !Number.isSafeInteger(meta.seq)) return undefined;
    let values: unknown;
    if (file.encrypted === true) {
      if (this.#key.token === undefined || typeof file.iv !== 'string' || typeof file.ciphertext !== 'string' || typeof file.tag !== 'string') return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', this.#derive('encrypt'), Buffer.from(file.iv, 'base64'));
        decipher.setAAD(Buffer.from(JSON.stringify(meta)));
        decipher.setAuthTag(Buffer.from(file.tag, 'base64'));
        values = JSON.parse(Buffer.concat([decipher.update(Buffer.from(file.ciphertext, 'base64')), decipher.final()]).toString('utf8'));
      } catch {
        return undefined;
      }
    } else if (file.encrypted === false) {
      // A readable file never holds secrets: one claiming to is not ours.
      if (meta.secrets === 'included' || typeof file.mac !== 'string' || !isObject(file.values)) return undefined;
      const actual = Buffer.from(file.mac, 'base64');
      const wanted = Buffer.from(this.#mac(meta, file.values), 'base64');
      if (actual.length !== wanted.length || !timingSafeEqual(actual, wanted)) return undefined;
      values = file.values;
    } else {
      return undefined;
    }
    if (!isObject(values)) return undefined;
    return { app: meta.app, env: meta.env, version: meta.version, seq: meta.seq, values, secrets: meta.secrets, release: meta.release, source: 'cache' };
  }

  #mac(meta: CacheMeta, values: Record<string, unknown>): string {
    // JSON.stringify of parsed JSON gives back the text it was parsed from, so the MAC holds.
    return createHmac('sha256', this.#derive('authenticate')).update(JSON.stringify(meta)).update('\n').update(JSON.stringify(values)).digest('base64');
  }

  /** A key for one purpose, bound to the config it protects; without a token, one anybody can derive (integrity against corruption only). */
  #derive(purpose: 'encrypt' | 'authenticate'): Buffer {
    const { app, env, cluster, token } = this.#key;
    const info = [FORMAT, purpose, app, env, cluster ?? ''].join('\0');
    return Buffer.from(hkdfSync('sha256', token ?? '', FORMAT, info, KEY_BYTES));
  }
}

/** The metadata with its fields in one fixed order: the bytes the MAC and GCM authenticate. */
function canonicalMeta(source: Omit<CacheMeta, 'cluster'> & { cluster?: string | null }): CacheMeta {
  return {
    app: source.app,
    env: source.env,
    cluster: source.cluster ?? null,
    version: source.version,
    seq: source.seq,
    secrets: source.secrets,
    release: source.release,
  };
}

/** Writes `text` to `path` through a synced temp file (mode 0600) and a rename: readers see the old file or the new, never a part. */
async function writeAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
