/**
 * Done-when 2: the real OpenTelemetry JS SDK (logs and traces; protobuf and JSON OTLP/HTTP
 * exporters) against the server process; SQL reads back every field with the right value and type.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as LogsHttpJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as LogsProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as TracesHttpJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as TracesProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ROOT_AUTH, startServer, type ServerProcess } from './harness.ts';

const ENCODINGS = [
  { name: 'protobuf', stream: 'sdkproto', Logs: LogsProto, Traces: TracesProto },
  { name: 'json', stream: 'sdkjson', Logs: LogsHttpJson, Traces: TracesHttpJson },
] as const;

describe('OpenTelemetry JS SDK → MoleSignal → SQL', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.stop();
  });

  for (const enc of ENCODINGS) {
    test(`logs and traces over OTLP/HTTP ${enc.name}`, async () => {
      const headers = { authorization: ROOT_AUTH, 'stream-name': enc.stream };
      const resource = resourceFromAttributes({
        'service.name': `svc-${enc.name}`,
        'deployment.environment': 'test',
        'host.cpus': 2,
      });
      const tracerProvider = new BasicTracerProvider({
        resource,
        spanProcessors: [
          new SimpleSpanProcessor(new enc.Traces({ url: `${server.url}/v1/traces`, headers })),
        ],
      });
      const loggerProvider = new LoggerProvider({
        resource,
        processors: [
          new SimpleLogRecordProcessor({ exporter: new enc.Logs({ url: `${server.url}/v1/logs`, headers }) }),
        ],
      });
      const tracer = tracerProvider.getTracer('sdk-test', '1.2.3');
      const logger = loggerProvider.getLogger('sdk-logger', '4.5.6');

      const linked = tracer.startSpan('linked');
      linked.end();
      const parent = tracer.startSpan('parent', { kind: SpanKind.SERVER });
      const ctx = trace.setSpan(context.active(), parent);
      const child = tracer.startSpan(
        'child op',
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'http.method': 'GET',
            'http.status_code': 503,
            ratio: 0.25,
            cached: false,
            tags: ['a', 'b'],
          },
          links: [{ context: linked.spanContext(), attributes: { why: 'retry' } }],
        },
        ctx,
      );
      child.addEvent('exception', { 'exception.message': 'boom', attempt: 2 });
      child.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream failed' });
      // no context manager is registered, so the span context is passed explicitly
      logger.emit({
        context: trace.setSpan(context.active(), child),
        severityNumber: SeverityNumber.WARN,
        severityText: 'WARN',
        body: 'payment failed',
        attributes: { 'user.id': 'u-42', amount: 12.5, retries: 3, premium: true, items: ['x', 'y'] },
      });
      child.end();
      parent.end();
      await tracerProvider.forceFlush();
      await loggerProvider.forceFlush();
      await tracerProvider.shutdown();
      await loggerProvider.shutdown();

      const c = child.spanContext();
      const logs = await server.search(`SELECT * FROM logs.${enc.stream}`);
      assert.equal(logs.hits.length, 1);
      const log = logs.hits[0]!;
      assert.equal(log.body, 'payment failed');
      assert.equal(log.severity_number, SeverityNumber.WARN);
      assert.equal(log.severity_text, 'WARN');
      assert.equal(log.trace_id, c.traceId);
      assert.equal(log.span_id, c.spanId);
      assert.equal(log['attr.user.id'], 'u-42');
      assert.equal(log['attr.amount'], 12.5);
      assert.equal(log['attr.retries'], 3);
      assert.equal(log['attr.premium'], true);
      assert.equal(log['attr.items'], '["x","y"]');
      assert.equal(log['resource.service.name'], `svc-${enc.name}`);
      assert.equal(log['resource.deployment.environment'], 'test');
      assert.equal(log['resource.host.cpus'], 2);
      assert.equal(log['scope.name'], 'sdk-logger');
      assert.equal(log['scope.version'], '4.5.6');
      assert.match(String(log._timestamp), /^\d{19}$/, 'nanosecond timestamp, as a string beyond 2^53');
      const types = Object.fromEntries(logs.columns.map((col) => [col.name, col.type]));
      assert.equal(types['attr.retries'], 'BIGINT');
      assert.equal(types['attr.amount'], 'DOUBLE');
      assert.equal(types['attr.premium'], 'BOOLEAN');
      assert.equal(types['resource.host.cpus'], 'BIGINT');

      const spans = await server.search(`SELECT * FROM traces.${enc.stream} ORDER BY name`);
      assert.deepEqual(
        spans.hits.map((s) => s.name),
        ['child op', 'linked', 'parent'],
      );
      const s = spans.hits[0]!;
      assert.equal(s.trace_id, c.traceId);
      assert.equal(s.span_id, c.spanId);
      assert.equal(s.parent_span_id, parent.spanContext().spanId);
      assert.equal(s.kind, 3, 'SPAN_KIND_CLIENT');
      assert.equal(s.status_code, 2, 'STATUS_CODE_ERROR');
      assert.equal(s.status_message, 'upstream failed');
      assert.equal(s['attr.http.method'], 'GET');
      assert.equal(s['attr.http.status_code'], 503);
      assert.equal(s['attr.ratio'], 0.25);
      assert.equal(s['attr.cached'], false);
      assert.equal(s['attr.tags'], '["a","b"]');
      assert.equal(s['scope.name'], 'sdk-test');
      assert.equal(s['scope.version'], '1.2.3');
      assert.ok(Number(s.duration_ns) >= 0);
      assert.equal(
        BigInt(String(s.end_timestamp)) - BigInt(String(s._timestamp)),
        BigInt(String(s.duration_ns)),
      );
      const events = s.events as { name: string; attributes: string; time_unix_nano: string }[];
      assert.equal(events.length, 1);
      assert.equal(events[0]!.name, 'exception');
      assert.deepEqual(JSON.parse(events[0]!.attributes), { 'exception.message': 'boom', attempt: 2 });
      const links = s.links as { trace_id: string; span_id: string; attributes: string }[];
      assert.equal(links.length, 1);
      assert.equal(links[0]!.trace_id, linked.spanContext().traceId);
      assert.equal(links[0]!.span_id, linked.spanContext().spanId);
      assert.deepEqual(JSON.parse(links[0]!.attributes), { why: 'retry' });

      // joins across logs and traces of one org
      const joined = await server.search(
        `SELECT l.body, t.name FROM logs.${enc.stream} l JOIN traces.${enc.stream} t ON l.span_id = t.span_id`,
      );
      assert.deepEqual(joined.hits, [{ body: 'payment failed', name: 'child op' }]);
    });
  }
});
