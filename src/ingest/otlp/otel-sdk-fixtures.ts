/**
 * Test and benchmark fixtures: OTLP requests made by the real OpenTelemetry JS SDK and its OTLP
 * serializers (devDependencies), so the decoders are checked against what senders emit rather
 * than against our own idea of the format. Not imported by the server.
 */
import { context, trace, SpanKind, SpanStatusCode, TraceFlags, type TraceState } from '@opentelemetry/api';
import type { Link, SpanContext } from '@opentelemetry/api';
import { SeverityNumber, type LogRecord } from '@opentelemetry/api-logs';
import {
  JsonLogsSerializer,
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

export interface Encoded<T> {
  records: T[];
  proto: Uint8Array;
  json: string;
}

/** A fixed W3C tracestate, without pulling in @opentelemetry/core. */
export function fixedTraceState(serialized: string): TraceState {
  const state: TraceState = {
    set: () => state,
    unset: () => state,
    get: () => undefined,
    serialize: () => serialized,
  };
  return state;
}

export const spanContextOf = (traceId: string, spanId: string, traceState?: TraceState): SpanContext => ({
  traceId,
  spanId,
  traceFlags: TraceFlags.SAMPLED,
  isRemote: true,
  ...(traceState ? { traceState } : {}),
});

/** Emits `records` through a LoggerProvider and serializes what the exporter captured. */
export async function encodeLogs(
  records: readonly LogRecord[],
  opts: {
    resource?: Record<string, string | number | boolean>;
    scopeName?: string;
    scopeVersion?: string;
    scopeAttributes?: Record<string, string | number | boolean>;
  } = {},
): Promise<Encoded<ReadableLogRecord>> {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes(opts.resource ?? { 'service.name': 'checkout' }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger(opts.scopeName ?? 'my.library', opts.scopeVersion ?? '1.0.0', {
    ...(opts.scopeAttributes ? { attributes: opts.scopeAttributes } : {}),
  });
  for (const r of records) logger.emit(r);
  await provider.forceFlush();
  const captured = exporter.getFinishedLogRecords();
  await provider.shutdown();
  return serializeLogs(captured);
}

export const serializeLogs = (records: ReadableLogRecord[]): Encoded<ReadableLogRecord> =>
  serialize(records, ProtobufLogsSerializer, JsonLogsSerializer);

export const serializeSpans = (spans: ReadableSpan[]): Encoded<ReadableSpan> =>
  serialize(spans, ProtobufTraceSerializer, JsonTraceSerializer);

/** Runs `build` with a tracer and serializes the spans it ended. */
export async function encodeSpans(
  build: (tracer: ReturnType<BasicTracerProvider['getTracer']>) => void,
  resource: Record<string, string | number | boolean> = { 'service.name': 'checkout' },
): Promise<Encoded<ReadableSpan>> {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(resource),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  build(provider.getTracer('my.tracer', '2.0.0'));
  await provider.forceFlush();
  const captured = exporter.getFinishedSpans();
  await provider.shutdown();
  return serializeSpans(captured);
}

interface Serializer<T> {
  serializeRequest(records: T[]): Uint8Array | undefined;
}

function serialize<T>(records: T[], proto: Serializer<T>, json: Serializer<T>): Encoded<T> {
  const protoBytes = proto.serializeRequest(records);
  const jsonBytes = json.serializeRequest(records);
  if (!protoBytes || !jsonBytes) throw new Error('the OpenTelemetry serializer returned nothing');
  return { records, proto: protoBytes, json: new TextDecoder().decode(jsonBytes) };
}

/** A context carrying a sampled span context, to put trace/span ids on log records. */
export const contextWithSpan = (traceId: string, spanId: string) =>
  trace.setSpanContext(context.active(), spanContextOf(traceId, spanId));

/**
 * About `count` realistic log records of roughly 500 bytes with 8 attributes each (an HTTP
 * access log line with request metadata), for the benchmark.
 */
export function realisticLogRecords(count: number): LogRecord[] {
  const methods = ['GET', 'POST', 'PUT', 'DELETE'];
  const routes = ['/api/v1/orders', '/api/v1/cart', '/api/v1/users/{id}', '/healthz', '/api/v1/payments'];
  const out: LogRecord[] = [];
  for (let i = 0; i < count; i++) {
    const method = methods[i % methods.length]!;
    const route = routes[i % routes.length]!;
    const status = i % 17 === 0 ? 500 : 200;
    const traceId = (i + 1).toString(16).padStart(32, 'a');
    const spanId = (i + 1).toString(16).padStart(16, 'b');
    out.push({
      timestamp: [1_700_000_000 + i, (i * 7919) % 1_000_000_000],
      observedTimestamp: [1_700_000_000 + i, (i * 7919 + 1000) % 1_000_000_000],
      severityNumber: status === 500 ? SeverityNumber.ERROR : SeverityNumber.INFO,
      severityText: status === 500 ? 'ERROR' : 'INFO',
      body:
        `${method} ${route.replace('{id}', String(10_000 + i))} completed with status ${status} in ${(i % 250) + 3} ms ` +
        `for client 10.${i % 256}.${(i * 7) % 256}.${(i * 13) % 256}; request id req-${(i * 2654435761) >>> 0}; ` +
        `user agent Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0`,
      attributes: {
        'http.request.method': method,
        'http.route': route,
        'http.response.status_code': status,
        'server.address': 'checkout.internal',
        'client.address': `10.${i % 256}.${(i * 7) % 256}.${(i * 13) % 256}`,
        'http.server.request.duration': ((i % 250) + 3) / 1000,
        'user.id': `user-${i % 997}`,
        'feature.flag.enabled': i % 3 === 0,
      },
      context: contextWithSpan(traceId, spanId),
    });
  }
  return out;
}

/** Spans with every field set: kinds, status, events, links, parents, trace state, attributes. */
export function buildRichSpans(tracer: ReturnType<BasicTracerProvider['getTracer']>): void {
  const parent = spanContextOf(
    '5b8efff798038103d269b633813fc60c',
    'eee19b7ec3c1b173',
    fixedTraceState('vendor=abc'),
  );
  const links: Link[] = [
    {
      context: spanContextOf('0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331', fixedTraceState('x=1')),
      attributes: { 'link.kind': 'follows', 'link.n': 3 },
    },
  ];
  const server = tracer.startSpan(
    'GET /api/v1/orders',
    {
      kind: SpanKind.SERVER,
      startTime: [1_700_000_000, 1],
      attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, ratio: 0.25, ok: true },
      links,
    },
    trace.setSpanContext(context.active(), parent),
  );
  server.addEvent(
    'cache.miss',
    { 'cache.key': 'orders:42', 'cache.size': 12, 'cache.tags': ['a', 'b'] },
    [1_700_000_000, 500],
  );
  server.addEvent('no.attributes', [1_700_000_000, 600]);
  server.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream timed out' });
  server.end([1_700_000_001, 250]);

  const internal = tracer.startSpan('compute', {
    kind: SpanKind.INTERNAL,
    startTime: [1_700_000_002, 0],
    attributes: { 'list.ints': [1, 2, 3], 'list.strings': ['x', 'y'], neg: -42 },
  });
  internal.setStatus({ code: SpanStatusCode.OK });
  internal.end([1_700_000_002, 1_000]);
}
