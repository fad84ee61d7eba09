import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../diagnostics.js';
import { parseSecretsFile, renderSecretsFile } from './secretsFile.js';

const R1 = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
const R2 = 'age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg';
const CT = 'YWdlLWVuY3J5cHRpb24ub3JnL3YxCg==';
const TAG = 'q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=';
const PATH = 'config/checkout/prod.secrets.yaml';

function render(values: Record<string, string> = { DB_PASSWORD: CT, 'feature.token': CT }): string {
  return renderSecretsFile({ app: 'checkout', env: 'prod', recipients: [R1, R2], values: new Map(Object.entries(values)), macKey: CT, mac: TAG });
}

describe('parseSecretsFile', () => {
  it('reads app, env, recipients and sorted keys of a canonical file without decrypting', () => {
    const text = render({ Z_LAST: CT, A_FIRST: CT });
    expect(text).toBe(
      [
        'apiVersion: estate/v1',
        'kind: Secrets',
        'metadata:',
        '  app: checkout',
        '  env: prod',
        'spec:',
        '  recipients:',
        `    - ${R1}`,
        `    - ${R2}`,
        '  values:',
        `    A_FIRST: "ENC[age,${CT}]"`,
        `    Z_LAST: "ENC[age,${CT}]"`,
        `  macKey: "ENC[age,${CT}]"`,
        `  mac: "HMAC[sha256,${TAG}]"`,
        '',
      ].join('\n'),
    );
    expect(parseSecretsFile(PATH, text)).toEqual({ app: 'checkout', env: 'prod', recipients: [R1, R2], keys: ['A_FIRST', 'Z_LAST'], diagnostics: [] });
  });

  it('quotes labels and keys that YAML would misread, and reads them back', () => {
    const text = renderSecretsFile({ app: 'true', env: '123', recipients: [R1], values: new Map([['a.b-c', CT]]), macKey: CT, mac: TAG });
    expect(text).toContain('  app: "true"\n  env: "123"\n');
    expect(text).toContain(`    "a.b-c": "ENC[age,${CT}]"`);
    expect(parseSecretsFile('s.yaml', text)).toMatchObject({ app: 'true', env: '123', keys: ['a.b-c'], diagnostics: [] });
    expect(parseSecretsFile('s.yaml', renderSecretsFile({ app: 'a', env: 'b', recipients: [R1], values: new Map(), macKey: CT, mac: TAG })).keys).toEqual([]);
  });

  it('reports every format problem at its place, never echoing a value', () => {
    const text = render()
      .replace('kind: Secrets', 'kind: Secret')
      .replace(`    - ${R2}`, `    - ${R1}\n    - AGE1NOTVALID`)
      .replace(`DB_PASSWORD: "ENC[age,${CT}]"`, 'DB_PASSWORD: plaintext-password')
      .replace('  macKey:', '    9BAD: x\n  extra: 1\n  macKey:')
      .replace(/mac: ".*"/, 'mac: "HMAC[sha256,AAAA]"');
    const result = parseSecretsFile(PATH, text);
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([
      `${PATH}:2:7: error[E_SECRET_FORMAT]: kind must be 'Secrets'`,
      `${PATH}:9:7: error[E_SECRET_FORMAT]: spec.recipients[1] repeats recipient '${R1}'`,
      `${PATH}:10:7: error[E_SECRET_FORMAT]: spec.recipients[2] is not an age recipient (age1...)`,
      `${PATH}:12:18: error[E_SECRET_FORMAT]: value of secret 'DB_PASSWORD' is not an encrypted value ENC[age,<base64>]`,
      `${PATH}:14:5: error[E_SECRET_FORMAT]: secret key '9BAD' is not valid (letters, digits, '_', '.', '-'; starting with a letter or '_'; at most 128 characters)`,
      `${PATH}:15:3: error[E_SECRET_FORMAT]: unknown field 'spec.extra'; allowed: recipients, values, macKey, mac`,
      `${PATH}:17:8: error[E_SECRET_FORMAT]: spec.mac must be the file MAC HMAC[sha256,<base64 of 32 bytes>]`,
    ]);
    expect(JSON.stringify(result)).not.toContain('plaintext-password');
    expect(result.keys).toEqual(['feature.token']);
    expect(result.recipients).toEqual([R1]);
  });

  it('checks the metadata against the path layout config/<app>/<env>.secrets.yaml', () => {
    const result = parseSecretsFile('config/billing/staging.secrets.yaml', render());
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([
      `config/billing/staging.secrets.yaml:4:8: error[E_SECRET_FORMAT]: metadata.app 'checkout' does not match the file's folder 'billing'`,
      `config/billing/staging.secrets.yaml:5:8: error[E_SECRET_FORMAT]: metadata.env 'prod' does not match the file name 'staging.secrets.yaml'`,
    ]);
  });

  it('refuses YAML errors, several documents and non-mappings', () => {
    expect(parseSecretsFile(PATH, 'spec: [\n').diagnostics.map((d) => d.code)).toEqual(['E_YAML_SYNTAX']);
    expect(formatDiagnostic(parseSecretsFile(PATH, `${render()}---\n${render()}`).diagnostics[0]!)).toBe(
      `${PATH}:15:1: error[E_SECRET_FORMAT]: a secrets file holds exactly one YAML document; found 2`,
    );
    expect(parseSecretsFile(PATH, '- a\n').diagnostics.map(formatDiagnostic)).toEqual([
      `${PATH}:1:1: error[E_SECRET_FORMAT]: a secrets file is a mapping with apiVersion, kind, metadata and spec`,
    ]);
  });
});
