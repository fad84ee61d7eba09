import { describe, expect, it } from 'vitest';
import { buildRelationGraph, describePath, edgeKey, pathsTo } from './impact';

describe('the relations graph', () => {
  const step = (from: string, to: string, relation: string) => ({ from, to, relation, field: 'spec.x' });
  const items = [
    { id: 'service/checkout', depth: 1, path: [step('host/db-01', 'service/checkout', 'hosts')] },
    { id: 'database/orders', depth: 1, path: [step('host/db-01', 'database/orders', 'hosts')] },
    { id: 'service/cart', depth: 2, path: [step('host/db-01', 'database/orders', 'hosts'), step('database/orders', 'service/cart', 'dependencyOf')] },
  ];

  it('places assets in columns by distance and rows by id, with the edges of their paths', () => {
    const graph = buildRelationGraph('host/db-01', items);
    expect(graph.nodes).toEqual([
      { id: 'host/db-01', depth: 0, row: 0 },
      { id: 'database/orders', depth: 1, row: 0 },
      { id: 'service/checkout', depth: 1, row: 1 },
      { id: 'service/cart', depth: 2, row: 0 },
    ]);
    expect(graph.edges).toContainEqual({ from: 'database/orders', to: 'service/cart', relation: 'dependencyOf' });
    expect(graph.edges).toHaveLength(3);
    expect([graph.rows, graph.columns]).toEqual([2, 3]);
  });

  it('describes a path hop by hop', () => {
    expect(describePath(items[2]!.path)).toBe('host/db-01 —hosts→ database/orders —dependencyOf→ service/cart');
  });

  it('finds the paths from the start to an asset, for highlighting', () => {
    const graph = buildRelationGraph('host/db-01', items);
    const toCart = pathsTo(graph, 'service/cart');
    expect([...toCart.nodes].sort()).toEqual(['database/orders', 'host/db-01', 'service/cart']);
    expect([...toCart.edges].sort()).toEqual(['database/orders service/cart', 'host/db-01 database/orders']);
    expect(toCart.paths.map(describePath)).toEqual(['host/db-01 —hosts→ database/orders —dependencyOf→ service/cart']);
    expect(pathsTo(graph, 'host/db-01')).toEqual({ nodes: new Set(['host/db-01']), edges: new Set(), paths: [] });
  });

  it('highlights every path when the drawn paths meet again', () => {
    // Two shortest paths to service/cart: through database/orders and through service/checkout.
    const graph = buildRelationGraph('host/db-01', [...items, { id: 'service/web', depth: 2, path: [step('host/db-01', 'service/checkout', 'hosts'), step('service/checkout', 'service/web', 'dependencyOf')] }]);
    graph.edges.push({ from: 'service/checkout', to: 'service/cart', relation: 'dependencyOf' });
    const found = pathsTo(graph, 'service/cart');
    expect(found.paths.map(describePath).sort()).toEqual(['host/db-01 —hosts→ database/orders —dependencyOf→ service/cart', 'host/db-01 —hosts→ service/checkout —dependencyOf→ service/cart']);
    expect(found.edges.has(edgeKey({ from: 'service/checkout', to: 'service/web' }))).toBe(false);
    expect(found.nodes.has('service/web')).toBe(false);
    expect(pathsTo(graph, 'service/cart', 1).paths).toHaveLength(1);
  });
});
