import type { IndexStatus } from './IndexStatus.js';

/** Upper bounds (seconds) of the request duration histogram: 0.5 ms up to 10 s. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Series {
  labels: string;
  /** Observations per bucket (not cumulative; the last slot is +Inf). */
  counts: number[];
  sum: number;
  count: number;
}

/**
 * Request metrics and their rendering in the Prometheus text exposition format (version 0.0.4,
 * https://prometheus.io/docs/instrumenting/exposition_formats/), written by hand: one histogram
 * observation is a map lookup and two increments.
 */
export class HttpMetrics {
  private readonly series = new Map<string, Series>();

  /** Records one answered request; `route` is the route pattern (`unmatched` for 404s), never the raw URL. */
  observe(method: string, route: string, status: number, seconds: number): void {
    const statusClass = `${Math.floor(status / 100)}xx`;
    const key = `${method} ${route} ${statusClass}`;
    let series = this.series.get(key);
    if (!series) {
      series = {
        labels: `method="${escapeLabel(method)}",route="${escapeLabel(route)}",status="${statusClass}"`,
        counts: new Array<number>(BUCKETS.length + 1).fill(0),
        sum: 0,
        count: 0,
      };
      this.series.set(key, series);
    }
    let bucket = 0;
    while (bucket < BUCKETS.length && seconds > BUCKETS[bucket]!) bucket++;
    series.counts[bucket]!++;
    series.sum += seconds;
    series.count++;
  }

  /** Gauges other parts of the server report (change requests, webhooks…), read at each scrape (the ingest thread's by asking it). */
  readonly gauges: Array<() => Gauge[] | Promise<Gauge[]>> = [];

  /** The whole exposition: request histogram, index status, the registered gauges, process memory. */
  async render(status: IndexStatus): Promise<string> {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    metric('estate_http_request_duration_seconds', 'histogram', 'Time to answer HTTP requests, by route and status class.');
    for (const series of this.series.values()) {
      let cumulative = 0;
      BUCKETS.forEach((bound, i) => {
        cumulative += series.counts[i]!;
        lines.push(`estate_http_request_duration_seconds_bucket{${series.labels},le="${bound}"} ${cumulative}`);
      });
      lines.push(`estate_http_request_duration_seconds_bucket{${series.labels},le="+Inf"} ${series.count}`);
      lines.push(`estate_http_request_duration_seconds_sum{${series.labels}} ${series.sum}`);
      lines.push(`estate_http_request_duration_seconds_count{${series.labels}} ${series.count}`);
    }
    metric('estate_index_lag_seconds', 'gauge', 'How far the index is behind main, in seconds.');
    lines.push(`estate_index_lag_seconds ${status.lagSeconds}`);
    metric('estate_commits_indexed_total', 'counter', 'Commits indexed since the process started.');
    lines.push(`estate_commits_indexed_total ${status.commitsIndexed}`);
    metric('estate_index_head_errors', 'gauge', 'Validation errors of the estate at the indexed head of main.');
    lines.push(`estate_index_head_errors ${status.headErrors}`);
    metric('estate_index_head_seq', 'gauge', 'Sequence number of the indexed head of main (0 before anything is indexed).');
    lines.push(`estate_index_head_seq ${status.head?.seq ?? 0}`);
    metric('estate_index_ready', 'gauge', '1 when the indexer has caught up with main, else 0.');
    lines.push(`estate_index_ready ${status.state === 'ready' ? 1 : 0}`);
    for (const source of this.gauges) {
      for (const gauge of await source()) {
        metric(gauge.name, 'gauge', gauge.help);
        lines.push(`${gauge.name} ${gauge.value}`);
      }
    }
    const memory = process.memoryUsage();
    metric('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.');
    lines.push(`process_resident_memory_bytes ${memory.rss}`);
    metric('nodejs_heap_size_total_bytes', 'gauge', 'V8 heap size in bytes.');
    lines.push(`nodejs_heap_size_total_bytes ${memory.heapTotal}`);
    metric('nodejs_heap_size_used_bytes', 'gauge', 'V8 heap used in bytes.');
    lines.push(`nodejs_heap_size_used_bytes ${memory.heapUsed}`);
    metric('nodejs_external_memory_bytes', 'gauge', 'Memory of C++ objects bound to JavaScript objects, in bytes.');
    lines.push(`nodejs_external_memory_bytes ${memory.external}`);
    return lines.join('\n') + '\n';
  }
}

/** One value a part of the server reports at a scrape. */
interface Gauge {
  name: string;
  help: string;
  value: number;
}

/** Label values escape `\`, `"` and newlines (exposition format, "Comments, help text, and type information"). */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
