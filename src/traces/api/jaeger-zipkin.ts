/**
 * The Jaeger query API (under `/jaeger`, for Grafana's Jaeger data source) and the Zipkin v2 query
 * API, over the same span reader. Jaeger answers `{data, total, limit, offset, errors}` with times
 * in µs, typed tags, `references` and a `processes` map (`p1`…); Zipkin answers its v2 JSON span
 * shape. Span kind, status and scope come back as the tags the OpenTelemetry Jaeger and Zipkin
 * exporters write (`span.kind`, `otel.status_code`, `error`, `otel.scope.name`).
 */
import type { Logger } from '../../lib/logger.ts';
import { badRequest } from '../../lib/errors.ts';
import { loki as plainTextErrors, sendJson } from '../../logql/api/params.ts';
import type { QuerySlots } from '../../logql/api/query.ts';
import { quoteIdent } from '../../memtable/memtable.ts';
import type { RequestContext } from '../../server/router.ts';
import { levelKey, type SpanReader, type SpanStreamView, type TraceSpans } from '../span-reader.ts';
import type { Attr, Span } from '../span.ts';
import { parseTraceId } from './tempo.ts';

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

/** Traces with a span matching the search, newest first, at most `limit`. */
async function findTraces(reader: SpanReader, org: RequestContext['org'], q: Search): Promise<TraceSpans[]> {
  const traces = await reader.readSpans(org!.id, {
    startNs: q.startNs,
    endNs: q.endNs,
    where: (v) => {
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
        const cols = [
          ...(v.byKey.get(levelKey('span', k)) ?? []),
          ...(v.byKey.get(levelKey('resource', k)) ?? []),
        ];
        if (cols.length === 0) return null;
        conds.push(
          `(${cols.map((c) => `CAST(${quoteIdent(c.column)} AS VARCHAR) = ${sqlString(val)}`).join(' OR ')})`,
        );
      }
      return conds.length ? conds.join(' AND ') : 'TRUE';
    },
  });
  const start = (t: TraceSpans) => t.spans[0]!.startNs;
  return traces.sort((a, b) => (start(a) < start(b) ? 1 : start(a) > start(b) ? -1 : 0)).slice(0, q.limit);
}

/** Distinct service names (and operations of one service) in a range. */
async function services(
  reader: SpanReader,
  org: RequestContext['org'],
  startNs: bigint,
  endNs: bigint,
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
  startNs: bigint,
  endNs: bigint,
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

/** parent service → child service call counts (a span whose parent is in another service). */
function dependencies(traces: readonly TraceSpans[]): { parent: string; child: string; callCount: number }[] {
  const counts = new Map<string, number>();
  for (const t of traces) {
    const byId = new Map(t.spans.map((s) => [s.spanId, s]));
    for (const s of t.spans) {
      const p = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
      if (!p) continue;
      const a = serviceOf(p);
      const b = serviceOf(s);
      if (a === b) continue;
      const k = JSON.stringify([a, b]);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  }
  return [...counts].map(([k, callCount]) => {
    const [parent, child] = JSON.parse(k) as [string, string];
    return { parent, child, callCount };
  });
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
    const references = [
      ...(s.parentSpanId ? [{ refType: 'CHILD_OF', traceID: s.traceId, spanID: s.parentSpanId }] : []),
      ...s.links.map((l) => ({ refType: 'FOLLOWS_FROM', traceID: l.traceId, spanID: l.spanId })),
    ];
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
  o.tags = tags;
  return o;
}

export function jaegerZipkinHandlers(deps: { reader: SpanReader; slots: QuerySlots; log: Logger }) {
  const { reader, log } = deps;
  const handle = (fn: (ctx: RequestContext) => Promise<void>) =>
    plainTextErrors(async (ctx) => {
      const release = await deps.slots.acquireSlot();
      try {
        await fn(ctx);
      } finally {
        release();
      }
    }, log);
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
        const [s, e] = jaegerRange(ctx.query);
        sendJson(ctx.res, 200, jaegerBody(await services(reader, org(ctx), s, e)));
      }),
      serviceOperations: handle(async (ctx) => {
        const [s, e] = jaegerRange(ctx.query);
        const ops = await operations(reader, org(ctx), ctx.params.service ?? '', null, s, e);
        sendJson(ctx.res, 200, jaegerBody([...new Set(ops.map((o) => o.name))]));
      }),
      operations: handle(async (ctx) => {
        const service = ctx.query.get('service');
        if (!service) throw badRequest('parameter service is required');
        const kindName = ctx.query.get('spanKind');
        const kind = kindName ? KINDS.indexOf(kindName) : -1;
        if (kindName && kind <= 0) throw badRequest(`invalid spanKind: ${JSON.stringify(kindName)}`);
        const [s, e] = jaegerRange(ctx.query);
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
        const traces = await findTraces(reader, org(ctx), {
          service: p.get('service') || null,
          operation: p.get('operation') || null,
          tags,
          minNs: p.get('minDuration') ? durationNs(p.get('minDuration')!, 'minDuration') : null,
          maxNs: p.get('maxDuration') ? durationNs(p.get('maxDuration')!, 'maxDuration') : null,
          startNs,
          endNs,
          limit: limitOf(p, 20),
        });
        sendJson(ctx.res, 200, jaegerBody(traces.map(jaegerTrace)));
      }),
      trace: handle(async (ctx) => {
        const t = await wholeTrace(ctx);
        if (t.spans.length === 0)
          return sendJson(ctx.res, 404, jaegerBody([], [{ code: 404, msg: 'trace not found' }]));
        sendJson(ctx.res, 200, jaegerBody([jaegerTrace(t)]));
      }),
      dependencies: handle(async (ctx) => {
        const endMs = intParam(ctx.query, 'endTs') ?? BigInt(Date.now());
        const lookbackMs = intParam(ctx.query, 'lookback') ?? 86_400_000n;
        const traces = await reader.readSpans(ctx.org!.id, {
          startNs: (endMs - lookbackMs) * 1_000_000n,
          endNs: endMs * 1_000_000n + 1_000_000n,
        });
        sendJson(ctx.res, 200, jaegerBody(dependencies(traces)));
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
        const traces = await findTraces(reader, org(ctx), {
          service: p.get('serviceName') || null,
          operation: p.get('spanName') && p.get('spanName') !== 'all' ? p.get('spanName') : null,
          tags,
          minNs: min === null ? null : min * 1000n,
          maxNs: max === null ? null : max * 1000n,
          startNs,
          endNs,
          limit: limitOf(p, 10),
        });
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
        const traces = await reader.readSpans(ctx.org!.id, { startNs, endNs });
        sendJson(
          ctx.res,
          200,
          dependencies(traces).map((d) => ({ parent: d.parent, child: d.child, callCount: d.callCount })),
        );
      }),
    },
  };
}
