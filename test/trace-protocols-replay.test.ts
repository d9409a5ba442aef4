/**
 * Crash/replay for the wire formats of OTLP/gRPC, Zipkin and Jaeger: write one request of each
 * (`otlp-proto` and `otlp-metrics-proto` over gRPC, `zipkin-json`, `zipkin-proto`,
 * `jaeger-thrift-binary` over HTTP and as a UDP agent message, `jaeger-thrift-compact`,
 * `jaeger-proto`), SIGKILL the server before any flush, restart on the same data dir: WAL replay
 * decodes every record again with the decoder table (and params) and the same rows are there.
 * Payloads are hand-built (test/jaeger-payloads.ts); the real clients are exercised in
 * otlp-grpc.test.ts, zipkin.test.ts and jaeger.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufWriter } from '../src/lib/protobuf-writer.ts';
import { grpcUnary } from './grpc-client.ts';
import {
  compactEmitBatch,
  freeUdpPort,
  postSpansRequest,
  sendUdp,
  type TestSpan,
} from './jaeger-payloads.ts';
import { removeDir, ROOT_AUTH, startServer } from './harness.ts';

const span = (name: string, id: bigint): TestSpan => ({
  traceIdHigh: 0n,
  traceIdLow: 0x7777n,
  spanId: id,
  parentSpanId: 0n,
  name,
  startUs: 1_700_000_000_000_000n + id,
  durationUs: 5n,
  tags: [['k', name]],
});

/** The compact datagram, re-labelled binary: the same struct in TBinaryProtocol (agent port 6832). */
function binaryEmitBatch(name: string, id: bigint): Buffer {
  const s = span(name, id);
  const parts: number[] = [];
  const i8 = (v: number) => parts.push(v & 0xff);
  const i16 = (v: number) => parts.push((v >> 8) & 0xff, v & 0xff);
  const i32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    parts.push(...b);
  };
  const i64 = (v: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(v);
    parts.push(...b);
  };
  const str = (v: string) => {
    const b = Buffer.from(v);
    i32(b.length);
    parts.push(...b);
  };
  const field = (type: number, fid: number) => (i8(type), i16(fid));
  i32(0x80010004 | 0); // version 1, ONEWAY (as a signed i32)
  str('emitBatch');
  i32(1);
  field(12, 1); // args.batch
  field(12, 1); // batch.process
  field(11, 1);
  str('udp-binary');
  i8(0);
  field(15, 2); // batch.spans
  i8(12);
  i32(1);
  field(10, 1);
  i64(s.traceIdLow);
  field(10, 2);
  i64(0n);
  field(10, 3);
  i64(s.spanId);
  field(10, 4);
  i64(0n);
  field(11, 5);
  str(s.name);
  field(8, 7);
  i32(1);
  field(10, 8);
  i64(s.startUs);
  field(10, 9);
  i64(s.durationUs);
  i8(0); // span
  i8(0); // batch
  i8(0); // args
  return Buffer.from(parts);
}

test('OTLP/gRPC, Zipkin and Jaeger records survive a SIGKILL (WAL replay)', async () => {
  const compactPort = await freeUdpPort();
  const binaryPort = await freeUdpPort();
  let server = await startServer({
    args: ['--jaeger-udp-compact-port', String(compactPort), '--jaeger-udp-binary-port', String(binaryPort)],
  });
  const dataDir = server.dataDir;
  try {
    const md = { authorization: ROOT_AUTH, 'stream-name': 'replay' };
    // OTLP traces over gRPC: ExportTraceServiceRequest with one span
    const otlpSpan = new ProtobufWriter()
      .bytesField(1, Buffer.alloc(16, 1))
      .bytesField(2, Buffer.alloc(8, 2))
      .string(5, 'otlp-grpc')
      .doubleBits(7, 1_700_000_000_000_000_000n)
      .doubleBits(8, 1_700_000_000_000_001_000n);
    const otlp = new ProtobufWriter()
      .message(1, new ProtobufWriter().message(2, new ProtobufWriter().message(2, otlpSpan)))
      .finish();
    assert.ok(
      (
        await grpcUnary(
          server.grpcAddress,
          '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
          Buffer.from(otlp),
          md,
        )
      ).ok,
    );
    // OTLP metrics over gRPC: one gauge point
    const gauge = new ProtobufWriter()
      .string(1, 'replay_gauge')
      .message(
        5,
        new ProtobufWriter().message(
          1,
          new ProtobufWriter().doubleBits(3, BigInt(Date.now()) * 1_000_000n).double(4, 42),
        ),
      );
    const metrics = new ProtobufWriter()
      .message(1, new ProtobufWriter().message(2, new ProtobufWriter().message(2, gauge)))
      .finish();
    assert.ok(
      (
        await grpcUnary(
          server.grpcAddress,
          '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
          Buffer.from(metrics),
          md,
        )
      ).ok,
    );
    // Zipkin JSON and protobuf
    const zipkinJson = JSON.stringify([
      { traceId: '7777', id: '0a', name: 'zipkin-json', timestamp: 1_700_000_000_000_000, duration: 3 },
    ]);
    let res = await server.fetch('/api/v2/spans', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stream-name': 'replay' },
      body: zipkinJson,
    });
    assert.equal(res.status, 202);
    const zipkinProto = new ProtobufWriter()
      .message(
        1,
        new ProtobufWriter()
          .bytesField(1, Buffer.alloc(8, 7))
          .bytesField(3, Buffer.alloc(8, 0x0b))
          .string(5, 'zipkin-proto')
          .doubleBits(6, 1_700_000_000_000_000n)
          .uint(7, 3),
      )
      .finish();
    res = await server.fetch('/api/v2/spans', {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'stream-name': 'replay' },
      body: zipkinProto,
    });
    assert.equal(res.status, 202);
    // Jaeger: Thrift over HTTP (the Batch of the binary datagram, without the message envelope), proto over gRPC
    const datagram = binaryEmitBatch('jaeger-http', 0x0cn);
    const batchOnly = datagram.subarray(4 + 4 + 9 + 4 + 3, datagram.length - 1);
    res = await server.fetch('/api/traces', {
      method: 'POST',
      headers: { 'content-type': 'application/x-thrift', 'stream-name': 'replay' },
      body: batchOnly,
    });
    assert.equal(res.status, 202, await res.text());
    const proto = postSpansRequest(
      'jaeger-grpc',
      [],
      [{ ...span('jaeger-proto', 0x0dn), startNs: 1_700_000_000_000_000_000n, durationNs: 1n }],
    );
    assert.ok(
      (
        await grpcUnary(
          server.grpcAddress,
          '/jaeger.api_v2.CollectorService/PostSpans',
          Buffer.from(proto),
          md,
        )
      ).ok,
    );
    // Jaeger UDP, compact and binary (org default, stream default)
    await sendUdp(compactPort, compactEmitBatch('udp-compact', [], [span('jaeger-udp-compact', 0x0en)]));
    await sendUdp(binaryPort, binaryEmitBatch('jaeger-udp-binary', 0x0fn));

    const sql =
      'SELECT name, trace_id, span_id, _timestamp, duration_ns, "resource.service.name" AS svc FROM traces.replay ORDER BY name';
    const udpSql = 'SELECT name, span_id, _timestamp FROM traces.default ORDER BY name';
    let before = await server.search(sql);
    let udp = await server.search(udpSql);
    for (let i = 0; i < 100 && udp.hits.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      udp = await server.search(udpSql);
    }
    assert.deepEqual(
      before.hits.map((h) => h.name),
      ['jaeger-http', 'jaeger-proto', 'otlp-grpc', 'zipkin-json', 'zipkin-proto'],
    );
    assert.deepEqual(
      udp.hits.map((h) => h.name),
      ['jaeger-udp-binary', 'jaeger-udp-compact'],
    );
    const gaugeBefore = await (await server.fetch('/api/v1/query?query=replay_gauge')).text();
    assert.match(gaugeBefore, /"42"/);

    await server.kill();
    server = await startServer({ dataDir });
    assert.deepEqual((await server.search(sql)).hits, before.hits);
    assert.deepEqual((await server.search(udpSql)).hits, udp.hits);
    assert.match(await (await server.fetch('/api/v1/query?query=replay_gauge')).text(), /"42"/);
    before = await server.search(sql);
  } finally {
    await server.stop();
    await removeDir(dataDir);
  }
});
