/**
 * Issue 4, Done-when 1 and 2 (Jaeger): the real `jaeger-client` 3.19 sends binary Thrift over
 * HTTP (`/api/{org}/jaeger/api/traces`) and over UDP (the agent's binary port); SQL reads every
 * field back in the OTLP span model. The compact protocol (UDP 6831) and Jaeger protobuf over gRPC
 * (`jaeger.api_v2.CollectorService/PostSpans`) have no JavaScript sender, so those tests build
 * payloads from the published IDL and protos (jaeger-payloads.ts). Then malformed input.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import jaeger from 'jaeger-client';
import { grpcUnary } from './grpc-client.ts';
import { compactEmitBatch, freeUdpPort, postSpansRequest, sendUdp } from './jaeger-payloads.ts';
import { ROOT_AUTH, ROOT_PASSWORD, ROOT_USER, startServer, type ServerProcess } from './harness.ts';

const silent = { info: () => {}, error: (m: string) => assert.fail(`jaeger-client: ${m}`) };

describe('Jaeger → MoleSignal → SQL', () => {
  let server: ServerProcess;
  let compactPort = 0;
  let binaryPort = 0;
  before(async () => {
    compactPort = await freeUdpPort();
    binaryPort = await freeUdpPort();
    server = await startServer({
      args: [
        '--jaeger-udp-compact-port',
        String(compactPort),
        '--jaeger-udp-binary-port',
        String(binaryPort),
      ],
    });
    assert.match(
      server.log,
      new RegExp(`Jaeger agent UDP \\(compact Thrift\\) listening on 127.0.0.1:${compactPort}`),
    );
    for (const org of ['jhttp', 'jgrpc']) {
      const res = await server.fetch('/api/_admin/orgs', {
        method: 'POST',
        body: JSON.stringify({ name: org }),
      });
      assert.equal(res.status, 201);
    }
  });
  after(async () => {
    await server.stop();
  });

  /** Polls a query until it returns `n` rows (UDP is fire-and-forget). */
  async function rows(sql: string, n: number, org = 'default') {
    for (let i = 0; i < 100; i++) {
      const { hits } = await server.search(sql, { org });
      if (hits.length >= n) return hits;
      await new Promise((r) => setTimeout(r, 100));
    }
    return (await server.search(sql, { org })).hits;
  }

  function record(reporter: Record<string, unknown>, service: string) {
    const tracer = jaeger.initTracer(
      {
        serviceName: service,
        sampler: { type: 'const', param: 1 },
        reporter: { ...reporter, flushIntervalMs: 100 },
      },
      { logger: silent, tags: { 'deploy.env': 'test', 'cpu.count': 4 }, traceId128bit: true },
    );
    const root = tracer.startSpan('GET /orders', {
      tags: { 'span.kind': 'server', 'http.status_code': 500 },
    });
    root.setTag('error', true);
    const child = tracer.startSpan('db.query', {
      childOf: root,
      tags: { 'db.rows': 3, ratio: 0.5, cached: false },
    });
    child.log({ event: 'retry', attempt: 2 });
    child.finish();
    const later = tracer.startSpan('async work', {
      references: [jaeger.opentracing.followsFrom(root.context())],
    });
    later.finish();
    root.finish();
    return {
      tracer,
      traceId: root.context().toTraceId().padStart(32, '0'),
      rootId: root.context().toSpanId().padStart(16, '0'),
      childId: child.context().toSpanId().padStart(16, '0'),
    };
  }

  function checkClientRows(hits: Record<string, unknown>[], ids: ReturnType<typeof record>, service: string) {
    assert.deepEqual(
      hits.map((h) => h.name),
      ['GET /orders', 'async work', 'db.query'],
    );
    const [root, later, child] = hits;
    for (const h of hits) {
      assert.equal(h.trace_id, ids.traceId);
      assert.equal(h['resource.service.name'], service);
      assert.equal(h['resource.deploy.env'], 'test');
      assert.equal(h['resource.cpu.count'], 4);
      assert.equal(h['resource.jaeger.version'], 'Node-3.19.0');
      assert.equal(h.flags, 1);
    }
    assert.equal(root!.span_id, ids.rootId);
    assert.equal(root!.parent_span_id, null);
    assert.equal(root!.kind, 2, 'span.kind=server');
    assert.equal(root!.status_code, 2, 'error=true');
    assert.equal(root!['attr.http.status_code'], 500);
    assert.ok(!('attr.span.kind' in root!) && !('attr.error' in root!));
    assert.equal(child!.span_id, ids.childId);
    assert.equal(child!.parent_span_id, ids.rootId, 'CHILD_OF → parent');
    assert.equal(child!['attr.db.rows'], 3);
    assert.equal(child!['attr.ratio'], 0.5);
    assert.equal(child!['attr.cached'], false);
    assert.deepEqual(child!.links, []);
    const events = child!.events as { name: string; attributes: string; time_unix_nano: string }[];
    assert.deepEqual(
      events.map((e) => [e.name, JSON.parse(e.attributes)]),
      [['retry', { attempt: 2 }]],
    );
    assert.ok(BigInt(events[0]!.time_unix_nano) % 1000n === 0n, 'µs precision');
    assert.equal(later!.parent_span_id, ids.rootId, 'jaeger-client makes the first reference the parent');
    const links = later!.links as { trace_id: string; span_id: string; attributes: string }[];
    assert.deepEqual(
      links.map((l) => [l.trace_id, l.span_id, JSON.parse(l.attributes)]),
      [[ids.traceId, ids.rootId, { 'opentracing.ref_type': 'follows_from' }]],
    );
    assert.equal(
      BigInt(String(root!.end_timestamp)) - BigInt(String(root!._timestamp)),
      BigInt(String(root!.duration_ns)),
    );
  }

  test('jaeger-client over HTTP: binary Thrift to /api/{org}/jaeger/api/traces', async () => {
    const ids = record(
      {
        collectorEndpoint: `${server.url}/api/jhttp/jaeger/api/traces`,
        username: ROOT_USER,
        password: ROOT_PASSWORD,
      },
      'orders-http',
    );
    await new Promise<void>((ok) => ids.tracer.close(() => ok()));
    const hits = await rows('SELECT * FROM traces.default ORDER BY name', 3, 'jhttp');
    checkClientRows(hits, ids, 'orders-http');
  });

  test('jaeger-client over UDP: binary Thrift emitBatch to the agent binary port (org default)', async () => {
    const ids = record({ agentHost: '127.0.0.1', agentPort: binaryPort }, 'orders-udp');
    await new Promise<void>((ok) => ids.tracer.close(() => ok()));
    const hits = await rows(
      `SELECT * FROM traces.default WHERE "resource.service.name" = 'orders-udp' ORDER BY name`,
      3,
    );
    checkClientRows(hits, ids, 'orders-udp');
  });

  test('compact Thrift over UDP (built from jaeger.thrift: no JS client speaks compact)', async () => {
    await sendUdp(
      compactPort,
      compactEmitBatch(
        'compact-svc',
        [['hostname', 'h1']],
        [
          {
            traceIdHigh: 0x0102030405060708n,
            traceIdLow: -1n,
            spanId: 0x1111n,
            parentSpanId: 0n,
            name: 'compact-root',
            startUs: 1_700_000_000_000_001n,
            durationUs: 250n,
            tags: [
              ['span.kind', 'producer'],
              ['big', -5n],
              ['pi', 3.25],
              ['ok', true],
              ['otel.status_code', 'OK'],
            ],
            logs: [
              [
                1_700_000_000_000_100n,
                [
                  ['event', 'sent'],
                  ['size', '10'],
                ],
              ],
            ],
          },
        ],
      ),
    );
    const [h] = await rows(`SELECT * FROM traces.default WHERE name = 'compact-root'`, 1);
    assert.ok(h, 'the compact datagram was stored');
    assert.equal(h.trace_id, '0102030405060708ffffffffffffffff');
    assert.equal(h.span_id, '0000000000001111');
    assert.equal(h.kind, 4);
    assert.equal(h.status_code, 1);
    assert.equal(h._timestamp, '1700000000000001000');
    assert.equal(h.duration_ns, 250_000);
    assert.equal(h['attr.big'], -5);
    assert.equal(h['attr.pi'], 3.25);
    assert.equal(h['attr.ok'], true);
    assert.equal(h['resource.hostname'], 'h1');
    assert.equal(h['resource.service.name'], 'compact-svc');
    const events = h.events as { name: string; attributes: string; time_unix_nano: string }[];
    assert.deepEqual(
      events.map((e) => [e.name, e.time_unix_nano, JSON.parse(e.attributes)]),
      [['sent', '1700000000000100000', { size: '10' }]],
    );
  });

  test('protobuf over gRPC PostSpans (built from Jaeger model.proto: no JS client exists)', async () => {
    const body = postSpansRequest(
      'grpc-svc',
      [['ip', '10.1.2.3']],
      [
        {
          traceIdHigh: 0n,
          traceIdLow: 0xabcdefn,
          spanId: 0x22n,
          parentSpanId: 0x21n,
          name: 'grpc-child',
          startNs: 1_700_000_000_123_456_789n,
          durationNs: 1_000_001n,
          tags: [
            ['span.kind', 'client'],
            ['retries', 7n],
          ],
          logs: [
            [
              1_700_000_000_123_500_000n,
              [
                ['event', 'x'],
                ['n', 1n],
              ],
            ],
          ],
          followsFrom: [0n, 0x99n, 0x98n],
        },
      ],
    );
    const res = await grpcUnary(
      server.grpcAddress,
      '/jaeger.api_v2.CollectorService/PostSpans',
      Buffer.from(body),
      {
        authorization: ROOT_AUTH,
        'x-scope-orgid': 'jgrpc',
        'stream-name': 'jproto',
      },
    );
    assert.deepEqual(res, { ok: true, body: Buffer.alloc(0) });
    const { hits } = await server.search('SELECT * FROM traces.jproto', { org: 'jgrpc' });
    assert.equal(hits.length, 1);
    const h = hits[0]!;
    assert.equal(h.trace_id, '00000000000000000000000000abcdef');
    assert.equal(h.span_id, '0000000000000022');
    assert.equal(h.parent_span_id, '0000000000000021');
    assert.equal(h.kind, 3);
    assert.equal(h._timestamp, '1700000000123456789');
    assert.equal(h.duration_ns, 1_000_001);
    assert.equal(h['attr.retries'], 7);
    assert.equal(h['resource.ip'], '10.1.2.3');
    assert.equal(h['resource.service.name'], 'grpc-svc');
    assert.deepEqual(
      (h.links as { trace_id: string; span_id: string; attributes: string }[]).map((l) => [
        l.trace_id,
        l.span_id,
        JSON.parse(l.attributes),
      ]),
      [['00000000000000000000000000000099', '0000000000000098', { 'opentracing.ref_type': 'follows_from' }]],
    );
  });

  test('malformed input: the documented error, nothing stored, the server survives', async () => {
    const post = (body: Uint8Array, ct = 'application/x-thrift') =>
      server.fetch('/api/traces', {
        method: 'POST',
        headers: { 'content-type': ct, 'stream-name': 'jbad' },
        body,
      });
    const msg = async (res: Response) => ((await res.json()) as { error: { message: string } }).error.message;

    let res = await post(Buffer.from([0x0c, 0x00, 0x01, 0x0b, 0x00, 0x01, 0x00, 0x00, 0x10, 0x00]));
    assert.equal(res.status, 400);
    assert.match(await msg(res), /malformed Thrift: needs 4096 bytes at offset 10/);
    res = await post(Buffer.from([0x0f, 0x00, 0x02, 0x0c, 0x7f, 0xff, 0xff, 0xff]));
    assert.equal(res.status, 400);
    assert.match(await msg(res), /collection of 2147483647 elements/);
    res = await post(Buffer.from('{"spans":[]}'), 'application/json');
    assert.equal(res.status, 415);
    assert.match(await msg(res), /not Jaeger Thrift/);

    const grpcBad = async (body: Uint8Array) =>
      grpcUnary(server.grpcAddress, '/jaeger.api_v2.CollectorService/PostSpans', Buffer.from(body), {
        authorization: ROOT_AUTH,
        'stream-name': 'jbad',
      });
    let g = await grpcBad(Uint8Array.from([0x0a, 0x05, 0x0a, 0x03, 0x0a, 0x01]));
    assert.ok(!g.ok && g.code === status.INVALID_ARGUMENT, JSON.stringify(g));
    assert.match(g.details, /malformed protobuf/);
    // start_time.seconds = 2^62: far beyond what int64 nanoseconds hold
    const farFuture = postSpansRequest(
      's',
      [],
      [
        {
          traceIdHigh: 0n,
          traceIdLow: 1n,
          spanId: 1n,
          parentSpanId: 0n,
          name: 'f',
          startNs: (1n << 62n) * 1_000_000_000n,
          durationNs: 0n,
          tags: [],
        },
      ],
    );
    g = await grpcBad(farFuture);
    assert.ok(!g.ok, 'far-future start refused');
    assert.equal(g.code, status.INVALID_ARGUMENT);
    assert.match(g.details, /start_time: 4611686018427387904 s \+ 0 ns is out of range/);
    const zeroTrace = postSpansRequest(
      's',
      [],
      [
        {
          traceIdHigh: 0n,
          traceIdLow: 0n,
          spanId: 1n,
          parentSpanId: 0n,
          name: 'z',
          startNs: 1n,
          durationNs: 0n,
          tags: [],
        },
      ],
    );
    g = await grpcBad(zeroTrace);
    assert.ok(!g.ok && /trace id is zero/.test(g.details), JSON.stringify(g));

    // a garbage datagram is dropped; the listener keeps working
    await sendUdp(compactPort, Buffer.from([0x82, 0x21, 0x01, 0x09]));
    await sendUdp(
      compactPort,
      compactEmitBatch(
        'after-garbage',
        [],
        [
          {
            traceIdHigh: 0n,
            traceIdLow: 5n,
            spanId: 5n,
            parentSpanId: 0n,
            name: 'after',
            startUs: 1n,
            durationUs: 1n,
            tags: [],
          },
        ],
      ),
    );
    assert.equal((await rows(`SELECT * FROM traces.default WHERE name = 'after'`, 1)).length, 1);
    assert.match(server.log, /Jaeger UDP datagram dropped/);
    const streams = JSON.stringify(await (await server.fetch('/api/default/streams')).json());
    assert.ok(!streams.includes('jbad'), 'nothing of the refused requests was stored');
  });
});
