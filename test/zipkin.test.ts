/**
 * Issue 4, Done-when 1 and 2 (Zipkin v2): the real `@opentelemetry/exporter-zipkin` posts JSON to
 * `/api/v2/spans` and `/api/{org}/v2/spans`; SQL reads every field back in the OTLP span model.
 * The protobuf encoding has no JavaScript sender, so that test builds `ListOfSpans` messages from
 * the published zipkin.proto. Then malformed input: each refused with its status and message,
 * nothing of it stored, the server still up.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ProtobufWriter } from '../src/lib/protobuf-writer.ts';
import { ROOT_AUTH, startServer, type ServerProcess } from './harness.ts';

const hrNs = (t: [number, number]) => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

/** zipkin.proto Span (field numbers from openzipkin/zipkin-api). */
function protoSpan(s: {
  traceId: string;
  id: string;
  parentId?: string;
  kind?: number;
  name: string;
  timestampUs: bigint;
  durationUs: number;
  service: string;
  remote?: { service: string; ipv4: number[]; port: number };
  ipv6?: number[];
  annotations?: [bigint, string][];
  tags?: Record<string, string>;
}): ProtobufWriter {
  const w = new ProtobufWriter()
    .bytesField(1, Buffer.from(s.traceId, 'hex'))
    .bytesField(3, Buffer.from(s.id, 'hex'));
  if (s.parentId) w.bytesField(2, Buffer.from(s.parentId, 'hex'));
  if (s.kind) w.uint(4, s.kind);
  w.string(5, s.name).doubleBits(6, s.timestampUs).uint(7, s.durationUs);
  const local = new ProtobufWriter().string(1, s.service);
  if (s.ipv6) local.bytesField(3, Uint8Array.from(s.ipv6));
  w.message(8, local);
  if (s.remote) {
    w.message(
      9,
      new ProtobufWriter()
        .string(1, s.remote.service)
        .bytesField(2, Uint8Array.from(s.remote.ipv4))
        .uint(4, s.remote.port),
    );
  }
  for (const [ts, value] of s.annotations ?? [])
    w.message(10, new ProtobufWriter().doubleBits(1, ts).string(2, value));
  for (const [k, v] of Object.entries(s.tags ?? {}))
    w.message(11, new ProtobufWriter().string(1, k).string(2, v));
  return w;
}

describe('Zipkin v2 → MoleSignal → SQL', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.stop();
  });

  for (const path of ['/api/v2/spans', '/api/default/zipkin/api/v2/spans']) {
    test(`@opentelemetry/exporter-zipkin → ${path}`, async () => {
      const stream = path.startsWith('/api/v2') ? 'zipkin-implicit' : 'zipkin-path';
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': 'checkout', 'deployment.environment': 'test' }),
        spanProcessors: [
          new SimpleSpanProcessor(
            new ZipkinExporter({
              url: `${server.url}${path}`,
              headers: { authorization: ROOT_AUTH, 'stream-name': stream },
            }),
          ),
        ],
      });
      const tracer = provider.getTracer('zipkin-test');
      const parent = tracer.startSpan('GET /cart', { kind: SpanKind.SERVER });
      const child = tracer.startSpan(
        'call payments',
        { kind: SpanKind.CLIENT, attributes: { 'http.status_code': 503, 'peer.service': 'payments' } },
        trace.setSpan(context.active(), parent),
      );
      child.addEvent('retry');
      child.setStatus({ code: SpanStatusCode.ERROR, message: 'payments down' });
      child.end();
      const internal = tracer.startSpan('compute', {}, trace.setSpan(context.active(), parent));
      internal.end();
      parent.setStatus({ code: SpanStatusCode.OK });
      parent.end();
      await provider.forceFlush();
      await provider.shutdown();

      const { hits } = await server.search(`SELECT * FROM traces."${stream}" ORDER BY name`);
      assert.deepEqual(
        hits.map((h) => h.name),
        ['GET /cart', 'call payments', 'compute'],
      );
      const [p, c, i] = hits;
      const pc = parent.spanContext();
      for (const h of hits) {
        assert.equal(h.trace_id, pc.traceId);
        assert.equal(h['resource.service.name'], 'checkout');
        assert.equal(h['resource.deployment.environment'], 'test');
      }
      assert.equal(p!.span_id, pc.spanId);
      assert.equal(p!.parent_span_id, null);
      assert.equal(p!.kind, 2, 'SERVER');
      assert.equal(p!.status_code, 1, 'otel.status_code OK');
      assert.equal(c!.span_id, child.spanContext().spanId);
      assert.equal(c!.parent_span_id, pc.spanId);
      assert.equal(c!.kind, 3, 'CLIENT');
      assert.equal(c!.status_code, 2);
      assert.equal(c!.status_message, 'payments down', 'the `error` tag carries the message');
      assert.equal(c!['attr.http.status_code'], '503', 'Zipkin tags are strings');
      assert.equal(c!['attr.peer.service'], 'payments');
      assert.ok(!('attr.error' in c!), 'status tags are not attributes');
      assert.ok(!('attr.otel.status_code' in c!));
      assert.equal(i!.kind, 0, 'INTERNAL is sent without a kind');
      // µs with a fraction → ns: within 1 µs of the SDK's own times
      const childSpan = child as unknown as { startTime: [number, number]; endTime: [number, number] };
      const start = BigInt(String(c!._timestamp));
      assert.ok(start - hrNs(childSpan.startTime) < 1000n && hrNs(childSpan.startTime) - start < 1000n);
      const dur = hrNs(childSpan.endTime) - hrNs(childSpan.startTime);
      const stored = BigInt(String(c!.duration_ns));
      assert.ok(stored - dur <= 1000n && dur - stored <= 1000n, `${stored} vs ${dur}`);
      const events = c!.events as { name: string; time_unix_nano: string; attributes: string }[];
      assert.equal(events.length, 1);
      assert.equal(events[0]!.name, 'retry');
      assert.equal(events[0]!.attributes, '{}');
      assert.ok(BigInt(events[0]!.time_unix_nano) >= start);
    });
  }

  test('protobuf ListOfSpans (built from zipkin.proto: no JS client sends it)', async () => {
    const body = new ProtobufWriter()
      .message(
        1,
        protoSpan({
          traceId: 'a1b2c3d4e5f60718',
          id: '0000000000000abc',
          kind: 1,
          name: 'get',
          timestampUs: 1_700_000_000_123_456n,
          durationUs: 1500,
          service: 'frontend',
          ipv6: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
          remote: { service: 'backend', ipv4: [10, 0, 0, 7], port: 8080 },
          annotations: [[1_700_000_000_124_000n, 'cs']],
          tags: { 'http.path': '/api', 'otel.scope.name': 'lib', 'host.name': 'h1' },
        }),
      )
      .message(
        1,
        protoSpan({
          traceId: '0102030405060708090a0b0c0d0e0f10',
          id: '1111111111111111',
          parentId: '2222222222222222',
          kind: 3,
          name: 'publish',
          timestampUs: 1_700_000_000_200_000n,
          durationUs: 7,
          service: 'worker',
        }),
      )
      .finish();
    const res = await server.fetch('/api/v2/spans', {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'stream-name': 'zipkin-proto' },
      body,
    });
    assert.equal(res.status, 202, await res.text());
    const { hits } = await server.search('SELECT * FROM traces."zipkin-proto" ORDER BY name');
    assert.equal(hits.length, 2);
    const [get, publish] = hits;
    assert.equal(get!.trace_id, '0000000000000000a1b2c3d4e5f60718', '64-bit trace ids are zero-padded');
    assert.equal(get!.span_id, '0000000000000abc');
    assert.equal(get!.kind, 3);
    assert.equal(get!._timestamp, '1700000000123456000');
    assert.equal(get!.end_timestamp, '1700000000124956000');
    assert.equal(get!.duration_ns, 1_500_000);
    assert.equal(get!['resource.service.name'], 'frontend');
    assert.equal(get!['resource.host.name'], 'h1');
    assert.equal(get!['scope.name'], 'lib');
    assert.equal(get!['attr.http.path'], '/api');
    assert.equal(get!['attr.net.host.ip'], '2001:db8::1');
    assert.equal(get!['attr.peer.service'], 'backend');
    assert.equal(get!['attr.net.peer.ip'], '10.0.0.7');
    assert.equal(get!['attr.net.peer.port'], 8080);
    assert.deepEqual(
      (get!.events as { name: string; time_unix_nano: string }[]).map((e) => [e.name, e.time_unix_nano]),
      [['cs', '1700000000124000000']],
    );
    assert.equal(publish!.trace_id, '0102030405060708090a0b0c0d0e0f10');
    assert.equal(publish!.parent_span_id, '2222222222222222');
    assert.equal(publish!.kind, 4, 'PRODUCER');
    assert.equal(publish!['resource.service.name'], 'worker');
  });

  test('malformed input: the documented error, nothing stored, the server survives', async () => {
    const post = (body: string | Uint8Array, contentType = 'application/json') =>
      server.fetch('/api/v2/spans', {
        method: 'POST',
        headers: { 'content-type': contentType, 'stream-name': 'zipkin-bad' },
        body,
      });
    const good = (extra: Record<string, unknown> = {}) => ({
      traceId: '463ac35c9f6413ad',
      id: '72485a3953bb6124',
      name: 'ok',
      timestamp: 1_700_000_000_000_000,
      duration: 10,
      ...extra,
    });
    assert.equal((await post(JSON.stringify([good()]))).status, 202);
    const cases: [string, string | Uint8Array, number, RegExp, string?][] = [
      ['not JSON', '[{"traceId": ', 400, /malformed JSON/],
      ['not an array', JSON.stringify(good()), 400, /array of spans/],
      [
        'wrong type',
        JSON.stringify([good(), good({ traceId: 12 })]),
        400,
        /\[1\]\.traceId: expected a string/,
      ],
      [
        'non-hex id',
        JSON.stringify([good({ id: 'xyz' })]),
        400,
        /\[0\]\.id: "xyz" is not up to 16 hex digits/,
      ],
      ['trace id too long', JSON.stringify([good({ traceId: 'a'.repeat(33) })]), 400, /traceId/],
      ['missing id', JSON.stringify([good({ id: undefined })]), 400, /\[0\]\.id: missing/],
      ['bad kind', JSON.stringify([good({ kind: 'SIDEWAYS' })]), 400, /kind: "SIDEWAYS"/],
      ['tag not a string', JSON.stringify([good({ tags: { n: 1 } })]), 400, /tags\.n: expected a string/],
      [
        'far future',
        JSON.stringify([good({ timestamp: 1e17 })]),
        400,
        /timestamp: 100000000000000000 µs is out of range/,
      ],
      ['negative duration', JSON.stringify([good({ duration: -5 })]), 400, /duration: -5 µs is out of range/],
      [
        'truncated protobuf',
        Uint8Array.from([0x0a, 0x20, 0x0a]),
        400,
        /malformed protobuf/,
        'application/x-protobuf',
      ],
      [
        'short proto id',
        new ProtobufWriter().message(1, new ProtobufWriter().bytesField(3, Uint8Array.from([1, 2]))).finish(),
        400,
        /id is 2 bytes/,
        'application/x-protobuf',
      ],
      ['thrift content type', '[]', 415, /is not Zipkin v2/, 'application/x-thrift'],
    ];
    for (const [name, body, status, message, ct] of cases) {
      const res = await post(body, ct);
      const text = await res.text();
      assert.equal(res.status, status, `${name}: ${text}`);
      assert.match((JSON.parse(text) as { error: { message: string } }).error.message, message, name);
    }
    // invalid UTF-8 in a string: replaced by U+FFFD, as the OTLP decoders do
    const bad = Buffer.concat([
      Buffer.from('[{"traceId":"463ac35c9f6413ad","id":"0000000000000002","name":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}]'),
    ]);
    assert.equal((await post(bad)).status, 202);
    const { hits } = await server.search('SELECT name FROM traces."zipkin-bad" ORDER BY span_id');
    assert.deepEqual(
      hits.map((h) => h.name),
      ['\ufffd\ufffd', 'ok'],
    );
  });
});
