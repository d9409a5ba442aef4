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
    rss: registry.gauge('molesignal_process_resident_memory_bytes', 'Resident set size.', () =>
      process.memoryUsage.rss(),
    ),
  };
}
export type ServerMetrics = ReturnType<typeof createServerMetrics>;
