import jsYaml from 'js-yaml';
import { isCollection, isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import type { Diagnostic } from '../diagnostics.js';
import { DEFAULT_PARSE_LIMITS, type ParseLimits } from '../limits.js';
import { toPointer } from '../jsonPointer.js';
import { LOCATE_BUDGET_BYTES, locateInDocument } from './locateInDocument.js';
import { positionAt } from './textPosition.js';

/** One non-empty YAML document of a file. */
export interface YamlDocument {
  /** 0-based position among the file's non-empty documents. */
  index: number;
  /** 1-based file line where the document's text starts (its `---` line, if any). */
  line: number;
  /** The parsed value (YAML 1.2 core schema: plain JSON data). */
  value: unknown;
  /**
   * The document's text from its first line, so lines and columns match the file. A bare `---`
   * line (nothing or a comment after it) is blanked; one that starts a node (`--- |`, `--- &a`)
   * is kept, as the node needs it.
   */
  source: string;
  /** Bounds the time spent locating problems in this file; shared by its documents. */
  locateBudget: { remaining: number };
}

/** A file read as YAML: its documents and the problems that stopped some of them from loading. */
export interface ParsedYamlFile {
  documents: YamlDocument[];
  diagnostics: Diagnostic[];
}

/** Keys that could reach an object's prototype when a value is copied or merged by careless code. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const DOCUMENT_MARKER = /^(---|\.\.\.)(?=[ \t\r]|$)/;
const ANY_DOCUMENT_MARKER = /^(---|\.\.\.)(?=[ \t\r]|$)/m;
const UTF8_BOM = '\uFEFF';
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a file's bytes as a stream of YAML documents, refusing hostile input with a diagnostic
 * rather than a crash or hang: oversized files and documents (E_TOO_LARGE), binary or invalid UTF-8
 * (E_ENCODING), alias bombs, cycles, deep nesting and prototype keys (E_YAML_UNSAFE).
 *
 * Documents are split on `---` / `...` lines ourselves (YAML 1.2 §9.1 forbids those markers at
 * column 0 inside any scalar, so the split is exact) and each is loaded with js-yaml's core schema,
 * which is fast; positions for later diagnostics come from {@link locateInDocument} on demand.
 */
export function parseYamlFile(
  path: string,
  bytes: Uint8Array,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
): ParsedYamlFile {
  const diagnostics: Diagnostic[] = [];
  const fail = (code: Diagnostic['code'], message: string, line = 1, col = 1): ParsedYamlFile => {
    diagnostics.push({ code, path, line, col, message });
    return { documents: [], diagnostics };
  };

  if (bytes.length > limits.maxFileBytes) {
    return fail('E_TOO_LARGE', `file is ${bytes.length} bytes; the limit is ${limits.maxFileBytes} bytes`);
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    return fail('E_ENCODING', `binary file (NUL byte at offset ${nul}); estate files must be UTF-8 text`);
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    const { line, col } = positionAt(new TextDecoder().decode(bytes.subarray(0, offset)), offset);
    return fail('E_ENCODING', `invalid UTF-8 byte 0x${(bytes[offset] ?? 0).toString(16).padStart(2, '0')} at offset ${offset}`, line, col);
  }
  if (text.startsWith(UTF8_BOM)) text = ' ' + text.slice(1);

  const documents: YamlDocument[] = [];
  const locateBudget = { remaining: LOCATE_BUDGET_BYTES };
  for (const chunk of splitDocuments(text)) {
    // UTF-8 needs at most 3 bytes per UTF-16 unit: most documents are measured without a scan.
    const chunkBytes = chunk.source.length * 3 <= limits.maxDocumentBytes ? 0 : utf8Length(chunk.source);
    if (chunkBytes > limits.maxDocumentBytes) {
      fail('E_TOO_LARGE', `YAML document is ${chunkBytes} bytes; the limit is ${limits.maxDocumentBytes} bytes`, chunk.line);
      continue;
    }
    let value: unknown;
    // js-yaml's maxDepth counts parser frames, not collections (a scalar leaf is a frame too), so it
    // is only the backstop against stack exhaustion; the exact limit is checked on the value below.
    const options = { schema: jsYaml.CORE_SCHEMA, maxDepth: limits.maxDepth + 2 } as jsYaml.LoadOptions;
    try {
      value = jsYaml.load(chunk.source, options);
    } catch (error) {
      const diagnostic = loadErrorDiagnostic(path, chunk, error, limits);
      diagnostics.push(diagnostic);
      if (diagnostic.code !== 'E_YAML_DUPLICATE_KEY') continue;
      // A duplicate key is reported, every one of them, and the document is still checked (the
      // last value wins, as in JSON.parse), so one run shows all its problems. js-yaml stopped at
      // the first duplicate, so the rest may still be broken (or hostile): that is reported instead,
      // before the slower re-parse that finds the other duplicates is spent on it.
      try {
        value = jsYaml.load(chunk.source, { ...options, json: true });
      } catch (laterError) {
        diagnostics.push(loadErrorDiagnostic(path, chunk, laterError, limits));
        continue;
      }
      diagnostics.push(...laterDuplicateKeys(path, chunk));
    }
    if (value === null || value === undefined) continue;
    const document: YamlDocument = { index: documents.length, line: chunk.line, value, source: chunk.source, locateBudget };
    // Aliases need anchors (YAML 1.2 §7.1), and anchors need '&': without one nothing is shared.
    const unsafe = findUnsafeStructure(value, limits, chunk.source.includes('&'));
    if (unsafe) {
      const at = locateInDocument(document, unsafe.path, 'key');
      fail('E_YAML_UNSAFE', unsafe.message, at.line, at.col);
      continue;
    }
    documents.push(document);
  }
  return { documents, diagnostics };
}

interface DocumentChunk {
  line: number;
  source: string;
}

/** Splits a YAML stream at document markers; chunks holding only comments or directives are dropped. */
function splitDocuments(text: string): DocumentChunk[] {
  if (!ANY_DOCUMENT_MARKER.test(text)) return /^\s*(#.*)?$/.test(text) ? [] : [{ line: 1, source: text }];
  const chunks: DocumentChunk[] = [];
  const lines = text.split('\n');
  let start = 0;
  let current: string[] = [];
  const flush = (): void => {
    if (current.some((l) => !/^\s*(#.*)?$/.test(l) && !l.startsWith('%'))) {
      chunks.push({ line: start + 1, source: current.join('\n') });
    }
  };
  lines.forEach((line, i) => {
    const marker = DOCUMENT_MARKER.exec(line);
    if (!marker) {
      current.push(line);
      return;
    }
    flush();
    start = i;
    // A node may start on the marker line. Blanking the marker would turn the rest into indented
    // content, which is wrong for block scalars and node properties (`--- |`, `--- &base`), so the
    // marker stays then; a bare marker is blanked so the text reads as a plain document.
    const rest = line.slice(3);
    current = [marker[1] === '...' ? '' : /^\s*(#.*)?$/.test(rest) ? '   ' + rest : line];
  });
  flush();
  return chunks;
}

function loadErrorDiagnostic(path: string, chunk: DocumentChunk, error: unknown, limits: ParseLimits): Diagnostic {
  const firstLine = chunk.line;
  const tooDeep = `YAML nesting is deeper than ${limits.maxDepth} levels`;
  if (error instanceof jsYaml.YAMLException) {
    const reason = error.reason || error.message;
    const line = firstLine + error.mark.line;
    const col = error.mark.column + 1;
    if (reason.startsWith('duplicated mapping key')) {
      const key = keyAt(chunk.source, error.mark.position);
      return { code: 'E_YAML_DUPLICATE_KEY', path, line, col, message: `duplicate key ${key ? `${key} ` : ''}in mapping` };
    }
    if (reason.startsWith('nesting exceeded maxDepth')) {
      return { code: 'E_YAML_UNSAFE', path, line, col, message: tooDeep };
    }
    return { code: 'E_YAML_SYNTAX', path, line, col, message: reason };
  }
  if (error instanceof RangeError) {
    return { code: 'E_YAML_UNSAFE', path, line: firstLine, col: 1, message: tooDeep };
  }
  throw error;
}

/**
 * The duplicate keys of a document after the first, which js-yaml stopped at, in the order js-yaml
 * meets them (when a pair's value is complete). Keys are compared as js-yaml stores them, as
 * strings (`1` and `"1"` are the same key). The `yaml` package's own check compares every key with
 * every earlier one, which takes seconds on a mapping of a few thousand keys, so a map is checked
 * here with a set.
 */
function laterDuplicateKeys(path: string, chunk: DocumentChunk): Diagnostic[] {
  const repeats: Array<{ keyStart: number; end: number }> = [];
  const walk = (node: unknown): void => {
    if (isMap(node)) {
      const keys = new Set<string>();
      for (const pair of node.items) {
        const key = pair.key as Node | null;
        walk(key);
        walk(pair.value);
        const text = isScalar(key) ? String(key.value) : isCollection(key) ? String(key.toJSON()) : undefined;
        if (text === undefined) continue;
        if (keys.has(text)) {
          const value = pair.value as Node | null;
          repeats.push({ keyStart: key?.range?.[0] ?? 0, end: value?.range?.[1] ?? key?.range?.[1] ?? 0 });
        }
        keys.add(text);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) walk(item);
    }
  };
  walk(parseDocument(chunk.source, { uniqueKeys: false, schema: 'core' }).contents);
  return repeats
    .sort((a, b) => a.end - b.end || a.keyStart - b.keyStart)
    .slice(1)
    .map(({ keyStart }) => {
      const at = positionAt(chunk.source, keyStart);
      const key = keyAt(chunk.source, keyStart);
      return { code: 'E_YAML_DUPLICATE_KEY', path, line: chunk.line + at.line - 1, col: at.col, message: `duplicate key ${key ? `${key} ` : ''}in mapping` };
    });
}

/** The simple key starting at `offset` as written (quoted ones) or in quotes (plain ones), if any. */
function keyAt(source: string, offset: number): string | undefined {
  const text = source.slice(offset, offset + 1024);
  const quoted = /^(?:"(?:[^"\\\r\n]|\\.)*"|'(?:[^'\r\n]|'')*')(?=[ \t]*:)/.exec(text);
  if (quoted) return quoted[0];
  // A plain key may hold `:` not followed by a space (YAML 1.2 §7.3.3); it ends at `: `.
  const plain = /^[^\s"'?:,[\]{}#&*!|>%@`](?:[^:\r\n,[\]{}]|:(?=[^\s,[\]{}]))*?(?=[ \t]*:(?:[ \t\r\n,[\]{}]|$))/.exec(text);
  return plain ? `'${plain[0]}'` : undefined;
}

interface UnsafeStructure {
  path: Array<string | number>;
  message: string;
}

/**
 * Walks a loaded value once, counting nodes as if aliases were expanded and checking depth and
 * keys. Only a document with anchors (`mayShare`) can hold shared nodes or cycles: then sizes are
 * memoized per shared node, so an alias bomb is measured without being expanded. The plain walk
 * of the common case allocates nothing per node.
 */
function findUnsafeStructure(root: unknown, limits: ParseLimits, mayShare: boolean): UnsafeStructure | undefined {
  const expandedSize = mayShare ? new Map<object, number>() : undefined;
  const onPath = mayShare ? new Set<object>() : undefined;
  let problem: UnsafeStructure | undefined;
  const path: Array<string | number> = [];

  const visitChild = (key: string | number, child: unknown, depth: number): number => {
    path.push(key);
    if (typeof key === 'string' && FORBIDDEN_KEYS.has(key)) problem = { path: [...path], message: `key '${key}' is not allowed` };
    const size = typeof child === 'object' && child !== null ? visit(child, depth + 1) : 1;
    path.pop();
    return size;
  };

  const visit = (value: object, depth: number): number => {
    if (problem) return 1;
    const known = expandedSize?.get(value);
    if (known !== undefined) return known;
    if (onPath?.has(value)) {
      problem = { path: [...path], message: `recursive alias at ${toPointer(path) || '/'}` };
      return 1;
    }
    if (depth > limits.maxDepth) {
      problem = { path: [...path], message: `YAML nesting is deeper than ${limits.maxDepth} levels` };
      return 1;
    }
    onPath?.add(value);
    let size = 1;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length && !problem; i++) size += visitChild(i, value[i], depth);
    } else {
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        size += visitChild(key, record[key], depth);
        if (problem) break;
      }
    }
    onPath?.delete(value);
    expandedSize?.set(value, size);
    if (!problem && size > limits.maxExpandedNodes) {
      problem = {
        path: [...path],
        message: `YAML expands to more than ${limits.maxExpandedNodes} nodes (alias expansion bomb?)`,
      };
    }
    return size;
  };
  // The root collection is level 1: `maxDepth` collections may nest, one more may not.
  if (typeof root === 'object' && root !== null) visit(root, 1);
  return problem;
}

/** Offset of the first byte that does not belong to a valid UTF-8 sequence (RFC 3629). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let n: number;
    let min: number;
    if (b < 0x80) { i++; continue; }
    else if (b >= 0xc2 && b <= 0xdf) { n = 1; min = 0x80; }
    else if (b >= 0xe0 && b <= 0xef) { n = 2; min = 0x800; }
    else if (b >= 0xf0 && b <= 0xf4) { n = 3; min = 0x10000; }
    else return i;
    let cp = b & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return bytes.length;
}

/** UTF-8 byte length of a string, without Node's Buffer (core stays runtime-neutral). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
