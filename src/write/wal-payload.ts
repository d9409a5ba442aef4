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

/**
 * Every wire format the server accepts. Stored in every WAL record by its index in FORMATS: append
 * only, never reorder. Formats of protocols not built yet are reserved here so that adapters
 * developed side by side never claim the same index.
 */
export const FORMATS = [
  'otlp-proto',
  'otlp-json',
  'prw-v1',
  'prw-v2',
  'otlp-metrics-proto',
  'otlp-metrics-json',
  // logs
  'loki-json',
  'loki-proto',
  'hec-event',
  'hec-raw',
  'es-bulk',
  'json-array',
  'ndjson',
  'syslog',
  // traces
  'zipkin-json',
  'zipkin-proto',
  'jaeger-thrift-binary',
  'jaeger-thrift-compact',
  'jaeger-proto',
  // metrics
  'influx-line',
  'prom-text',
  'vm-json-lines',
  // remote_write bodies kept snappy-compressed as they arrived (replay decompresses)
  'prw-v1-snappy',
  'prw-v2-snappy',
] as const;

export type WireFormat = (typeof FORMATS)[number];

export interface PayloadExemplar {
  series: readonly { name: string; value: string }[];
  labels: readonly { name: string; value: string }[];
  value: number;
  timestampMs: number;
}

export interface IngestPayload {
  org: OrgId;
  signal: SignalType;
  stream: string;
  format: WireFormat;
  idempotencyKey: string;
  receivedAtMs: number;
  nowNs: bigint;
  body: Uint8Array;
  /**
   * What the decoder needs besides the body and is not in it (an Influx `precision`, a HEC
   * token's default index, a syslog listener's name…): replay decodes with the same params.
   */
  params?: Readonly<Record<string, string>>;
  /** the decoded size of `body` when it is still compressed (metrics only; not stored) */
  decodedBytes?: number;
  /** false when the adapter knows the body carries no exemplars (not stored: replay looks) */
  hasExemplars?: boolean;
  /** exemplars the adapter already decoded, by series labels (not stored: replay decodes again) */
  exemplars?: PayloadExemplar[];
}

const SIGNALS: SignalType[] = ['logs', 'traces', 'metrics'];
/** v1: no params; v2 adds them (written since v2, both read). */
const VERSION = 2;
const enc = new TextEncoder();
const dec = new TextDecoder();

function encodeParams(params: IngestPayload['params']): string {
  return params && Object.keys(params).length > 0 ? new URLSearchParams(params).toString() : '';
}

export function encodePayload(p: IngestPayload): Uint8Array {
  const org = enc.encode(p.org);
  const stream = enc.encode(p.stream);
  const key = enc.encode(p.idempotencyKey);
  const params = enc.encode(encodeParams(p.params));
  const strs = [org, stream, key, params];
  for (const b of strs)
    if (b.length > 0xffff) throw new Error('WAL payload header field longer than 65535 bytes');
  const size = 4 + strs.reduce((n, b) => n + 2 + b.length, 0) + 8 + 8 + 4 + p.body.length;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let o = 0;
  out[o++] = VERSION;
  out[o++] = SIGNALS.indexOf(p.signal);
  out[o++] = FORMATS.indexOf(p.format);
  out[o++] = 0;
  for (const b of strs) {
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
  const version = buf[0];
  if (version !== 1 && version !== 2) throw new Error(`unknown WAL payload version ${buf[0]}`);
  const signal = SIGNALS[buf[1]!];
  const format = FORMATS[buf[2]!];
  if (!signal || !format) throw new Error('bad WAL payload header');
  let o = 4;
  const strs: string[] = [];
  for (let i = 0; i < (version === 1 ? 3 : 4); i++) {
    const n = dv.getUint16(o, true);
    strs.push(dec.decode(buf.subarray(o + 2, o + 2 + n)));
    o += 2 + n;
  }
  const receivedAtMs = dv.getFloat64(o, true);
  const nowNs = dv.getBigInt64(o + 8, true);
  const len = dv.getUint32(o + 16, true);
  const params = strs[3] ? Object.fromEntries(new URLSearchParams(strs[3])) : undefined;
  return {
    org: asOrgId(strs[0]!),
    stream: strs[1]!,
    idempotencyKey: strs[2]!,
    signal,
    format,
    receivedAtMs,
    nowNs,
    body: buf.subarray(o + 20, o + 20 + len),
    ...(params ? { params } : {}),
  };
}
