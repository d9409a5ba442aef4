/**
 * The same records in every ingest protocol, for `npm run bench -- ingest`: one generator per
 * signal (seeded, realistic sizes), and one encoder per protocol that turns a batch of them into
 * what that protocol's clients send. Encoders are written from the protocols' published formats
 * (OTLP, Loki push, Splunk HEC, Elasticsearch _bulk, RFC 5424, Zipkin v2, Jaeger Thrift, Influx
 * line protocol, Prometheus text, VictoriaMetrics JSON lines, remote_write).
 */
import { ProtobufWriter as W } from '../../src/lib/protobuf-writer.ts';
import { snappyCompress } from '../../src/lib/snappy.ts';
import { seededRandom } from './tsbs-data.ts';

export interface LogRecord {
  tsNs: bigint;
  severity: 'INFO' | 'WARN' | 'ERROR' | 'DEBUG';
  severityNumber: number;
  body: string;
  service: string;
  host: string;
  attrs: Record<string, string | number>;
}

export interface SpanRecord {
  traceIdHi: bigint;
  traceIdLo: bigint;
  spanId: bigint;
  parentId: bigint;
  name: string;
  service: string;
  startNs: bigint;
  durationNs: bigint;
  kind: number;
  attrs: Record<string, string | number>;
}

export interface SampleRecord {
  metric: string;
  labels: Record<string, string>;
  tsMs: number;
  value: number;
}

const SEVERITIES = [
  ['INFO', 9],
  ['WARN', 13],
  ['ERROR', 17],
  ['DEBUG', 5],
] as const;
const PATHS = ['/api/orders', '/api/users/42', '/checkout', '/healthz', '/api/search?q=shoes', '/static/app.js'];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];

export function logRecords(n: number, seed = 7): LogRecord[] {
  const rand = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const t0 = BigInt(Date.now() - 3_600_000) * 1_000_000n;
  const out: LogRecord[] = [];
  for (let i = 0; i < n; i++) {
    const [severity, severityNumber] = pick(SEVERITIES);
    const method = pick(METHODS);
    const path = pick(PATHS);
    const status = pick([200, 200, 200, 201, 304, 404, 500]);
    const ms = Math.round(rand() * 900) + 1;
    out.push({
      tsNs: t0 + BigInt(i) * 1_000_000n + BigInt(Math.floor(rand() * 1000)),
      severity,
      severityNumber,
      body: `${method} ${path} ${status} ${ms}ms user_agent="Mozilla/5.0 (X11; Linux x86_64)" request_id=${Math.floor(rand() * 1e12).toString(16)}`,
      service: `svc-${i % 8}`,
      host: `node-${i % 8}`,
      attrs: { 'http.method': method, 'http.route': path, 'http.status_code': status, 'duration_ms': ms },
    });
  }
  return out;
}

export function spanRecords(n: number, seed = 11): SpanRecord[] {
  const rand = seededRandom(seed);
  const t0 = BigInt(Date.now() - 3_600_000) * 1_000_000n;
  const id = () => BigInt(Math.floor(rand() * 2 ** 31)) * 2n ** 32n + BigInt(Math.floor(rand() * 2 ** 32)) + 1n;
  const out: SpanRecord[] = [];
  let traceHi = 0n;
  let traceLo = 0n;
  let root = 0n;
  for (let i = 0; i < n; i++) {
    if (i % 8 === 0) {
      traceHi = id();
      traceLo = id();
      root = 0n;
    }
    const spanId = id();
    out.push({
      traceIdHi: traceHi,
      traceIdLo: traceLo,
      spanId,
      parentId: root,
      name: i % 8 === 0 ? 'GET /api/orders' : `SELECT orders ${i % 8}`,
      service: `svc-${i % 8}`,
      startNs: t0 + BigInt(i) * 1_000_000n,
      durationNs: BigInt(Math.floor(rand() * 5e7)),
      kind: i % 8 === 0 ? 2 : 3,
      attrs: { 'http.method': 'GET', 'db.system': 'postgresql', 'net.peer.port': 5432 },
    });
    if (i % 8 === 0) root = spanId;
  }
  return out;
}

/** `series` series × enough points; values are gauges with 2 decimals. */
export function sampleRecords(n: number, series = 1000, seed = 13): SampleRecord[] {
  const rand = seededRandom(seed);
  const points = Math.ceil(n / series);
  const t0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000 - points * 1000;
  const out: SampleRecord[] = [];
  for (let p = 0; p < points && out.length < n; p++)
    for (let s = 0; s < series && out.length < n; s++)
      out.push({
        metric: 'node_cpu_seconds',
        labels: { instance: `host-${s % 100}:9100`, job: 'node', cpu: String(s % 10), mode: `m${Math.floor(s / 100)}` },
        tsMs: t0 + p * 1000,
        value: Math.round(rand() * 10_000) / 100,
      });
  return out;
}

// ---------------------------------------------------------------------------------------------
// OTLP protobuf (hand-encoded; field numbers from opentelemetry-proto)

function anyValue(v: string | number): W {
  return typeof v === 'number' && Number.isInteger(v) ? new W().uint(3, v) : new W().string(1, String(v));
}

function keyValue(k: string, v: string | number): W {
  return new W().string(1, k).message(2, anyValue(v));
}

function idBytes(hi: bigint, lo: bigint, bytes: 8 | 16): Uint8Array {
  const b = new Uint8Array(bytes);
  const dv = new DataView(b.buffer);
  if (bytes === 16) {
    dv.setBigUint64(0, hi);
    dv.setBigUint64(8, lo);
  } else dv.setBigUint64(0, lo);
  return b;
}

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const list = m.get(k);
    if (list) list.push(x);
    else m.set(k, [x]);
  }
  return m;
}

export function otlpLogsProto(batch: readonly LogRecord[]): Uint8Array {
  const req = new W();
  for (const [, recs] of groupBy(batch, (r) => `${r.service}\u0000${r.host}`)) {
    const resource = new W()
      .message(1, keyValue('service.name', recs[0]!.service))
      .message(1, keyValue('host.name', recs[0]!.host));
    const scope = new W().message(1, new W().string(1, 'bench').string(2, '1.0'));
    for (const r of recs) {
      const lr = new W();
      lr.fixed64(1, r.tsNs);
      lr.uint(2, r.severityNumber).string(3, r.severity).message(5, anyValue(r.body));
      for (const [k, v] of Object.entries(r.attrs)) lr.message(6, keyValue(k, v));
      scope.message(2, lr);
    }
    req.message(1, new W().message(1, resource).message(2, scope));
  }
  return req.finish();
}

const jsonAny = (v: string | number) =>
  typeof v === 'number' && Number.isInteger(v) ? { intValue: String(v) } : { stringValue: String(v) };
const jsonAttrs = (a: Record<string, string | number>) =>
  Object.entries(a).map(([key, v]) => ({ key, value: jsonAny(v) }));

export function otlpLogsJson(batch: readonly LogRecord[]): Uint8Array {
  const resourceLogs = [...groupBy(batch, (r) => `${r.service}\u0000${r.host}`).values()].map((recs) => ({
    resource: { attributes: jsonAttrs({ 'service.name': recs[0]!.service, 'host.name': recs[0]!.host }) },
    scopeLogs: [
      {
        scope: { name: 'bench', version: '1.0' },
        logRecords: recs.map((r) => ({
          timeUnixNano: String(r.tsNs),
          severityNumber: r.severityNumber,
          severityText: r.severity,
          body: { stringValue: r.body },
          attributes: jsonAttrs(r.attrs),
        })),
      },
    ],
  }));
  return new TextEncoder().encode(JSON.stringify({ resourceLogs }));
}

export function otlpSpansProto(batch: readonly SpanRecord[]): Uint8Array {
  const req = new W();
  for (const [, spans] of groupBy(batch, (s) => s.service)) {
    const resource = new W().message(1, keyValue('service.name', spans[0]!.service));
    const scope = new W().message(1, new W().string(1, 'bench'));
    for (const s of spans) {
      const sp = new W()
        .bytesField(1, idBytes(s.traceIdHi, s.traceIdLo, 16))
        .bytesField(2, idBytes(0n, s.spanId, 8));
      if (s.parentId !== 0n) sp.bytesField(4, idBytes(0n, s.parentId, 8));
      sp.string(5, s.name).uint(6, s.kind);
      sp.fixed64(7, s.startNs);
      sp.fixed64(8, s.startNs + s.durationNs);
      for (const [k, v] of Object.entries(s.attrs)) sp.message(9, keyValue(k, v));
      scope.message(2, sp);
    }
    req.message(1, new W().message(1, resource).message(2, scope));
  }
  return req.finish();
}

const hex = (hi: bigint, lo: bigint, bytes: 8 | 16) => Buffer.from(idBytes(hi, lo, bytes)).toString('hex');

export function otlpSpansJson(batch: readonly SpanRecord[]): Uint8Array {
  const resourceSpans = [...groupBy(batch, (s) => s.service).values()].map((spans) => ({
    resource: { attributes: jsonAttrs({ 'service.name': spans[0]!.service }) },
    scopeSpans: [
      {
        scope: { name: 'bench' },
        spans: spans.map((s) => ({
          traceId: hex(s.traceIdHi, s.traceIdLo, 16),
          spanId: hex(0n, s.spanId, 8),
          ...(s.parentId !== 0n ? { parentSpanId: hex(0n, s.parentId, 8) } : {}),
          name: s.name,
          kind: s.kind,
          startTimeUnixNano: String(s.startNs),
          endTimeUnixNano: String(s.startNs + s.durationNs),
          attributes: jsonAttrs(s.attrs),
        })),
      },
    ],
  }));
  return new TextEncoder().encode(JSON.stringify({ resourceSpans }));
}

/** OTLP metrics: one gauge metric per name, one data point per sample (labels as attributes). */
export function otlpMetricsProto(batch: readonly SampleRecord[]): Uint8Array {
  const scope = new W().message(1, new W().string(1, 'bench'));
  for (const [name, samples] of groupBy(batch, (s) => s.metric)) {
    const gauge = new W();
    for (const s of samples) {
      const dp = new W();
      for (const [k, v] of Object.entries(s.labels)) dp.message(7, keyValue(k, v));
      dp.fixed64(3, BigInt(s.tsMs) * 1_000_000n);
      dp.double(4, s.value);
      gauge.message(1, dp);
    }
    scope.message(2, new W().string(1, name).message(5, gauge));
  }
  const resource = new W().message(1, keyValue('service.name', 'bench'));
  return new W().message(1, new W().message(1, resource).message(2, scope)).finish();
}

// ---------------------------------------------------------------------------------------------
// Logs: Loki push, Splunk HEC, Elasticsearch _bulk, JSON, syslog

const lokiLabels = (r: LogRecord) => ({ service_name: r.service, host: r.host, level: r.severity.toLowerCase() });
const strAttrs = (a: Record<string, string | number>) =>
  Object.fromEntries(Object.entries(a).map(([k, v]) => [k.replace(/\./g, '_'), String(v)]));

export function lokiJson(batch: readonly LogRecord[]): Uint8Array {
  const streams = [...groupBy(batch, (r) => JSON.stringify(lokiLabels(r))).values()].map((recs) => ({
    stream: lokiLabels(recs[0]!),
    values: recs.map((r) => [String(r.tsNs), r.body, strAttrs(r.attrs)]),
  }));
  return new TextEncoder().encode(JSON.stringify({ streams }));
}

/** logproto.PushRequest, snappy-compressed (as Promtail and winston-loki send it). */
export function lokiProto(batch: readonly LogRecord[]): Uint8Array {
  const req = new W();
  for (const recs of groupBy(batch, (r) => JSON.stringify(lokiLabels(r))).values()) {
    const l = lokiLabels(recs[0]!);
    const sel = `{${Object.entries(l)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(', ')}}`;
    const stream = new W().string(1, sel);
    for (const r of recs) {
      const ts = new W().uint(1, r.tsNs / 1_000_000_000n).uint(2, r.tsNs % 1_000_000_000n);
      const e = new W().message(1, ts).string(2, r.body);
      for (const [k, v] of Object.entries(strAttrs(r.attrs))) e.message(3, new W().string(1, k).string(2, v));
      stream.message(2, e);
    }
    req.message(1, stream);
  }
  return snappyCompress(req.finish());
}

export function hecEvents(batch: readonly LogRecord[]): Uint8Array {
  const parts = batch.map((r) =>
    JSON.stringify({
      time: Number(r.tsNs / 1_000_000n) / 1000,
      host: r.host,
      source: r.service,
      sourcetype: 'access_log',
      event: r.body,
      fields: { ...strAttrs(r.attrs), level: r.severity },
    }),
  );
  return new TextEncoder().encode(parts.join('\n'));
}

const doc = (r: LogRecord) => ({
  '@timestamp': new Date(Number(r.tsNs / 1_000_000n)).toISOString(),
  message: r.body,
  level: r.severity,
  service: r.service,
  host: r.host,
  ...r.attrs,
});

export function esBulk(batch: readonly LogRecord[]): Uint8Array {
  const lines: string[] = [];
  for (const r of batch) lines.push('{"create":{"_index":"default"}}', JSON.stringify(doc(r)));
  return new TextEncoder().encode(lines.join('\n') + '\n');
}

export function jsonArray(batch: readonly LogRecord[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(batch.map(doc)));
}

export function ndjson(batch: readonly LogRecord[]): Uint8Array {
  return new TextEncoder().encode(batch.map((r) => JSON.stringify(doc(r))).join('\n') + '\n');
}

/** RFC 5424 messages with RFC 6587 octet-counting framing, as rsyslog forwards them over TCP. */
export function syslogFrames(batch: readonly LogRecord[]): Uint8Array {
  const sev: Record<LogRecord['severity'], number> = { ERROR: 3, WARN: 4, INFO: 6, DEBUG: 7 };
  const enc = new TextEncoder();
  const frames: Uint8Array[] = [];
  for (const r of batch) {
    const ts = new Date(Number(r.tsNs / 1_000_000n)).toISOString();
    const sd = `[req@32473 method="${r.attrs['http.method']}" status="${r.attrs['http.status_code']}"]`;
    const msg = enc.encode(`<${16 * 8 + sev[r.severity]}>1 ${ts} ${r.host} ${r.service} - - ${sd} ${r.body}`);
    frames.push(enc.encode(`${msg.length} `), msg);
  }
  return Buffer.concat(frames);
}

// ---------------------------------------------------------------------------------------------
// Traces: Zipkin v2 JSON, Jaeger Thrift (binary protocol) Batch

export function zipkinJson(batch: readonly SpanRecord[]): Uint8Array {
  const kinds: Record<number, string> = { 2: 'SERVER', 3: 'CLIENT', 4: 'PRODUCER', 5: 'CONSUMER' };
  return new TextEncoder().encode(
    JSON.stringify(
      batch.map((s) => ({
        traceId: hex(s.traceIdHi, s.traceIdLo, 16),
        id: hex(0n, s.spanId, 8),
        ...(s.parentId !== 0n ? { parentId: hex(0n, s.parentId, 8) } : {}),
        name: s.name,
        ...(kinds[s.kind] ? { kind: kinds[s.kind] } : {}),
        timestamp: Number(s.startNs / 1000n),
        duration: Math.max(1, Number(s.durationNs / 1000n)),
        localEndpoint: { serviceName: s.service },
        tags: Object.fromEntries(Object.entries(s.attrs).map(([k, v]) => [k, String(v)])),
      })),
    ),
  );
}

/** Thrift binary protocol writer: just what jaeger.thrift's Batch needs. */
class Thrift {
  private readonly parts: Buffer[] = [];
  field(type: number, id: number): this {
    const b = Buffer.alloc(3);
    b.writeInt8(type, 0);
    b.writeInt16BE(id, 1);
    this.parts.push(b);
    return this;
  }
  i32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    this.parts.push(b);
    return this;
  }
  i64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt.asIntN(64, v));
    this.parts.push(b);
    return this;
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    this.i32(b.length);
    this.parts.push(b);
    return this;
  }
  list(elemType: number, n: number): this {
    this.parts.push(Buffer.from([elemType]));
    return this.i32(n);
  }
  stop(): this {
    this.parts.push(Buffer.from([0]));
    return this;
  }
  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}
const T_I32 = 8;
const T_I64 = 10;
const T_STRING = 11;
const T_STRUCT = 12;
const T_LIST = 15;

function thriftTags(t: Thrift, attrs: Record<string, string | number>): void {
  const entries = Object.entries(attrs);
  t.list(T_STRUCT, entries.length);
  for (const [k, v] of entries) {
    t.field(T_STRING, 1).str(k);
    if (typeof v === 'number' && Number.isInteger(v)) t.field(T_I32, 2).i32(3).field(T_I64, 6).i64(BigInt(v));
    else t.field(T_I32, 2).i32(0).field(T_STRING, 3).str(String(v));
    t.stop();
  }
}

/** jaeger.thrift Batch for one service (POST /api/traces takes one Batch per request). */
export function jaegerThriftBatches(batch: readonly SpanRecord[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const [service, spans] of groupBy(batch, (s) => s.service)) {
    const t = new Thrift();
    t.field(T_STRUCT, 1).field(T_STRING, 1).str(service).stop();
    t.field(T_LIST, 2).list(T_STRUCT, spans.length);
    for (const s of spans) {
      t.field(T_I64, 1).i64(s.traceIdLo).field(T_I64, 2).i64(s.traceIdHi);
      t.field(T_I64, 3).i64(s.spanId).field(T_I64, 4).i64(s.parentId);
      t.field(T_STRING, 5).str(s.name).field(T_I32, 7).i32(1);
      t.field(T_I64, 8).i64(s.startNs / 1000n).field(T_I64, 9).i64(s.durationNs / 1000n);
      t.field(T_LIST, 10);
      thriftTags(t, { ...s.attrs, 'span.kind': s.kind === 2 ? 'server' : 'client' });
      t.stop();
    }
    t.stop();
    out.push(t.finish());
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Metrics: remote_write 1.0, Influx line protocol, Prometheus text, VictoriaMetrics JSON lines

export function remoteWrite(batch: readonly SampleRecord[]): Uint8Array {
  const req = new W();
  for (const samples of groupBy(batch, (s) => `${s.metric}${JSON.stringify(s.labels)}`).values()) {
    const ts = new W();
    const labels = Object.entries({ __name__: samples[0]!.metric, ...samples[0]!.labels }).sort(([a], [b]) =>
      a < b ? -1 : 1,
    );
    for (const [k, v] of labels) ts.message(1, new W().string(1, k).string(2, v));
    for (const s of samples) ts.message(2, new W().double(1, s.value).uint(2, s.tsMs));
    req.message(1, ts);
  }
  return snappyCompress(req.finish());
}

const influxEscape = (s: string) => s.replace(/[ ,=]/g, (c) => `\\${c}`);

/** Measurement `node_cpu`, field `seconds` (stored as `node_cpu_seconds`), ms precision. */
export function influxLines(batch: readonly SampleRecord[]): Uint8Array {
  const lines = batch.map((s) => {
    const tags = Object.entries(s.labels)
      .map(([k, v]) => `${influxEscape(k)}=${influxEscape(v)}`)
      .join(',');
    return `node_cpu,${tags} seconds=${s.value} ${s.tsMs}`;
  });
  return new TextEncoder().encode(lines.join('\n') + '\n');
}

const promLabels = (l: Record<string, string>) =>
  Object.entries(l)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');

export function promText(batch: readonly SampleRecord[]): Uint8Array {
  const lines = ['# TYPE node_cpu_seconds gauge'];
  for (const s of batch) lines.push(`${s.metric}{${promLabels(s.labels)}} ${s.value} ${s.tsMs}`);
  return new TextEncoder().encode(lines.join('\n') + '\n');
}

export function vmJsonLines(batch: readonly SampleRecord[]): Uint8Array {
  const lines = [...groupBy(batch, (s) => `${s.metric}${JSON.stringify(s.labels)}`).values()].map((samples) =>
    JSON.stringify({
      metric: { __name__: samples[0]!.metric, ...samples[0]!.labels },
      values: samples.map((s) => s.value),
      timestamps: samples.map((s) => s.tsMs),
    }),
  );
  return new TextEncoder().encode(lines.join('\n') + '\n');
}
