import { isScalar, isSeq, parseDocument, stringify, type Document } from 'yaml';
import { diffValues, type FieldChange } from '../diffEstates.js';
import { parsePointer } from '../jsonPointer.js';
import { deepEqual } from '../values.js';

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
  const documents = documentSegments(lines);
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

/**
 * Changes the `index`-th non-empty document of a YAML file's text from `before` to `after` field
 * by field, so that comments, key order, flow or block style and quoting of everything it does
 * not change stay as they were: two edits of different fields of one file then touch different
 * lines and merge without conflict. Falls back to rendering the document anew when the document
 * cannot be edited that way (anchors, or a result that would not read back as `after`). Returns
 * undefined when the file has no such document.
 */
export function patchYamlDocument(text: string, index: number, before: unknown, after: unknown): string | undefined {
  const lines = text.split('\n');
  const target = documentSegments(lines)[index];
  if (!target) return undefined;
  const source = lines.slice(target.start, target.end).join('\n');
  let edited: string | undefined;
  try {
    const document = parseDocument(source);
    if (document.errors.length === 0 && deepEqual(document.toJS(), before)) {
      const changes = diffValues(before, after);
      const rendered = replaceScalars(source, document, changes) ?? renderEdited(document, changes);
      if (deepEqual(parseDocument(rendered).toJS(), after)) edited = rendered;
    }
  } catch {
    edited = undefined;
  }
  if (edited === undefined) return replaceYamlDocument(text, index, after);
  const body = edited.replace(/\n$/, '').split('\n');
  return [...lines.slice(0, target.start), ...body, ...lines.slice(target.end)].join('\n').replace(/\n*$/, '\n');
}

/**
 * When every change replaces one scalar by another that fits on a line, splices the new values
 * into the text where the old ones stood: every other byte (comments, spacing) stays. Undefined
 * otherwise.
 */
function replaceScalars(source: string, document: Document, changes: FieldChange[]): string | undefined {
  const splices: Array<{ start: number; end: number; text: string }> = [];
  for (const change of changes) {
    const node = change.op === 'replace' ? document.getIn(toPath(document, change.pointer), true) : undefined;
    const value = change.new;
    if (!isScalar(node) || !node.range || (value !== null && typeof value === 'object')) return undefined;
    const text = stringify(value, { lineWidth: 0 }).replace(/\n$/, '');
    if (text.includes('\n')) return undefined;
    splices.push({ start: node.range[0], end: node.range[1], text });
  }
  let result = source;
  for (const splice of splices.sort((a, b) => b.start - a.start)) result = result.slice(0, splice.start) + splice.text + result.slice(splice.end);
  return result;
}

/** The document with the changes applied through `yaml`'s model, rendered again (comments kept, spacing normalized). */
function renderEdited(document: Document, changes: FieldChange[]): string {
  // Trailing list items go last first, so the indexes of the others stay valid.
  const removals = changes.filter((c) => c.op === 'remove').reverse();
  for (const change of changes.filter((c) => c.op !== 'remove')) {
    const path = toPath(document, change.pointer);
    const node = document.getIn(path, true);
    // A scalar keeps its comment when only its value changes.
    if (isScalar(node) && (change.new === null || typeof change.new !== 'object')) node.value = change.new;
    else document.setIn(path, document.createNode(change.new));
  }
  for (const change of removals) document.deleteIn(toPath(document, change.pointer));
  return document.toString({ lineWidth: 0, flowCollectionPadding: false });
}

/** JSON pointer → the path `yaml`'s setIn and deleteIn take: indexes into lists as numbers, map keys as strings. */
function toPath(document: Document, pointer: string): Array<string | number> {
  const path: Array<string | number> = [];
  for (const part of parsePointer(pointer)) {
    path.push(isSeq(document.getIn(path, true)) ? Number(part) : part);
  }
  return path;
}

/**
 * The non-empty documents of a file's lines: runs of lines between marker lines that hold more
 * than blanks and comments, with the marker line that opened each (`start` is the line after it).
 */
function documentSegments(lines: string[]): Array<{ marker: number | undefined; start: number; end: number }> {
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
  return segments.filter((s) => lines.slice(s.start, s.end).some((line) => !BLANK_OR_COMMENT.test(line)));
}
