/**
 * Every ingest protocol on the same records: per signal, one set of records (bench/lib/ingest-payloads.ts)
 * encoded the way each protocol's clients send it (pre-encoded before timing), sent by 4 concurrent
 * keep-alive clients (or TCP connections, or gRPC channels) to a fresh server per protocol, timed until every record is
 * queryable. Each protocol's rate is compared with OTLP/HTTP protobuf of its signal.
 * Flags: --logs N (200000) --spans N (100000) --samples N (400000) --clients N (4)
 *        --only name,name (protocols to run; default all)
 */
import * as grpc from '@grpc/grpc-js';
import { connect } from 'node:net';
import { Agent } from 'node:http';
import {
  esBulk,
  hecEvents,
  influxLines,
  jaegerThriftBatches,
  jsonArray,
  logRecords,
  lokiJson,
  lokiProto,
  ndjson,
  otlpLogsJson,
  otlpLogsProto,
  otlpMetricsProto,
  otlpSpansJson,
  otlpSpansProto,
  promText,
  remoteWrite,
  sampleRecords,
  spanRecords,
  syslogFrames,
  vmJsonLines,
  zipkinJson,
} from '../lib/ingest-payloads.ts';
import { ROOT_AUTH, removeDir, startServer, type ServerProcess } from '../../test/harness.ts';
import { freePort } from '../../test/peers.ts';
import { cpuSeconds, postRequest } from '../lib/server-client.ts';
import type { BenchResult } from '../run.ts';

type Signal = 'logs' | 'traces' | 'metrics';

interface HttpRequest {
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

interface Protocol {
  name: string;
  signal: Signal;
  /** the OTLP/HTTP protobuf baseline of its signal */
  baseline?: boolean;
  /** requests for one batch of records (HTTP protocols) */
  http?: (batch: never[]) => HttpRequest[];
  /** a TCP stream of bytes for one batch (syslog) */
  tcp?: (batch: never[]) => Uint8Array;
  /** a unary gRPC call for one batch: method path and protobuf message */
  grpc?: { path: string; encode: (batch: never[]) => Uint8Array };
  /**
   * Records are grouped by this key before they are cut into batches: for protocols whose request
   * carries one process (Jaeger's Batch), so that requests are as large as the other protocols'.
   */
  batchKey?: (r: never) => string;
  /** server flags the protocol needs (a listener port) */
  args?: (port: number) => string[];
  /** SQL counting the stored records */
  count: string;
}

const proto = (path: string, body: Uint8Array, extra: Record<string, string> = {}): HttpRequest => ({
  path,
  headers: { 'content-type': 'application/x-protobuf', ...extra },
  body,
});
const json = (path: string, body: Uint8Array, ct = 'application/json', extra: Record<string, string> = {}): HttpRequest => ({
  path,
  headers: { 'content-type': ct, ...extra },
  body,
});

const LOGS = 'SELECT count(*) AS c FROM logs."default"';
const SYSLOG = 'SELECT count(*) AS c FROM logs."syslog"';
const SPANS = 'SELECT count(*) AS c FROM traces."default"';
const SAMPLES = 'SELECT count(*) AS c FROM metrics._samples';

const PROTOCOLS: Protocol[] = [
  { name: 'OTLP/HTTP protobuf', signal: 'logs', baseline: true, http: (b: any[]) => [proto('/v1/logs', otlpLogsProto(b))], count: LOGS },
  { name: 'OTLP/HTTP JSON', signal: 'logs', http: (b: any[]) => [json('/v1/logs', otlpLogsJson(b))], count: LOGS },
  {
    name: 'OTLP/gRPC',
    signal: 'logs',
    grpc: { path: '/opentelemetry.proto.collector.logs.v1.LogsService/Export', encode: (b: any[]) => otlpLogsProto(b) },
    count: LOGS,
  },
  { name: 'Loki push JSON', signal: 'logs', http: (b: any[]) => [json('/loki/api/v1/push', lokiJson(b))], count: LOGS },
  { name: 'Loki push protobuf (snappy)', signal: 'logs', http: (b: any[]) => [proto('/loki/api/v1/push', lokiProto(b))], count: LOGS },
  {
    name: 'Splunk HEC event',
    signal: 'logs',
    http: (b: any[]) => [json('/services/collector/event', hecEvents(b))],
    count: LOGS,
  },
  {
    name: 'Elasticsearch _bulk',
    signal: 'logs',
    http: (b: any[]) => [json('/_bulk', esBulk(b), 'application/x-ndjson')],
    count: LOGS,
  },
  { name: 'JSON array (_json)', signal: 'logs', http: (b: any[]) => [json('/api/default/default/_json', jsonArray(b))], count: LOGS },
  {
    name: 'NDJSON (_multi)',
    signal: 'logs',
    http: (b: any[]) => [json('/api/default/default/_multi', ndjson(b), 'application/x-ndjson')],
    count: LOGS,
  },
  {
    name: 'Syslog RFC 5424 over TCP (octet counting)',
    signal: 'logs',
    tcp: (b: any[]) => syslogFrames(b),
    args: (port) => ['--syslog-tcp-port', String(port)],
    count: SYSLOG,
  },
  { name: 'OTLP/HTTP protobuf', signal: 'traces', baseline: true, http: (b: any[]) => [proto('/v1/traces', otlpSpansProto(b))], count: SPANS },
  { name: 'OTLP/HTTP JSON', signal: 'traces', http: (b: any[]) => [json('/v1/traces', otlpSpansJson(b))], count: SPANS },
  {
    name: 'OTLP/gRPC',
    signal: 'traces',
    grpc: { path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export', encode: (b: any[]) => otlpSpansProto(b) },
    count: SPANS,
  },
  { name: 'Zipkin v2 JSON', signal: 'traces', http: (b: any[]) => [json('/api/v2/spans', zipkinJson(b))], count: SPANS },
  {
    name: 'Jaeger Thrift over HTTP',
    signal: 'traces',
    http: (b: any[]) => jaegerThriftBatches(b).map((body) => json('/api/traces', body, 'application/x-thrift')),
    batchKey: (s: any) => s.service,
    count: SPANS,
  },
  { name: 'OTLP/HTTP protobuf', signal: 'metrics', baseline: true, http: (b: any[]) => [proto('/v1/metrics', otlpMetricsProto(b))], count: SAMPLES },
  {
    name: 'OTLP/gRPC',
    signal: 'metrics',
    grpc: {
      path: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
      encode: (b: any[]) => otlpMetricsProto(b),
    },
    count: SAMPLES,
  },
  {
    name: 'Prometheus remote_write 1.0',
    signal: 'metrics',
    http: (b: any[]) => [
      proto('/api/v1/write', remoteWrite(b), { 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' }),
    ],
    count: SAMPLES,
  },
  { name: 'Influx line protocol', signal: 'metrics', http: (b: any[]) => [json('/write?db=bench&precision=ms', influxLines(b), 'text/plain')], count: SAMPLES },
  {
    name: 'Prometheus text import',
    signal: 'metrics',
    http: (b: any[]) => [json('/api/v1/import/prometheus', promText(b), 'text/plain')],
    count: SAMPLES,
  },
  {
    name: 'VictoriaMetrics JSON lines import',
    signal: 'metrics',
    http: (b: any[]) => [json('/api/v1/import', vmJsonLines(b), 'application/x-ndjson')],
    count: SAMPLES,
  },
];

const BATCH: Record<Signal, number> = { logs: 1000, traces: 500, metrics: 2000 };

function sendTcp(port: number, chunks: Uint8Array[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => {
      let i = 0;
      const next = (): void => {
        while (i < chunks.length) {
          if (!sock.write(chunks[i++]!)) {
            sock.once('drain', next);
            return;
          }
        }
        sock.end();
      };
      next();
    });
    sock.on('error', reject);
    sock.on('close', () => resolve());
  });
}

/** One unary call per message, in order, over one channel (as an OTLP exporter sends). */
async function sendGrpc(address: string, path: string, messages: Uint8Array[]): Promise<void> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
  const md = new grpc.Metadata();
  md.set('authorization', ROOT_AUTH);
  try {
    for (const m of messages) {
      await new Promise<void>((resolve, reject) =>
        client.makeUnaryRequest(
          path,
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from(m),
          md,
          (err: grpc.ServiceError | null) => (err ? reject(new Error(`${path}: ${err.details}`)) : resolve()),
        ),
      );
    }
  } finally {
    client.close();
  }
}

interface Outcome {
  rate: number;
  perCpu: number;
  error?: string;
}

async function runProtocol(p: Protocol, records: unknown[], clients: number): Promise<Outcome> {
  const n = BATCH[p.signal];
  const batches: unknown[][] = [];
  const groups = new Map<string, unknown[]>();
  for (const r of records) {
    const k = p.batchKey ? p.batchKey(r as never) : '';
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  for (const g of groups.values()) for (let i = 0; i < g.length; i += n) batches.push(g.slice(i, i + n));
  const port = p.tcp ? await freePort() : 0;
  let server: ServerProcess | undefined;
  try {
    const encoded = batches.map((b) =>
      p.http ? p.http(b as never[]) : p.grpc ? [p.grpc.encode(b as never[])] : [p.tcp!(b as never[])],
    );
    server = await startServer({ args: p.args ? p.args(port) : [] });
    const url = new URL(server.url);
    const agent = new Agent({ keepAlive: true, maxSockets: clients });
    const cpu0 = cpuSeconds(server.proc.pid!);
    const started = performance.now();
    let next = 0;
    if (p.http) {
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (next < encoded.length) for (const r of encoded[next++] as HttpRequest[]) await postRequest(agent, url, r.path, { ...r.headers, authorization: ROOT_AUTH }, r.body);
        }),
      );
    } else {
      const lanes: Uint8Array[][] = Array.from({ length: clients }, () => []);
      encoded.forEach((e, i) => lanes[i % clients]!.push(e[0] as Uint8Array));
      const grpcPath = p.grpc?.path;
      await Promise.all(
        lanes.map((l) => (grpcPath ? sendGrpc(server!.grpcAddress, grpcPath, l) : sendTcp(port, l))),
      );
    }
    const deadline = Date.now() + 120_000;
    for (;;) {
      const hits = (await server.search(p.count)).hits;
      const c = Number(hits[0]?.c ?? 0);
      if (c >= records.length) break;
      if (Date.now() > deadline) throw new Error(`only ${c} of ${records.length} records queryable after 120 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const s = (performance.now() - started) / 1000;
    const cpu = cpuSeconds(server.proc.pid!) - cpu0;
    agent.destroy();
    return { rate: records.length / s, perCpu: records.length / Math.max(cpu, 0.01) };
  } catch (e) {
    return { rate: NaN, perCpu: NaN, error: (e as Error).message.slice(0, 200) };
  } finally {
    if (server) {
      await server.stop().catch(() => server!.kill());
      await removeDir(server.dataDir);
    }
  }
}

export async function run(args: Record<string, string>): Promise<BenchResult> {
  const clients = Number(args.clients ?? 4);
  const only = args.only ? args.only.split(',').map((s) => s.trim().toLowerCase()) : null;
  const records: Record<Signal, unknown[]> = {
    logs: logRecords(Number(args.logs ?? 200_000)),
    traces: spanRecords(Number(args.spans ?? 100_000)),
    metrics: sampleRecords(Number(args.samples ?? 400_000)),
  };
  const figures: Record<string, string> = {};
  const baseline: Partial<Record<Signal, number>> = {};
  const slow: string[] = [];
  for (const p of PROTOCOLS) {
    if (only && !p.baseline && !only.some((o) => p.name.toLowerCase().includes(o))) continue;
    process.stderr.write(`  ${p.signal}: ${p.name} … `);
    const o = await runProtocol(p, records[p.signal], clients);
    if (p.baseline) baseline[p.signal] = o.rate;
    const base = baseline[p.signal];
    const ratio = base && Number.isFinite(o.rate) ? base / o.rate : NaN;
    if (ratio > 3) slow.push(`${p.signal} ${p.name}`);
    const key = `${p.signal}: ${p.name} — records/s until queryable (per server CPU-s; OTLP/HTTP protobuf ÷ this)`;
    figures[key] = o.error
      ? `failed: ${o.error}`
      : `${Math.round(o.rate).toLocaleString('en')} (${Math.round(o.perCpu).toLocaleString('en')}; ${p.baseline ? 'baseline' : `${ratio.toFixed(2)}×`})`;
    process.stderr.write(`${figures[key]}\n`);
  }
  figures['protocols more than 3× slower than OTLP/HTTP protobuf'] = slow.length ? slow.join(', ') : 'none';
  return {
    title: 'ingest: every protocol on the same records, until queryable',
    workload: `logs ${records.logs.length.toLocaleString('en')} records (~200 B HTTP access-log bodies, 4 attributes, 8 services) in batches of ${BATCH.logs}; traces ${records.traces.length.toLocaleString('en')} spans (3 attributes, traces of 8 spans) in batches of ${BATCH.traces}; metrics ${records.metrics.length.toLocaleString('en')} gauge samples of 1,000 series in batches of ${BATCH.metrics}; ${clients} concurrent keep-alive clients (syslog: ${clients} TCP connections; OTLP/gRPC: ${clients} channels); fresh server per protocol; encoding done before timing`,
    figures,
    notes:
      'Payloads are built from the published formats by bench/lib/ingest-payloads.ts (the integration tests use the real clients). Jaeger Thrift carries one process (service) per request, as jaeger-client sends it, so its spans are grouped by service before being cut into batches of the same size. Client and server share the 2 cores; "per server CPU-s" counts only the server process. Not measured: Zipkin and Jaeger protobuf, Jaeger UDP, syslog over UDP/TLS (same decoders as the measured variants), scraping (pull).',
  };
}
