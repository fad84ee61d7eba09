import { stringify } from 'yaml';

/** A line that starts or ends a document (YAML 1.2 §9.1.4); the same split as parseYamlFile. */
const DOCUMENT_MARKER = /^(---|\.\.\.)(?=[ \t\r]|$)/;
/** A line holding nothing but blanks or a comment. */
const BLANK_OR_COMMENT = /^[ \t]*(#.*)?\r?$/;

/** Renders a value as one YAML document (block style, keys in the value's order). */
export function toYamlDocument(value: unknown): string {
  return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

/**
 * Replaces (or, with `value` undefined, removes) the `index`-th non-empty document of a YAML
 * file's text, keeping every other document, comment and marker byte for byte. Documents are
 * counted as parseYamlFile counts them: text between `---`/`...` lines that holds more than
 * blanks and comments. Returns the new text, `''` when no document is left, or undefined when the
 * file has no such document.
 */
export function replaceYamlDocument(text: string, index: number, value: unknown): string | undefined {
  const lines = text.split('\n');
  // Segments: runs of lines between marker lines; `start` is the first line after the marker.
  const segments: Array<{ marker: number | undefined; start: number; end: number }> = [];
  let current: { marker: number | undefined; start: number; end: number } = { marker: undefined, start: 0, end: 0 };
  lines.forEach((line, i) => {
    if (DOCUMENT_MARKER.test(line)) {
      current.end = i;
      segments.push(current);
      current = { marker: i, start: i + 1, end: i + 1 };
    }
  });
  current.end = lines.length;
  segments.push(current);
  const documents = segments.filter((s) => lines.slice(s.start, s.end).some((line) => !BLANK_OR_COMMENT.test(line)));
  const target = documents[index];
  if (!target) return undefined;
  const before = lines.slice(0, target.start);
  const after = lines.slice(target.end);
  if (value !== undefined) {
    const body = toYamlDocument(value).replace(/\n$/, '').split('\n');
    return [...before, ...body, ...after].join('\n').replace(/\n*$/, '\n');
  }
  if (documents.length === 1) return '';
  // Drop the document with the marker line that opened it (or, for the first, the one after it).
  const from = target.marker ?? target.start;
  const to = target.marker === undefined && after.length > 0 && DOCUMENT_MARKER.test(after[0]!) ? target.end + 1 : target.end;
  return [...lines.slice(0, from), ...lines.slice(to)].join('\n').replace(/^\n+/, '').replace(/\n*$/, '\n');
}
