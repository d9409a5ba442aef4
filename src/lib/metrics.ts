/**
 * A small metrics registry exposed at /metrics in the Prometheus text format. Label values must
 * come from bounded sets (route templates, known methods, reason enums), never from raw input.
 */
type LabelValues = Record<string, string>;

interface Series {
  labels: LabelValues;
  value: number;
}

abstract class Metric {
  protected readonly series = new Map<string, Series>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
  ) {}
  protected get(labels: LabelValues): Series {
    const key = JSON.stringify(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, value: 0 };
      this.series.set(key, s);
    }
    return s;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const s of this.series.values()) {
      const l = Object.entries(s.labels)
        .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
        .join(',');
      lines.push(`${this.name}${l ? `{${l}}` : ''} ${s.value}`);
    }
    return lines.join('\n');
  }
}

export class Counter extends Metric {
  /** `collect` reads a total kept elsewhere (it must only grow) each time /metrics renders */
  constructor(
    name: string,
    help: string,
    private readonly collect?: () => number,
  ) {
    super(name, help, 'counter');
  }
  override render(): string {
    if (this.collect) this.get({}).value = this.collect();
    return super.render();
  }
  inc(labels: LabelValues = {}, by = 1): void {
    this.get(labels).value += by;
  }
  value(labels: LabelValues = {}): number {
    return this.series.get(JSON.stringify(labels))?.value ?? 0;
  }
}

export class Gauge extends Metric {
  constructor(
    name: string,
    help: string,
    private readonly collect?: () => number,
  ) {
    super(name, help, 'gauge');
  }
  set(value: number, labels: LabelValues = {}): void {
    this.get(labels).value = value;
  }
  override render(): string {
    if (this.collect) this.set(this.collect());
    return super.render();
  }
}

/** Series read from elsewhere each time /metrics renders, one per label set (e.g. per cache). */
class Collected extends Metric {
  constructor(
    name: string,
    help: string,
    type: 'counter' | 'gauge',
    private readonly collect: () => [LabelValues, number][],
  ) {
    super(name, help, type);
  }
  override render(): string {
    for (const [labels, value] of this.collect()) this.get(labels).value = value;
    return super.render();
  }
}

export class MetricsRegistry {
  private readonly metrics: { render(): string }[] = [];
  counter(name: string, help: string, collect?: () => number): Counter {
    const m = new Counter(name, help, collect);
    this.metrics.push(m);
    return m;
  }
  gauge(name: string, help: string, collect?: () => number): Gauge {
    const m = new Gauge(name, help, collect);
    this.metrics.push(m);
    return m;
  }
  collected(
    name: string,
    help: string,
    type: 'counter' | 'gauge',
    collect: () => [LabelValues, number][],
  ): void {
    this.metrics.push(new Collected(name, help, type, collect));
  }
  render(): string {
    return this.metrics.map((m) => m.render()).join('\n') + '\n';
  }
  private readonly collectors: (() => void | Promise<void>)[] = [];
  /** Runs before each render by `collect()`: for figures read asynchronously or per label. */
  onCollect(fn: () => void | Promise<void>): void {
    this.collectors.push(fn);
  }
  /** Updates the collected figures; a failing collector leaves its figures as they were. */
  async collect(): Promise<void> {
    await Promise.allSettled(this.collectors.map(async (fn) => fn()));
  }
  histogram(name: string, help: string, buckets?: readonly number[]): Histogram {
    const m = new Histogram(name, help, buckets);
    this.metrics.push(m);
    return m;
  }
}

/** The server's own metrics, declared once. */
export function createServerMetrics(registry: MetricsRegistry) {
  const m = {
    httpRequests: registry.counter(
      'molesignal_http_requests_total',
      'HTTP requests by route template, method and status.',
    ),
    grpcRequests: registry.counter(
      'molesignal_grpc_requests_total',
      'gRPC calls by method (OTLP, Jaeger) and status code name.',
    ),
    ingestedRecords: registry.counter('molesignal_ingest_records_total', 'Records acknowledged, by signal.'),
    ingestedBytes: registry.counter(
      'molesignal_ingest_bytes_total',
      'Decoded request bytes acknowledged, by signal.',
    ),
    discarded: registry.counter('molesignal_discarded_total', 'Records or requests refused, by reason.'),
    walCorruptions: registry.counter(
      'molesignal_wal_corruptions_total',
      'Torn or corrupt WAL records found at start.',
    ),
    flushes: registry.counter('molesignal_flushes_total', 'Memtable flushes to Parquet.'),
    flushedRows: registry.counter('molesignal_flushed_rows_total', 'Rows written to Parquet by flushes.'),
    flushedBytes: registry.counter(
      'molesignal_flushed_bytes_total',
      'Bytes of Parquet files written by flushes, by signal.',
    ),
    flushedFiles: registry.counter(
      'molesignal_flushed_files_total',
      'Parquet files written by flushes, by signal.',
    ),
    flushDuration: registry.histogram(
      'molesignal_flush_duration_seconds',
      'Time to flush one memtable (Parquet files and catalog commit), by signal.',
    ),
    queryDuration: registry.histogram(
      'molesignal_query_duration_seconds',
      'Query requests by API (loki, prometheus, tempo, jaeger, zipkin, sql, …) and language, with their duration.',
    ),
    walFsyncDuration: registry.histogram(
      'molesignal_wal_fsync_duration_seconds',
      'Time of one WAL group fsync.',
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    ),
    queries: registry.counter('molesignal_queries_total', 'SQL queries, by outcome.'),
    idempotentReplays: registry.counter(
      'molesignal_idempotent_replays_total',
      'Requests acknowledged again for a known Idempotency-Key.',
    ),
    compactions: registry.counter(
      'molesignal_compactions_total',
      'Hour buckets merged by the compactor, by signal.',
    ),
    compactedFiles: registry.counter(
      'molesignal_compaction_input_files_total',
      'Parquet files merged away by the compactor, by signal.',
    ),
    compactedBytes: registry.counter(
      'molesignal_compaction_input_bytes_total',
      'Bytes of the Parquet files merged away by the compactor, by signal.',
    ),
    compactionOutputFiles: registry.counter(
      'molesignal_compaction_output_files_total',
      'Parquet files written by the compactor (merges and rewrites), by signal.',
    ),
    compactorDeletedObjects: registry.counter(
      'molesignal_compactor_deleted_objects_total',
      'Objects deleted from the store after their grace period (replaced or dropped files and their filters).',
    ),
    compactorCycles: registry.counter('molesignal_compactor_cycles_total', 'Compactor cycles, by outcome.'),
    compactorSeconds: registry.counter(
      'molesignal_compactor_cycle_seconds_total',
      'Time spent in compactor cycles, in seconds.',
    ),
    retentionDeletedRows: registry.counter(
      'molesignal_retention_deleted_rows_total',
      'Rows removed because they were older than their stream retention, by signal.',
    ),
    deleteRequestRows: registry.counter(
      'molesignal_delete_request_rows_total',
      'Rows removed by delete requests (`POST /api/{org}/_delete`), by signal.',
    ),
    rss: registry.gauge('molesignal_process_resident_memory_bytes', 'Resident set size.', () =>
      process.memoryUsage.rss(),
    ),
  };
  // Background work (the compactor's first cycle runs a second after start) exports its series
  // from the first scrape, at 0, so they never appear in the middle of a run.
  for (const outcome of ['ok', 'error']) m.compactorCycles.inc({ outcome }, 0);
  m.compactorSeconds.inc({}, 0);
  m.compactorDeletedObjects.inc({}, 0);
  for (const signal of ['logs', 'metrics', 'traces']) {
    for (const c of [m.compactions, m.compactedFiles, m.compactedBytes, m.compactionOutputFiles])
      c.inc({ signal }, 0);
    m.retentionDeletedRows.inc({ signal }, 0);
  }
  return m;
}
export type ServerMetrics = ReturnType<typeof createServerMetrics>;

/** Default histogram buckets for durations (seconds): 1 ms … 60 s. */
export const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** A Prometheus histogram: cumulative `_bucket{le}`, `_sum` and `_count` per label set. */
export class Histogram {
  private readonly series = new Map<
    string,
    { labels: LabelValues; counts: number[]; sum: number; count: number }
  >();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[] = DURATION_BUCKETS,
  ) {}
  observe(value: number, labels: LabelValues = {}): void {
    const key = JSON.stringify(labels);
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  count(labels: LabelValues = {}): number {
    return this.series.get(JSON.stringify(labels))?.count ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    const fmt = (labels: LabelValues) =>
      Object.entries(labels)
        .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
        .join(',');
    for (const s of this.series.values()) {
      const base = fmt(s.labels);
      const sep = base ? ',' : '';
      this.buckets.forEach((le, i) =>
        lines.push(`${this.name}_bucket{${base}${sep}le="${le}"} ${s.counts[i]}`),
      );
      lines.push(`${this.name}_bucket{${base}${sep}le="+Inf"} ${s.count}`);
      lines.push(`${this.name}_sum${base ? `{${base}}` : ''} ${s.sum}`);
      lines.push(`${this.name}_count${base ? `{${base}}` : ''} ${s.count}`);
    }
    return lines.join('\n');
  }
}
