/**
 * Backpressure: a request that would take unflushed data past `memtable.refuseAboveBytes` gets
 * 429 with Retry-After and a message saying why, stores nothing of the refused request, and keeps
 * what was accepted; once a flush has moved the data to storage, ingest is accepted again. A
 * request larger than the whole limit gets 413 (no retry can succeed).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { grpcUnary } from './grpc-client.ts';
import { compactEmitBatch, freeUdpPort, sendUdp } from './jaeger-payloads.ts';
import { ROOT_AUTH, otlpJsonLogs, startServer, type ServerProcess } from './harness.ts';
import { remoteWrite } from './prom-write.ts';

const OTLP_LOGS = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

describe('backpressure when memtables are over their budget', () => {
  let server: ServerProcess;
  let jaegerUdpPort = 0;
  before(async () => {
    jaegerUdpPort = await freeUdpPort();
    server = await startServer({
      args: ['--jaeger-udp-compact-port', String(jaegerUdpPort)],
      env: {
        // the first request (4,091 bytes) fits, then nothing more; nothing flushes on its own
        MOLESIGNAL_MEMTABLE_REFUSE_ABOVE_BYTES: '4096',
        MOLESIGNAL_MEMTABLE_MAX_AGE_MS: '3600000',
      },
    });
  });
  after(async () => {
    await server.stop();
  });

  const send = (ids: string[], body?: string) =>
    server.fetch('/v1/logs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(otlpJsonLogs(ids.map((id) => ({ id, ...(body ? { body } : {}) })))),
    });
  const ids = async () =>
    (await server.search('SELECT "attr.rid" AS rid FROM logs."default" ORDER BY rid')).hits.map(
      (h) => h.rid as string,
    );

  test('429 with Retry-After while over the limit, accepted again after a flush', async () => {
    assert.equal((await send(['a1', 'a2'], 'x'.repeat(1800))).status, 200, 'within the limit: accepted');
    const refused = await send(['b1']);
    assert.equal(refused.status, 429);
    assert.match(refused.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    const body = (await refused.json()) as { error?: { code?: string; message?: string } };
    assert.equal(body.error?.code, 'MS_ERR_BACKPRESSURE', JSON.stringify(body));
    assert.match(body.error?.message ?? '', /memtable\.refuseAboveBytes/);
    const rw = await remoteWrite(server, [{ labels: { __name__: 'x' }, samples: [[Date.now(), 1]] }]);
    assert.equal(rw.status, 429, 'every protocol shares the budget');
    assert.match(rw.headers.get('retry-after') ?? '', /^[1-9]\d*$/, 'remote_write: 429 + Retry-After');
    // ExportLogsServiceRequest{resource_logs{scope_logs{log_records{body{string_value "x"}}}}}
    const oneLog = Buffer.from([0x0a, 0x09, 0x12, 0x07, 0x12, 0x05, 0x2a, 0x03, 0x0a, 0x01, 0x78]);
    const grpc = await grpcUnary(server.grpcAddress, OTLP_LOGS, oneLog, { authorization: ROOT_AUTH });
    assert.ok(!grpc.ok);
    assert.equal(grpc.code, status.RESOURCE_EXHAUSTED);
    assert.match(grpc.details, /memtable\.refuseAboveBytes/);
    assert.ok(
      grpc.statusDetails?.includes('type.googleapis.com/google.rpc.RetryInfo'),
      'a RetryInfo detail, without which OTLP exporters do not retry RESOURCE_EXHAUSTED',
    );
    assert.deepEqual(await ids(), ['a1', 'a2'], 'the accepted rows are intact, nothing of the refused ones');

    // UDP has no answer: the refused datagram is dropped and counted, not logged one by one
    const discarded = async () =>
      Number(
        /^molesignal_discarded_total\{reason="backpressure"\} (\d+)$/m.exec(
          await (await server.fetch('/metrics')).text(),
        )?.[1] ?? 0,
      );
    const before = await discarded();
    const span = {
      traceIdHigh: 1n,
      traceIdLow: 2n,
      spanId: 3n,
      parentSpanId: 0n,
      name: 'udp-refused',
      startUs: BigInt(Date.now()) * 1000n,
      durationUs: 5n,
      tags: [] as [string, string][],
    };
    await sendUdp(jaegerUdpPort, compactEmitBatch('udp-svc', [], [span]));
    const deadline = Date.now() + 10_000;
    while ((await discarded()) === before) {
      assert.ok(Date.now() < deadline, 'the refused UDP datagram is counted within 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.doesNotMatch(server.log, /Jaeger UDP datagram dropped/);

    const flushed = await server.fetch('/api/default/streams/default/_flush?type=logs', { method: 'POST' });
    assert.equal(flushed.status, 200, await flushed.text());
    assert.equal((await send(['c1'])).status, 200, 'accepted again once flushed');
    assert.deepEqual(await ids(), ['a1', 'a2', 'c1']);
    const huge = await send(['d1'], 'y'.repeat(5000));
    assert.equal(huge.status, 413, 'larger than the whole limit: no retry can succeed');
    assert.match(await huge.text(), /memtable\.refuseAboveBytes/);
    const metrics = await (await server.fetch('/metrics')).text();
    assert.match(metrics, /molesignal_discarded_total\{reason="backpressure"\} [1-9]/);
    assert.match(metrics, /^molesignal_memtable_refusals_total [1-9]/m);
    assert.match(
      metrics,
      /^molesignal_grpc_requests_total\{method="\/opentelemetry\.proto\.collector\.logs\.v1\.LogsService\/Export",code="RESOURCE_EXHAUSTED"\} 1$/m,
    );
  });
});
