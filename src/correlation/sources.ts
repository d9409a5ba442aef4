/**
 * What correlation reads, over the same components our query APIs use — the series registry and
 * PromQL engine, the exemplar store, the span reader and TraceQL search, the SQL executor — so an
 * item list is the answer of its returned query, run in-process.
 */
import type { ExemplarStore } from '../ingest/exemplar-store.ts';
import { badRequest } from '../lib/errors.ts';
import type { QuerySlots } from '../logql/api/query.ts';
import { rangeQuery } from '../promql/engine/index.ts';
import { METRIC_NAME } from '../promql/labels.ts';
import { parseExpr } from '../promql/parser/index.ts';
import type { QueryExecutor } from '../query/executor.ts';
import { MetricsQueryable, type MetricsStoreDeps } from '../query/metrics-store.ts';
import type { OrgId } from '../tenancy/org-id.ts';
import type { SpanReader, TimeBounds } from '../traces/span-reader.ts';
import type { Span } from '../traces/span.ts';
import { searchTraces } from '../traces/traceql/api.ts';
import { parseSearchRequest, SearchParamError } from '../traces/traceql/search-request.ts';
import type { BuiltQuery, LogStreamColumns } from './queries.ts';

export interface CorrelationDeps {
  metrics: MetricsStoreDeps;
  exemplars?: ExemplarStore;
  reader: SpanReader;
  slots: QuerySlots;
  executor: Pick<QueryExecutor, 'search'>;
  prom: { timeoutMs: number; maxSamples: number; lookbackDeltaMs: number };
}

export interface SeriesRef {
  id: number;
  labels: Record<string, string>;
}

export interface MetricItem {
  labels: Record<string, string>;
  value: number;
  /** of the last point, ns as a decimal string */
  timestamp: string;
}

export interface TraceItem {
  trace_id: string;
  root_service: string;
  root_name: string;
  /** ns since the epoch, a decimal string */
  start: string;
  duration_ms: number;
}

const NS_PER_MS = 1_000_000n;
const ms = (ns: bigint) => Number(ns / NS_PER_MS);

export class CorrelationSources {
  constructor(private readonly deps: CorrelationDeps) {}

  /** The series a PromQL series selector matches that have samples in the window. */
  async selectSeries(org: OrgId, selector: string, startNs: bigint, endNs: bigint): Promise<SeriesRef[]> {
    const e = parseExpr(selector);
    if (e.type !== 'VectorSelector')
      throw badRequest(
        `query must be a PromQL series selector such as http_requests_total{job="api"}, got ${JSON.stringify(selector.slice(0, 80))}`,
        'MS_ERR_CORRELATION_BAD_PARAM',
      );
    const reg = this.deps.metrics.registry;
    const active = await new MetricsQueryable(this.deps.metrics, org).seriesWithSamples(
      ms(startNs),
      ms(endNs),
    );
    return reg
      .select(org, e.matchers)
      .filter((id) => active.has(id))
      .map((id) => ({ id, labels: reg.labels(org, id)!.toRecord() }));
  }

  /** The `target_info` series of the given OTLP resources (`job` and `instance`): where host.name lives. */
  targetInfo(org: OrgId, series: readonly SeriesRef[]): Record<string, string>[] {
    const reg = this.deps.metrics.registry;
    const seen = new Set<number>();
    const out: Record<string, string>[] = [];
    for (const s of series) {
      const job = s.labels.job;
      if (!job || s.labels[METRIC_NAME] === 'target_info') continue;
      const matchers = [
        { name: METRIC_NAME, type: '=' as const, value: 'target_info' },
        { name: 'job', type: '=' as const, value: job },
        ...(s.labels.instance ? [{ name: 'instance', type: '=' as const, value: s.labels.instance }] : []),
      ];
      for (const id of reg.select(org, matchers))
        if (!seen.has(id)) {
          seen.add(id);
          out.push(reg.labels(org, id)!.toRecord());
        }
    }
    return out;
  }

  /** Trace ids of the series' exemplars in the window, newest first, at most `limit`. */
  exemplarTraceIds(
    org: OrgId,
    series: readonly SeriesRef[],
    startNs: bigint,
    endNs: bigint,
    limit: number,
  ): string[] {
    if (!this.deps.exemplars) return [];
    const found = this.deps.exemplars.select(org, new Set(series.map((s) => s.id)), ms(startNs), ms(endNs));
    const all = [...found.values()].flat().sort((a, b) => b.timestampMs - a.timestampMs);
    const ids: string[] = [];
    for (const e of all) {
      const id = e.labels.get('trace_id') || e.labels.get('traceID');
      if (id && /^[0-9a-fA-F]{1,32}$/.test(id)) {
        const norm = id.toLowerCase().padStart(32, '0');
        if (!ids.includes(norm)) ids.push(norm);
      }
      if (ids.length >= limit) break;
    }
    return ids;
  }

  /** Runs a PromQL range query as `/api/v1/query_range` would; each series' last point, newest first. */
  async metricItems(org: OrgId, q: BuiltQuery, limit: number): Promise<MetricItem[]> {
    const p = q.params;
    const stepMs = Number(p.step!.replace(/s$/, '')) * 1000;
    const r = await rangeQuery(
      new MetricsQueryable(this.deps.metrics, org),
      parseExpr(q.query),
      Number(p.start) * 1000,
      Number(p.end) * 1000,
      stepMs,
      this.deps.prom,
    );
    if (r.value.type !== 'matrix') return [];
    const items: MetricItem[] = [];
    for (const s of r.value.series) {
      const last = s.points[s.points.length - 1];
      if (last)
        items.push({
          labels: s.metric.toRecord(),
          value: last.v,
          timestamp: (BigInt(last.t) * NS_PER_MS).toString(),
        });
    }
    items.sort((a, b) =>
      BigInt(b.timestamp) > BigInt(a.timestamp) ? 1 : BigInt(b.timestamp) < BigInt(a.timestamp) ? -1 : 0,
    );
    return items.slice(0, limit);
  }

  readTrace(org: OrgId, traceId: string, bounds: TimeBounds): Promise<Span[]> {
    return this.deps.reader.readTrace(org, traceId, bounds);
  }

  /** Runs a TraceQL search as `/api/search` would; newest first. */
  async traceItems(org: OrgId, q: BuiltQuery): Promise<TraceItem[]> {
    let req;
    try {
      req = parseSearchRequest(new URLSearchParams({ q: q.query, ...q.params }));
    } catch (e) {
      if (e instanceof SearchParamError) throw badRequest(e.message, 'MS_ERR_CORRELATION_BAD_PARAM');
      throw e;
    }
    const { found } = await searchTraces(this.deps, org, req);
    return found
      .map((t) => ({
        // Tempo's search trims leading zeros off trace ids; our ids are 32 hex digits everywhere
        trace_id: t.traceID.padStart(32, '0'),
        root_service: t.rootServiceName,
        root_name: t.rootTraceName ?? '',
        start: t.startTimeUnixNano,
        duration_ms: t.durationMs ?? 0,
      }))
      .sort((a, b) => (BigInt(b.start) > BigInt(a.start) ? 1 : BigInt(b.start) < BigInt(a.start) ? -1 : 0));
  }

  /** The org's logs streams and their columns. */
  logStreams(org: OrgId): LogStreamColumns[] {
    return this.deps.metrics.streams
      .list(org)
      .filter((s) => s.type === 'logs')
      .map((s) => ({ name: s.name, columns: new Set(s.schema.columns.map((c) => c.name)) }));
  }

  /** Rows of a SQL query as `POST /api/{org}/_search` runs it, as records. */
  async sqlRows(org: OrgId, sql: string, startNs: bigint | null, endNs: bigint | null, size: number) {
    const r = await this.deps.executor.search(org, { sql, startNs, endNs, from: 0, size });
    return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c.name, row[i]])));
  }
}
