import type { Relation } from './estate.js';

/** Which way to follow relations: `out` = what this asset references, `in` = what references it. */
export type RelationDirection = 'in' | 'out' | 'both';

/** One hop of a path through the relation graph, named as seen from `from`. */
export interface RelationStep {
  from: string;
  to: string;
  relation: string;
  field: string;
}

/** An asset reached from the start, with the shortest path that reached it. */
export interface ReachedAsset {
  id: string;
  depth: number;
  path: RelationStep[];
}

/** Options of {@link traverseRelations}. */
export interface TraverseOptions {
  direction: RelationDirection;
  /** Hops to follow; 1 = direct relations only. */
  depth: number;
  /** Only follow relations with these names (either name of the pair). */
  types?: string[];
}

interface IndexedStep {
  step: RelationStep;
  /** Both names of the relation pair, for filtering by either. */
  names: [string, string];
}

interface RelationIndex {
  out: Map<string, IndexedStep[]>;
  in: Map<string, IndexedStep[]>;
}

const indexes = new WeakMap<Relation[], RelationIndex>();

function indexRelations(relations: Relation[]): RelationIndex {
  let index = indexes.get(relations);
  if (index) return index;
  index = { out: new Map(), in: new Map() };
  const add = (map: Map<string, IndexedStep[]>, key: string, item: IndexedStep): void => {
    const list = map.get(key);
    if (list) list.push(item);
    else map.set(key, [item]);
  };
  for (const r of relations) {
    const names: [string, string] = [r.type, r.inverse];
    add(index.out, r.from, { step: { from: r.from, to: r.to, relation: r.type, field: r.field }, names });
    add(index.in, r.to, { step: { from: r.to, to: r.from, relation: r.inverse, field: r.field }, names });
  }
  indexes.set(relations, index);
  return index;
}

/**
 * Breadth-first walk of the relation graph from `start`: each asset is reported once, at its
 * smallest depth, with the path that reached it. `direction: 'in'` answers impact questions
 * ("what breaks if this host dies").
 */
export function traverseRelations(relations: Relation[], start: string, options: TraverseOptions): ReachedAsset[] {
  const index = indexRelations(relations);
  const types = options.types;
  const matches = (names: [string, string]): boolean => !types || types.includes(names[0]) || types.includes(names[1]);
  const reached: ReachedAsset[] = [];
  const seen = new Set([start]);
  let frontier: ReachedAsset[] = [{ id: start, depth: 0, path: [] }];
  for (let depth = 1; depth <= options.depth && frontier.length; depth++) {
    const next: ReachedAsset[] = [];
    for (const node of frontier) {
      const steps = [
        ...(options.direction !== 'in' ? index.out.get(node.id) ?? [] : []),
        ...(options.direction !== 'out' ? index.in.get(node.id) ?? [] : []),
      ];
      for (const { step, names } of steps) {
        if (seen.has(step.to) || !matches(names)) continue;
        seen.add(step.to);
        const item = { id: step.to, depth, path: [...node.path, step] };
        next.push(item);
        reached.push(item);
      }
    }
    frontier = next;
  }
  return reached;
}
