/**
 * The Jaeger query API (under `/jaeger`, for Grafana's Jaeger data source) and the Zipkin v2 query
 * API, over the same span reader. Jaeger answers `{data, total, limit, offset, errors}` with times
 * in µs, typed tags, `references` and a `processes` map (`p1`…); Zipkin answers its v2 JSON span
 * shape. Span kind, status and scope come back as the tags the OpenTelemetry Jaeger and Zipkin
 * exporters write (`span.kind`, `otel.status_code`, `error`, `otel.scope.name`).
 */
import type { Logger } from '../../lib/logger.ts';
import { badRequest } from '../../lib/errors.ts';
import { sendJson } from '../../logql/api/params.ts';
import type { QuerySlots } from '../../logql/api/query.ts';
import { quoteIdent } from '../../memtable/memtable.ts';
import type { RequestContext } from '../../server/router.ts';
import { levelKey, type SpanReader, type SpanStreamView, type TraceSpans } from '../span-reader.ts';
import type { Attr, Span } from '../span.ts';
import { OVERFLOW_COLUMN } from '../../write/stream-schema.ts';
import type { OrgId } from '../../tenancy/org-id.ts';
import { CandidatePages, DEFAULT_MAX_SPANS, nextChunk } from '../traceql/api.ts';
import { parseTraceId, slottedHandler } from './tempo.ts';

const KINDS = ['', 'internal', 'server', 'client', 'producer', 'consumer'];
const ZIPKIN_KINDS = ['', '', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;
const HOUR_US = 3_600_000_000n;

export const serviceOf = (s: Span): string =>
  (s.resource.find((a) => a.key === 'service.name')?.value as string | undefined) ?? 'unknown_service';

const svcColumn = (v: SpanStreamView) =>
  v.byKey.get(levelKey('resource', 'service.name'))?.find((c) => c.valueType === 'str')?.column;

/** A Go/Jaeger duration (`1.2s`, `100ms`, `5us`) in ns; plain numbers are µs (Zipkin). */
export function durationNs(v: string, name: string): bigint {
  const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw badRequest(`invalid ${name}: ${JSON.stringify(v)} is not a duration`);
  const unit = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }[m[2] ?? 'us']!;
  return BigInt(Math.round(Number(m[1]) * unit));
}

const intParam = (p: URLSearchParams, name: string): bigint | null => {
  const v = p.get(name);
  if (v === null || v === '') return null;
  if (!/^\d+$/.test(v)) throw badRequest(`invalid ${name}: ${JSON.stringify(v)} is not an integer`);
  return BigInt(v);
};

interface Search {
  service: string | null;
  operation: string | null;
  tags: Record<string, string>;
  minNs: bigint | null;
  maxNs: bigint | null;
  startNs: bigint;
  endNs: bigint;
  limit: number;
}

/** A stream's condition for the search's spans (null: no span of the stream can match). */
function searchWhere(q: Search, v: SpanStreamView): string | null {
  const conds: string[] = [];
  const svc = svcColumn(v);
  if (q.service !== null) {
    if (!svc) return null;
    conds.push(`${quoteIdent(svc)} = ${sqlString(q.service)}`);
  }
  if (q.operation !== null) conds.push(`name = ${sqlString(q.operation)}`);
  if (q.minNs !== null) conds.push(`duration_ns >= ${q.minNs}`);
  if (q.maxNs !== null) conds.push(`duration_ns <= ${q.maxNs}`);
  for (const [k, val] of Object.entries(q.tags)) {
    const alts = [
      ...(v.byKey.get(levelKey('span', k)) ?? []),
      ...(v.byKey.get(levelKey('resource', k)) ?? []),
    ].map((c) => `CAST(${quoteIdent(c.column)} AS VARCHAR) = ${sqlString(val)}`);
    const synthetic = syntheticTagCondition(k, String(val));
    if (synthetic) alts.push(synthetic);
    if (alts.length === 0) return null;
    conds.push(`(${alts.join(' OR ')})`);
  }
  return conds.length ? conds.join(' AND ') : 'TRUE';
}

/**
 * Traces with a span in the window matching the search, newest first (by their first span in the
 * window), at most `limit`. The condition is exact, so SQL picks the answer's trace ids; only
 * their spans in the window are read, in chunks of at most `maxSpans` spans.
 */
async function findTraces(
  reader: SpanReader,
  org: OrgId,
  q: Search,
  maxSpans: number,
): Promise<TraceSpans[]> {
  const window = { startNs: q.startNs, endNs: q.endNs };
  const found = await reader.candidateTraces(org, {
    ...window,
    condRange: window,
    traceCond: (anySpan) => anySpan((v) => searchWhere(q, v)),
    order: 'newest',
    limit: q.limit,
  });
  const pages = CandidatePages.of(found);
  const byId = new Map<string, TraceSpans>();
  for (
    let ids = await nextChunk(pages, Infinity, maxSpans);
    ids.length > 0;
    ids = await nextChunk(pages, Infinity, maxSpans)
  )
    for (const t of await reader.readTraceIds(org, ids, window)) byId.set(t.traceId, t);
  return found.flatMap((c) => byId.get(c.traceId) ?? []);
}

/**
 * The tags spanTags() makes up from span fields (`error=true`, `span.kind=server`,
 * `otel.status_code=ERROR`, ...) as a condition on those fields, so a search finds what the trace
 * view shows. Zipkin's `error` tag holds the status message.
 */
function syntheticTagCondition(key: string, val: string): string | undefined {
  const error = 'status_code = 2';
  switch (key) {
    case 'span.kind':
      return KINDS.indexOf(val) > 0 ? `kind = ${KINDS.indexOf(val)}` : 'FALSE';
    case 'error':
      return val === 'true' || val === '' ? error : `(${error} AND status_message = ${sqlString(val)})`;
    case 'otel.status_code':
      return val === 'ERROR' ? error : val === 'OK' ? 'status_code = 1' : 'FALSE';
    case 'otel.status_description':
      return `(${error} AND status_message = ${sqlString(val)})`;
    case 'otel.scope.name':
    case 'otel.scope.version':
      return `${quoteIdent(key.slice('otel.'.length))} = ${sqlString(val)}`;
    case 'w3c.tracestate':
      return `trace_state = ${sqlString(val)}`;
    default:
      return undefined;
  }
}

/** Distinct service names (and operations of one service) in a range. */
async function services(
  reader: SpanReader,
  org: RequestContext['org'],
  startNs: bigint | null,
  endNs: bigint | null,
): Promise<string[]> {
  const out = new Set<string>();
  await reader.scan(org!.id, { startNs, endNs }, async (v, rows, sql) => {
    const c = svcColumn(v);
    if (!c) return;
    for (const r of await sql(
      `SELECT DISTINCT ${quoteIdent(c)} AS s FROM (${rows(`${quoteIdent(c)} IS NOT NULL`)})`,
    ))
      out.add(r.s as string);
  });
  return [...out].sort();
}

async function operations(
  reader: SpanReader,
  org: RequestContext['org'],
  service: string,
  kind: number | null,
  startNs: bigint | null,
  endNs: bigint | null,
): Promise<{ name: string; kind: number }[]> {
  const out = new Map<string, { name: string; kind: number }>();
  await reader.scan(org!.id, { startNs, endNs }, async (v, rows, sql) => {
    const c = svcColumn(v);
    if (!c) return;
    const cond = `${quoteIdent(c)} = ${sqlString(service)}${kind !== null ? ` AND kind = ${kind}` : ''}`;
    for (const r of await sql(`SELECT DISTINCT name, kind FROM (${rows(cond)})`)) {
      const o = { name: r.name as string, kind: Number(r.kind) };
      out.set(`${o.name}\u0000${o.kind}`, o);
    }
  });
  return [...out.values()].sort((a, b) => a.name.localeCompare(b.name) || a.kind - b.kind);
}

/** a stream's `service.name` as SQL (as serviceOf reads it: the column, else the overflow JSON) */
function serviceSql(v: SpanStreamView): string {
  const key = levelKey('resource', 'service.name');
  const alts: string[] = [];
  const c = svcColumn(v);
  if (c) alts.push(quoteIdent(c));
  if (v.overflow.get(key)?.includes('str'))
    alts.push(`json_extract_string(${quoteIdent(OVERFLOW_COLUMN)}, '$."resource.service.name".value')`);
  return `COALESCE(${[...alts, "'unknown_service'"].join(', ')})`;
}

/**
 * parent service → child service call counts over spans starting in [startNs, endNs): a span whose
 * parent span (same trace, any traces stream, also in the range) is in another service. Computed
 * in SQL (a join of the spans with their parents); no span is read into memory. Where a trace
 * holds two spans with the parent's id, the later-starting one is the parent.
 */
export async function dependencies(
  reader: SpanReader,
  org: OrgId,
  startNs: bigint,
  endNs: bigint,
): Promise<{ parent: string; child: string; callCount: number }[]> {
  const rows = await reader.overStreams(org, { startNs, endNs }, (union, sql) =>
    sql(
      `WITH s AS (${union((v) => `trace_id, span_id, parent_span_id, _timestamp, ${serviceSql(v)} AS svc`)}),
      p AS (SELECT trace_id, span_id, arg_max(svc, _timestamp) AS svc FROM s GROUP BY trace_id, span_id)
      SELECT p.svc AS parent, c.svc AS child, count(*) AS n
      FROM s AS c JOIN p ON c.trace_id = p.trace_id AND c.parent_span_id = p.span_id
      WHERE c.svc <> p.svc GROUP BY p.svc, c.svc ORDER BY p.svc, c.svc`,
    ),
  );
  return (rows ?? []).map((r) => ({
    parent: r.parent as string,
    child: r.child as string,
    callCount: Number(r.n),
  }));
}

// ---- Jaeger JSON

const jaegerType = {
  string: 'string',
  int: 'int64',
  double: 'float64',
  bool: 'bool',
  bytes: 'binary',
  array: 'string',
  kvlist: 'string',
};
const jaegerTag = (a: Attr) => ({ key: a.key, type: jaegerType[a.type], value: a.value });
const us = (ns: bigint) => Number(ns / 1000n);

function spanTags(s: Span): Attr[] {
  const tags = [...s.attributes];
  if (KINDS[s.kind]) tags.push({ key: 'span.kind', type: 'string', value: KINDS[s.kind]! });
  if (s.statusCode === 2) {
    tags.push(
      { key: 'otel.status_code', type: 'string', value: 'ERROR' },
      { key: 'error', type: 'bool', value: true },
    );
    if (s.statusMessage)
      tags.push({ key: 'otel.status_description', type: 'string', value: s.statusMessage });
  } else if (s.statusCode === 1) tags.push({ key: 'otel.status_code', type: 'string', value: 'OK' });
  if (s.scope.name) tags.push({ key: 'otel.scope.name', type: 'string', value: s.scope.name });
  if (s.scope.version) tags.push({ key: 'otel.scope.version', type: 'string', value: s.scope.version });
  if (s.traceState) tags.push({ key: 'w3c.tracestate', type: 'string', value: s.traceState });
  return tags;
}

/**
 * A span's Jaeger references: the parent (`CHILD_OF`) first, then each link — `FOLLOWS_FROM`
 * unless its `opentracing.ref_type` attribute (written by Jaeger ingest) says `child_of`. A
 * `follows_from` link to the parent itself (a Jaeger span whose parent was a FOLLOWS_FROM
 * reference) stands for the parent, so the span comes back with the one reference it was sent with.
 */
function jaegerReferences(s: Span): { refType: string; traceID: string; spanID: string }[] {
  const refTypes = s.links.map(
    (l) => l.attributes.find((a) => a.key === 'opentracing.ref_type')?.value as string | undefined,
  );
  const links = s.links.map((l, i) => ({
    refType: refTypes[i] === 'child_of' ? 'CHILD_OF' : 'FOLLOWS_FROM',
    traceID: l.traceId,
    spanID: l.spanId,
  }));
  if (!s.parentSpanId) return links;
  const asParent = links.findIndex(
    (l, i) => refTypes[i] === 'follows_from' && l.traceID === s.traceId && l.spanID === s.parentSpanId,
  );
  if (asParent >= 0) return [links[asParent]!, ...links.filter((_, i) => i !== asParent)];
  return [{ refType: 'CHILD_OF', traceID: s.traceId, spanID: s.parentSpanId }, ...links];
}

export function jaegerTrace(t: TraceSpans): Record<string, unknown> {
  const processes: Record<string, { serviceName: string; tags: unknown[] }> = {};
  const procIds = new Map<string, string>();
  const spans = t.spans.map((s) => {
    const pk = JSON.stringify(s.resource.map((a) => [a.key, a.value]));
    let pid = procIds.get(pk);
    if (!pid) {
      pid = `p${procIds.size + 1}`;
      procIds.set(pk, pid);
      processes[pid] = {
        serviceName: serviceOf(s),
        tags: s.resource.filter((a) => a.key !== 'service.name').map(jaegerTag),
      };
    }
    const references = jaegerReferences(s);
    return {
      traceID: s.traceId,
      spanID: s.spanId,
      operationName: s.name,
      references,
      startTime: us(s.startNs),
      duration: us(s.durationNs),
      tags: spanTags(s).map(jaegerTag),
      logs: s.events.map((e) => ({
        timestamp: us(e.timeNs),
        fields: [{ key: 'event', type: 'string', value: e.name }, ...e.attributes.map(jaegerTag)],
      })),
      processID: pid,
      warnings: null,
    };
  });
  return { traceID: t.traceId, spans, processes, warnings: null };
}

const jaegerBody = (data: unknown[], errors: unknown = null) => ({
  data,
  total: data.length,
  limit: 0,
  offset: 0,
  errors,
});

// ---- Zipkin JSON

export function zipkinSpan(s: Span): Record<string, unknown> {
  const o: Record<string, unknown> = { traceId: s.traceId, id: s.spanId };
  if (s.parentSpanId) o.parentId = s.parentSpanId;
  if (ZIPKIN_KINDS[s.kind]) o.kind = ZIPKIN_KINDS[s.kind];
  o.name = s.name;
  o.timestamp = us(s.startNs);
  o.duration = us(s.durationNs);
  o.localEndpoint = { serviceName: serviceOf(s) };
  const peer = s.attributes.find((a) => a.key === 'peer.service');
  if (peer) o.remoteEndpoint = { serviceName: peer.value };
  if (s.events.length) o.annotations = s.events.map((e) => ({ timestamp: us(e.timeNs), value: e.name }));
  const tags: Record<string, string> = {};
  for (const a of spanTags(s))
    if (a.key !== 'span.kind')
      tags[a.key] = a.key === 'error' && s.statusMessage ? s.statusMessage : String(a.value);
  // the resource (but its service.name) as tags, as OpenTelemetry's Zipkin exporter writes it
  for (const a of s.resource) if (a.key !== 'service.name') tags[a.key] = String(a.value);
  o.tags = tags;
  return o;
}

export function jaegerZipkinHandlers(deps: {
  reader: SpanReader;
  slots: QuerySlots;
  log: Logger;
  /** `query.traceSearchMaxSpans`: spans a search reads into memory at once */
  maxSpans?: number;
}) {
  const { reader, log } = deps;
  const maxSpans = deps.maxSpans ?? DEFAULT_MAX_SPANS;
  const handle = slottedHandler(deps.slots, log);
  const nowUs = () => BigInt(Date.now()) * 1000n;
  /** Jaeger: start/end µs, lookback as a duration (default the last 2 days when no start) */
  const jaegerRange = (p: URLSearchParams): [bigint, bigint] => {
    const endUs = intParam(p, 'end') ?? nowUs();
    const lb = p.get('lookback');
    const startUs =
      intParam(p, 'start') ??
      (lb && lb !== 'custom' ? endUs - durationNs(lb, 'lookback') / 1000n : endUs - 48n * HOUR_US);
    return [startUs * 1000n, endUs * 1000n + 1000n];
  };
  /** services and operations: the whole store unless a range is given (Grafana sends none) */
  const listRange = (p: URLSearchParams): [bigint | null, bigint | null] =>
    p.has('start') || p.has('end') || p.has('lookback') ? jaegerRange(p) : [null, null];
  /** Zipkin: endTs and lookback in ms (default lookback 1 day) */
  const zipkinRange = (p: URLSearchParams): [bigint, bigint] => {
    const endMs = intParam(p, 'endTs') ?? BigInt(Date.now());
    const lookbackMs = intParam(p, 'lookback') ?? 86_400_000n;
    return [(endMs - lookbackMs) * 1_000_000n, endMs * 1_000_000n + 1_000_000n];
  };
  const limitOf = (p: URLSearchParams, def: number) => Number(intParam(p, 'limit') ?? BigInt(def)) || def;
  const org = (ctx: RequestContext) => ctx.org;
  const wholeTrace = async (ctx: RequestContext) => {
    const id = parseTraceId(ctx.params.id ?? '');
    return { traceId: id, spans: await reader.readTrace(ctx.org!.id, id) };
  };

  return {
    jaeger: {
      services: handle(async (ctx) => {
        const [s, e] = listRange(ctx.query);
        sendJson(ctx.res, 200, jaegerBody(await services(reader, org(ctx), s, e)));
      }),
      serviceOperations: handle(async (ctx) => {
        const [s, e] = listRange(ctx.query);
        const ops = await operations(reader, org(ctx), ctx.params.service ?? '', null, s, e);
        sendJson(ctx.res, 200, jaegerBody([...new Set(ops.map((o) => o.name))]));
      }),
      operations: handle(async (ctx) => {
        const service = ctx.query.get('service');
        if (!service) throw badRequest('parameter service is required');
        const kindName = ctx.query.get('spanKind');
        const kind = kindName ? KINDS.indexOf(kindName) : -1;
        if (kindName && kind <= 0) throw badRequest(`invalid spanKind: ${JSON.stringify(kindName)}`);
        const [s, e] = listRange(ctx.query);
        const ops = await operations(reader, org(ctx), service, kind > 0 ? kind : null, s, e);
        sendJson(ctx.res, 200, jaegerBody(ops.map((o) => ({ name: o.name, spanKind: KINDS[o.kind] ?? '' }))));
      }),
      traces: handle(async (ctx) => {
        const p = ctx.query;
        const ids = p.getAll('traceID');
        if (ids.length > 0) {
          const out: unknown[] = [];
          for (const id of ids) {
            const spans = await reader.readTrace(ctx.org!.id, parseTraceId(id));
            if (spans.length) out.push(jaegerTrace({ traceId: spans[0]!.traceId, spans }));
          }
          return sendJson(ctx.res, 200, jaegerBody(out));
        }
        const [startNs, endNs] = jaegerRange(p);
        let tags: Record<string, string> = {};
        const rawTags = p.get('tags');
        if (rawTags) {
          try {
            tags = JSON.parse(rawTags) as Record<string, string>;
          } catch {
            throw badRequest(`invalid tags: ${JSON.stringify(rawTags.slice(0, 100))} is not a JSON object`);
          }
        }
        const traces = await findTraces(
          reader,
          ctx.org!.id,
          {
            service: p.get('service') || null,
            operation: p.get('operation') || null,
            tags,
            minNs: p.get('minDuration') ? durationNs(p.get('minDuration')!, 'minDuration') : null,
            maxNs: p.get('maxDuration') ? durationNs(p.get('maxDuration')!, 'maxDuration') : null,
            startNs,
            endNs,
            limit: limitOf(p, 20),
          },
          maxSpans,
        );
        sendJson(ctx.res, 200, jaegerBody(traces.map(jaegerTrace)));
      }),
      trace: handle(async (ctx) => {
        const t = await wholeTrace(ctx);
        if (t.spans.length === 0)
          return sendJson(ctx.res, 404, jaegerBody([], [{ code: 404, msg: 'trace not found' }]));
        sendJson(ctx.res, 200, jaegerBody([jaegerTrace(t)]));
      }),
      dependencies: handle(async (ctx) => {
        const [startNs, endNs] = zipkinRange(ctx.query);
        sendJson(ctx.res, 200, jaegerBody(await dependencies(reader, ctx.org!.id, startNs, endNs)));
      }),
    },
    zipkin: {
      services: handle(async (ctx) => {
        const [s, e] = zipkinRange(ctx.query);
        sendJson(ctx.res, 200, await services(reader, org(ctx), s, e));
      }),
      spans: handle(async (ctx) => {
        const service = ctx.query.get('serviceName');
        if (!service) throw badRequest('serviceName is required');
        const [s, e] = zipkinRange(ctx.query);
        const ops = await operations(reader, org(ctx), service, null, s, e);
        sendJson(ctx.res, 200, [...new Set(ops.map((o) => o.name))]);
      }),
      traces: handle(async (ctx) => {
        const p = ctx.query;
        const [startNs, endNs] = zipkinRange(p);
        const tags: Record<string, string> = {};
        for (const part of (p.get('annotationQuery') ?? '').split(' and ')) {
          if (part.trim() === '') continue;
          const [k, ...rest] = part.split('=');
          tags[k!.trim()] = rest.join('=').trim();
        }
        const min = intParam(p, 'minDuration');
        const max = intParam(p, 'maxDuration');
        const traces = await findTraces(
          reader,
          ctx.org!.id,
          {
            service: p.get('serviceName') || null,
            operation: p.get('spanName') && p.get('spanName') !== 'all' ? p.get('spanName') : null,
            tags,
            minNs: min === null ? null : min * 1000n,
            maxNs: max === null ? null : max * 1000n,
            startNs,
            endNs,
            limit: limitOf(p, 10),
          },
          maxSpans,
        );
        sendJson(
          ctx.res,
          200,
          traces.map((t) => t.spans.map(zipkinSpan)),
        );
      }),
      trace: handle(async (ctx) => {
        const t = await wholeTrace(ctx);
        if (t.spans.length === 0) {
          const text = `${ctx.params.id ?? ''} not found`;
          ctx.res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
          return void ctx.res.end(text);
        }
        sendJson(ctx.res, 200, t.spans.map(zipkinSpan));
      }),
      dependencies: handle(async (ctx) => {
        const [startNs, endNs] = zipkinRange(ctx.query);
        sendJson(ctx.res, 200, await dependencies(reader, ctx.org!.id, startNs, endNs));
      }),
    },
  };
}
