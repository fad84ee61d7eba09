import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../diagnostics.js';
import { hasErrorCode } from '../errors.js';
import { classifyConfigPath } from './configLayout.js';
import { loadConfigFiles } from './loadConfigFiles.js';
import { resolveConfig, validateConfigs } from './resolveConfig.js';

const ENVS = ['dev', 'staging', 'prod'];
const lines = (...text: string[]): string => text.join('\n') + '\n';
const problemsOf = (files: Record<string, string>, envs = ENVS): string[] =>
  loadConfigFiles(Object.entries(files).map(([path, text]) => ({ path, text })), envs).diagnostics.map(formatDiagnostic);
const setOf = (files: Record<string, string>) => loadConfigFiles(Object.entries(files).map(([path, text]) => ({ path, text })), ENVS);

describe('classifyConfigPath', () => {
  it.each([
    ['config/checkout/base.yaml', { app: 'checkout', kind: 'base' }],
    ['config/checkout/prod.yaml', { app: 'checkout', kind: 'env', env: 'prod' }],
    ['config/checkout/prod/eu-1.yaml', { app: 'checkout', kind: 'cluster', env: 'prod', cluster: 'eu-1' }],
    ['config/checkout/schema.yaml', { app: 'checkout', kind: 'schema' }],
    ['config/checkout/prod.secrets.yaml', { app: 'checkout', kind: 'secrets', env: 'prod' }],
    ['config/checkout/README.md', undefined],
    ['config/checkout/prod.yml', undefined],
    ['config/Checkout/base.yaml', undefined],
    ['config/base.yaml', undefined],
    ['config/a/b/c/d.yaml', undefined],
    ['config/checkout/base/eu-1.yaml', undefined],
    ['config/checkout/prod/eu-1.secrets.yaml', undefined],
    ['assets/checkout/base.yaml', undefined],
  ])('%s', (path, expected) => {
    expect(classifyConfigPath(path)).toEqual(expected);
  });
});

describe('loadConfigFiles', () => {
  it('reports files that do not fit the layout and ignores files that are not YAML', () => {
    expect(
      problemsOf({
        'config/README.md': '# config',
        'config/shop/notes.txt': 'x',
        'config/shop/.gitkeep': '',
        'config/shop/base.yaml': 'a: 1\n',
        'config/shop/prod.yml': 'a: 1\n',
        'config/shop/Prod.yaml': 'a: 1\n',
        'config/shop/qa.yaml': 'a: 1\n',
        'config/shop/qa.secrets.yaml': 'a: 1\n',
        'config/shop/qa/eu-1.yaml': 'a: 1\n',
        'config/shop/prod/EU.yaml': 'a: 1\n',
        'config/top.yaml': 'a: 1\n',
        'config/Shop/base.yaml': 'a: 1\n',
      }),
    ).toEqual([
      "config/Shop/base.yaml:1:1: error[E_CONFIG_LAYOUT]: app name 'Shop' of 'config/Shop/base.yaml' must be a DNS-1123 label (lower-case letters, digits and '-', at most 63)",
      "config/shop/Prod.yaml:1:1: error[E_CONFIG_LAYOUT]: 'Prod.yaml' of 'config/shop/Prod.yaml' is not a config file name; config files are config/<app>/{base,schema,<env>,<env>.secrets}.yaml or config/<app>/<env>/<cluster>.yaml, where <env> is a DNS-1123 label",
      "config/shop/prod.yml:1:1: error[E_CONFIG_LAYOUT]: config file 'config/shop/prod.yml' must end in '.yaml'",
      "config/shop/prod/EU.yaml:1:1: error[E_CONFIG_LAYOUT]: cluster name 'EU' of 'config/shop/prod/EU.yaml' must be a DNS-1123 label (lower-case letters, digits and '-', at most 63)",
      "config/shop/qa.secrets.yaml:1:1: error[E_CONFIG_LAYOUT]: environment 'qa' of 'config/shop/qa.secrets.yaml' is not declared in estate.yaml spec.environments (declared: dev, staging, prod)",
      "config/shop/qa.yaml:1:1: error[E_CONFIG_LAYOUT]: environment 'qa' of 'config/shop/qa.yaml' is not declared in estate.yaml spec.environments (declared: dev, staging, prod)",
      "config/shop/qa/eu-1.yaml:1:1: error[E_CONFIG_LAYOUT]: environment 'qa' of 'config/shop/qa/eu-1.yaml' is not declared in estate.yaml spec.environments (declared: dev, staging, prod)",
      "config/top.yaml:1:1: error[E_CONFIG_LAYOUT]: 'config/top.yaml' is not a config file; config files are config/<app>/{base,schema,<env>,<env>.secrets}.yaml or config/<app>/<env>/<cluster>.yaml",
    ]);
  });

  it('reports a top level that is not a map, several documents and YAML errors, and leaves those files out', () => {
    const files = {
      'config/shop/base.yaml': lines('# comment', '- a', '- b'),
      'config/shop/dev.yaml': lines('a: 1', '---', 'b: 2'),
      'config/shop/prod.yaml': lines('a: 1', 'a: 2'),
      'config/shop/staging.yaml': lines('# nothing here yet'),
    };
    expect(problemsOf(files)).toEqual([
      "config/shop/base.yaml:2:1: error[E_CONFIG_LAYOUT]: config file 'config/shop/base.yaml' must hold a map at its top level (got [\"a\",\"b\"])",
      "config/shop/dev.yaml:2:1: error[E_CONFIG_LAYOUT]: config file 'config/shop/dev.yaml' must hold one YAML document (found another at line 2)",
      "config/shop/prod.yaml:2:1: error[E_YAML_DUPLICATE_KEY]: duplicate key 'a' in mapping",
    ]);
    const set = setOf(files);
    const app = set.apps.get('shop')!;
    expect(app.base).toBeUndefined();
    expect([...app.envs.keys()]).toEqual(['staging']);
    expect(resolveConfig(set, 'shop', 'staging')).toEqual({ values: {}, sources: {}, diagnostics: set.diagnostics.filter((d) => d.path === 'config/shop/base.yaml') });
    expect(resolveConfig(set, 'shop', 'staging').diagnostics).toHaveLength(1);
  });

  it('keeps secrets files unparsed', () => {
    const set = setOf({ 'config/shop/prod.secrets.yaml': 'not: [valid' });
    expect(set.diagnostics).toEqual([]);
    expect(set.apps.get('shop')!.secrets.get('prod')).toEqual({ path: 'config/shop/prod.secrets.yaml', text: 'not: [valid' });
  });

  it('reports an invalid JSON Schema', () => {
    expect(problemsOf({ 'config/shop/schema.yaml': lines('type: object', 'properties:', '  a: {type: strnig}') })).toEqual([
      "config/shop/schema.yaml:1:1: error[E_CONFIG_SCHEMA]: invalid JSON Schema in 'config/shop/schema.yaml' for app 'shop': schema is invalid: data/properties/a/type must be equal to one of the allowed values, data/properties/a/type must be array, data/properties/a/type must match a schema in anyOf",
    ]);
  });
});

const SCHEMA = lines(
  'type: object',
  'required: [http, payments]',
  'additionalProperties: false',
  'properties:',
  '  http:',
  '    type: object',
  '    properties:',
  '      port: {type: integer, minimum: 1, maximum: 65535}',
  '  payments:',
  '    type: object',
  '    required: [url]',
  '    properties:',
  '      url: {type: string, format: uri}',
  '      retries: {type: integer}',
  '  hosts: {type: array, items: {type: string}}',
);

const SHOP = {
  'config/shop/schema.yaml': SCHEMA,
  'config/shop/base.yaml': lines('http:', '  port: 8080', 'payments:', '  url: http://pay', '  retries: 2'),
  'config/shop/dev.yaml': lines('payments:', '  retries: many'),
  'config/shop/prod.yaml': lines('# prod', 'http:', '  port: 99999', 'hosts: [a, 1]'),
  'config/shop/prod/eu-1.yaml': lines('payments:', '  url: null', 'extra: true'),
};

describe('resolveConfig', () => {
  it('merges base, env and cluster and reports schema problems where each value came from', () => {
    const set = setOf(SHOP);
    expect(set.diagnostics).toEqual([]);
    const prod = resolveConfig(set, 'shop', 'prod');
    expect(prod.values).toEqual({ http: { port: 99999 }, payments: { url: 'http://pay', retries: 2 }, hosts: ['a', 1] });
    expect(prod.sources).toEqual({ '/http/port': 'config/shop/prod.yaml', '/payments/url': 'config/shop/base.yaml', '/payments/retries': 'config/shop/base.yaml', '/hosts': 'config/shop/prod.yaml' });
    expect(prod.diagnostics.map(formatDiagnostic)).toEqual([
      'config/shop/prod.yaml:3:9: error[E_CONFIG_SCHEMA]: http.port must be <= 65535 (got 99999) (shop for prod)',
      'config/shop/prod.yaml:4:12: error[E_CONFIG_SCHEMA]: hosts[1] must be string (got 1) (shop for prod)',
    ]);
    const dev = resolveConfig(set, 'shop', 'dev');
    expect(dev.diagnostics.map(formatDiagnostic)).toEqual(['config/shop/dev.yaml:2:12: error[E_CONFIG_SCHEMA]: payments.retries must be integer (got "many") (shop for dev)']);
    const eu = resolveConfig(set, 'shop', 'prod', 'eu-1');
    expect(eu.values['payments']).toEqual({ retries: 2 });
    expect(eu.diagnostics.map(formatDiagnostic)).toEqual([
      "config/shop/prod.yaml:3:9: error[E_CONFIG_SCHEMA]: http.port must be <= 65535 (got 99999) (shop for prod/eu-1)",
      'config/shop/prod.yaml:4:12: error[E_CONFIG_SCHEMA]: hosts[1] must be string (got 1) (shop for prod/eu-1)',
      "config/shop/prod/eu-1.yaml:1:1: error[E_CONFIG_SCHEMA]: payments is missing required field 'url' (shop for prod/eu-1)",
      "config/shop/prod/eu-1.yaml:3:1: error[E_CONFIG_SCHEMA]: unknown field 'extra'; known fields: http, payments, hosts (shop for prod/eu-1)",
    ]);
    expect(resolveConfig(set, 'shop', 'prod', 'us-1').values).toEqual(prod.values);
  });

  it('falls back to the env file for a problem no file wrote', () => {
    const set = setOf({ 'config/shop/schema.yaml': SCHEMA });
    expect(resolveConfig(set, 'shop', 'staging').diagnostics.map(formatDiagnostic)).toEqual([
      "config/shop/staging.yaml:1:1: error[E_CONFIG_SCHEMA]: the config is missing required field 'http' (shop for staging)",
      "config/shop/staging.yaml:1:1: error[E_CONFIG_SCHEMA]: the config is missing required field 'payments' (shop for staging)",
    ]);
  });

  it('includes the problems of the files it reads', () => {
    const set = setOf({ 'config/shop/base.yaml': 'a: [1', 'config/shop/prod.yaml': 'b: 1\n', 'config/shop/dev.yaml': 'c: [' });
    expect(resolveConfig(set, 'shop', 'prod').diagnostics.map((d) => `${d.path} ${d.code}`)).toEqual(['config/shop/base.yaml E_YAML_SYNTAX']);
    expect(resolveConfig(set, 'shop', 'prod').values).toEqual({ b: 1 });
  });

  it('refuses an unknown app or env', () => {
    const set = setOf(SHOP);
    for (const [app, env, message] of [
      ['cart', 'prod', "app 'cart' has no config (no files under config/cart/)"],
      ['shop', 'qa', "environment 'qa' is not declared in estate.yaml (declared: dev, staging, prod)"],
    ] as const) {
      let error: unknown;
      try {
        resolveConfig(set, app, env);
      } catch (e) {
        error = e;
      }
      expect(hasErrorCode(error, 'E_CONFIG_NOT_FOUND')).toBe(true);
      expect((error as Error).message).toBe(message);
    }
  });
});

describe('validateConfigs', () => {
  it('checks every app in every declared env and every cluster with a file, naming a shared problem once', () => {
    const set = setOf({ ...SHOP, 'config/shop/base.yaml': lines('http:', '  port: 0', 'payments:', '  url: http://pay'), 'config/shop/Bad.yaml': 'a: 1\n' });
    expect(validateConfigs(set).map(formatDiagnostic)).toEqual([
      "config/shop/Bad.yaml:1:1: error[E_CONFIG_LAYOUT]: 'Bad.yaml' of 'config/shop/Bad.yaml' is not a config file name; config files are config/<app>/{base,schema,<env>,<env>.secrets}.yaml or config/<app>/<env>/<cluster>.yaml, where <env> is a DNS-1123 label",
      'config/shop/base.yaml:2:9: error[E_CONFIG_SCHEMA]: http.port must be >= 1 (got 0) (shop for dev, staging)',
      'config/shop/dev.yaml:2:12: error[E_CONFIG_SCHEMA]: payments.retries must be integer (got "many") (shop for dev)',
      'config/shop/prod.yaml:3:9: error[E_CONFIG_SCHEMA]: http.port must be <= 65535 (got 99999) (shop for prod, prod/eu-1)',
      'config/shop/prod.yaml:4:12: error[E_CONFIG_SCHEMA]: hosts[1] must be string (got 1) (shop for prod, prod/eu-1)',
      "config/shop/prod/eu-1.yaml:1:1: error[E_CONFIG_SCHEMA]: payments is missing required field 'url' (shop for prod/eu-1)",
      "config/shop/prod/eu-1.yaml:3:1: error[E_CONFIG_SCHEMA]: unknown field 'extra'; known fields: http, payments, hosts (shop for prod/eu-1)",
    ]);
  });
});

describe('the demo template', () => {
  it('resolves checkout for prod', () => {
    const dir = fileURLToPath(new URL('../../../cli/templates/demo/config/checkout/', import.meta.url));
    const files = readdirSync(dir).map((name) => ({ path: `config/checkout/${name}`, text: readFileSync(`${dir}${name}`, 'utf8') }));
    const set = loadConfigFiles(files, ENVS);
    expect(validateConfigs(set)).toEqual([]);
    const prod = resolveConfig(set, 'checkout', 'prod');
    expect(prod.diagnostics).toEqual([]);
    expect(prod.values).toMatchObject({
      http: { port: 8081 },
      payments: { url: 'http://payments.prod.example.com:8082', timeoutMs: 5000, retries: 3 },
      features: { expressCheckout: true, giftCards: true },
      logging: { level: 'warn' },
    });
    expect(prod.sources['/payments/url']).toBe('config/checkout/prod.yaml');
    expect(prod.sources['/payments/timeoutMs']).toBe('config/checkout/base.yaml');
  });
});
