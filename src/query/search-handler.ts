/**
 * `POST /api/{org}/_search` with `{sql, start_time, end_time, from, size}` → `{hits, total, took,
 * stats}`; `?format=csv` and `?format=arrow` (Arrow IPC stream) too. Times are RFC 3339 or Unix ns.
 * Optional: `contains` (full-text restriction of log streams), `histogram: {interval}` and
 * `facets: [field, …]` with `facet_size` (JSON answers only; docs/sql.md).
 */
import { badRequest } from '../lib/errors.ts';
import { parseTimeNs } from '../lib/time.ts';
import type { RequestContext } from '../server/router.ts';
import { sendJson } from '../server/http-server.ts';
import { readJsonBody } from '../server/json-body.ts';
import type { QueryExecutor, SearchRequest } from './executor.ts';
import type { AggregationRequest } from './search-aggregations.ts';
import { parseDurationMs } from '../promql/parser/durations.ts';
import { toArrowIpc, toCsv, toHits } from './result-format.ts';

function timeField(body: Record<string, unknown>, name: string): bigint | null {
  const v = body[name];
  if (v === undefined || v === null || v === '') return null;
  const ns = parseTimeNs(v);
  if (ns === null)
    throw badRequest(
      `${name} must be an RFC 3339 time or Unix nanoseconds, got ${JSON.stringify(v).slice(0, 60)}`,
    );
  return ns;
}

function intField(body: Record<string, unknown>, name: string, dflt: number, max: number): number {
  const v = body[name];
  if (v === undefined || v === null) return dflt;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max)
    throw badRequest(`${name} must be an integer from 0 to ${max}`);
  return n;
}

export function parseSearchRequest(
  raw: Record<string, unknown>,
  limits: { defaultSize: number; maxSize: number },
): SearchRequest {
  const body =
    raw.query && typeof raw.query === 'object' ? { ...raw, ...(raw.query as Record<string, unknown>) } : raw;
  const sql = body.sql;
  if (typeof sql !== 'string' || sql.trim() === '')
    throw badRequest('"sql" is required: a SELECT over your streams, e.g. SELECT * FROM logs.default');
  const startNs = timeField(body, 'start_time');
  const endNs = timeField(body, 'end_time');
  if (startNs !== null && endNs !== null && endNs <= startNs)
    throw badRequest('end_time must be after start_time');
  return {
    sql,
    startNs,
    endNs,
    from: intField(body, 'from', 0, 1_000_000_000),
    size: intField(body, 'size', limits.defaultSize, limits.maxSize),
    ...containsField(body),
    aggregations: {
      ...histogramField(body),
      ...facetsField(body),
    },
  };
}

const MAX_CONTAINS = 16;
const MAX_FACETS = 20;

/** `contains`: a string or a list of strings that every matching log body contains. */
function containsField(body: Record<string, unknown>): { contains?: string[] } {
  const v = body.contains;
  if (v === undefined || v === null) return {};
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length > MAX_CONTAINS || list.some((x) => typeof x !== 'string' || x.length > 1024))
    throw badRequest(`contains must be a string or a list of at most ${MAX_CONTAINS} strings of at most 1024 characters`);
  return { contains: list as string[] };
}

/** `histogram: {interval: "1m"}` (a Prometheus-style duration). */
function histogramField(body: Record<string, unknown>): AggregationRequest {
  const h = body.histogram;
  if (h === undefined || h === null) return {};
  const interval = typeof h === 'object' && !Array.isArray(h) ? (h as Record<string, unknown>).interval : undefined;
  if (typeof interval !== 'string')
    throw badRequest('histogram must be an object with an interval, e.g. {"interval": "1m"}');
  let intervalMs: number;
  try {
    intervalMs = parseDurationMs(interval);
  } catch {
    intervalMs = 0;
  }
  if (intervalMs <= 0)
    throw badRequest(`histogram.interval must be a positive duration such as "30s", "1m" or "1h", got ${JSON.stringify(interval.slice(0, 40))}`);
  return { histogram: { interval, intervalMs } };
}

/** `facets: ["level", "resource.service.name"]`, `facet_size` (default 10). */
function facetsField(body: Record<string, unknown>): AggregationRequest {
  const f = body.facets;
  if (f === undefined || f === null) return {};
  if (!Array.isArray(f) || f.length === 0 || f.length > MAX_FACETS || f.some((x) => typeof x !== 'string' || x === ''))
    throw badRequest(`facets must be a list of 1 to ${MAX_FACETS} column names of the SQL's result`);
  return { facets: { fields: f as string[], size: intField(body, 'facet_size', 10, 1000) } };
}

export function searchHandler(deps: {
  executor: QueryExecutor;
  limits: { defaultSize: number; maxSize: number };
}) {
  return async (ctx: RequestContext): Promise<void> => {
    const format = ctx.query.get('format') ?? 'json';
    if (!['json', 'csv', 'arrow'].includes(format))
      throw badRequest(`format must be json, csv or arrow, got ${JSON.stringify(format.slice(0, 20))}`);
    const req = parseSearchRequest(await readJsonBody(ctx.req), deps.limits);
    const result = await deps.executor.search(ctx.org!.id, req);
    if (format === 'csv') {
      const text = toCsv(result);
      ctx.res.writeHead(200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-length': Buffer.byteLength(text),
      });
      ctx.res.end(text);
    } else if (format === 'arrow') {
      const bytes = toArrowIpc(result);
      ctx.res.writeHead(200, {
        'content-type': 'application/vnd.apache.arrow.stream',
        'content-length': bytes.length,
      });
      ctx.res.end(bytes);
    } else {
      sendJson(ctx.res, 200, {
        hits: toHits(result),
        total: result.total,
        took: result.tookMs,
        columns: result.columns,
        stats: result.stats,
        ...(result.histogram ? { histogram: result.histogram } : {}),
        ...(result.facets ? { facets: result.facets } : {}),
      });
    }
  };
}
