/**
 * Issue 4, Done-when 1 (OTLP/gRPC): the real OpenTelemetry JS gRPC exporters (traces, logs, metrics;
 * without and with gzip) send to the server's gRPC port; SQL and PromQL read every field back.
 * Then the gRPC errors: credentials, permissions, orgs, stream names, malformed protobuf, size.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status } from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { grpcUnary } from './grpc-client.ts';
import { ROOT_AUTH, startServer, type ServerProcess } from './harness.ts';

type Compression = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>['compression'];
type MetricsCompression = NonNullable<ConstructorParameters<typeof OTLPMetricExporter>[0]>['compression'];

const TRACES = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const LOGS = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

/** Sends one trace (parent, child with event and link), one log and one counter through the gRPC exporters. */
async function send(server: ServerProcess, stream: string, compression: 'none' | 'gzip') {
  const url = `http://${server.grpcAddress}`;
  const metadata = () => {
    const md = new Metadata();
    md.set('authorization', ROOT_AUTH);
    md.set('stream-name', stream);
    return md;
  };
  const resource = resourceFromAttributes({ 'service.name': `grpc-${compression}`, 'host.cpus': 2 });
  const tracerProvider = new BasicTracerProvider({
    resource,
    spanProcessors: [
      new SimpleSpanProcessor(
        new OTLPTraceExporter({ url, metadata: metadata(), compression: compression as Compression }),
      ),
    ],
  });
  const loggerProvider = new LoggerProvider({
    resource,
    processors: [
      new SimpleLogRecordProcessor({
        exporter: new OTLPLogExporter({ url, metadata: metadata(), compression: compression as Compression }),
      }),
    ],
  });
  const reader = new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter({
      url,
      metadata: metadata(),
      compression: compression as MetricsCompression,
    }),
    exportIntervalMillis: 3_600_000,
  });
  const meterProvider = new MeterProvider({ resource, readers: [reader] });

  const tracer = tracerProvider.getTracer('grpc-test', '1.0.0');
  const linked = tracer.startSpan('linked');
  linked.end();
  const parent = tracer.startSpan('parent', { kind: SpanKind.SERVER });
  const child = tracer.startSpan(
    'child',
    {
      kind: SpanKind.CLIENT,
      attributes: { 'http.status_code': 503, ratio: 0.5, cached: true },
      links: [{ context: linked.spanContext(), attributes: { why: 'retry' } }],
    },
    trace.setSpan(context.active(), parent),
  );
  child.addEvent('retrying', { attempt: 2 });
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream failed' });
  loggerProvider.getLogger('grpc-logger', '2.0.0').emit({
    context: trace.setSpan(context.active(), child),
    severityNumber: SeverityNumber.ERROR,
    severityText: 'ERROR',
    body: `failed over grpc ${compression}`,
    attributes: { 'user.id': 'u-1', retries: 3 },
  });
  child.end();
  parent.end();
  meterProvider
    .getMeter('grpc-meter')
    .createCounter('grpc.test.requests')
    .add(5, { route: `/${compression}` });

  await tracerProvider.forceFlush();
  await loggerProvider.forceFlush();
  await reader.forceFlush();
  await Promise.all([tracerProvider.shutdown(), loggerProvider.shutdown(), meterProvider.shutdown()]);
  return { parent: parent.spanContext(), child: child.spanContext(), linked: linked.spanContext() };
}

describe('OpenTelemetry JS gRPC exporters → OTLP/gRPC → SQL and PromQL', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer({ env: { MOLESIGNAL_INGEST_MAX_BODY_BYTES: String(256 * 1024) } });
  });
  after(async () => {
    await server.stop();
  });

  for (const compression of ['none', 'gzip'] as const) {
    test(`traces, logs and metrics, compression ${compression}`, async () => {
      const stream = `grpc-${compression}`;
      const ids = await send(server, stream, compression);

      const spans = await server.search(`SELECT * FROM traces."${stream}" ORDER BY name`);
      assert.deepEqual(
        spans.hits.map((s) => s.name),
        ['child', 'linked', 'parent'],
      );
      const s = spans.hits[0]!;
      assert.equal(s.trace_id, ids.child.traceId);
      assert.equal(s.span_id, ids.child.spanId);
      assert.equal(s.parent_span_id, ids.parent.spanId);
      assert.equal(s.kind, 3);
      assert.equal(s.status_code, 2);
      assert.equal(s.status_message, 'upstream failed');
      assert.equal(s['attr.http.status_code'], 503);
      assert.equal(s['attr.ratio'], 0.5);
      assert.equal(s['attr.cached'], true);
      assert.equal(s['resource.service.name'], `grpc-${compression}`);
      assert.equal(s['resource.host.cpus'], 2);
      assert.equal(s['scope.name'], 'grpc-test');
      assert.equal(s['scope.version'], '1.0.0');
      assert.equal(
        BigInt(String(s.end_timestamp)) - BigInt(String(s._timestamp)),
        BigInt(String(s.duration_ns)),
      );
      const events = s.events as { name: string; attributes: string }[];
      assert.deepEqual(
        events.map((e) => [e.name, JSON.parse(e.attributes)]),
        [['retrying', { attempt: 2 }]],
      );
      const links = s.links as { trace_id: string; span_id: string; attributes: string }[];
      assert.deepEqual(
        links.map((l) => [l.trace_id, l.span_id, JSON.parse(l.attributes)]),
        [[ids.linked.traceId, ids.linked.spanId, { why: 'retry' }]],
      );

      const logs = await server.search(`SELECT * FROM logs."${stream}"`);
      assert.equal(logs.hits.length, 1);
      const l = logs.hits[0]!;
      assert.equal(l.body, `failed over grpc ${compression}`);
      assert.equal(l.severity_number, SeverityNumber.ERROR);
      assert.equal(l.severity_text, 'ERROR');
      assert.equal(l.trace_id, ids.child.traceId);
      assert.equal(l.span_id, ids.child.spanId);
      assert.equal(l['attr.user.id'], 'u-1');
      assert.equal(l['attr.retries'], 3);
      assert.equal(l['resource.service.name'], `grpc-${compression}`);
      assert.equal(l['scope.name'], 'grpc-logger');
      assert.equal(l['scope.version'], '2.0.0');

      const q = encodeURIComponent(`grpc_test_requests_total{route="/${compression}"}`);
      const res = await server.fetch(`/api/v1/query?query=${q}&time=${Date.now() / 1000 + 1}`);
      const body = (await res.json()) as {
        data: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      assert.equal(res.status, 200);
      assert.equal(body.data.result.length, 1, JSON.stringify(body));
      assert.equal(body.data.result[0]!.value[1], '5');
      assert.equal(body.data.result[0]!.metric.job, `grpc-${compression}`);
    });
  }

  test('errors are gRPC status codes with a message; nothing of a refused call is stored', async () => {
    const addr = server.grpcAddress;
    const md = { authorization: ROOT_AUTH, 'stream-name': 'grpc-bad' };

    const noAuth = await grpcUnary(addr, LOGS, Buffer.alloc(0), {});
    assert.deepEqual(noAuth.ok ? null : noAuth.code, status.UNAUTHENTICATED);
    const badAuth = await grpcUnary(addr, LOGS, Buffer.alloc(0), { authorization: 'Bearer ms_nope_nope' });
    assert.deepEqual(badAuth.ok ? null : badAuth.code, status.UNAUTHENTICATED);

    const keyRes = await server.fetch('/api/default/_keys', {
      method: 'POST',
      body: JSON.stringify({ scopes: ['query'] }),
    });
    const { key } = (await keyRes.json()) as { key: string };
    const viewer = await grpcUnary(addr, LOGS, Buffer.alloc(0), { authorization: `Bearer ${key}` });
    assert.ok(!viewer.ok);
    assert.equal(viewer.code, status.PERMISSION_DENIED);
    assert.match(viewer.details, /lacks the "ingest" permission/);

    const otherOrg = await grpcUnary(addr, LOGS, Buffer.alloc(0), { ...md, 'x-scope-orgid': 'nope' });
    assert.ok(!otherOrg.ok);
    assert.equal(otherOrg.code, status.NOT_FOUND);

    const badStream = await grpcUnary(addr, LOGS, Buffer.alloc(0), { ...md, 'stream-name': 'Bad Name' });
    assert.ok(!badStream.ok);
    assert.equal(badStream.code, status.INVALID_ARGUMENT);
    assert.match(badStream.details, /stream name "Bad Name" is invalid/);

    // a length prefix running past the end of the message
    const truncated = await grpcUnary(addr, TRACES, Buffer.from([0x0a, 0x40, 0x0a]), md);
    assert.ok(!truncated.ok);
    assert.equal(truncated.code, status.INVALID_ARGUMENT);
    assert.match(truncated.details, /malformed protobuf: length 64 at offset 1 runs past the end/);

    // over ingest.maxBodyBytes (256 KiB here), compressed or not
    const big = Buffer.concat([Buffer.from([0x0a, 0x80, 0x80, 0x20]), Buffer.alloc(512 * 1024, 0x41)]);
    for (const gzip of [false, true]) {
      const tooBig = await grpcUnary(addr, LOGS, big, md, { gzip });
      assert.ok(!tooBig.ok);
      assert.equal(tooBig.code, status.RESOURCE_EXHAUSTED, tooBig.details);
    }

    // the server survives and stored nothing from the refused calls
    const ok = await grpcUnary(addr, LOGS, Buffer.alloc(0), { ...md, 'stream-name': 'grpc-ok' });
    assert.deepEqual(ok, { ok: true, body: Buffer.alloc(0) });
    const streams = (await (await server.fetch('/api/default/streams')).json()) as {
      list?: { name: string }[];
    };
    assert.ok(!JSON.stringify(streams).includes('grpc-bad'));
  });
});
