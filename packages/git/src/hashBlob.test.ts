import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashBlob } from './hashBlob.js';

describe('hashBlob', () => {
  it('matches known blob ids', () => {
    expect(hashBlob(new Uint8Array())).toBe('e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
    expect(hashBlob(Buffer.from('hello\n'))).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
  });

  it('matches git hash-object on binary content', () => {
    const content = randomBytes(100_000);
    const expected = execFileSync('git', ['hash-object', '--stdin'], { input: content, encoding: 'utf8' }).trim();
    expect(hashBlob(content)).toBe(expected);
  });
});
