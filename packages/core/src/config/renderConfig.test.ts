import { describe, expect, it } from 'vitest';
import { hasErrorCode } from '../errors.js';
import { escapeProperty, quoteEnvValue, renderConfig, toEnvName } from './renderConfig.js';
import type { ConfigFormat } from './types.js';

const VALUES = { payments: { timeoutMs: 5000, url: 'http://p:8082/x?a=1&b=2' }, features: { beta: true }, hosts: ['a', 'b'], name: "it's $HOME", empty: {} };

const thrown = (fn: () => unknown): Error & { code?: string } => {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('did not throw');
};

describe('renderConfig', () => {
  it('writes sorted JSON', () => {
    expect(renderConfig({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: 'x' } }, 'json')).toBe('{\n  "a": {\n    "c": "x",\n    "d": [\n      2,\n      {\n        "y": 2,\n        "z": 1\n      }\n    ]\n  },\n  "b": 1\n}\n');
  });

  it('writes sorted YAML that YAML 1.1 readers read the same (`n`, `on`, `yes` are booleans there)', () => {
    expect(renderConfig({ b: 'yes', a: { on: 'on', v: '1.0', n: 3, long: 'x '.repeat(80).trim() }, list: ['null', 'ok'] }, 'yaml')).toBe(
      `a:\n  long: ${'x '.repeat(80).trim()}\n  "n": 3\n  "on": "on"\n  v: "1.0"\nb: "yes"\nlist:\n  - "null"\n  - ok\n`,
    );
    expect(renderConfig({}, 'yaml')).toBe('{}\n');
  });

  it('writes env lines: flattened upper-cased names, lists as JSON, values quoted for a shell', () => {
    expect(renderConfig(VALUES, 'env')).toBe(
      [
        "EMPTY='{}'",
        'FEATURES_BETA=true',
        `HOSTS='["a","b"]'`,
        'NAME="it\'s \\$HOME"',
        'PAYMENTS_TIMEOUTMS=5000',
        "PAYMENTS_URL='http://p:8082/x?a=1&b=2'",
        '',
      ].join('\n'),
    );
  });

  it('writes Java properties with dotted keys and indexed lists', () => {
    expect(renderConfig({ ...VALUES, 'key with=sign': ' lead: #1\n', unicode: 'é€😀', list: [] }, 'properties')).toBe(
      [
        'empty=',
        'features.beta=true',
        'hosts[0]=a',
        'hosts[1]=b',
        'key\\ with\\=sign=\\ lead\\: \\#1\\n',
        'list=',
        "name=it's $HOME",
        'payments.timeoutMs=5000',
        'payments.url=http\\://p\\:8082/x?a\\=1&b\\=2',
        'unicode=\\u00E9\\u20AC\\uD83D\\uDE00',
        '',
      ].join('\n'),
    );
  });

  it('refuses two keys that become the same env variable', () => {
    const error = thrown(() => renderConfig({ 'a-b': 1, a: { b: 2 } }, 'env'));
    expect(error.code).toBe('E_CONFIG_FORMAT');
    expect(error.message).toBe("config keys 'a-b' and 'a.b' both become the env variable A_B");
  });

  it('refuses an unknown format', () => {
    const error = thrown(() => renderConfig({}, 'toml' as ConfigFormat));
    expect(hasErrorCode(error, 'E_CONFIG_FORMAT')).toBe(true);
    expect(error.message).toBe("unknown config format 'toml'; formats: json, yaml, env, properties");
  });
});

describe('toEnvName', () => {
  it.each([
    [['payments', 'timeoutMs'], 'PAYMENTS_TIMEOUTMS'],
    [['feature-flags', 'new.ui'], 'FEATURE_FLAGS_NEW_UI'],
    [['3ds', 'on'], '_3DS_ON'],
    [['ключ'], '____'],
  ])('%j → %s', (path, name) => {
    expect(toEnvName(path)).toBe(name);
  });
});

describe('quoteEnvValue', () => {
  it.each([
    ['plain-value_1.2:3@x/y,z+%=', 'plain-value_1.2:3@x/y,z+%='],
    ['', "''"],
    ['two words', "'two words'"],
    ['$HOME `id` "q" \\n', `'$HOME \`id\` "q" \\n'`],
    ['line1\nline2', "'line1\nline2'"],
    ["it's", `"it's"`],
    ["it's \"$x\" `y` \\", `"it's \\"\\$x\\" \\\`y\\\` \\\\"`],
    ['#comment', "'#comment'"],
  ])('%j → %s', (value, quoted) => {
    expect(quoteEnvValue(value)).toBe(quoted);
  });
});

describe('escapeProperty', () => {
  it('escapes spaces everywhere in keys, only leading in values', () => {
    expect(escapeProperty('a b', 'key')).toBe('a\\ b');
    expect(escapeProperty(' a b', 'value')).toBe('\\ a b');
    expect(escapeProperty('!x\t\r\f\u0001\\', 'value')).toBe('\\!x\\t\\r\\f\\u0001\\\\');
  });
});
