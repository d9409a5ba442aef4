/**
 * Issue 6, done-when 1: traces sent by real clients — the OpenTelemetry JS SDK over OTLP gRPC,
 * OTLP/HTTP JSON and OTLP/HTTP protobuf, `jaeger-client` over HTTP (Thrift) and OpenTelemetry's
 * Zipkin exporter — read back through all three query APIs (Tempo trace by id v1/v2 in JSON and
 * protobuf, Jaeger trace by id and search, Zipkin trace by id and search), every span field
 * compared with what was sent, before and after the streams are flushed to Parquet.
 *
 * What was sent is taken from the clients themselves (the SDK's finished spans, jaeger-client's
 * spans and process) and mapped by the documented ingest rules (docs/ingest.md) into one model
 * (`Model`); each API's answer is parsed back into that model, with only its documented
 * representation differences (docs/traces.md): Jaeger and Zipkin times in µs, Jaeger tag types,
 * arrays as JSON text, no link attributes in Jaeger, Zipkin tags as strings and no events
 * attributes or links. Protobuf answers are checked by sending them back into OTLP ingest of
 * another org and comparing that org's JSON answer with the first.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata } from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode, context, trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter as TracesGrpc } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as TracesHttpJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as TracesProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import jaeger from 'jaeger-client';
import { ROOT_AUTH, ROOT_PASSWORD, ROOT_USER, startServer, type ServerProcess } from './harness.ts';

// ---- the model every answer is parsed into

/** A typed value: [type, value]; ints as decimal strings, arrays as typed elements. */
type Val = [string, unknown];
type Attrs = Record<string, Val>;

interface Model {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  statusCode: number;
  statusMessage: string;
  attributes: Attrs;
  events: { timeNs: bigint; name: string; attributes: Attrs }[];
  links: { traceId: string; spanId: string; attributes: Attrs }[];
  resource: Attrs;
  scope: { name: string; version: string };
}

/** A JS attribute value as the OTLP exporters encode it (a number is an int when whole). */
function jsVal(v: unknown): Val {
  if (typeof v === 'string') return ['string', v];
  if (typeof v === 'boolean') return ['bool', v];
  if (typeof v === 'number') return Number.isInteger(v) ? ['int', String(v)] : ['double', v];
  if (Array.isArray(v)) return ['array', v.map(jsVal)];
  throw new Error(`unexpected attribute value ${String(v)}`);
}
const jsAttrs = (o: Record<string, unknown> | undefined): Attrs =>
  Object.fromEntries(Object.entries(o ?? {}).map(([k, v]) => [k, jsVal(v)]));
const hrNs = (t: [number, number]) => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

/** What the SDK sent, as OTLP carries it. */
function otelModel(s: ReadableSpan): Model {
  return {
    traceId: s.spanContext().traceId,
    spanId: s.spanContext().spanId,
    parentSpanId: s.parentSpanContext?.spanId ?? '',
    name: s.name,
    kind: s.kind + 1,
    startNs: hrNs(s.startTime),
    endNs: hrNs(s.endTime),
    statusCode: s.status.code,
    statusMessage: s.status.message ?? '',
    attributes: jsAttrs(s.attributes),
    events: s.events.map((e) => ({ timeNs: hrNs(e.time), name: e.name, attributes: jsAttrs(e.attributes) })),
    links: s.links.map((l) => ({
      traceId: l.context.traceId,
      spanId: l.context.spanId,
      attributes: jsAttrs(l.attributes),
    })),
    resource: jsAttrs(s.resource.attributes),
    scope: { name: s.instrumentationScope.name, version: s.instrumentationScope.version ?? '' },
  };
}

/** What OpenTelemetry's Zipkin exporter sends of a span, as Zipkin ingest stores it. */
function zipkinSentModel(s: ReadableSpan): Model {
  const m = otelModel(s);
  // µs with fractions (hrTimeToMicroseconds), duration and annotation times rounded to whole µs
  const startUs = s.startTime[0] * 1e6 + s.startTime[1] / 1e3;
  const whole = Math.trunc(startUs);
  const startNs = BigInt(whole) * 1000n + BigInt(Math.round((startUs - whole) * 1000));
  const durUs = Math.round(s.duration[0] * 1e6 + s.duration[1] / 1e3);
  const attributes: Attrs = {};
  for (const [k, v] of Object.entries(s.attributes)) attributes[k] = ['string', String(v)];
  return {
    ...m,
    // no INTERNAL in Zipkin: the exporter leaves `kind` out
    kind: s.kind === SpanKind.INTERNAL ? 0 : m.kind,
    startNs,
    endNs: startNs + BigInt(durUs) * 1000n,
    attributes,
    events: s.events.map((e) => ({
      timeNs: BigInt(Math.round(e.time[0] * 1e6 + e.time[1] / 1e3)) * 1000n,
      name: e.name,
      attributes: {},
    })),
    links: [],
    resource: Object.fromEntries(
      Object.entries(s.resource.attributes).map(([k, v]) => [k, ['string', String(v)] as Val]),
    ),
    scope: { name: '', version: '' },
  };
}

// ---- parsers of each API's answer into the model

type AnyValue = Record<string, unknown>;
function otlpVal(v: AnyValue): Val {
  if ('stringValue' in v) return ['string', v.stringValue];
  if ('intValue' in v) return ['int', String(v.intValue)];
  if ('doubleValue' in v) return ['double', v.doubleValue];
  if ('boolValue' in v) return ['bool', v.boolValue];
  if ('bytesValue' in v) return ['bytes', v.bytesValue];
  if ('arrayValue' in v)
    return ['array', ((v.arrayValue as { values?: AnyValue[] }).values ?? []).map(otlpVal)];
  if ('kvlistValue' in v) return ['kvlist', v.kvlistValue];
  throw new Error(`unknown AnyValue ${JSON.stringify(v)}`);
}
type KV = { key: string; value: AnyValue }[] | undefined;
const otlpAttrs = (kvs: KV): Attrs => Object.fromEntries((kvs ?? []).map((a) => [a.key, otlpVal(a.value)]));
const b64hex = (b: unknown) => (b ? Buffer.from(b as string, 'base64').toString('hex') : '');
const KIND_NAMES = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT'];
KIND_NAMES.push('SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER');
const STATUS_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

type OtlpSpan = Record<string, unknown> & { attributes?: KV };
type ResourceSpans = {
  resource: { attributes?: KV };
  scopeSpans: { scope: { name?: string; version?: string }; spans: OtlpSpan[] }[];
}[];

/** Tempo's JSON (`batches` / `resourceSpans`) → models. */
function fromTempo(batches: ResourceSpans): Model[] {
  const out: Model[] = [];
  for (const rs of batches)
    for (const ss of rs.scopeSpans)
      for (const s of ss.spans) {
        const status = (s.status ?? {}) as { code?: string; message?: string };
        out.push({
          traceId: b64hex(s.traceId),
          spanId: b64hex(s.spanId),
          parentSpanId: b64hex(s.parentSpanId),
          name: s.name as string,
          kind: KIND_NAMES.indexOf(s.kind as string),
          startNs: BigInt(s.startTimeUnixNano as string),
          endNs: BigInt(s.endTimeUnixNano as string),
          statusCode: status.code === undefined ? 0 : STATUS_NAMES.indexOf(status.code),
          statusMessage: status.message ?? '',
          attributes: otlpAttrs(s.attributes),
          events: ((s.events ?? []) as { timeUnixNano: string; name: string; attributes?: KV }[]).map(
            (e) => ({
              timeNs: BigInt(e.timeUnixNano),
              name: e.name,
              attributes: otlpAttrs(e.attributes),
            }),
          ),
          links: ((s.links ?? []) as { traceId: string; spanId: string; attributes?: KV }[]).map((l) => ({
            traceId: b64hex(l.traceId),
            spanId: b64hex(l.spanId),
            attributes: otlpAttrs(l.attributes),
          })),
          resource: otlpAttrs(rs.resource.attributes),
          scope: { name: ss.scope.name ?? '', version: ss.scope.version ?? '' },
        });
      }
  return out;
}

/** Jaeger's representation of a model: times in whole µs, arrays as JSON text, typed tags. */
function jaegerView(m: Model) {
  const tagVal = ([t, v]: Val): Val =>
    t === 'array' ? ['string', JSON.stringify(plain(['array', v]))] : [t, v];
  const tags = (a: Attrs) => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, tagVal(v)]));
  return {
    ...m,
    startNs: (m.startNs / 1000n) * 1000n,
    endNs: ((m.endNs - m.startNs) / 1000n) * 1000n,
    attributes: tags(m.attributes),
    events: m.events.map((e) => ({
      ...e,
      timeNs: (e.timeNs / 1000n) * 1000n,
      attributes: tags(e.attributes),
    })),
    links: m.links.map((l) => ({ ...l, attributes: {} })),
    resource: tags(m.resource),
  };
}
/** A typed value as plain JSON (what arrays are stored as). */
const plain = ([t, v]: Val): unknown =>
  t === 'array' ? (v as Val[]).map(plain) : t === 'int' ? Number(v) : v;

const JAEGER_TYPES: Record<string, string> = {
  string: 'string',
  int64: 'int',
  float64: 'double',
  bool: 'bool',
  binary: 'bytes',
};
type JTag = { key: string; type: string; value: unknown };
const jTag = (t: JTag): Val => {
  const type = JAEGER_TYPES[t.type]!;
  if (type === 'string' && typeof t.value === 'string' && t.value.startsWith('['))
    return ['string', JSON.stringify(JSON.parse(t.value))];
  return [type, type === 'int' ? String(t.value) : t.value];
};

/** A Jaeger trace → models (start and duration µs → ns; `endNs` holds the duration). */
function fromJaeger(t: {
  traceID: string;
  spans: Record<string, unknown>[];
  processes: Record<string, { serviceName: string; tags: JTag[] }>;
}): Model[] {
  return t.spans.map((s) => {
    const tags = s.tags as JTag[];
    const take = (k: string) => {
      const i = tags.findIndex((x) => x.key === k);
      return i < 0 ? undefined : tags.splice(i, 1)[0]!.value;
    };
    const kind = take('span.kind') as string | undefined;
    const status = take('otel.status_code') as string | undefined;
    const error = take('error');
    if (status === 'ERROR') assert.equal(error, true, 'error=true with an error status');
    const message = (take('otel.status_description') as string | undefined) ?? '';
    const scopeName = (take('otel.scope.name') as string | undefined) ?? '';
    const scopeVersion = (take('otel.scope.version') as string | undefined) ?? '';
    const refs = s.references as { refType: string; traceID: string; spanID: string }[];
    const proc = t.processes[s.processID as string]!;
    assert.equal(s.traceID, t.traceID);
    return {
      traceId: s.traceID,
      spanId: s.spanID as string,
      // the first reference in the trace is the parent (Jaeger's rule)
      parentSpanId: refs[0]?.traceID === s.traceID ? refs[0].spanID : '',
      name: s.operationName as string,
      kind:
        kind === undefined ? 0 : ['', 'internal', 'server', 'client', 'producer', 'consumer'].indexOf(kind),
      startNs: BigInt(s.startTime as number) * 1000n,
      endNs: BigInt(s.duration as number) * 1000n,
      statusCode: status === undefined ? 0 : status === 'OK' ? 1 : 2,
      statusMessage: message,
      attributes: Object.fromEntries(tags.map((x) => [x.key, jTag(x)])),
      events: (s.logs as { timestamp: number; fields: JTag[] }[]).map((l) => {
        assert.equal(l.fields[0]!.key, 'event');
        return {
          timeNs: BigInt(l.timestamp) * 1000n,
          name: l.fields[0]!.value as string,
          attributes: Object.fromEntries(l.fields.slice(1).map((x) => [x.key, jTag(x)])),
        };
      }),
      links: refs
        .filter((r) => r.refType === 'FOLLOWS_FROM')
        .map((r) => ({ traceId: r.traceID, spanId: r.spanID, attributes: {} })),
      resource: {
        'service.name': ['string', proc.serviceName],
        ...Object.fromEntries(proc.tags.map((x) => [x.key, jTag(x)])),
      },
      scope: { name: scopeName, version: scopeVersion },
    };
  });
}

/** Zipkin's representation of a model: µs, tags as strings, annotations, no links or event attributes. */
function zipkinView(m: Model) {
  const str = ([t, v]: Val): Val => ['string', t === 'array' ? JSON.stringify(plain([t, v])) : String(v)];
  const strs = (a: Attrs) => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, str(v)]));
  return {
    ...jaegerView(m),
    kind: m.kind === 1 ? 0 : m.kind,
    attributes: strs(m.attributes),
    events: m.events.map((e) => ({ timeNs: (e.timeNs / 1000n) * 1000n, name: e.name, attributes: {} })),
    links: [],
    resource: strs(m.resource),
    scope: { name: m.scope.name, version: m.scope.version },
  };
}

function fromZipkin(spans: Record<string, unknown>[]): Model[] {
  return spans.map((s) => {
    const tags = { ...(s.tags as Record<string, string>) };
    const take = (k: string) => {
      const v = tags[k];
      delete tags[k];
      return v;
    };
    const status = take('otel.status_code');
    const error = take('error');
    const scopeName = take('otel.scope.name') ?? '';
    const scopeVersion = take('otel.scope.version') ?? '';
    take('otel.status_description');
    const service = (s.localEndpoint as { serviceName: string }).serviceName;
    const resource: Attrs = { 'service.name': ['string', service] };
    const attributes: Attrs = {};
    // resource attributes come back as tags, as OpenTelemetry's Zipkin exporter writes them
    for (const [k, v] of Object.entries(tags))
      (RESOURCE_KEYS.has(k) ? resource : attributes)[k] = ['string', v];
    if (s.remoteEndpoint)
      assert.equal((s.remoteEndpoint as { serviceName: string }).serviceName, tags['peer.service']);
    return {
      traceId: s.traceId as string,
      spanId: s.id as string,
      parentSpanId: (s.parentId as string | undefined) ?? '',
      name: s.name as string,
      kind:
        s.kind === undefined
          ? 0
          : ['', '', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'].indexOf(s.kind as string),
      startNs: BigInt(s.timestamp as number) * 1000n,
      endNs: BigInt(s.duration as number) * 1000n,
      statusCode: status === undefined ? 0 : status === 'OK' ? 1 : 2,
      // `error` is the message, `true` when there is none (Zipkin's convention)
      statusMessage: status === 'ERROR' && error !== 'true' ? (error ?? '') : '',
      attributes,
      events: ((s.annotations ?? []) as { timestamp: number; value: string }[]).map((a) => ({
        timeNs: BigInt(a.timestamp) * 1000n,
        name: a.value,
        attributes: {},
      })),
      links: [],
      resource,
      scope: { name: scopeName, version: scopeVersion },
    };
  });
}
/** resource attribute keys of the senders below (Zipkin tags mix them with the span's) */
const RESOURCE_KEYS = new Set<string>();

const byId = (a: { spanId: string }, b: { spanId: string }) => (a.spanId < b.spanId ? -1 : 1);
const sorted = <T extends { spanId: string }>(xs: T[]) => [...xs].sort(byId);

// ---- what is sent

/**
 * One trace of every span kind: a server root with attributes of every type and an event, a
 * client child with an error status, a link and an event, producer → consumer, an internal span;
 * plus the linked span, alone in its own trace.
 */
function recordOtel(tracer: Tracer): void {
  const linked = tracer.startSpan('linked batch', { kind: SpanKind.INTERNAL });
  linked.end();
  const root = tracer.startSpan('GET /checkout', {
    kind: SpanKind.SERVER,
    attributes: {
      'http.method': 'GET',
      'http.status_code': 200,
      'cart.total': 99.5,
      'cart.express': true,
      'cart.items': ['book', 'pen'],
      'cart.counts': [1, 2, 3],
      'cart.weights': [0.25, 1.5],
      'cart.flags': [true, false],
    },
  });
  root.addEvent('cache miss', { 'cache.key': 'cart:7', attempt: 2, load: 0.75, cold: true, ids: [4, 5] });
  root.setStatus({ code: SpanStatusCode.OK });
  const ctx = trace.setSpan(context.active(), root);
  const client = tracer.startSpan(
    'call payments',
    {
      kind: SpanKind.CLIENT,
      attributes: { 'peer.service': 'payments', 'retry.count': 3 },
      links: [
        {
          context: linked.spanContext(),
          attributes: { 'link.reason': 'retry', 'link.n': 7, 'link.weight': 0.5, 'link.ok': false },
        },
      ],
    },
    ctx,
  );
  client.addEvent('exception', { 'exception.message': 'timeout', 'exception.code': 504 });
  client.setStatus({ code: SpanStatusCode.ERROR, message: 'payments timed out' });
  client.end();
  const producer = tracer.startSpan('publish order', { kind: SpanKind.PRODUCER }, ctx);
  producer.end();
  tracer
    .startSpan('consume order', { kind: SpanKind.CONSUMER }, trace.setSpan(context.active(), producer))
    .end();
  tracer.startSpan('compute total', { attributes: { 'items.n': 2 } }, ctx).end();
  root.end();
}

interface Sent {
  label: string;
  stream: string;
  /** the models by trace id */
  traces: Map<string, Model[]>;
  /** the representation rules of this ingest path for Tempo (identity but for Zipkin ingest) */
  service: string;
}

function group(models: Model[]): Map<string, Model[]> {
  const out = new Map<string, Model[]>();
  for (const m of models) out.set(m.traceId, [...(out.get(m.traceId) ?? []), m]);
  return out;
}

async function sendOtel(
  server: ServerProcess,
  label: string,
  stream: string,
  exporter: (headers: Record<string, string>) => SpanExporter,
  toModel: (s: ReadableSpan) => Model,
): Promise<Sent> {
  const service = `shop-${label}`;
  const resourceAttrs = {
    'service.name': service,
    'service.version': '1.4.0',
    'host.name': 'node-7',
    'host.cpus': 8,
    'host.load': 0.5,
    'host.ssd': true,
  };
  Object.keys(resourceAttrs).forEach((k) => RESOURCE_KEYS.add(k));
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(resourceAttrs),
    spanProcessors: [
      new SimpleSpanProcessor(exporter({ authorization: ROOT_AUTH, 'stream-name': stream })),
      new SimpleSpanProcessor(memory),
    ],
  });
  recordOtel(provider.getTracer(`checkout-${label}`, '2.1.0'));
  await provider.forceFlush();
  // (shutdown empties the in-memory exporter)
  const spans = [...memory.getFinishedSpans()];
  await provider.shutdown();
  assert.equal(spans.length, 6);
  return { label, stream, traces: group(spans.map(toModel)), service };
}

/** A jaeger-client tag value → the model (numbers are doubles: jaeger-client sends DOUBLE). */
function jaegerClientVal(v: unknown): Val {
  if (typeof v === 'number') return ['double', v];
  if (typeof v === 'boolean') return ['bool', v];
  return ['string', String(v)];
}

async function sendJaeger(server: ServerProcess): Promise<Sent> {
  const service = 'orders-jaeger';
  const silent = { info: () => undefined, error: () => undefined };
  const tracer = jaeger.initTracer(
    {
      serviceName: service,
      sampler: { type: 'const', param: 1 },
      reporter: {
        collectorEndpoint: `${server.url}/api/default/jaeger/api/traces`,
        username: ROOT_USER,
        password: ROOT_PASSWORD,
        flushIntervalMs: 100,
      },
    },
    { logger: silent, tags: { 'deploy.env': 'test', 'cpu.count': 4, 'cpu.share': 0.5, canary: true } },
  );
  const root = tracer.startSpan('GET /orders', {
    tags: {
      'span.kind': 'server',
      'http.url': '/orders?id=7',
      'http.status_code': 500,
      'orders.weight': 2.5,
      'orders.cached': false,
    },
  });
  root.setTag('error', true);
  const child = tracer.startSpan('db.query', {
    childOf: root,
    tags: { 'span.kind': 'client', 'db.rows': 3 },
  });
  child.log({ event: 'retry', attempt: 2, reason: 'deadlock', backoff: 0.25, fatal: false });
  child.finish();
  const later = tracer.startSpan('async work', {
    references: [jaeger.opentracing.followsFrom(root.context())],
  });
  later.finish();
  root.finish();
  await new Promise<void>((ok) => tracer.close(() => ok()));

  const process = (tracer as unknown as { _process: { tags: { key: string; value: unknown }[] } })._process;
  const resource: Attrs = { 'service.name': ['string', service] };
  for (const t of process.tags) resource[t.key] = jaegerClientVal(t.value);
  Object.keys(resource).forEach((k) => RESOURCE_KEYS.add(k));
  const traceId = root.context().toTraceId().padStart(32, '0');
  const id = (s: jaeger.opentracing.Span) =>
    (s.context() as unknown as { toSpanId(): string }).toSpanId().padStart(16, '0');
  type JSpan = {
    _startTime: number;
    _duration: number;
    _logs: { timestamp: number; fields: { key: string; value: unknown }[] }[];
  };
  const times = (s: jaeger.opentracing.Span) => {
    const j = s as unknown as JSpan;
    // jaeger-client: startTime and duration ms (float) → µs, truncated by Int64
    const startNs = BigInt(Math.trunc(j._startTime * 1000)) * 1000n;
    return { startNs, endNs: startNs + BigInt(Math.trunc(j._duration * 1000)) * 1000n };
  };
  const base = {
    traceId,
    events: [],
    links: [],
    resource,
    scope: { name: '', version: '' },
    statusMessage: '',
  };
  const log = (child as unknown as JSpan)._logs[0]!;
  const models: Model[] = [
    {
      ...base,
      spanId: id(root),
      parentSpanId: '',
      name: 'GET /orders',
      kind: 2,
      ...times(root),
      statusCode: 2,
      attributes: {
        'http.url': ['string', '/orders?id=7'],
        'http.status_code': ['double', 500],
        'orders.weight': ['double', 2.5],
        'orders.cached': ['bool', false],
        // jaeger-client tags a sampled root with its sampler
        'sampler.type': ['string', 'const'],
        'sampler.param': ['bool', true],
      },
    },
    {
      ...base,
      spanId: id(child),
      parentSpanId: id(root),
      name: 'db.query',
      kind: 3,
      ...times(child),
      statusCode: 0,
      attributes: { 'db.rows': ['double', 3] },
      events: [
        {
          timeNs: BigInt(Math.trunc(log.timestamp * 1000)) * 1000n,
          name: 'retry',
          attributes: {
            attempt: ['double', 2],
            reason: ['string', 'deadlock'],
            backoff: ['double', 0.25],
            fatal: ['bool', false],
          },
        },
      ],
    },
    {
      ...base,
      spanId: id(later),
      // the first reference is the parent (jaeger-client sets parentSpanId from it), and stays a
      // link with its reference type (the Collector's Jaeger receiver does the same)
      parentSpanId: id(root),
      links: [
        { traceId, spanId: id(root), attributes: { 'opentracing.ref_type': ['string', 'follows_from'] } },
      ],
      name: 'async work',
      kind: 0,
      ...times(later),
      statusCode: 0,
      attributes: {},
    },
  ];
  return { label: 'jaeger', stream: 'default', traces: group(models), service };
}

// ---- the checks

/** Compares models, naming the span and field that differ. */
function same(actual: unknown[], expected: unknown[], where: string): void {
  // keys in a fixed order, bigints as text
  const canon = (v: unknown): unknown =>
    typeof v === 'bigint'
      ? `${v}n`
      : Array.isArray(v)
        ? v.map(canon)
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(
              Object.keys(v)
                .sort()
                .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
            )
          : v;
  const text = (x: unknown) => JSON.stringify(canon(x));
  assert.equal(actual.length, expected.length, `${where}: span count`);
  expected.forEach((e, i) => {
    const a = actual[i] as Record<string, unknown>;
    for (const k of Object.keys(e as object))
      assert.equal(text(a[k]), text((e as Record<string, unknown>)[k]), `${where}: span ${i} ${k}`);
  });
  assert.equal(text(actual), text(expected), where);
}

describe('traces from real clients through the Tempo, Jaeger and Zipkin query APIs', () => {
  let server: ServerProcess;
  const sent: Sent[] = [];
  const PB_ORG = 'pbcheck';

  before(async () => {
    server = await startServer();
    const res = await server.fetch('/api/_admin/orgs', {
      method: 'POST',
      body: JSON.stringify({ name: PB_ORG }),
    });
    assert.equal(res.status, 201);
    const grpcHeaders = (h: Record<string, string>) => {
      const md = new Metadata();
      for (const [k, v] of Object.entries(h)) md.set(k, v);
      return md;
    };
    sent.push(
      await sendOtel(
        server,
        'grpc',
        'qa-grpc',
        (h) => new TracesGrpc({ url: `http://${server.grpcAddress}`, metadata: grpcHeaders(h) }),
        otelModel,
      ),
      await sendOtel(
        server,
        'json',
        'qa-json',
        (h) => new TracesHttpJson({ url: `${server.url}/v1/traces`, headers: h }),
        otelModel,
      ),
      await sendOtel(
        server,
        'proto',
        'qa-proto',
        (h) => new TracesProto({ url: `${server.url}/v1/traces`, headers: h }),
        otelModel,
      ),
      await sendOtel(
        server,
        'zipkin',
        'qa-zipkin',
        (h) => new ZipkinExporter({ url: `${server.url}/api/v2/spans`, headers: h }),
        zipkinSentModel,
      ),
      await sendJaeger(server),
    );
  });
  after(async () => {
    await server?.stop();
  });

  const getJson = async (path: string, init?: RequestInit) => {
    const res = await server.fetch(path, init);
    const text = await res.text();
    assert.equal(res.status, 200, `${path}: ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };

  async function checkAll(phase: string) {
    for (const s of sent) {
      for (const [traceId, models] of s.traces) {
        const where = (api: string) => `${phase}: ${s.label} trace ${traceId} via ${api}`;
        const expected = sorted(models);

        // Tempo v1 and v2 JSON
        const v1 = (await getJson(`/api/traces/${traceId}`)) as { batches: ResourceSpans };
        same(sorted(fromTempo(v1.batches)), expected, where('Tempo v1'));
        const v2 = (await getJson(`/api/v2/traces/${traceId}`)) as {
          trace: { resourceSpans: ResourceSpans };
        };
        same(sorted(fromTempo(v2.trace.resourceSpans)), expected, where('Tempo v2'));

        // Tempo protobuf: v2 wraps v1's bytes; v1's bytes are an OTLP request, sent into another org
        const pb = async (path: string) => {
          const res = await server.fetch(path, { headers: { accept: 'application/protobuf' } });
          assert.equal(res.status, 200);
          assert.equal(res.headers.get('content-type'), 'application/protobuf');
          return Buffer.from(await res.arrayBuffer());
        };
        const pb1 = await pb(`/api/traces/${traceId}`);
        const pb2 = await pb(`/api/v2/traces/${traceId}`);
        assert.equal(pb2[0], 0x0a);
        assert.ok(pb2.subarray(pb2.length - pb1.length).equals(pb1), where('Tempo v2 protobuf wraps v1'));
        if (phase === 'memtable') {
          const post = await server.fetch(`/api/${PB_ORG}/v1/traces`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-protobuf', 'stream-name': s.stream },
            body: pb1,
          });
          assert.equal(post.status, 200, await post.text());
        }
        const back = (await getJson(`/api/traces/${traceId}`, { headers: { 'x-scope-orgid': PB_ORG } })) as {
          batches: ResourceSpans;
        };
        same(sorted(fromTempo(back.batches)), expected, where('Tempo protobuf (sent back into OTLP ingest)'));

        // Jaeger by id and search
        const jById = (await getJson(`/jaeger/api/traces/${traceId}`)) as {
          data: Parameters<typeof fromJaeger>[0][];
        };
        assert.equal(jById.data.length, 1);
        const jExpected = sorted(expected.map(jaegerView));
        same(sorted(fromJaeger(jById.data[0]!)), jExpected, where('Jaeger trace by id'));
        const svc = models[0]!.resource['service.name']![1] as string;
        const jSearch = (await getJson(
          `/jaeger/api/traces?service=${encodeURIComponent(svc)}&limit=20&lookback=1h`,
        )) as { data: Parameters<typeof fromJaeger>[0][]; total: number };
        const found = jSearch.data.find((t) => t.traceID === traceId);
        assert.ok(found, where('Jaeger search finds the trace'));
        same(sorted(fromJaeger(found)), jExpected, where('Jaeger search'));

        // Zipkin by id and search
        const zExpected = sorted(expected.map(zipkinView));
        const zById = (await getJson(`/api/v2/trace/${traceId}`)) as unknown as Record<string, unknown>[];
        same(sorted(fromZipkin(zById)), zExpected, where('Zipkin trace by id'));
        const zSearch = (await getJson(
          `/api/v2/traces?serviceName=${encodeURIComponent(svc)}&limit=20`,
        )) as unknown as Record<string, unknown>[][];
        const zFound = zSearch.find((t) => t[0]?.traceId === traceId);
        assert.ok(zFound, where('Zipkin search finds the trace'));
        same(sorted(fromZipkin(zFound)), zExpected, where('Zipkin search'));
      }
    }
  }

  test('every span field, read from the memtables', async () => {
    await checkAll('memtable');
  });

  test('whole doubles in span, event and link attributes and arrays stay doubles (OTLP JSON)', async () => {
    const traceId = '5e1f0000000000000000000000000001';
    const dbl = (v: number) => ({ doubleValue: v });
    const attrs = [
      { key: 'd', value: dbl(100) },
      { key: 'i', value: { intValue: '100' } },
      { key: 'arr', value: { arrayValue: { values: [dbl(1), dbl(2.5), { intValue: '3' }] } } },
    ];
    const now = BigInt(Date.now()) * 1_000_000n;
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'doubles' } }] },
          scopeSpans: [
            {
              scope: { name: 'raw' },
              spans: [
                {
                  traceId,
                  spanId: '5e1f000000000001',
                  name: 'whole doubles',
                  kind: 1,
                  startTimeUnixNano: String(now),
                  endTimeUnixNano: String(now + 1000n),
                  attributes: attrs,
                  events: [{ timeUnixNano: String(now), name: 'e', attributes: attrs }],
                  links: [{ traceId, spanId: '5e1f000000000002', attributes: attrs }],
                },
              ],
            },
          ],
        },
      ],
    };
    const res = await server.fetch('/v1/traces', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stream-name': 'qa-raw' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.text());
    const want: Attrs = {
      d: ['double', 100],
      i: ['int', '100'],
      arr: [
        'array',
        [
          ['double', 1],
          ['double', 2.5],
          ['int', '3'],
        ],
      ],
    };
    for (const phase of ['memtable', 'parquet']) {
      if (phase === 'parquet')
        await server.fetch('/api/default/streams/qa-raw/_flush?type=traces', { method: 'POST' });
      const v2 = (await getJson(`/api/v2/traces/${traceId}`)) as { trace: { resourceSpans: ResourceSpans } };
      const [m] = fromTempo(v2.trace.resourceSpans);
      same([m!.attributes, m!.events[0]!.attributes, m!.links[0]!.attributes], [want, want, want], phase);
      // Jaeger's float64 tags in event logs
      const j = (await getJson(`/jaeger/api/traces/${traceId}`)) as {
        data: { spans: { logs: { fields: JTag[] }[] }[] }[];
      };
      const d = j.data[0]!.spans[0]!.logs[0]!.fields.find((f) => f.key === 'd')!;
      assert.deepEqual([d.type, d.value], ['float64', 100]);
    }
  });

  test('/api/{org}/tempo, /api/{org}/jaeger and /api/{org}/zipkin: the org from the path', async () => {
    const [traceId] = [...sent[0]!.traces.keys()];
    const tempo = (await getJson(`/api/default/tempo/api/v2/traces/${traceId}`)) as {
      trace: { resourceSpans: ResourceSpans };
    };
    same(
      sorted(fromTempo(tempo.trace.resourceSpans)),
      sorted(sent[0]!.traces.get(traceId!)!),
      'Tempo by org',
    );
    // the copy sent back into the other org is found there, by path and by header alike
    const other = (await getJson(`/api/${PB_ORG}/tempo/api/traces/${traceId}`)) as { batches: ResourceSpans };
    same(sorted(fromTempo(other.batches)), sorted(sent[0]!.traces.get(traceId!)!), 'Tempo by other org');
    for (const path of [
      `/api/default/tempo/api/echo`,
      `/api/default/jaeger/api/services`,
      `/api/default/jaeger/api/traces/${traceId}`,
      `/api/default/zipkin/api/v2/trace/${traceId}`,
      `/api/default/zipkin/api/v2/services`,
      `/api/default/tempo/api/v2/search/tags`,
      `/api/default/tempo/api/search?q=${encodeURIComponent('{ }')}`,
    ]) {
      const res = await server.fetch(path);
      assert.equal(res.status, 200, path);
    }
    const services = (await getJson('/api/default/jaeger/api/services')) as { data: string[] };
    assert.deepEqual(
      services.data.filter((x) => x.startsWith('shop-') || x === 'orders-jaeger'),
      ['orders-jaeger', 'shop-grpc', 'shop-json', 'shop-proto', 'shop-zipkin'],
    );
    const none = await server.fetch(`/api/no-such-org/jaeger/api/traces/${traceId}`);
    assert.ok(none.status === 403 || none.status === 404, `unknown org: ${none.status}`);
  });

  test('Jaeger search honours limit; total counts the traces returned (limit and offset 0, as Jaeger)', async () => {
    const all = (await getJson('/jaeger/api/traces?service=shop-json&lookback=1h')) as {
      data: { traceID: string }[];
    };
    assert.equal(all.data.length, 2);
    const one = (await getJson('/jaeger/api/traces?service=shop-json&lookback=1h&limit=1')) as {
      data: { traceID: string }[];
      total: number;
      limit: number;
      offset: number;
    };
    assert.deepEqual([one.data.length, one.total, one.limit, one.offset], [1, 1, 0, 0]);
    const bad = await server.fetch('/jaeger/api/traces?service=shop-json&limit=x');
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /invalid limit/);
  });

  test('every span field, read from Parquet after a flush', async () => {
    for (const org of ['default', PB_ORG])
      for (const stream of new Set(sent.map((s) => s.stream))) {
        const res = await server.fetch(`/api/${org}/streams/${stream}/_flush?type=traces`, {
          method: 'POST',
        });
        assert.equal(res.status, 200, `flush ${org}/${stream}: ${await res.text()}`);
      }
    await checkAll('parquet');
  });
});
