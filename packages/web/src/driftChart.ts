/** What the drift chart draws from: one bucket of `GET /api/v1/drift/history`. */
export interface ChartBucket {
  start: string;
  open: number;
  opened: number;
  resolved: number;
}

/** Where everything of the chart goes, in SVG user units. */
export interface ChartLayout {
  width: number;
  height: number;
  /** The plot area: left, top, right, bottom edges. */
  plot: { left: number; top: number; right: number; bottom: number };
  /** The top of the y axis (a round number at or above the largest open count). */
  max: number;
  /** The open count as a polyline (`x,y x,y …`) and as a closed area under it. */
  line: string;
  area: string;
  points: Array<{ x: number; y: number; bucket: ChartBucket }>;
  yTicks: Array<{ value: number; y: number }>;
  xTicks: Array<{ label: string; x: number }>;
}

const MARGIN = { left: 40, top: 12, right: 12, bottom: 26 };
/** At most this many labels on the time axis. */
const X_LABELS = 6;

/**
 * Lays out the chart of open drift over time: x is the bucket's position (evenly spaced, oldest
 * left), y the items open at the bucket's end. Times are labelled in UTC, as the API buckets them.
 */
export function layoutDriftChart(buckets: readonly ChartBucket[], bucket: 'hour' | 'day', width: number, height: number): ChartLayout {
  const plot = { left: MARGIN.left, top: MARGIN.top, right: width - MARGIN.right, bottom: height - MARGIN.bottom };
  const max = niceCeiling(Math.max(0, ...buckets.map((b) => b.open)));
  const step = buckets.length > 1 ? (plot.right - plot.left) / (buckets.length - 1) : 0;
  const x = (i: number): number => round(buckets.length > 1 ? plot.left + i * step : (plot.left + plot.right) / 2);
  const y = (value: number): number => round(plot.bottom - (value / max) * (plot.bottom - plot.top));
  const points = buckets.map((b, i) => ({ x: x(i), y: y(b.open), bucket: b }));
  const line = points.map((p) => `${p.x},${p.y}`).join(' ');
  const area = points.length === 0 ? '' : `${points[0]!.x},${plot.bottom} ${line} ${points.at(-1)!.x},${plot.bottom}`;
  const yTicks = [0, 1, 2, 3, 4].map((i) => (max * i) / 4).filter((value, i, all) => Number.isInteger(value) && all.indexOf(value) === i).map((value) => ({ value, y: y(value) }));
  const every = Math.max(1, Math.ceil(buckets.length / X_LABELS));
  const xTicks = buckets.flatMap((b, i) => (i % every === 0 ? [{ label: bucketLabel(b.start, bucket), x: x(i) }] : []));
  return { width, height, plot, max, line, area, points, yTicks, xTicks };
}

/** A bucket's start as the axis shows it: `14:00` for hours (`06-01 00:00` at midnight), `06-01` for days; UTC. */
export function bucketLabel(start: string, bucket: 'hour' | 'day'): string {
  const iso = new Date(start).toISOString();
  const day = iso.slice(5, 10);
  const hour = iso.slice(11, 16);
  if (bucket === 'day') return day;
  return hour === '00:00' ? `${day} ${hour}` : hour;
}

/** The smallest of 1, 2, 5 × 10ⁿ (at least 4) that is ≥ `value`: a y axis with round ticks. */
function niceCeiling(value: number): number {
  if (value <= 4) return 4;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const factor of [1, 2, 4, 5, 10]) if (factor * magnitude >= value) return factor * magnitude;
  return 10 * magnitude;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
