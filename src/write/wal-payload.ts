/**
 * What one WAL record holds: the request as accepted (org, stream, signal, wire format, body
 * bytes, the receive time used for missing timestamps, the Idempotency-Key). The body is decoded
 * (gzip/deflate undone) except for the `*-snappy` formats, which keep remote_write's snappy block
 * as it arrived (6-10x fewer bytes to checksum, write and fsync). Replay decodes the body again
 * with the same decoder, so replay rebuilds exactly the rows that were acked.
 * Layout in docs/format/wal.md ("Payload").
 */
import { asOrgId, type OrgId } from '../tenancy/org-id.ts';
import type { SignalType } from './column-batch.ts';

export type WireFormat =
  | 'otlp-proto'
  | 'otlp-json'
  | 'prw-v1'
  | 'prw-v2'
  | 'otlp-metrics-proto'
  | 'otlp-metrics-json'
  | 'prw-v1-snappy'
  | 'prw-v2-snappy';

export interface IngestPayload {
  org: OrgId;
  signal: SignalType;
  stream: string;
  format: WireFormat;
  idempotencyKey: string;
  receivedAtMs: number;
  nowNs: bigint;
  body: Uint8Array;
  /** the decoded size of `body` when it is still compressed (metrics only; not stored) */
  decodedBytes?: number;
}

const SIGNALS: SignalType[] = ['logs', 'traces', 'metrics'];
/** Stored in every WAL record by index: append only, never reorder. */
const FORMATS: WireFormat[] = [
  'otlp-proto',
  'otlp-json',
  'prw-v1',
  'prw-v2',
  'otlp-metrics-proto',
  'otlp-metrics-json',
  'prw-v1-snappy',
  'prw-v2-snappy',
];
const VERSION = 1;
const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodePayload(p: IngestPayload): Uint8Array {
  const org = enc.encode(p.org);
  const stream = enc.encode(p.stream);
  const key = enc.encode(p.idempotencyKey);
  const size = 4 + 2 + org.length + 2 + stream.length + 2 + key.length + 8 + 8 + 4 + p.body.length;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let o = 0;
  out[o++] = VERSION;
  out[o++] = SIGNALS.indexOf(p.signal);
  out[o++] = FORMATS.indexOf(p.format);
  out[o++] = 0;
  for (const b of [org, stream, key]) {
    dv.setUint16(o, b.length, true);
    out.set(b, o + 2);
    o += 2 + b.length;
  }
  dv.setFloat64(o, p.receivedAtMs, true);
  dv.setBigInt64(o + 8, p.nowNs, true);
  dv.setUint32(o + 16, p.body.length, true);
  out.set(p.body, o + 20);
  return out;
}

export function decodePayload(buf: Uint8Array): IngestPayload {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf[0] !== VERSION) throw new Error(`unknown WAL payload version ${buf[0]}`);
  const signal = SIGNALS[buf[1]!];
  const format = FORMATS[buf[2]!];
  if (!signal || !format) throw new Error('bad WAL payload header');
  let o = 4;
  const strs: string[] = [];
  for (let i = 0; i < 3; i++) {
    const n = dv.getUint16(o, true);
    strs.push(dec.decode(buf.subarray(o + 2, o + 2 + n)));
    o += 2 + n;
  }
  const receivedAtMs = dv.getFloat64(o, true);
  const nowNs = dv.getBigInt64(o + 8, true);
  const len = dv.getUint32(o + 16, true);
  return {
    org: asOrgId(strs[0]!),
    stream: strs[1]!,
    idempotencyKey: strs[2]!,
    signal,
    format,
    receivedAtMs,
    nowNs,
    body: buf.subarray(o + 20, o + 20 + len),
  };
}
