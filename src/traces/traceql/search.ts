/**
 * Tempo's search answer over traces in memory: TraceQL (`q`) and legacy tag search (`tags`,
 * `minDuration`, `maxDuration`). As Tempo 2.7 with one block: traces are visited in trace-id order
 * (the block's order), the first `limit` matches are kept, then sorted by start time, newest first.
 * Each matched span carries the attributes and intrinsics the query mentions.
 */
import type { Span } from '../span.ts';
import type { FieldExpr, Query, SpansetExpr, Stage } from './ast.ts';
import { evalTrace, fieldValue, firstCursor, matchSpan, TraceCtx, type Spanset, type Val } from './eval.ts';
import { goDuration, kindName, statusName } from './print.ts';

export interface SearchOptions {
  limit: number;
  /** spans shown per span set */
  spss: number;
  /** the time range, ns since the epoch (a trace matches when [start, end] overlaps it) */
  startNs?: bigint;
  endNs?: bigint;
}

export type OtlpValue =
  { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean };

export interface SearchSpan {
  spanID: string;
  name?: string;
  startTimeUnixNano: string;
  durationNanos: string;
  attributes?: { key: string; value: OtlpValue }[];
}

export interface SearchSpanset {
  spans: SearchSpan[];
  matched: number;
  attributes?: { key: string; value: OtlpValue }[];
}

export interface TraceSearchMetadata {
  traceID: string;
  rootServiceName: string;
  rootTraceName?: string;
  startTimeUnixNano: string;
  durationMs?: number;
  spanSet?: SearchSpanset;
  spanSets?: SearchSpanset[];
  serviceStats?: Record<string, { spanCount: number; errorCount?: number }>;
}

const ROOTLESS = '<root span not yet received>';

export function otlpValue(v: Val): OtlpValue {
  switch (v.t) {
    case 'string':
      return { stringValue: v.v };
    case 'int':
      return { intValue: String(v.v) };
    case 'float':
      return { doubleValue: v.v };
    case 'bool':
      return { boolValue: v.v };
    case 'duration':
      return { stringValue: goDuration(v.v) };
    case 'status':
      return { stringValue: statusName(v.v) };
    case 'kind':
      return { stringValue: kindName(v.v) };
  }
}

const serviceOf = (s: Span): string => {
  const a = s.resource.find((x) => x.key === 'service.name');
  return a ? String(a.value) : '';
};

function traceMetadata(ctx: TraceCtx): TraceSearchMetadata {
  const root = ctx.root;
  const ms = Number((ctx.endNs - ctx.startNs) / 1_000_000n);
  return {
    traceID: ctx.shortId,
    rootServiceName: root ? serviceOf(root) : ROOTLESS,
    ...(root ? { rootTraceName: root.name } : {}),
    startTimeUnixNano: String(ctx.startNs),
    ...(ms > 0 ? { durationMs: ms } : {}),
  };
}

function serviceStats(spans: readonly Span[]): Record<string, { spanCount: number; errorCount?: number }> {
  const out: Record<string, { spanCount: number; errorCount?: number }> = {};
  for (const s of spans) {
    const st = (out[serviceOf(s)] ??= { spanCount: 0 });
    st.spanCount++;
    if (s.statusCode === 2) st.errorCount = (st.errorCount ?? 0) + 1;
  }
  return out;
}

type Field = FieldExpr & { k: 'attr' | 'intrinsic' };

/** intrinsics a search answer never echoes (trace-level, or shown as span fields) */
const NOT_ECHOED = new Set([
  'duration',
  'rootName',
  'rootServiceName',
  'traceDuration',
  'traceID',
  'spanID',
  'parentID',
]);

/**
 * A field the query mentions. Tempo fetches a field compared with a literal only where the
 * comparison holds (the condition is pushed into storage), so a span echoes it only then; a field
 * used otherwise (select, by, aggregates, arithmetic) is echoed wherever it is present.
 */
interface Echo {
  field: Field;
  /** the comparisons that fetch it; null: fetched unconditionally */
  preds: (FieldExpr | null)[];
}

const COMPARISONS = new Set(['=', '!=', '>', '>=', '<', '<=', '=~', '!~']);
const isField = (e: FieldExpr): e is Field => e.k === 'attr' || e.k === 'intrinsic';

function echoFields(q: Query): Echo[] {
  const echoes = new Map<string, Echo>();
  const add = (f: Field, pred: FieldExpr | null): void => {
    if (f.k === 'intrinsic' && NOT_ECHOED.has(f.name)) return;
    const key = f.k === 'attr' ? `${f.scope}.${f.name}` : f.name;
    const e = echoes.get(key);
    if (e) e.preds.push(pred);
    else echoes.set(key, { field: f, preds: [pred] });
  };
  const field = (e: FieldExpr | undefined): void => {
    if (!e) return;
    switch (e.k) {
      case 'attr':
      case 'intrinsic':
        return add(e, null);
      case 'unary':
        return field(e.e);
      case 'binary':
        if (COMPARISONS.has(e.op) && isField(e.l) && e.r.k === 'static') return add(e.l, e);
        field(e.l);
        return field(e.r);
      case 'static':
        return;
    }
  };
  const stage = (st: Stage): void => {
    if (st.k === 'filter') field(st.cond ?? undefined);
    else if (st.k === 'scalar') field(st.agg.e);
    else if (st.k === 'by') field(st.e);
    else if (st.k === 'select') st.es.forEach(field);
  };
  const walk = (e: SpansetExpr): void => {
    if (e.k === 'filter') field(e.cond ?? undefined);
    else if (e.k === 'op') {
      walk(e.l);
      walk(e.r);
    } else {
      walk(e.head);
      e.stages.forEach(stage);
    }
  };
  walk(q.root);
  return [...echoes.values()];
}

function spanOut(s: Span, ctx: TraceCtx, echoes: Echo[]): SearchSpan {
  const c = firstCursor(s);
  const attributes: { key: string; value: OtlpValue }[] = [];
  let name = false;
  for (const { field: f, preds } of echoes) {
    // our nestedSetParent of a non-root span is not Tempo's number: echoed for roots only
    if (f.k === 'intrinsic' && f.name === 'nestedSetParent' && s.parentSpanId !== '') continue;
    if (!preds.some((p) => p === null || matchSpan(p, s, ctx) !== null)) continue;
    if (f.k === 'intrinsic' && f.name === 'name') {
      name = true;
      continue;
    }
    const v = fieldValue(f, s, ctx, c);
    if (v) attributes.push({ key: f.name, value: otlpValue(v) });
  }
  return {
    spanID: s.spanId,
    ...(name ? { name: s.name } : {}),
    startTimeUnixNano: String(s.startNs),
    durationNanos: String(s.durationNs),
    ...(attributes.length > 0 ? { attributes } : {}),
  };
}

function inRange(ctx: TraceCtx, o: SearchOptions): boolean {
  if (o.startNs !== undefined && ctx.endNs < o.startNs) return false;
  if (o.endNs !== undefined && ctx.startNs > o.endNs) return false;
  return true;
}

/** traces in block order: ascending trace id */
const blockOrder = (traces: Iterable<readonly Span[]>): (readonly Span[])[] =>
  [...traces]
    .filter((t) => t.length > 0)
    .sort((a, b) => (a[0]!.traceId < b[0]!.traceId ? -1 : a[0]!.traceId > b[0]!.traceId ? 1 : 0));

export const newestFirst = (a: TraceSearchMetadata, b: TraceSearchMetadata): number => {
  const x = BigInt(a.startTimeUnixNano);
  const y = BigInt(b.startTimeUnixNano);
  return x > y ? -1 : x < y ? 1 : 0;
};

/** One trace's answer to a TraceQL query, or undefined when it does not match (or lies outside the range). */
export type TraceMatcher = (spans: readonly Span[]) => TraceSearchMetadata | undefined;

export function traceQLMatcher(q: Query, o: SearchOptions): TraceMatcher {
  const echo = echoFields(q);
  return (spans) => {
    if (spans.length === 0) return undefined;
    const ctx = new TraceCtx(spans);
    if (!inRange(ctx, o)) return undefined;
    const sets = evalTrace(q.root, spans, ctx);
    if (sets.length === 0) return undefined;
    const spanSets = sets.map((ss) => spansetOut(ss, ctx, echo, o.spss));
    return { ...traceMetadata(ctx), spanSet: spanSets[0]!, spanSets, serviceStats: serviceStats(spans) };
  };
}

/** The first `limit` matches in block order, newest first. */
export function collect(
  traces: Iterable<readonly Span[]>,
  limit: number,
  match: TraceMatcher,
): TraceSearchMetadata[] {
  const out: TraceSearchMetadata[] = [];
  for (const spans of blockOrder(traces)) {
    if (out.length >= limit) break;
    const m = match(spans);
    if (m) out.push(m);
  }
  return out.sort(newestFirst);
}

export function searchTraceQL(
  q: Query,
  traces: Iterable<readonly Span[]>,
  o: SearchOptions,
): TraceSearchMetadata[] {
  return collect(traces, o.limit, traceQLMatcher(q, o));
}

function spansetOut(ss: Spanset, ctx: TraceCtx, echo: Echo[], spss: number): SearchSpanset {
  return {
    spans: ss.spans.slice(0, spss).map((s) => spanOut(s, ctx, echo)),
    matched: ss.spans.length,
    ...(ss.attrs.length > 0
      ? { attributes: ss.attrs.map((a) => ({ key: a.key, value: otlpValue(a.value) })) }
      : {}),
  };
}

// ---- legacy tag search ----

export interface LegacyOptions extends SearchOptions {
  tags: [string, string][];
  /** ms; 0: none */
  minDurationMs: number;
  maxDurationMs: number;
}

/** keys Tempo matches by substring (its dedicated columns) */
const SUBSTRING_KEYS = new Set(['service.name', 'name', 'http.method', 'http.url', 'k8s.pod.name']);

function spanHasTag(s: Span, ctx: TraceCtx, key: string, value: string): boolean {
  switch (key) {
    case 'root.service.name':
      return ctx.root !== undefined && serviceOf(ctx.root).includes(value);
    case 'root.name':
      return ctx.root !== undefined && ctx.root.name.includes(value);
    case 'name':
      return s.name.includes(value);
    case 'status.code':
      return statusName(s.statusCode) === value;
    case 'http.status_code':
      return s.attributes.some((a) => a.key === key && a.type === 'int' && String(a.value) === value);
  }
  const match = (a: { key: string; type: string; value: unknown }): boolean =>
    a.key === key &&
    a.type === 'string' &&
    (SUBSTRING_KEYS.has(key) ? String(a.value).includes(value) : a.value === value);
  return s.attributes.some(match) || s.resource.some(match);
}

export function legacyMatcher(o: LegacyOptions): TraceMatcher {
  return (spans) => {
    if (spans.length === 0) return undefined;
    const ctx = new TraceCtx(spans);
    if (!inRange(ctx, o)) return undefined;
    const ns = Number(ctx.endNs - ctx.startNs);
    if (o.minDurationMs > 0 && ns < o.minDurationMs * 1e6) return undefined;
    if (o.maxDurationMs > 0 && ns > o.maxDurationMs * 1e6) return undefined;
    if (o.tags.length > 0 && !spans.some((s) => o.tags.every(([k, v]) => spanHasTag(s, ctx, k, v))))
      return undefined;
    return traceMetadata(ctx);
  };
}

export function searchLegacy(traces: Iterable<readonly Span[]>, o: LegacyOptions): TraceSearchMetadata[] {
  return collect(traces, o.limit, legacyMatcher(o));
}
