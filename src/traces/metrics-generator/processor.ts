/**
 * One org's metrics generator: span metrics (RED per service, span name, kind and status) and
 * service graph edges, with Tempo's metric names and labels so Grafana's Tempo data source
 * (service graph, RED panels) reads them from our Prometheus API unchanged.
 * https://grafana.com/docs/tempo/latest/metrics-from-traces/span-metrics/
 */
import {
  EdgeStore,
  SPAN_KIND_CLIENT,
  SPAN_KIND_CONSUMER,
  SPAN_KIND_PRODUCER,
  SPAN_KIND_SERVER,
  STATUS_CODE_ERROR,
  type Edge,
} from './service-graph.ts';
import { SeriesState, type SeriesLabels, type SnapshotSeries } from './series-state.ts';
import type { SpanColumns } from './span-columns.ts';

export interface GeneratorConfig {
  /** span metrics latency buckets, seconds (Tempo: 0.002 × 2^n, 14 buckets) */
  latencyBuckets: readonly number[];
  /** service graph histogram buckets, seconds (Tempo: 0.1 × 2^n, 8 buckets) */
  serviceGraphBuckets: readonly number[];
  /** extra span (else resource) attributes as labels, named with `.` → `_` */
  dimensions: readonly string[];
  /** how long an unpaired edge half waits for its other half */
  serviceGraphWaitMs: number;
  serviceGraphMaxItems: number;
}

export const TEMPO_LATENCY_BUCKETS = Array.from({ length: 14 }, (_, i) => 0.002 * 2 ** i).map(round);
export const TEMPO_SERVICE_GRAPH_BUCKETS = Array.from({ length: 8 }, (_, i) => 0.1 * 2 ** i).map(round);
function round(x: number): number {
  return Number(x.toPrecision(12));
}

export const CALLS = 'traces_spanmetrics_calls_total';
export const LATENCY = 'traces_spanmetrics_latency';
export const GRAPH_REQUESTS = 'traces_service_graph_request_total';
export const GRAPH_FAILED = 'traces_service_graph_request_failed_total';
export const GRAPH_SERVER_SECONDS = 'traces_service_graph_request_server_seconds';
export const GRAPH_CLIENT_SECONDS = 'traces_service_graph_request_client_seconds';
export const GRAPH_UNPAIRED = 'traces_service_graph_unpaired_spans_total';
export const HISTOGRAMS: ReadonlySet<string> = new Set([LATENCY, GRAPH_SERVER_SECONDS, GRAPH_CLIENT_SECONDS]);
export const GENERATED_PREFIXES = ['traces_spanmetrics_', 'traces_service_graph_'];

const KIND_NAMES = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
];
const STATUS_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];
const PEER_ATTRIBUTES = ['peer.service', 'db.name', 'db.system'];

/** A Prometheus label name from an attribute key (`http.method` → `http_method`). */
export const labelNameOf = (key: string): string => {
  const s = key.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
};

export class MetricsGenerator {
  /** the span metrics histogram's buckets differ from the service graph's: two states */
  private readonly spans: SeriesState;
  private readonly graph: SeriesState;
  private readonly edges: EdgeStore;
  private readonly dimensionLabels: string[];

  constructor(private readonly config: GeneratorConfig) {
    this.spans = new SeriesState(config.latencyBuckets);
    this.graph = new SeriesState(config.serviceGraphBuckets);
    this.edges = new EdgeStore(config.serviceGraphWaitMs, config.serviceGraphMaxItems);
    this.dimensionLabels = config.dimensions.map(labelNameOf);
  }

  get pendingEdges(): number {
    return this.edges.size;
  }

  consume(s: SpanColumns, nowMs: number): void {
    const dims = this.config.dimensions.map((d) => s.attribute(d));
    const peers = PEER_ATTRIBUTES.map((d) => s.attribute(d));
    const names = ['service', 'span_name', 'span_kind', 'status_code', ...this.dimensionLabels];
    for (let i = 0; i < s.rowCount; i++) {
      const service = s.service(i);
      const kind = s.kind(i);
      const status = s.statusCode(i);
      const seconds = s.durationNs(i) / 1e9;
      const traceId = s.traceId(i);
      const labels: SeriesLabels = {
        names,
        values: [
          service,
          s.name(i),
          KIND_NAMES[kind] ?? KIND_NAMES[0]!,
          STATUS_NAMES[status] ?? STATUS_NAMES[0]!,
          ...dims.map((d) => d(i)),
        ],
      };
      this.spans.addCounter(CALLS, labels, 1, nowMs);
      const exemplar = { traceId, spanId: s.spanId(i), value: seconds, timestampMs: s.endMs(i) || nowMs };
      this.spans.observe(LATENCY, labels, seconds, nowMs, exemplar);

      const failed = status === STATUS_CODE_ERROR;
      const half = { service, durationSeconds: seconds, failed, traceId };
      let edge: Edge | null = null;
      if (kind === SPAN_KIND_CLIENT || kind === SPAN_KIND_PRODUCER) {
        const peer = peers.map((p) => p(i)).find((v) => v !== '') ?? '';
        edge = this.edges.add(
          `${traceId}/${s.spanId(i)}`,
          'client',
          { ...half, peer },
          kind === SPAN_KIND_PRODUCER,
          nowMs,
        );
      } else if (kind === SPAN_KIND_SERVER || kind === SPAN_KIND_CONSUMER) {
        const parent = s.parentSpanId(i);
        const root = parent === '' || /^0+$/.test(parent);
        edge = this.edges.add(
          `${traceId}/${parent}`,
          'server',
          { ...half, root },
          kind === SPAN_KIND_CONSUMER,
          nowMs,
        );
      }
      if (edge) this.recordEdge(edge, nowMs);
    }
  }

  private recordEdge(e: Edge, nowMs: number): void {
    const labels: SeriesLabels = {
      names: ['client', 'server', 'connection_type'],
      values: [e.client, e.server, e.connectionType],
    };
    this.graph.addCounter(GRAPH_REQUESTS, labels, 1, nowMs);
    if (e.failed) this.graph.addCounter(GRAPH_FAILED, labels, 1, nowMs);
    const ex = { traceId: e.traceId, spanId: '', timestampMs: nowMs };
    if (e.serverSeconds !== undefined)
      this.graph.observe(GRAPH_SERVER_SECONDS, labels, e.serverSeconds, nowMs, {
        ...ex,
        value: e.serverSeconds,
      });
    if (e.clientSeconds !== undefined)
      this.graph.observe(GRAPH_CLIENT_SECONDS, labels, e.clientSeconds, nowMs, {
        ...ex,
        value: e.clientSeconds,
      });
  }

  /** A written snapshot sample, seen again at WAL replay: the state of its series. */
  restore(labels: readonly { name: string; value: string }[], value: number, nowMs: number): void {
    const metric = labels.find((l) => l.name === '__name__')?.value ?? '';
    const state = metric.startsWith('traces_service_graph_') ? this.graph : this.spans;
    state.restore(HISTOGRAMS, labels, value, nowMs);
  }

  /** Expires waiting edge halves, drops series idle past `staleMs`, returns every series's value. */
  collect(nowMs: number, staleMs: number): SnapshotSeries[] {
    const { edges, unpaired } = this.edges.expire(nowMs);
    for (const e of edges) this.recordEdge(e, nowMs);
    for (const u of unpaired)
      this.graph.addCounter(GRAPH_UNPAIRED, { names: [u.side], values: [u.service] }, 1, nowMs);
    this.spans.dropStale(nowMs - staleMs);
    this.graph.dropStale(nowMs - staleMs);
    return [...this.spans.snapshot(), ...this.graph.snapshot()];
  }
}
