/**
 * A JSON pointer (RFC 6901) as the field path people read: `/spec/packages/0/version` →
 * `spec.packages[0].version` (`~1` is `/`, `~0` is `~`; odd keys are quoted).
 */
export function fieldPath(pointer: string): string {
  if (pointer === '') return '(the whole document)';
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, key, index) => {
      if (/^\d+$/.test(key) && index > 0) return `${path}[${key}]`;
      const safe = /^[A-Za-z_][\w-]*$/.test(key) ? key : JSON.stringify(key);
      return index === 0 ? safe : /^"/.test(safe) ? `${path}[${safe}]` : `${path}.${safe}`;
    }, '');
}

/** A field's value in one line: strings as they are, everything else as JSON, long ones cut. */
export function formatValue(value: unknown, max = 120): string {
  const text = value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
