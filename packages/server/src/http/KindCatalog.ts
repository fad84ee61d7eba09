import type { CommitRef, Store } from '../store/Store.js';

/** A kind as far as URLs need it: `Host` is written `host` in ids. */
export interface KindName {
  name: string;
  idPrefix: string;
}

/** The kinds at one commit, as served by `/kinds`, with a lookup by name or id prefix in any case. */
export interface KindsAt {
  /** The kinds as the store has them (name, idPrefix, description, schema…). */
  items: unknown[];
  names: KindName[];
  /** The kind written as its name or id prefix, in any case. */
  resolve(text: string): KindName | undefined;
}

const CACHED_COMMITS = 32;

/**
 * The kinds at a commit, cached per commit: `modelAt` reads and parses every kind's JSON schema,
 * which a point lookup should not pay for. The key includes the sha, so a rebuilt index that
 * reuses a seq for another commit is not answered from the cache.
 */
export class KindCatalog {
  private readonly cache = new Map<string, Promise<KindsAt>>();

  constructor(private readonly store: Store) {}

  /** The kinds at `commit`. */
  at(commit: CommitRef): Promise<KindsAt> {
    const key = `${commit.seq}:${commit.sha}`;
    let kinds = this.cache.get(key);
    if (!kinds) {
      kinds = this.load(commit.seq);
      this.cache.set(key, kinds);
      kinds.catch(() => this.cache.delete(key));
      if (this.cache.size > CACHED_COMMITS) this.cache.delete(this.cache.keys().next().value!);
    }
    return kinds;
  }

  private async load(seq: number): Promise<KindsAt> {
    const model = await this.store.modelAt(seq);
    const items = model?.kinds ?? [];
    const names: KindName[] = [];
    const byText = new Map<string, KindName>();
    for (const item of items) {
      const { name, idPrefix } = (item ?? {}) as { name?: unknown; idPrefix?: unknown };
      if (typeof name !== 'string' || typeof idPrefix !== 'string') continue;
      const kind = { name, idPrefix };
      names.push(kind);
      byText.set(name.toLowerCase(), kind);
      byText.set(idPrefix.toLowerCase(), kind);
    }
    return { items, names, resolve: (text) => byText.get(text.toLowerCase()) };
  }
}
