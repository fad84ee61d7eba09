import { describe, expect, it } from 'vitest';
import { EstateError, hasErrorCode, InputError, NotFoundError, ValidationError } from './errors.js';

describe('EstateError', () => {
  it('carries a code, data and cause, and serializes as the standard body', () => {
    const cause = new Error('disk full');
    const error = new NotFoundError('E_ASSET_NOT_FOUND', "asset 'host/x' not found", { id: 'host/x' }, { cause });
    expect(error).toBeInstanceOf(EstateError);
    expect(error.name).toBe('NotFoundError');
    expect(error.code).toBe('E_ASSET_NOT_FOUND');
    expect(error.cause).toBe(cause);
    expect(error.toJSON()).toEqual({ code: 'E_ASSET_NOT_FOUND', message: "asset 'host/x' not found", details: { id: 'host/x' } });
    expect(JSON.parse(JSON.stringify(error))).toEqual(error.toJSON());
    expect(new ValidationError('E_INVALID', 'bad').data).toEqual({});
  });
});

describe('hasErrorCode', () => {
  it('checks the code of anything error-like', () => {
    const error = new InputError('E_SELECTOR', 'bad selector');
    expect(hasErrorCode(error)).toBe(true);
    expect(hasErrorCode(error, 'E_SELECTOR')).toBe(true);
    expect(hasErrorCode(error, 'E_OTHER')).toBe(false);
    expect(hasErrorCode({ code: 'ENOENT', message: 'x' }, 'ENOENT')).toBe(true);
    expect(hasErrorCode({ code: 42 })).toBe(false);
    expect(hasErrorCode(new Error('plain'))).toBe(false);
    expect(hasErrorCode(null)).toBe(false);
    expect(hasErrorCode('E_X')).toBe(false);
  });
});
