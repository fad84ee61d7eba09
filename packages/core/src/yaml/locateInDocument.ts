import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { PathSegments } from '../jsonPointer.js';
import type { TextPosition } from './textPosition.js';

/** Bytes of YAML one file may have re-parsed for positions; past it, positions fall back. */
export const LOCATE_BUDGET_BYTES = 256 * 1024;

/** The part of a document a position should point at: its text, first line and locate budget. */
export interface LocatableDocument {
  line: number;
  source: string;
  /**
   * Shared by the documents of one file: re-parsing for positions costs about 1 ms per KiB, so a
   * file full of huge, broken documents is bounded to a fraction of a second. Documents past the
   * budget report their problems at their first line.
   */
  locateBudget?: { remaining: number };
}

interface DocumentTree {
  root: Node | null;
  lines: LineCounter;
}

const UNLOCATED: DocumentTree = { root: null, lines: new LineCounter() };

const trees = new WeakMap<LocatableDocument, DocumentTree>();

/**
 * Finds where a JSON path lives in a YAML document, as a 1-based file position: the key of a map
 * entry (`target: 'key'`) or its value (`'value'`). A path that goes beyond the document (a
 * missing property) resolves to the deepest existing ancestor's key, which is where a human looks.
 *
 * Only called on the error path: the `yaml` package keeps source ranges but is ten times slower
 * than the loader used in bulk, so documents are re-parsed lazily, once each.
 */
export function locateInDocument(document: LocatableDocument, path: PathSegments, target: 'key' | 'value'): TextPosition {
  let tree = trees.get(document);
  if (!tree) {
    const budget = document.locateBudget;
    if (budget && budget.remaining < document.source.length) {
      tree = UNLOCATED;
    } else {
      if (budget) budget.remaining -= document.source.length;
      const lines = new LineCounter();
      const parsed = parseDocument(document.source, { lineCounter: lines, uniqueKeys: false, schema: 'core' });
      tree = { root: parsed.contents as Node | null, lines };
    }
    trees.set(document, tree);
  }
  if (tree === UNLOCATED) return { line: document.line + lineOf(document.source, firstContentOffset(document.source)) - 1, col: 1 };
  let node: Node | null = tree.root;
  let keyNode: Node | null = null;
  for (const segment of path) {
    const next = childOf(node, segment);
    if (!next) break;
    ({ node, keyNode } = next);
  }
  const anchor = target === 'key' && keyNode ? keyNode : (node ?? keyNode);
  const offset = anchor?.range?.[0] ?? firstContentOffset(document.source);
  const { line, col } = tree.lines.linePos(offset);
  return { line: document.line + line - 1, col };
}

function childOf(node: Node | null, segment: string | number): { node: Node | null; keyNode: Node | null } | undefined {
  if (isMap(node)) {
    // The last of duplicate keys: its value is the one loaded (see parseYamlFile).
    for (let i = node.items.length - 1; i >= 0; i--) {
      const pair = node.items[i];
      if (!isPair(pair)) continue;
      const key = pair.key as Node | null;
      const keyValue = isScalar(key) ? key.value : undefined;
      if (keyValue !== undefined && keyValue !== null && String(keyValue) === String(segment)) {
        return { node: (pair.value as Node | null) ?? key, keyNode: key };
      }
    }
    return undefined;
  }
  if (isSeq(node)) {
    const item = node.items[Number(segment)] as Node | undefined;
    return item ? { node: item, keyNode: item } : undefined;
  }
  return undefined;
}

function firstContentOffset(source: string): number {
  const match = /[^\s]/.exec(source);
  return match ? match.index : 0;
}

function lineOf(source: string, offset: number): number {
  let line = 1;
  for (let i = source.indexOf('\n'); i !== -1 && i < offset; i = source.indexOf('\n', i + 1)) line++;
  return line;
}
