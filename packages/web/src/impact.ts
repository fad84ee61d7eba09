import type { RelatedAsset, RelationStep } from '@estate/client';

/** An asset in the relations graph, placed in the column of its distance from the start. */
export interface GraphNode {
  id: string;
  depth: number;
  /** Row within its column. */
  row: number;
}

/** A relation between two assets of the graph, in the direction it was followed. */
export interface GraphEdge {
  from: string;
  to: string;
  relation: string;
}

/** The relations graph of one asset: the start in column 0, related assets by distance. */
export interface RelationGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** The tallest column's height, for the drawing's size. */
  rows: number;
  columns: number;
}

/**
 * Lays out the answer of `GET …/relations` (each asset once, with its shortest path) as a graph:
 * columns by depth, rows by id, and the edges of every listed path (an asset reached by several
 * shortest paths shows the one the server chose).
 */
export function buildRelationGraph(start: string, items: RelatedAsset[]): RelationGraph {
  const byDepth = new Map<number, string[]>([[0, [start]]]);
  for (const item of items) {
    const column = byDepth.get(item.depth) ?? [];
    column.push(item.id);
    byDepth.set(item.depth, column);
  }
  const nodes: GraphNode[] = [];
  for (const [depth, ids] of [...byDepth].sort(([a], [b]) => a - b)) {
    ids.sort().forEach((id, row) => nodes.push({ id, depth, row }));
  }
  const edges = new Map<string, GraphEdge>();
  for (const item of items) {
    for (const step of item.path) edges.set(`${step.from} ${step.to}`, { from: step.from, to: step.to, relation: step.relation });
  }
  return {
    nodes,
    edges: [...edges.values()],
    rows: Math.max(...[...byDepth.values()].map((ids) => ids.length)),
    columns: byDepth.size,
  };
}

/** A path as text: `host/db-01 —hosts→ database/orders —dependencyOf→ service/checkout`. */
export function describePath(path: RelationStep[]): string {
  if (path.length === 0) return '';
  return path.reduce((text, step) => `${text} —${step.relation}→ ${step.to}`, path[0]!.from);
}
