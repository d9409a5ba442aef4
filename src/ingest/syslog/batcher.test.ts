import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MoleError } from '../../lib/errors.ts';
import { createLogger } from '../../lib/logger.ts';
import { MetricsRegistry } from '../../lib/metrics.ts';
import { newOrgId } from '../../tenancy/org-id.ts';
import type { ColumnBatch } from '../../write/column-batch.ts';
import type { IngestPayload } from '../../write/wal-payload.ts';
import { SyslogBodyWriter } from './batch-body.ts';
import { SyslogBatcher } from './batcher.ts';
import { decodeSyslog } from './decode.ts';
import { createSyslogMetrics } from './metrics.ts';

const enc = new TextEncoder();
const ORG = newOrgId();
const tooMany = () =>
  new MoleError('memtables over budget', {
    code: 'MS_ERR_BACKPRESSURE',
    status: 429,
    reason: 'bad_request',
    retryable: true,
  });

function payloadOf(body: Buffer): IngestPayload {
  return {
    org: ORG,
    signal: 'logs',
    stream: 'syslog',
    format: 'syslog',
    idempotencyKey: '',
    receivedAtMs: 0,
    nowNs: 0n,
    body,
    params: { transport: 'tcp', utcOffsetMin: '0' },
  };
}

test('decode: one row per message, refused messages counted, receive time and peer per message', () => {
  const w = new SyslogBodyWriter(16);
  w.add(enc.encode('<13>1 - h app 42 - [a@1 k="v"] first'), 1_700_000_000_123, '10.0.0.1');
  w.add(enc.encode('<13>1 bad-time h app - - - x'), 1_700_000_000_124, '10.0.0.1');
  w.add(enc.encode('<11>Nov 14 22:13:20 h2 t: second'), 1_700_000_000_125, '2001:db8::1');
  const batch = decodeSyslog(payloadOf(w.take()));
  assert.equal(batch.rowCount, 2);
  assert.equal(batch.rejectedCount, 1);
  assert.match(batch.rejectedMessage, /TIMESTAMP/);
  assert.deepEqual(batch.fixed._timestamp, [1_700_000_000_123_000_000n, 1_700_000_000_000_000_000n]);
  assert.deepEqual(batch.fixed.observed_timestamp, [1_700_000_000_123_000_000n, 1_700_000_000_125_000_000n]);
  assert.deepEqual(batch.fixed.severity_number, [10, 17]);
  assert.deepEqual(batch.fixed.severity_text, ['notice', 'err']);
  assert.deepEqual(batch.fixed.body, ['first', 'second']);
  // sparse columns: holes read as undefined
  const col = (name: string) => Array.from(batch.dynamic.find((c) => c.name === name)?.values ?? []);
  assert.deepEqual(col('resource.host.name'), ['h', 'h2']);
  assert.deepEqual(col('resource.service.name'), ['app', 't']);
  assert.deepEqual(col('attr.syslog.procid'), ['42', undefined]);
  assert.deepEqual(col('attr.syslog.facility'), ['user', 'user']);
  assert.deepEqual(col('attr.syslog.facility_code'), [1n, 1n]);
  assert.deepEqual(col('attr.syslog.sd.a@1.k'), ['v', undefined]);
  assert.deepEqual(col('attr.net.peer.ip'), ['10.0.0.1', '2001:db8::1']);
});

test('batcher: a refused write is held and retried, sockets pause and resume, order kept', async () => {
  const written: ColumnBatch[] = [];
  let refusals = 3;
  const registry = new MetricsRegistry();
  const metrics = createSyslogMetrics(registry);
  const batcher = new SyslogBatcher({
    transport: 'tcp',
    orgName: 'default',
    stream: 'syslog',
    resolveOrg: async () => ORG,
    writePath: {
      write: async (_p, batch) => {
        if (refusals-- > 0) throw tooMany();
        written.push(batch);
        return { accepted: batch.rowCount, rejected: 0, rejectedMessage: '' };
      },
    },
    metrics,
    log: createLogger('silent'),
    maxBatchMessages: 10,
    maxBatchBytes: 1 << 20,
    maxPendingBytes: 200,
    batchWindowMs: 1,
  });
  let resumed = 0;
  for (let i = 0; i < 10; i++) batcher.add(enc.encode(`<13>1 - - - - - - m${i}`), Date.now(), '');
  // the first batch is being written (and refused); the next fills up to maxPendingBytes
  await new Promise((r) => setTimeout(r, 20));
  for (let i = 10; i < 30 && !batcher.isOverloaded; i++)
    batcher.add(enc.encode(`<13>1 - - - - - - m${i}`), Date.now(), '');
  assert.equal(batcher.isOverloaded, true);
  batcher.waitForRoom(() => resumed++);
  await batcher.drain(Date.now() + 5000);
  assert.equal(resumed, 1);
  const bodies = written.flatMap((b) => b.fixed.body);
  assert.deepEqual(
    bodies.slice(0, 10),
    Array.from({ length: 10 }, (_, i) => `m${i}`),
  );
  assert.equal(new Set(bodies).size, bodies.length);
  assert.equal(metrics.dropped.value({ transport: 'tcp', reason: 'write_failed' }), 0);
  assert.equal(metrics.received.value({ transport: 'tcp' }), bodies.length);
});

test('batcher: a missing org drops the batch and counts it', async () => {
  const metrics = createSyslogMetrics(new MetricsRegistry());
  const batcher = new SyslogBatcher({
    transport: 'udp',
    orgName: 'nope',
    stream: 'syslog',
    resolveOrg: async () => null,
    writePath: { write: async () => assert.fail('no write for a missing org') },
    metrics,
    log: createLogger('silent'),
    maxBatchMessages: 10,
    maxBatchBytes: 1 << 20,
    maxPendingBytes: 1 << 20,
    batchWindowMs: 1,
  });
  batcher.add(enc.encode('<13>x'), Date.now(), '');
  await batcher.drain(Date.now() + 1000);
  assert.equal(metrics.dropped.value({ transport: 'udp', reason: 'unknown_org' }), 1);
});
