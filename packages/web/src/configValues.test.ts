import { describe, expect, it } from 'vitest';
import { configRows, readPointer, shortFile } from './configValues';

describe('config rows', () => {
  const values = { db: { host: 'db.prod', port: 5432 }, features: ['a', 'b'], 'a/b': { '~x': 1 }, empty: {} };
  const sources = {
    '/db/host': 'config/billing/prod.yaml',
    '/db/port': 'config/billing/base.yaml',
    '/features': 'config/billing/base.yaml',
    '/a~1b/~0x': 'config/billing/base.yaml',
    '/empty': 'config/billing/base.yaml',
  };

  it('pairs each leaf with its value and file, sorted by pointer', () => {
    expect(configRows(values, sources)).toEqual([
      { pointer: '/a~1b/~0x', value: 1, file: 'config/billing/base.yaml' },
      { pointer: '/db/host', value: 'db.prod', file: 'config/billing/prod.yaml' },
      { pointer: '/db/port', value: 5432, file: 'config/billing/base.yaml' },
      { pointer: '/empty', value: {}, file: 'config/billing/base.yaml' },
      { pointer: '/features', value: ['a', 'b'], file: 'config/billing/base.yaml' },
    ]);
  });

  it('adds the secrets without values, replacing a plain value at the same place or under it', () => {
    const rows = configRows(values, sources, {
      file: 'config/billing/prod.secrets.yaml',
      keys: [
        { key: 'db.host', pointer: '/db/host' },
        { key: 'features', pointer: '/features' },
        { key: 'API_KEY', pointer: '/API_KEY' },
      ],
    });
    expect(rows.map((r) => [r.pointer, r.file, r.secretKey, 'value' in r])).toEqual([
      ['/API_KEY', 'config/billing/prod.secrets.yaml', 'API_KEY', false],
      ['/a~1b/~0x', 'config/billing/base.yaml', undefined, true],
      ['/db/host', 'config/billing/prod.secrets.yaml', 'db.host', false],
      ['/db/port', 'config/billing/base.yaml', undefined, true],
      ['/empty', 'config/billing/base.yaml', undefined, true],
      ['/features', 'config/billing/prod.secrets.yaml', 'features', false],
    ]);
    expect(configRows({ db: { host: 'x', port: 1 } }, { '/db/host': 'b', '/db/port': 'b' }, { file: 's', keys: [{ key: 'db', pointer: '/db' }] })).toEqual([{ pointer: '/db', file: 's', secretKey: 'db' }]);
  });

  it('reads pointers and shortens file names', () => {
    expect(readPointer(values, '/db/port')).toBe(5432);
    expect(readPointer(values, '/features/1')).toBe('b');
    expect(readPointer(values, '/db/missing')).toBeUndefined();
    expect(readPointer(values, '/toString')).toBeUndefined();
    expect(shortFile('config/billing/prod/eu.yaml', 'billing')).toBe('prod/eu.yaml');
    expect(shortFile('config/other/base.yaml', 'billing')).toBe('config/other/base.yaml');
  });
});
