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

/** The key of an edge, unique within a graph. */
export function edgeKey(edge: { from: string; to: string }): string {
  return `${edge.from} ${edge.to}`;
}

/** What leads from the start of a graph to one of its assets: for impact highlighting. */
export interface PathsTo {
  /** The assets on any path from the start to the target, both included. */
  nodes: Set<string>;
  /** The keys ({@link edgeKey}) of the edges on those paths. */
  edges: Set<string>;
  /** The paths themselves, start first, at most the limit asked for. */
  paths: GraphEdge[][];
}

/**
 * Every path of the drawn graph from its start to `target`: the nodes and edges to highlight, and
 * up to `limit` paths spelled out. Edges run from the start outwards, so walking them backwards
 * from the target ends at the start.
 */
export function pathsTo(graph: RelationGraph, target: string, limit = 5): PathsTo {
  const into = new Map<string, GraphEdge[]>();
  for (const edge of graph.edges) into.set(edge.to, [...(into.get(edge.to) ?? []), edge]);
  const nodes = new Set([target]);
  const queue = [target];
  while (queue.length > 0) {
    for (const edge of into.get(queue.shift()!) ?? []) {
      if (nodes.has(edge.from)) continue;
      nodes.add(edge.from);
      queue.push(edge.from);
    }
  }
  const edges = new Set(graph.edges.filter((edge) => nodes.has(edge.to)).map(edgeKey));
  const start = graph.nodes.find((node) => node.depth === 0)?.id;
  const paths: GraphEdge[][] = [];
  const walk = (at: string, suffix: GraphEdge[], seen: Set<string>): void => {
    if (paths.length >= limit) return;
    if (at === start) {
      if (suffix.length > 0) paths.push(suffix);
      return;
    }
    for (const edge of into.get(at) ?? []) {
      if (seen.has(edge.from)) continue;
      walk(edge.from, [edge, ...suffix], new Set([...seen, edge.from]));
    }
  };
  walk(target, [], new Set([target]));
  return { nodes, edges, paths };
}

/** A path as text: `host/db-01 —hosts→ database/orders —dependencyOf→ service/checkout`. */
export function describePath(path: Array<Pick<RelationStep, 'from' | 'to' | 'relation'>>): string {
  if (path.length === 0) return '';
  return path.reduce((text, step) => `${text} —${step.relation}→ ${step.to}`, path[0]!.from);
}
