import { describe, expect, it } from 'vitest';
import { GitError } from './GitError.js';

describe('GitError', () => {
  it('carries a code, data and cause, and serializes without the cause', () => {
    const cause = new Error('exit 128');
    const error = new GitError('E_REV_NOT_FOUND', "revision 'nope' not found in '/srv/estate'", { rev: 'nope' }, { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'GitError', code: 'E_REV_NOT_FOUND', data: { rev: 'nope' }, cause });
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'GitError',
      code: 'E_REV_NOT_FOUND',
      message: "revision 'nope' not found in '/srv/estate'",
      data: { rev: 'nope' },
    });
    expect(new GitError('E_GIT', 'x').data).toEqual({});
  });
});
