import { describe, expect, it } from 'vitest';
import { buildRelationGraph, describePath } from './impact';

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
});
