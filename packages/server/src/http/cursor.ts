import { InputError } from '@estate/core';

/**
 * Cursors are opaque to callers: base64url (RFC 4648 §5) of a small JSON array whose first item
 * names the list it belongs to, so a cursor of one list is refused by another.
 */
export type CursorList = 'assets' | 'history' | 'commits' | 'diff' | 'audit' | 'webhookDeliveries' | 'drift' | 'timeline';

const BASE64URL = /^[A-Za-z0-9_-]{1,1024}$/;

/** Encodes the position after the last item of a page. */
export function encodeCursor(list: CursorList, ...position: Array<string | number>): string {
  return Buffer.from(JSON.stringify([list, ...position])).toString('base64url');
}

/** The position a cursor holds, with the types expected; throws `E_BAD_PARAM` for anything else. */
export function decodeCursor<T extends Array<'string' | 'number'>>(list: CursorList, cursor: string, types: [...T]): { [K in keyof T]: T[K] extends 'string' ? string : number } {
  let value: unknown;
  try {
    if (!BASE64URL.test(cursor)) throw new Error('not base64url');
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor(cursor);
  }
  if (!Array.isArray(value) || value[0] !== list || value.length !== types.length + 1) throw badCursor(cursor);
  const position = value.slice(1);
  types.forEach((type, i) => {
    const item: unknown = position[i];
    const ok = type === 'number' ? Number.isSafeInteger(item) && (item as number) >= 0 : typeof item === 'string' && item !== '';
    if (!ok) throw badCursor(cursor);
  });
  return position as { [K in keyof T]: T[K] extends 'string' ? string : number };
}

function badCursor(cursor: string): InputError {
  return new InputError('E_BAD_PARAM', `invalid cursor '${cursor.slice(0, 64)}': pass the nextCursor of the previous page of this list unchanged`, {
    parameter: 'cursor',
  });
}
