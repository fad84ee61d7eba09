import type { AssetVersionJson, CommitRef } from '../store/Store.js';

/**
 * Answers made of assets, written as JSON text around the documents' stored JSON, which is never
 * parsed: for a page of 1,000 assets, parsing the documents and serializing them again (Fastify's
 * serializer falls back to JSON.stringify for `document`, an open object) cost more than finding
 * them. The text is the one Fastify's serializer writes from the route's response schema
 * (`schemas.assetListResponse`, `schemas.assetResponse`): same properties in the same order, the
 * same escapes, no spaces. The routes send it with {@link JSON_TYPE}.
 */

/** The content type of JSON answers, as Fastify sets it. */
export const JSON_TYPE = 'application/json; charset=utf-8';

/** `{commit, items, nextCursor?}` of `GET /api/v1/assets`. */
export function assetListJson(commit: CommitRef, items: readonly AssetVersionJson[], nextCursor: string | undefined): string {
  const parts = ['{"commit":', commitRefJson(commit), ',"items":['];
  items.forEach((version, i) => {
    if (i > 0) parts.push(',');
    pushAsset(parts, version);
  });
  parts.push(']');
  if (nextCursor !== undefined) parts.push(',"nextCursor":', quote(nextCursor));
  parts.push('}');
  return parts.join('');
}

/** `{commit, asset}` of `GET /api/v1/assets/:kind/:name`. */
export function assetAnswerJson(commit: CommitRef, version: AssetVersionJson): string {
  const parts = ['{"commit":', commitRefJson(commit), ',"asset":'];
  pushAsset(parts, version);
  parts.push('}');
  return parts.join('');
}

/** The API's Asset: a stored version, with `since` = the commit that made it. */
function pushAsset(parts: string[], version: AssetVersionJson): void {
  parts.push(
    '{"id":',
    quote(version.id),
    ',"kind":',
    quote(version.kind),
    ',"name":',
    quote(version.name),
    ',"path":',
    quote(version.path),
    ',"blobId":',
    quote(version.blobId),
    ',"since":',
    commitRefJson(version.from),
    ',"document":',
    version.documentJson,
    '}',
  );
}

function commitRefJson(ref: CommitRef): string {
  // Seqs are integers (SQLite INTEGER PRIMARY KEY): String() writes them as the serializer does.
  return `{"seq":${String(ref.seq)},"sha":${quote(ref.sha)}}`;
}

/**
 * Characters JSON.stringify escapes in a string: `"`, `\`, controls, and surrogates (it escapes
 * lone ones, ECMA-262 QuoteJSONString; paired ones go to JSON.stringify too, which keeps them).
 */
// eslint-disable-next-line no-control-regex -- the control characters are what JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `JSON.stringify(text)`, without its call for the usual string that needs no escape. */
function quote(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}
