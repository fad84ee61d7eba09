import { Encrypter } from 'age-encryption';
import { beforeAll, describe, expect, it } from 'vitest';
import { decryptSecrets, diffSecrets, encryptSecrets, generateSecretIdentity, rotateSecrets, setSecret, type SecretIdentity } from './secrets.js';
import { parseSecretsFile } from './secretsFile.js';

const PASSWORD = 'hunter2-very-secret';
const API_KEY = 'sk_live_0123456789abcdef';
const PLAINTEXTS = [PASSWORD, API_KEY, 'rotated-value-42', 'copied-from-staging'];
const PATH = 'config/checkout/prod.secrets.yaml';

let alice: SecretIdentity;
let bob: SecretIdentity;
let carol: SecretIdentity;
let file: string;

beforeAll(async () => {
  [alice, bob, carol] = await Promise.all([generateSecretIdentity(), generateSecretIdentity(), generateSecretIdentity()]);
  file = await encryptSecrets({
    app: 'checkout',
    env: 'prod',
    recipients: [alice.recipient, bob.recipient],
    values: { DB_PASSWORD: PASSWORD, API_KEY, 'feature.token': '' },
  });
});

/** Runs `action`, expecting it to fail; returns the error after checking no plaintext leaked into it. */
async function failure(action: () => Promise<unknown>): Promise<{ code: string; message: string; data: Record<string, unknown> }> {
  let caught: unknown;
  try {
    await action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(Error);
  const error = caught as Error & { code: string; data: Record<string, unknown> };
  const seen = `${error.message} ${JSON.stringify(error.data)} ${JSON.stringify(error)}`;
  for (const plaintext of PLAINTEXTS) expect(seen).not.toContain(plaintext);
  for (const identity of [alice, bob, carol]) expect(seen).not.toContain(identity.identity);
  return error;
}

/** The `ENC[age,...]` text of one key's value in a file. */
function ciphertextOf(text: string, key: string): string {
  const match = new RegExp(`^    "?${key.replace('.', '\\.')}"?: ("ENC\\[age,[^\\]]+\\]")$`, 'm').exec(text);
  if (!match?.[1]) throw new Error(`no value for ${key}`);
  return match[1];
}

describe('generateSecretIdentity', () => {
  it('makes an X25519 identity and its recipient', () => {
    expect(alice.identity).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]+$/);
    expect(alice.recipient).toMatch(/^age1[0-9a-z]{58}$/);
    expect(alice.recipient).not.toBe(bob.recipient);
  });
});

describe('encryptSecrets / decryptSecrets', () => {
  it('round-trips for any holder of one identity, keeping keys readable and values encrypted', async () => {
    expect(file).toContain('DB_PASSWORD: "ENC[age,');
    expect(file).toContain('"feature.token": "ENC[age,');
    expect(file).not.toContain(PASSWORD);
    expect(file).not.toContain(API_KEY);
    const expected = { API_KEY, DB_PASSWORD: PASSWORD, 'feature.token': '' };
    expect(await decryptSecrets(file, [alice.identity])).toEqual(expected);
    expect(await decryptSecrets(file, [bob.identity])).toEqual(expected);
    expect(await decryptSecrets(file, [carol.identity, bob.identity])).toEqual(expected);
  });

  it('refuses a wrong identity with E_SECRET_DECRYPT', async () => {
    const error = await failure(() => decryptSecrets(file, [carol.identity], PATH));
    expect(error.code).toBe('E_SECRET_DECRYPT');
    expect(error.message).toBe(`none of the 1 identities given can decrypt the secrets of checkout/prod (encrypted to ${alice.recipient}, ${bob.recipient})`);
  });

  it('refuses malformed identities and empty identity lists', async () => {
    const none = await failure(() => decryptSecrets(file, []));
    expect(none.code).toBe('E_SECRET_IDENTITY');
    const bad = await failure(() => decryptSecrets(file, [alice.identity.slice(0, -2)]));
    expect(bad.code).toBe('E_SECRET_IDENTITY');
    expect(bad.message).toBe('identity #1 is not an age secret key (AGE-SECRET-KEY-1...)');
  });

  it('refuses bad arguments', async () => {
    const key = await failure(() => encryptSecrets({ app: 'checkout', env: 'prod', recipients: [alice.recipient], values: { '1BAD': 'x' } }));
    expect(key.code).toBe('E_SECRET_KEY');
    expect(key.message).toContain(`secret key '1BAD' is not valid`);
    const recipients = await failure(() => encryptSecrets({ app: 'checkout', env: 'prod', recipients: [], values: {} }));
    expect(recipients.code).toBe('E_SECRET_RECIPIENT');
    const recipient = await failure(() => encryptSecrets({ app: 'checkout', env: 'prod', recipients: ['age1nope'], values: {} }));
    expect(recipient).toMatchObject({ code: 'E_SECRET_RECIPIENT', message: `recipient 'age1nope' is not an age X25519 recipient (age1...)` });
    const app = await failure(() => encryptSecrets({ app: 'Check Out', env: 'prod', recipients: [alice.recipient], values: {} }));
    expect(app).toMatchObject({ code: 'E_SECRET_TARGET', message: `app 'Check Out' is not a DNS label` });
  });
});

describe('tampering', () => {
  const tamperCases: Array<[string, (text: string) => string | Promise<string>, string]> = [
    [
      'two ciphertexts swapped',
      (text) => {
        const a = ciphertextOf(text, 'DB_PASSWORD');
        const b = ciphertextOf(text, 'API_KEY');
        return text.replace(a, '@A').replace(b, a).replace('@A', b);
      },
      'its MAC does not match its content',
    ],
    ['a key removed', (text) => text.replace(/^ {4}API_KEY: .*\n/m, ''), 'its MAC does not match its content'],
    [
      'a key copied from another file',
      async (text) => {
        const other = await encryptSecrets({ app: 'checkout', env: 'prod', recipients: [alice.recipient, bob.recipient], values: { EXTRA: 'copied-from-staging' } });
        return text.replace(/^ {2}macKey:/m, `    EXTRA: ${ciphertextOf(other, 'EXTRA')}\n  macKey:`);
      },
      'its MAC does not match its content',
    ],
    ['a recipient removed', (text) => text.replace(`    - ${bob.recipient}\n`, ''), 'its MAC does not match its content'],
    ['a recipient added', (text) => text.replace(`    - ${bob.recipient}\n`, `    - ${bob.recipient}\n    - ${carol.recipient}\n`), 'its MAC does not match its content'],
    ['the app renamed', (text) => text.replace('app: checkout', 'app: billing'), 'its MAC does not match its content'],
    [
      'the mac edited',
      (text) => text.replace(/HMAC\[sha256,(.)/, (_all, first: string) => `HMAC[sha256,${first === 'A' ? 'B' : 'A'}`),
      'its MAC does not match its content',
    ],
    [
      'the mac key replaced by a fresh one with a recomputed mac',
      async (text) => {
        // The recipients are public: an attacker can encrypt a MAC key of their own and compute a
        // valid MAC over a key set of their choosing (per docs/secrets.md), but cannot re-bind the
        // original ciphertexts to that key.
        const macKey = globalThis.crypto.getRandomValues(new Uint8Array(32));
        const encrypter = new Encrypter();
        encrypter.addRecipient(alice.recipient);
        const macKeyText = btoa(String.fromCharCode(...(await encrypter.encrypt(macKey))));
        const value = ciphertextOf(text, 'DB_PASSWORD');
        const recipients = [alice.recipient, bob.recipient].sort();
        const message = JSON.stringify(['estate/v1 secrets file', 'checkout', 'prod', recipients, [['DB_PASSWORD', value.slice(9, -2)]], macKeyText]);
        const key = await globalThis.crypto.subtle.importKey('raw', macKey, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
        const tag = btoa(String.fromCharCode(...new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', key, new TextEncoder().encode(message)))));
        return text
          .replace(/^ {4}(API_KEY|"feature\.token"): .*\n/gm, '')
          .replace(/^ {2}macKey: .*$/m, `  macKey: "ENC[age,${macKeyText}]"`)
          .replace(/^ {2}mac: .*$/m, `  mac: "HMAC[sha256,${tag}]"`);
      },
      "the value of 'DB_PASSWORD' was not written for this key of this file",
    ],
  ];

  for (const [name, tamper, reason] of tamperCases) {
    it(`refuses ${name} with E_SECRET_MAC`, async () => {
      const tampered = await tamper(file);
      expect(tampered).not.toBe(file);
      const error = await failure(() => decryptSecrets(tampered, [alice.identity], 'tampered.secrets.yaml'));
      expect(error.code).toBe('E_SECRET_MAC');
      expect(error.message).toMatch(/^secrets file tampered\.secrets\.yaml of [a-z]+\/prod was modified without its key: /);
      expect(error.message.endsWith(`: ${reason}`)).toBe(true);
    });
  }

  it('refuses metadata that contradicts the file path with E_SECRET_FORMAT', async () => {
    const error = await failure(() => decryptSecrets(file.replace('app: checkout', 'app: billing'), [alice.identity], PATH));
    expect(error).toMatchObject({
      code: 'E_SECRET_FORMAT',
      message: `secrets file ${PATH} is malformed: 4:8: metadata.app 'billing' does not match the file's folder 'checkout'`,
    });
  });

  it('refuses a flipped byte in a value ciphertext with E_SECRET_MAC', async () => {
    const value = ciphertextOf(file, 'API_KEY');
    const inner = value.slice('"ENC[age,'.length, -2);
    const middle = Math.floor(inner.length / 2);
    const flipped = inner.slice(0, middle) + (inner[middle] === 'A' ? 'B' : 'A') + inner.slice(middle + 1);
    const error = await failure(() => decryptSecrets(file.replace(inner, flipped), [alice.identity], PATH));
    expect(error.code).toBe('E_SECRET_MAC');
  });

  it('refuses a malformed file with E_SECRET_FORMAT and never echoes a plaintext value', async () => {
    const edited = file.replace(/^ {4}DB_PASSWORD: .*$/m, `    DB_PASSWORD: ${PASSWORD}`);
    const error = await failure(() => decryptSecrets(edited, [alice.identity], PATH));
    expect(error.code).toBe('E_SECRET_FORMAT');
    expect(error.message).toMatch(/^secrets file config\/checkout\/prod\.secrets\.yaml is malformed: 12:18: value of secret 'DB_PASSWORD' is not an encrypted value ENC\[age,<base64>\]$/);
  });
});

describe('setSecret', () => {
  it('creates a file, then changes one key keeping the other ciphertexts', async () => {
    const created = await setSecret(undefined, { app: 'checkout', env: 'prod', recipients: [alice.recipient], key: 'DB_PASSWORD', value: PASSWORD, identities: [] });
    expect(await decryptSecrets(created, [alice.identity])).toEqual({ DB_PASSWORD: PASSWORD });

    const updated = await setSecret(file, { app: 'checkout', env: 'prod', recipients: [bob.recipient, alice.recipient], key: 'API_KEY', value: 'rotated-value-42', identities: [bob.identity] });
    expect(ciphertextOf(updated, 'DB_PASSWORD')).toBe(ciphertextOf(file, 'DB_PASSWORD'));
    expect(ciphertextOf(updated, 'API_KEY')).not.toBe(ciphertextOf(file, 'API_KEY'));
    expect(await decryptSecrets(updated, [alice.identity])).toEqual({ API_KEY: 'rotated-value-42', DB_PASSWORD: PASSWORD, 'feature.token': '' });
    expect(diffSecrets(file, updated)).toEqual({ added: [], removed: [], changed: ['API_KEY'] });

    const added = await setSecret(updated, { app: 'checkout', env: 'prod', recipients: [alice.recipient, bob.recipient], key: 'NEW_KEY', value: 'n', identities: [alice.identity] });
    expect(diffSecrets(updated, added)).toEqual({ added: ['NEW_KEY'], removed: [], changed: [] });
  });

  it('refuses other recipients than the file has, and another app', async () => {
    const recipients = await failure(() =>
      setSecret(file, { app: 'checkout', env: 'prod', recipients: [alice.recipient], key: 'API_KEY', value: 'x', identities: [alice.identity] }, PATH),
    );
    expect(recipients.code).toBe('E_SECRET_MISMATCH');
    expect(recipients.message).toBe(
      `secrets of checkout/prod are encrypted to other recipients than the environment's (added: none; removed: ${bob.recipient}); rotate the file first`,
    );
    const app = await failure(() =>
      setSecret(file, { app: 'billing', env: 'prod', recipients: [alice.recipient, bob.recipient], key: 'API_KEY', value: 'x', identities: [alice.identity] }, PATH),
    );
    expect(app).toMatchObject({ code: 'E_SECRET_MISMATCH', message: `secrets file ${PATH} belongs to checkout/prod, not billing/prod` });
  });

  it('refuses to build on a tampered file, and without an identity', async () => {
    const tampered = file.replace(/^ {4}API_KEY: .*\n/m, '');
    const input = { app: 'checkout', env: 'prod', recipients: [alice.recipient, bob.recipient], key: 'X', value: 'x', identities: [alice.identity] };
    expect((await failure(() => setSecret(tampered, input))).code).toBe('E_SECRET_MAC');
    expect((await failure(() => setSecret(file, { ...input, identities: [carol.identity] }))).code).toBe('E_SECRET_DECRYPT');
  });
});

describe('rotateSecrets', () => {
  it('re-encrypts to the new recipients only', async () => {
    const rotated = await rotateSecrets(file, [alice.identity], [carol.recipient]);
    expect(parseSecretsFile(PATH, rotated).recipients).toEqual([carol.recipient]);
    expect(await decryptSecrets(rotated, [carol.identity])).toEqual({ API_KEY, DB_PASSWORD: PASSWORD, 'feature.token': '' });
    expect((await failure(() => decryptSecrets(rotated, [alice.identity]))).code).toBe('E_SECRET_DECRYPT');
    expect(diffSecrets(file, rotated)).toEqual({ added: [], removed: [], changed: ['API_KEY', 'DB_PASSWORD', 'feature.token'] });
  });
});

describe('diffSecrets', () => {
  it('compares ciphertexts only, treating a missing file as empty', async () => {
    expect(diffSecrets(file, file)).toEqual({ added: [], removed: [], changed: [] });
    expect(diffSecrets(undefined, file)).toEqual({ added: ['API_KEY', 'DB_PASSWORD', 'feature.token'], removed: [], changed: [] });
    expect(diffSecrets(file, undefined)).toEqual({ added: [], removed: ['API_KEY', 'DB_PASSWORD', 'feature.token'], changed: [] });
  });

  it('refuses a malformed version with E_SECRET_FORMAT', async () => {
    const error = await failure(async () => diffSecrets(file, 'kind: Secrets\n', PATH));
    expect(error.code).toBe('E_SECRET_FORMAT');
    expect(error.message).toBe(`secrets file ${PATH} is malformed: 1:1: apiVersion must be 'estate/v1'`);
  });
});
