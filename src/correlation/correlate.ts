/**
 * One correlation hop: resolve the selection of the `from` kind to its keys (trace ids,
 * service.name, host.name, k8s.pod.name, a time window), build the `to` kind's ready-to-run
 * queries from those keys, and run them in-process for the items.
 *
 * Invariant: the items are the answer of the returned queries (the same engines run them), so a
 * client that runs `queries.*` with `params.*` through our APIs sees the same things.
 * Hops: metric → trace uses the series' exemplars in the window when there are any, else the
 * series' services; every other hop goes through the keys (docs/correlation.md).
 */
import { labelOfColumn } from '../logql/engine/labels-mapping.ts';
import type { OrgId } from '../tenancy/org-id.ts';
import type { Span } from '../traces/span.ts';
import {
  addUnique,
  emptyKeys,
  keysJson,
  keysOfLogRow,
  keysOfResource,
  keysOfSeries,
  type KeyName,
  type Keys,
} from './keys.ts';
import { logQL, logSQL, promQL, traceQL, type BuiltQuery } from './queries.ts';
import type { CorrelationRequest, Kind } from './request.ts';
import type { CorrelationSources, SeriesRef } from './sources.ts';

/** how far around a trace or a log row a hop looks when the request names no window */
export const AROUND_NS = 5n * 60n * 1_000_000_000n;

export interface LogItem {
  /** ns since the epoch, a decimal string */
  timestamp: string;
  stream: string;
  body: string;
  /** the row's LogQL labels: stream labels and structured metadata */
  labels: Record<string, string>;
}

export interface CorrelationAnswer {
  /** 200, or 404 when the selection itself matches nothing */
  status: number;
  body: {
    from: Record<string, unknown>;
    keys: Record<string, unknown>;
    queries: Record<string, string>;
    params: Record<string, Record<string, string>>;
    items: unknown[];
    error?: string;
  };
}

interface Resolved {
  from: Record<string, unknown>;
  keys: Keys;
  /** metric selections: the exemplars' trace ids (metric → trace only) */
  exemplarTraceIds: string[];
  /** why nothing was found, when nothing was */
  missing?: string;
}

const str = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return v.toString();
  return typeof v === 'string' ? v : JSON.stringify(v);
};

export function logItem(row: Readonly<Record<string, unknown>>, stream: string): LogItem {
  const labels: Record<string, string> = {};
  for (const [column, value] of Object.entries(row)) {
    const l = labelOfColumn(column);
    const v = str(value);
    if (l && v !== '' && v !== l.unset && labels[l.label] === undefined) labels[l.label] = v;
  }
  return { timestamp: str(row._timestamp), stream, body: str(row.body), labels };
}

function traceSummary(traceId: string, spans: readonly Span[]) {
  const root = spans.find((s) => s.parentSpanId === '') ?? spans[0]!;
  let start = spans[0]!.startNs;
  let end = spans[0]!.endNs;
  for (const s of spans) {
    if (s.startNs < start) start = s.startNs;
    if (s.endNs > end) end = s.endNs;
  }
  const service = root.resource.find((a) => a.key === 'service.name');
  return {
    startNs: start,
    endNs: end,
    json: {
      trace_id: traceId,
      root_service: service ? String(service.value) : '',
      root_name: root.name,
      start: start.toString(),
      duration_ms: Number((end - start) / 1_000_000n),
    },
  };
}

async function resolveFrom(src: CorrelationSources, org: OrgId, req: CorrelationRequest): Promise<Resolved> {
  const sel = req.selection;
  const keys = emptyKeys(req.startNs, req.endNs);
  const around = (startNs: bigint, endNs: bigint) => {
    if (req.explicitWindow) return;
    keys.startNs = startNs - AROUND_NS;
    keys.endNs = endNs + AROUND_NS;
  };
  switch (sel.by) {
    case 'service':
      keys.services.push(sel.service);
      return { from: { kind: req.from, service: sel.service }, keys, exemplarTraceIds: [] };
    case 'host':
      keys.hosts.push(sel.host);
      return { from: { kind: req.from, 'host.name': sel.host }, keys, exemplarTraceIds: [] };
    case 'query': {
      const series: SeriesRef[] = await src.selectSeries(org, sel.query, req.startNs, req.endNs);
      for (const s of series) keysOfSeries(s.labels, keys);
      // OTLP metrics keep host.name and k8s.pod.name on their resource's target_info
      if (keys.hosts.length === 0 && keys.pods.length === 0)
        for (const t of src.targetInfo(org, series)) {
          addUnique(keys.hosts, t.host_name);
          addUnique(keys.pods, t.k8s_pod_name);
        }
      const from = {
        kind: 'metric',
        query: sel.query,
        series: series.slice(0, req.limit).map((s) => s.labels),
      };
      if (series.length === 0)
        return { from, keys, exemplarTraceIds: [], missing: 'no series matches the query in the window' };
      const exemplarTraceIds =
        req.to === 'trace' ? src.exemplarTraceIds(org, series, req.startNs, req.endNs, req.limit) : [];
      return { from, keys, exemplarTraceIds };
    }
    case 'trace_id': {
      const spans = await src.readTrace(
        org,
        sel.traceId,
        req.explicitWindow ? { startNs: req.startNs - AROUND_NS, endNs: req.endNs } : {},
      );
      if (spans.length === 0)
        return {
          from: { kind: 'trace', trace_id: sel.traceId },
          keys,
          exemplarTraceIds: [],
          missing: `trace ${sel.traceId} not found`,
        };
      const t = traceSummary(sel.traceId, spans);
      keys.traceIds.push(sel.traceId);
      for (const s of spans) keysOfResource(s.resource, keys);
      around(t.startNs, t.endNs);
      return {
        from: { kind: 'trace', ...t.json, 'service.name': keys.services, 'host.name': keys.hosts },
        keys,
        exemplarTraceIds: [],
      };
    }
    case 'log_row': {
      const from = { kind: 'log', stream: sel.stream, timestamp: sel.timestampNs.toString() };
      const missing = {
        from,
        keys,
        exemplarTraceIds: [],
        missing: `no log row at that timestamp in stream ${sel.stream}`,
      };
      if (!src.logStreams(org).some((s) => s.name === sel.stream)) return missing;
      // a timestamp several rows share (SDKs stamp logs in ms) selects them all
      const rows = await src.sqlRows(
        org,
        `SELECT * FROM logs."${sel.stream}" WHERE _timestamp = ${sel.timestampNs} LIMIT ${req.limit}`,
        sel.timestampNs,
        sel.timestampNs + 1n,
        req.limit,
      );
      const row = rows[0];
      if (!row) return missing;
      for (const r of rows) keysOfLogRow(r, keys);
      around(sel.timestampNs, sel.timestampNs);
      return {
        from: { kind: 'log', ...logItem(row, sel.stream), ...(rows.length > 1 ? { rows: rows.length } : {}) },
        keys,
        exemplarTraceIds: [],
      };
    }
  }
}

/** Builds the `to` kind's queries from the keys and runs them. */
async function relate(
  src: CorrelationSources,
  org: OrgId,
  to: Kind,
  r: Resolved,
  limit: number,
): Promise<{ queries: Record<string, BuiltQuery>; items: unknown[]; used: Set<KeyName> }> {
  const queries: Record<string, BuiltQuery> = {};
  const used = new Set<KeyName>();
  const keys = r.keys;
  let items: unknown[] = [];
  switch (to) {
    case 'trace': {
      const viaExemplars = r.exemplarTraceIds.length > 0;
      const q = traceQL(viaExemplars ? { ...keys, traceIds: r.exemplarTraceIds } : keys, limit);
      if (q) {
        queries.traceql = q;
        items = (await src.traceItems(org, q)).slice(0, limit);
        if (viaExemplars) keys.traceIds = r.exemplarTraceIds;
      }
      break;
    }
    case 'log': {
      const lq = logQL(keys, limit);
      if (lq) queries.logql = lq;
      const sq = logSQL(keys, src.logStreams(org), limit);
      if (sq) {
        queries.sql = sq;
        const rows = await src.sqlRows(org, sq.query, keys.startNs, keys.endNs, limit);
        items = rows.map((row) => {
          const { _stream, ...rest } = row;
          return logItem(rest, str(_stream));
        });
      }
      break;
    }
    case 'metric': {
      const q = promQL(keys);
      if (q) {
        queries.promql = q;
        items = await src.metricItems(org, q, limit);
      }
      break;
    }
    case 'host': {
      const hostKeys = { ...keys, traceIds: [], services: [] };
      items = [
        ...keys.hosts.map((h) => ({ 'host.name': h })),
        ...keys.pods.map((p) => ({ 'k8s.pod.name': p })),
      ].slice(0, limit);
      if (keys.hosts.length > 0) used.add('host.name');
      if (keys.pods.length > 0) used.add('k8s.pod.name');
      const pq = promQL(hostKeys);
      if (pq) queries.promql = pq;
      const lq = logQL(hostKeys, limit);
      if (lq) queries.logql = lq;
      const tq = traceQL(hostKeys, limit);
      if (tq) queries.traceql = tq;
      break;
    }
  }
  for (const q of Object.values(queries)) for (const k of q.used) used.add(k);
  return { queries, items, used };
}

export async function correlate(
  src: CorrelationSources,
  org: OrgId,
  req: CorrelationRequest,
): Promise<CorrelationAnswer> {
  const r = await resolveFrom(src, org, req);
  if (r.missing !== undefined)
    return {
      status: 404,
      body: { from: r.from, keys: {}, queries: {}, params: {}, items: [], error: r.missing },
    };
  const { queries, items, used } = await relate(src, org, req.to, r, req.limit);
  return {
    status: 200,
    body: {
      from: r.from,
      keys: keysJson(r.keys, used),
      queries: Object.fromEntries(Object.entries(queries).map(([k, q]) => [k, q.query])),
      params: Object.fromEntries(Object.entries(queries).map(([k, q]) => [k, q.params])),
      items,
    },
  };
}
