import type { RelatedAsset } from '@estate/client';
import { useMemo, useState, type ReactElement } from 'react';
import { buildRelationGraph, describePath, edgeKey, pathsTo } from '../impact';
import { assetPath, navigate } from '../router';

/** Width of one character of the node labels (12px monospace), to size the boxes to the longest id. */
const CHAR_WIDTH = 7.4;
const NODE_PADDING = 16;
const NODE_HEIGHT = 28;
const COLUMN_GAP = 90;
const ROW_GAP = 14;
const MARGIN = 12;

/**
 * The relations of an asset drawn as a graph: the asset on the left, related assets in columns by
 * distance, an arrow for each relation of their paths. Each box is a link to that asset's page
 * (Tab reaches it, Enter or a click opens it); hovering or focusing one highlights its paths to the
 * asset and spells them out below. The list of paths beside it says the same in text.
 * `linkTo` makes a box's address (it keeps the page's point in time).
 */
export function RelationGraph({ start, items, label, linkTo = assetPath }: { start: string; items: RelatedAsset[]; label: string; linkTo?: (id: string) => string }): ReactElement {
  const graph = useMemo(() => buildRelationGraph(start, items), [start, items]);
  const [active, setActive] = useState<string | undefined>();
  const highlight = useMemo(() => (active === undefined || !graph.nodes.some((node) => node.id === active) ? undefined : pathsTo(graph, active)), [graph, active]);
  const leave = (id: string): void => setActive((current) => (current === id ? undefined : current));
  const NODE_WIDTH = Math.ceil(Math.max(...graph.nodes.map((node) => node.id.length)) * CHAR_WIDTH) + NODE_PADDING;
  const x = (depth: number): number => MARGIN + depth * (NODE_WIDTH + COLUMN_GAP);
  const y = (row: number): number => MARGIN + row * (NODE_HEIGHT + ROW_GAP);
  const place = new Map(graph.nodes.map((node) => [node.id, node]));
  const width = x(graph.columns - 1) + NODE_WIDTH + MARGIN;
  const height = y(graph.rows - 1) + NODE_HEIGHT + MARGIN;
  // One label per relation leaving a box, stacked above its right edge (not one per arrow).
  const labels: Array<{ from: string; relation: string; x: number; y: number }> = [];
  for (const edge of graph.edges) {
    const from = place.get(edge.from);
    if (!from || labels.some((label) => label.from === edge.from && label.relation === edge.relation)) continue;
    const stacked = labels.filter((label) => label.from === edge.from).length;
    labels.push({ from: edge.from, relation: edge.relation, x: x(from.depth) + NODE_WIDTH + 4, y: y(from.row) + NODE_HEIGHT / 2 - 4 - stacked * 11 });
  }
  return (
    <div className={highlight ? 'graph highlighting' : 'graph'}>
      <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="group" aria-label={label}>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" className="edge" />
          </marker>
          <marker id="arrow-on-path" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" className="edge on-path" />
          </marker>
        </defs>
        {labels.map((label) => (
          <text key={`${label.from} ${label.relation}`} className={highlight && graph.edges.some((edge) => edge.from === label.from && edge.relation === label.relation && highlight.edges.has(edgeKey(edge))) ? 'edge-label on-path' : 'edge-label'} x={label.x} y={label.y} aria-hidden="true">
            {label.relation}
          </text>
        ))}
        {graph.edges.map((edge) => {
          const from = place.get(edge.from);
          const to = place.get(edge.to);
          if (!from || !to) return null;
          const x1 = x(from.depth) + NODE_WIDTH;
          const y1 = y(from.row) + NODE_HEIGHT / 2;
          const x2 = x(to.depth);
          const y2 = y(to.row) + NODE_HEIGHT / 2;
          const bend = (x2 - x1) / 2;
          const onPath = highlight?.edges.has(edgeKey(edge)) ?? false;
          return (
            <g key={edgeKey(edge)} aria-hidden="true">
              <path className={onPath ? 'edge on-path' : 'edge'} d={`M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`} markerEnd={onPath ? 'url(#arrow-on-path)' : 'url(#arrow)'} />
            </g>
          );
        })}
        {graph.nodes.map((node) => {
          const body = (
            <>
              <rect x={x(node.depth)} y={y(node.row)} width={NODE_WIDTH} height={NODE_HEIGHT} rx={5} />
              <text x={x(node.depth) + 8} y={y(node.row) + NODE_HEIGHT / 2 + 4}>
                {node.id}
              </text>
            </>
          );
          const onPath = highlight?.nodes.has(node.id) ? ' on-path' : '';
          if (node.depth === 0) {
            return (
              <g key={node.id} className={`node start${onPath}`} aria-label={`${node.id} (this asset)`} role="img">
                {body}
              </g>
            );
          }
          const href = linkTo(node.id);
          return (
            <a
              key={node.id}
              href={href}
              className={`node${onPath}${node.id === active ? ' active' : ''}`}
              aria-label={`${node.id}, ${node.depth} ${node.depth === 1 ? 'hop' : 'hops'} away`}
              onMouseEnter={() => setActive(node.id)}
              onMouseLeave={() => leave(node.id)}
              onFocus={() => setActive(node.id)}
              onBlur={() => leave(node.id)}
              onClick={(event) => {
                if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
                event.preventDefault();
                navigate(href);
              }}
            >
              <g className="node">{body}</g>
            </a>
          );
        })}
      </svg>
      <p className="graph-paths" aria-live="polite">
        {highlight && active !== undefined ? (
          <>
            <span className="visually-hidden">{active}: </span>
            {highlight.paths.map((path) => describePath(path)).join('; ')}
          </>
        ) : (
          <span className="muted">Point at or focus an asset to see its path to {start}; Enter opens it.</span>
        )}
      </p>
    </div>
  );
}
