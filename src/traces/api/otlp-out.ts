/**
 * Spans → OTLP, as Tempo answers trace by id: JSON in Tempo's form (gogo/jsonpb: ids in base64,
 * `kind` and `status.code` as enum names, int64 as strings, empty fields left out) and protobuf
 * (`opentelemetry.proto.trace.v1.TracesData`: `repeated ResourceSpans resource_spans = 1`, the
 * same bytes as Tempo's `Trace` message). Spans are grouped by resource, then by scope, in order
 * of their first span.
 */
import { ProtobufWriter } from '../../lib/protobuf-writer.ts';
import { splitArray, splitObject } from '../json-split.ts';
import { plainJsonAttr } from '../span-reader.ts';
import type { Attr, Span } from '../span.ts';

export const KIND_NAMES = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
];
export const STATUS_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

export const hexToBase64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

export interface ResourceGroup {
  resource: Attr[];
  scopes: { scope: Span['scope']; spans: Span[] }[];
}

const attrsKey = (attrs: readonly Attr[]) => JSON.stringify(attrs.map((a) => [a.key, a.type, a.value]));

/** Spans grouped by resource, then scope, in order of first appearance. */
export function groupSpans(spans: readonly Span[]): ResourceGroup[] {
  const groups = new Map<
    string,
    { group: ResourceGroup; scopes: Map<string, ResourceGroup['scopes'][number]> }
  >();
  for (const s of spans) {
    const rk = attrsKey(s.resource);
    let g = groups.get(rk);
    if (!g) groups.set(rk, (g = { group: { resource: s.resource, scopes: [] }, scopes: new Map() }));
    const sk = JSON.stringify([s.scope.name, s.scope.version, attrsKey(s.scope.attributes ?? [])]);
    let sc = g.scopes.get(sk);
    if (!sc) {
      sc = { scope: s.scope, spans: [] };
      g.scopes.set(sk, sc);
      g.group.scopes.push(sc);
    }
    sc.spans.push(s);
  }
  return [...groups.values()].map((g) => g.group);
}

type AnyValueJson = Record<string, unknown>;

/** A plain JSON value's text (stored arrays/kvlists) as an OTLP/JSON AnyValue. */
function plainToAnyValue(raw: string): AnyValueJson {
  const c = raw[0];
  if (c === '[') return { arrayValue: { values: splitArray(raw).map(plainToAnyValue) } };
  if (c === '{')
    return {
      kvlistValue: { values: splitObject(raw).map(([key, v]) => ({ key, value: plainToAnyValue(v) })) },
    };
  const a = plainJsonAttr('', raw);
  return a ? anyValueJson(a) : {};
}

export function anyValueJson(a: Attr): AnyValueJson {
  switch (a.type) {
    case 'string':
      return { stringValue: a.value };
    case 'int':
      return { intValue: String(a.value) };
    case 'double':
      return { doubleValue: a.value };
    case 'bool':
      return { boolValue: a.value };
    case 'bytes':
      return { bytesValue: a.value };
    case 'array':
    case 'kvlist':
      return plainToAnyValue(a.value as string);
  }
}

const attrsJson = (attrs: readonly Attr[]) => attrs.map((a) => ({ key: a.key, value: anyValueJson(a) }));

function spanJson(s: Span): Record<string, unknown> {
  const o: Record<string, unknown> = { traceId: hexToBase64(s.traceId), spanId: hexToBase64(s.spanId) };
  if (s.traceState) o.traceState = s.traceState;
  if (s.parentSpanId) o.parentSpanId = hexToBase64(s.parentSpanId);
  if (s.flags) o.flags = s.flags;
  o.name = s.name;
  o.kind = KIND_NAMES[s.kind] ?? s.kind;
  o.startTimeUnixNano = String(s.startNs);
  o.endTimeUnixNano = String(s.endNs);
  if (s.attributes.length) o.attributes = attrsJson(s.attributes);
  if (s.droppedAttributesCount) o.droppedAttributesCount = s.droppedAttributesCount;
  if (s.events.length) {
    o.events = s.events.map((e) => {
      const ev: Record<string, unknown> = { timeUnixNano: String(e.timeNs), name: e.name };
      if (e.attributes.length) ev.attributes = attrsJson(e.attributes);
      if (e.droppedAttributesCount) ev.droppedAttributesCount = e.droppedAttributesCount;
      return ev;
    });
  }
  if (s.droppedEventsCount) o.droppedEventsCount = s.droppedEventsCount;
  if (s.links.length) {
    o.links = s.links.map((l) => {
      const lk: Record<string, unknown> = { traceId: hexToBase64(l.traceId), spanId: hexToBase64(l.spanId) };
      if (l.traceState) lk.traceState = l.traceState;
      if (l.attributes.length) lk.attributes = attrsJson(l.attributes);
      if (l.droppedAttributesCount) lk.droppedAttributesCount = l.droppedAttributesCount;
      if (l.flags) lk.flags = l.flags;
      return lk;
    });
  }
  if (s.droppedLinksCount) o.droppedLinksCount = s.droppedLinksCount;
  const status: Record<string, unknown> = {};
  if (s.statusMessage) status.message = s.statusMessage;
  if (s.statusCode) status.code = STATUS_NAMES[s.statusCode] ?? s.statusCode;
  o.status = status;
  return o;
}

/** `resourceSpans` (v2) / `batches` (v1) in Tempo's JSON form. */
export function resourceSpansJson(spans: readonly Span[]): Record<string, unknown>[] {
  return groupSpans(spans).map((g) => ({
    resource: { attributes: attrsJson(g.resource) },
    scopeSpans: g.scopes.map((sc) => {
      const scope: Record<string, unknown> = {};
      if (sc.scope.name) scope.name = sc.scope.name;
      if (sc.scope.version) scope.version = sc.scope.version;
      if (sc.scope.attributes?.length) scope.attributes = attrsJson(sc.scope.attributes);
      return { scope, spans: sc.spans.map(spanJson) };
    }),
  }));
}

// ---- protobuf (opentelemetry/proto/trace/v1/trace.proto, common/v1/common.proto)

function anyValueProto(v: AnyValueJson): ProtobufWriter {
  const w = new ProtobufWriter();
  if ('stringValue' in v) w.string(1, v.stringValue as string);
  else if ('boolValue' in v) w.uint(2, v.boolValue ? 1 : 0);
  else if ('intValue' in v) w.uint(3, BigInt(v.intValue as string));
  else if ('doubleValue' in v) w.double(4, Number(v.doubleValue));
  else if ('arrayValue' in v) {
    const arr = new ProtobufWriter();
    for (const x of (v.arrayValue as { values: AnyValueJson[] }).values) arr.message(1, anyValueProto(x));
    w.message(5, arr);
  } else if ('kvlistValue' in v) {
    const kvl = new ProtobufWriter();
    for (const x of (v.kvlistValue as { values: { key: string; value: AnyValueJson }[] }).values)
      kvl.message(1, keyValueProto(x.key, x.value));
    w.message(6, kvl);
  } else if ('bytesValue' in v) w.bytesField(7, Buffer.from(v.bytesValue as string, 'base64'));
  return w;
}

const keyValueProto = (key: string, value: AnyValueJson) =>
  new ProtobufWriter().string(1, key).message(2, anyValueProto(value));

function attrsProto(w: ProtobufWriter, field: number, attrs: readonly Attr[]): void {
  for (const a of attrs) w.message(field, keyValueProto(a.key, anyValueJson(a)));
}

const hexBytes = (hex: string) => Buffer.from(hex, 'hex');

function spanProto(s: Span): ProtobufWriter {
  const w = new ProtobufWriter().bytesField(1, hexBytes(s.traceId)).bytesField(2, hexBytes(s.spanId));
  if (s.traceState) w.string(3, s.traceState);
  if (s.parentSpanId) w.bytesField(4, hexBytes(s.parentSpanId));
  w.string(5, s.name);
  if (s.kind) w.uint(6, s.kind);
  w.fixed64(7, s.startNs).fixed64(8, s.endNs);
  attrsProto(w, 9, s.attributes);
  if (s.droppedAttributesCount) w.uint(10, s.droppedAttributesCount);
  for (const e of s.events) {
    const ev = new ProtobufWriter().fixed64(1, e.timeNs).string(2, e.name);
    attrsProto(ev, 3, e.attributes);
    if (e.droppedAttributesCount) ev.uint(4, e.droppedAttributesCount);
    w.message(11, ev);
  }
  if (s.droppedEventsCount) w.uint(12, s.droppedEventsCount);
  for (const l of s.links) {
    const lk = new ProtobufWriter().bytesField(1, hexBytes(l.traceId)).bytesField(2, hexBytes(l.spanId));
    if (l.traceState) lk.string(3, l.traceState);
    attrsProto(lk, 4, l.attributes);
    if (l.droppedAttributesCount) lk.uint(5, l.droppedAttributesCount);
    if (l.flags) lk.fixed32(6, l.flags);
    w.message(13, lk);
  }
  if (s.droppedLinksCount) w.uint(14, s.droppedLinksCount);
  const st = new ProtobufWriter();
  if (s.statusMessage) st.string(2, s.statusMessage);
  if (s.statusCode) st.uint(3, s.statusCode);
  w.message(15, st);
  if (s.flags) w.fixed32(16, s.flags);
  return w;
}

/** `TracesData` bytes (Tempo's `Trace` message has the same field 1). */
export function tracesDataProto(spans: readonly Span[]): Uint8Array {
  const out = new ProtobufWriter();
  for (const g of groupSpans(spans)) {
    const res = new ProtobufWriter();
    attrsProto(res, 1, g.resource);
    const rs = new ProtobufWriter().message(1, res);
    for (const sc of g.scopes) {
      const scope = new ProtobufWriter();
      if (sc.scope.name) scope.string(1, sc.scope.name);
      if (sc.scope.version) scope.string(2, sc.scope.version);
      attrsProto(scope, 3, sc.scope.attributes ?? []);
      const ss = new ProtobufWriter().message(1, scope);
      for (const s of sc.spans) ss.message(2, spanProto(s));
      rs.message(2, ss);
    }
    out.message(1, rs);
  }
  return out.finish();
}
