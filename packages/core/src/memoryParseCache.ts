import type { ParseCache } from './loadEstate.js';
import type { ParsedYamlFile } from './yaml/parseYamlFile.js';

/**
 * An in-memory parse cache keyed by git blob id, bounded by entry count; the oldest entries go
 * first (a Map keeps insertion order). Hits do not reorder: a load of 100k files makes 100k
 * lookups, and keeping them cheap matters more than a perfect eviction order.
 */
export class MemoryParseCache implements ParseCache {
  readonly #entries = new Map<string, ParsedYamlFile>();

  constructor(readonly maxEntries = 500_000) {}

  get(blobId: string): ParsedYamlFile | undefined {
    return this.#entries.get(blobId);
  }

  set(blobId: string, parsed: ParsedYamlFile): void {
    this.#entries.delete(blobId);
    this.#entries.set(blobId, parsed);
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  /** Number of cached files. */
  get size(): number {
    return this.#entries.size;
  }
}
