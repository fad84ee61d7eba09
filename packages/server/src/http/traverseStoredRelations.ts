import type { ReachedAsset, TraverseOptions } from '@estate/core';
import type { Store } from '../store/Store.js';

/**
 * Breadth-first walk of the relations stored for commit `seq`, with the semantics of core's
 * `traverseRelations` (which walks an in-memory estate): each asset is reported once, at its
 * smallest depth, with the shortest path that reached it; `types` keeps relations whose either
 * name matches; with `both`, outgoing relations of a node are followed before incoming ones.
 * Stops once `limit` assets are reached (the nearest ones, in that order).
 */
export async function traverseStoredRelations(store: Store, start: string, seq: number, options: TraverseOptions, limit = Infinity): Promise<ReachedAsset[]> {
  const types = options.types;
  const reached: ReachedAsset[] = [];
  const seen = new Set([start]);
  let frontier: ReachedAsset[] = [{ id: start, depth: 0, path: [] }];
  for (let depth = 1; depth <= options.depth && frontier.length; depth++) {
    const next: ReachedAsset[] = [];
    for (const node of frontier) {
      const edges = [
        ...(options.direction !== 'in' ? await store.edges(node.id, seq, 'out') : []),
        ...(options.direction !== 'out' ? await store.edges(node.id, seq, 'in') : []),
      ];
      for (const edge of edges) {
        if (seen.has(edge.to) || (types && !types.includes(edge.names[0]) && !types.includes(edge.names[1]))) continue;
        seen.add(edge.to);
        const item = { id: edge.to, depth, path: [...node.path, { from: edge.from, to: edge.to, relation: edge.relation, field: edge.field }] };
        next.push(item);
        reached.push(item);
        if (reached.length >= limit) return reached;
      }
    }
    frontier = next;
  }
  return reached;
}
