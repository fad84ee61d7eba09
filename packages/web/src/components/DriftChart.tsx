import type { ReactElement } from 'react';
import { bucketLabel, layoutDriftChart, type ChartBucket } from '../driftChart';

const WIDTH = 720;
const HEIGHT = 220;

/**
 * Open drift over time as an inline SVG (no chart library): the items open at the end of each
 * bucket as a line over a shaded area, with the numbers as a table for screen readers and keyboards.
 */
export function DriftChart({ buckets, bucket }: { buckets: readonly ChartBucket[]; bucket: 'hour' | 'day' }): ReactElement {
  const layout = layoutDriftChart(buckets, bucket, WIDTH, HEIGHT);
  const last = buckets.at(-1);
  const opened = buckets.reduce((n, b) => n + b.opened, 0);
  const resolved = buckets.reduce((n, b) => n + b.resolved, 0);
  const span = bucket === 'hour' ? `${buckets.length} hours` : `${buckets.length} days`;
  const summary = `Open drift over the last ${span}: ${last?.open ?? 0} open now, ${opened} opened and ${resolved} resolved in that time.`;
  return (
    <figure className="drift-chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={summary} preserveAspectRatio="xMidYMid meet">
        {layout.yTicks.map((tick) => (
          <g key={tick.value} className="tick">
            <line x1={layout.plot.left} x2={layout.plot.right} y1={tick.y} y2={tick.y} />
            <text x={layout.plot.left - 6} y={tick.y + 4} textAnchor="end">
              {tick.value}
            </text>
          </g>
        ))}
        {layout.xTicks.map((tick) => (
          <text key={tick.x} className="x-label" x={tick.x} y={HEIGHT - 6} textAnchor="middle">
            {tick.label}
          </text>
        ))}
        {layout.area && <polygon className="area" points={layout.area} />}
        {layout.line && <polyline className="line" points={layout.line} />}
        {layout.points.map((point) => (
          <circle key={point.bucket.start} className="point" cx={point.x} cy={point.y} r={buckets.length > 60 ? 0 : 2.5}>
            <title>{`${bucketLabel(point.bucket.start, bucket)} UTC: ${point.bucket.open} open, ${point.bucket.opened} opened, ${point.bucket.resolved} resolved`}</title>
          </circle>
        ))}
      </svg>
      <figcaption>
        {summary} Times are UTC.{' '}
        <details>
          <summary>The numbers</summary>
          <table>
            <caption className="visually-hidden">Open drift per {bucket}</caption>
            <thead>
              <tr>
                <th scope="col">{bucket === 'hour' ? 'Hour' : 'Day'} (UTC)</th>
                <th scope="col">Opened</th>
                <th scope="col">Resolved</th>
                <th scope="col">Open at its end</th>
              </tr>
            </thead>
            <tbody>
              {buckets.map((b) => (
                <tr key={b.start}>
                  <th scope="row">
                    <time dateTime={b.start}>{bucket === 'hour' ? b.start.slice(0, 16).replace('T', ' ') : b.start.slice(0, 10)}</time>
                  </th>
                  <td>{b.opened}</td>
                  <td>{b.resolved}</td>
                  <td>{b.open}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      </figcaption>
    </figure>
  );
}
