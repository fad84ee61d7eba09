/** Path segments of a JSON value; numbers index lists. */
export type PathSegments = ReadonlyArray<string | number>;

/** Formats segments as an RFC 6901 JSON pointer (`/spec/runsOn/0`). */
export function toPointer(segments: PathSegments): string {
  return segments.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** Parses an RFC 6901 JSON pointer into segments (all strings). */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`invalid JSON pointer '${pointer}'`);
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}
