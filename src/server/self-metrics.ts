/**
 * Self-monitoring: the figures of `/metrics` that are read from components when it is scraped
 * (memtables, WAL, memory, DuckDB), the query API labels, and who may read `/metrics` when
 * `auth.protectMetrics` is on. Every label value comes from a fixed set (signal types, route
 * templates mapped below), never from request input, so requests cannot add series.
 */
import type { Principal } from '../auth/principal.ts';
import type { MetricsRegistry, ServerMetrics } from '../lib/metrics.ts';
import type { EnginePool } from '../memtable/org-engine.ts';
import { forbidden } from '../tenancy/org-resolver.ts';
import type { WalStats } from '../wal/wal.ts';
import type { StreamRegistry } from '../write/streams.ts';
import type { WritePath } from '../write/write-path.ts';
import type { RequestContext } from './router.ts';

const SIGNALS = ['logs', 'metrics', 'traces'] as const;

/** The API and query language of a query route template (labels of the query metrics). */
export function queryLabels(template: string): { api: string; language: string } {
  const t = template.replace(/^\/api\/:org(?=\/)/, '');
  if (t === '/_search') return { api: 'sql', language: 'sql' };
  if (/^\/loki\/api\/v1\/query(_range)?$/.test(t)) return { api: 'loki', language: 'logql' };
  if (t.includes('/tail')) return { api: 'loki', language: 'logql_tail' };
  if (t.startsWith('/loki/')) return { api: 'loki', language: 'metadata' };
  if (/^(\/prometheus)?\/api\/v1\/query(_range)?$/.test(t)) return { api: 'prometheus', language: 'promql' };
  if (/^(\/prometheus)?\/api\/v1\/query_exemplars$/.test(t)) return { api: 'prometheus', language: 'promql' };
  if (t === '/api/v1/export') return { api: 'victoriametrics', language: 'export' };
  if (/^(\/prometheus)?\/api\/v1\//.test(t)) return { api: 'prometheus', language: 'metadata' };
  if (t.startsWith('/jaeger/')) return { api: 'jaeger', language: 'lookup' };
  if (t.startsWith('/zipkin/') || t.startsWith('/api/v2/')) return { api: 'zipkin', language: 'lookup' };
  if (/^(\/tempo)?\/api\/search$/.test(t)) return { api: 'tempo', language: 'traceql' };
  if (t.startsWith('/tempo/') || t.startsWith('/api/')) return { api: 'tempo', language: 'lookup' };
  if (t.includes('/correlation/')) return { api: 'correlation', language: 'lookup' };
  if (t.startsWith('/streams')) return { api: 'streams', language: 'metadata' };
  return { api: 'other', language: 'none' };
}

export interface SelfMetricsDeps {
  registry: MetricsRegistry;
  metrics: ServerMetrics;
  writePath: WritePath;
  streams: StreamRegistry;
  engines: EnginePool;
  walStats: () => WalStats;
  refuseAboveBytes: number;
  maxTotalBytes: number;
  budgetBytes: number;
}

/** Registers the scraped-time figures. */
export function registerSelfMetrics(d: SelfMetricsDeps): void {
  const { registry } = d;
  const memBytes = registry.gauge(
    'molesignal_memtable_bytes',
    'Ingested bytes held in memtables (active and being flushed), by signal.',
  );
  const memRows = registry.gauge('molesignal_memtable_rows', 'Rows held in memtables, by signal.');
  registry.gauge(
    'molesignal_memtable_total_bytes',
    'Ingested bytes held in all memtables plus requests accepted but not yet applied: what backpressure compares with its limit.',
    () => d.writePath.memtableBytes() + d.writePath.reservedBytes(),
  );
  registry.gauge(
    'molesignal_memtable_refuse_above_bytes',
    'Backpressure limit (memtable.refuseAboveBytes): ingest is refused with 429 before the total would pass it.',
    () => d.refuseAboveBytes,
  );
  registry.gauge(
    'molesignal_memtable_flush_above_bytes',
    'Memory-pressure flush threshold (memtable.maxTotalBytes).',
    () => d.maxTotalBytes,
  );
  registry.counter(
    'molesignal_memtable_refusals_total',
    'Ingest requests refused because memtables were at their budget (429).',
    () => d.metrics.discarded.value({ reason: 'backpressure' }),
  );
  registry.gauge(
    'molesignal_memory_budget_bytes',
    'The configured memory budget of the process (memory.budgetBytes; 0 = unset).',
    () => d.budgetBytes,
  );
  registry.onCollect(() => {
    const bytes: Record<string, number> = { logs: 0, metrics: 0, traces: 0 };
    const rows: Record<string, number> = { logs: 0, metrics: 0, traces: 0 };
    for (const s of d.streams.list(null)) {
      for (const t of [s.mem.active, ...s.mem.frozen]) {
        if (t.dropWhenUnused) continue;
        bytes[s.type] = (bytes[s.type] ?? 0) + t.bytes;
        rows[s.type] = (rows[s.type] ?? 0) + t.rows;
      }
    }
    for (const signal of SIGNALS) {
      memBytes.set(bytes[signal] ?? 0, { signal });
      memRows.set(rows[signal] ?? 0, { signal });
    }
  });

  registry.counter('molesignal_wal_appends_total', 'WAL records acknowledged.', () => d.walStats().appends);
  registry.counter(
    'molesignal_wal_appended_bytes_total',
    'Bytes written to the WAL (records with their frames).',
    () => d.walStats().appendedBytes,
  );
  registry.counter('molesignal_wal_fsyncs_total', 'WAL group fsyncs.', () => d.walStats().fsyncs);
  registry.gauge('molesignal_wal_segments', 'WAL segment files on disk.', () => d.walStats().segments);
  registry.gauge(
    'molesignal_wal_disk_bytes',
    'Bytes of WAL segment files on disk.',
    () => d.walStats().bytes,
  );

  const heap = registry.gauge(
    'molesignal_process_heap_bytes',
    'Node.js heap, by kind (used, total, external, array_buffers).',
  );
  const duck = registry.gauge(
    'molesignal_duckdb_memory_bytes',
    'Memory DuckDB reports in use (duckdb_memory()), all org instances together.',
  );
  registry.gauge(
    'molesignal_duckdb_instances',
    'DuckDB instances (one per org that was used since start).',
    () => engineCount,
  );
  let engineCount = 0;
  registry.onCollect(async () => {
    const m = process.memoryUsage();
    heap.set(m.heapUsed, { kind: 'used' });
    heap.set(m.heapTotal, { kind: 'total' });
    heap.set(m.external, { kind: 'external' });
    heap.set(m.arrayBuffers, { kind: 'array_buffers' });
    const engines = await d.engines.started();
    engineCount = engines.length;
    let total = 0;
    for (const e of engines) {
      const conn = await e.connect();
      try {
        const r = await conn.runAndReadAll(
          'SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT FROM duckdb_memory()',
        );
        total += Number(r.getRows()[0]?.[0] ?? 0);
      } finally {
        conn.closeSync();
      }
    }
    duck.set(total);
  });
}

/**
 * May this credential read `/metrics` when `auth.protectMetrics` is on? The root user, a user who
 * is admin of some org, or an API key with the `metrics` (or `admin`) scope: the figures are
 * server-wide (no org names in them), so reading them is an operator's right.
 */
export function mayReadMetrics(principal: Principal): boolean {
  if (principal.kind === 'key') return principal.key.scopes.some((s) => s === 'metrics' || s === 'admin');
  if (principal.user.isRoot) return true;
  for (const role of principal.roles.values()) if (role === 'admin') return true;
  return false;
}

/** GET /metrics: the Prometheus text format. */
export function metricsHandler(registry: MetricsRegistry, protect: boolean) {
  return async (ctx: RequestContext): Promise<void> => {
    if (protect && (!ctx.principal || !mayReadMetrics(ctx.principal)))
      throw forbidden(
        '/metrics is protected (auth.protectMetrics): use the root user, an org admin, or an API key with the "metrics" scope',
      );
    await registry.collect();
    const text = registry.render();
    ctx.res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    ctx.res.end(text);
  };
}
