import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newOrgId } from '../tenancy/org-id.ts';
import { decodePayload, encodePayload, FORMATS, type IngestPayload } from './wal-payload.ts';

const base: IngestPayload = {
  org: newOrgId(),
  signal: 'metrics',
  stream: 'default',
  format: 'influx-line',
  idempotencyKey: 'k1',
  receivedAtMs: 1_700_000_000_123,
  nowNs: 1_700_000_000_123_000_000n,
  body: new TextEncoder().encode('cpu,host=a value=1'),
};

test('payloads round-trip, with and without params', () => {
  for (const p of [base, { ...base, params: { precision: 'ms', db: 'tele graf&x=1' } }]) {
    const back = decodePayload(encodePayload(p));
    assert.deepEqual({ ...back, body: [...back.body] }, { ...p, body: [...p.body] });
  }
});

test('version 1 payloads (no params field) are still read', () => {
  const enc = new TextEncoder();
  const strs = [base.org, 'default', 'k1'].map((s) => enc.encode(s));
  const body = enc.encode('{}');
  const out = new Uint8Array(4 + strs.reduce((n, b) => n + 2 + b.length, 0) + 20 + body.length);
  const dv = new DataView(out.buffer);
  out.set([1, 0, FORMATS.indexOf('otlp-json'), 0]);
  let o = 4;
  for (const b of strs) {
    dv.setUint16(o, b.length, true);
    out.set(b, o + 2);
    o += 2 + b.length;
  }
  dv.setFloat64(o, 5, true);
  dv.setBigInt64(o + 8, 5_000_000n, true);
  dv.setUint32(o + 16, body.length, true);
  out.set(body, o + 20);
  const p = decodePayload(out);
  assert.equal(p.format, 'otlp-json');
  assert.equal(p.signal, 'logs');
  assert.equal(p.idempotencyKey, 'k1');
  assert.equal(p.nowNs, 5_000_000n);
  assert.equal(p.params, undefined);
  assert.deepEqual([...p.body], [...body]);
});

test('the format list only grows: the first indexes never move', () => {
  assert.deepEqual(FORMATS.slice(0, 6), [
    'otlp-proto',
    'otlp-json',
    'prw-v1',
    'prw-v2',
    'otlp-metrics-proto',
    'otlp-metrics-json',
  ]);
});
