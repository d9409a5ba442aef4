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

export class MetricsRegistry {
  private readonly metrics: Metric[] = [];
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
  render(): string {
    return this.metrics.map((m) => m.render()).join('\n') + '\n';
  }
}

/** The server's own metrics, declared once. */
export function createServerMetrics(registry: MetricsRegistry) {
  return {
    httpRequests: registry.counter(
      'molesignal_http_requests_total',
      'HTTP requests by route template, method and status.',
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
}
export type ServerMetrics = ReturnType<typeof createServerMetrics>;
