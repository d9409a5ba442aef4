import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { asOrgId } from '../../tenancy/org-id.ts';
import { forEachSyslogRecord, SyslogBodyWriter } from './batch-body.ts';
import { decodeSyslog } from './decode.ts';

const FIXTURE = new URL('../../../test/fixtures/syslog/body-v1.hex', import.meta.url);
const MESSAGES: [string, number, string][] = [
  ['<13>1 2026-11-22T15:46:41.5Z h app - ID1 [a@1 k="v"] hello', 1795376801000, '127.0.0.1'],
  ['<132>Nov 22 15:46:41 vm myapp: disk almost full', 1795376801001.5, '::1'],
];

test('syslog body layout v1: the writer produces the committed fixture, the reader reads it back', () => {
  const fixture = Buffer.from(readFileSync(FIXTURE, 'utf8').replace(/\s/g, ''), 'hex');
  const w = new SyslogBodyWriter(8);
  for (const [msg, ms, peer] of MESSAGES) w.add(Buffer.from(msg), ms, peer);
  assert.deepEqual(w.take(), fixture);
  const read: [string, number, string][] = [];
  forEachSyslogRecord(fixture, (r) =>
    read.push([fixture.subarray(r.msgStart, r.msgEnd).toString(), r.receivedAtMs, r.peer]),
  );
  assert.deepEqual(read, MESSAGES);
  const batch = decodeSyslog({
    org: asOrgId('o0123456789abcdef'),
    signal: 'logs',
    stream: 'syslog',
    format: 'syslog',
    idempotencyKey: '',
    receivedAtMs: 0,
    nowNs: 0n,
    body: fixture,
    params: { transport: 'tcp', utcOffsetMin: '60' },
  });
  assert.deepEqual(batch.fixed._timestamp, [
    BigInt(Date.UTC(2026, 10, 22, 15, 46, 41, 500)) * 1_000_000n,
    BigInt(Date.UTC(2026, 10, 22, 14, 46, 41)) * 1_000_000n,
  ]);
});

test('a body cut inside a record is a programming error, not silently short', () => {
  const w = new SyslogBodyWriter();
  w.add(Buffer.from('<13>x'), 1, '');
  const body = w.take();
  assert.throws(() => forEachSyslogRecord(body.subarray(0, body.length - 1), () => {}), /truncated/);
});
