/**
 * Metrics Done-when 3: the real OpenTelemetry JS SDK (MeterProvider, every instrument kind) exports
 * over OTLP/HTTP protobuf and JSON to the server process; the series and values are read back
 * through the Prometheus HTTP API, named as Prometheus' OTLP receiver names them. The data also
 * survives a SIGKILL (WAL replay re-translates OTLP metrics records).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { OTLPMetricExporter as MetricsHttpJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as MetricsProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationType, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { ROOT_AUTH, startServer, type ServerProcess } from './harness.ts';

const ENCODINGS = [
  { name: 'proto', Exporter: MetricsProto, path: '/v1/metrics' },
  { name: 'json', Exporter: MetricsHttpJson, path: '/api/default/v1/metrics' },
  { name: 'promotlp', Exporter: MetricsProto, path: '/api/v1/otlp/v1/metrics' },
] as const;

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

async function record(server: ServerProcess, enc: (typeof ENCODINGS)[number]): Promise<void> {
  const exporter = new enc.Exporter({
    url: `${server.url}${enc.path}`,
    headers: { authorization: ROOT_AUTH },
  });
  const reader = new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: 3_600_000,
  });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({
      'service.name': 'checkout',
      'service.namespace': 'shop',
      'service.instance.id': `i-${enc.name}`,
      'deployment.environment': 'test',
      'host.cpus': 4,
    }),
    readers: [reader],
    views: [{ instrumentName: 'payload.size', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
  });
  const meter = provider.getMeter('sdk-test', '1.2.3');

  const requests = meter.createCounter('http.requests', {
    unit: '{requests}',
    description: 'Requests served.',
  });
  requests.add(3, { 'http.route': '/a' });
  requests.add(2, { 'http.route': '/b' });
  requests.add(1, { 'http.route': '/a' });

  const queue = meter.createUpDownCounter('queue.size', { unit: '{items}' });
  queue.add(5);
  queue.add(-2);

  const latency = meter.createHistogram('request.latency', {
    unit: 's',
    advice: { explicitBucketBoundaries: [0.1, 0.5, 1] },
  });
  for (const v of [0.05, 0.3, 0.7, 2]) latency.record(v, { method: 'GET' });

  meter.createGauge('room.temperature', { unit: 'Cel' }).record(21.5, { room: 'lab' });
  meter.createGauge('disk.utilization', { unit: '1' }).record(0.75);
  meter
    .createObservableGauge('memory.usage', { unit: 'By' })
    .addCallback((r) => r.observe(1024, { pool: 'heap' }));
  meter.createObservableCounter('cpu.time', { unit: 's' }).addCallback((r) => r.observe(12.5));
  meter
    .createObservableUpDownCounter('open.connections', { unit: '{connections}' })
    .addCallback((r) => r.observe(7));
  const payload = meter.createHistogram('payload.size', { unit: 'By' });
  payload.record(100);
  payload.record(300);

  await reader.forceFlush();
  await provider.shutdown();
}

describe('OpenTelemetry JS SDK metrics → MoleSignal → Prometheus API', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.stop();
  });

  const query = async (q: string): Promise<VectorSample[]> => {
    const res = await server.fetch(
      `/api/v1/query?query=${encodeURIComponent(q)}&time=${Date.now() / 1000 + 1}`,
    );
    const body = (await res.json()) as {
      status: string;
      data: { resultType: string; result: VectorSample[] };
    };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.data.resultType, 'vector');
    return body.data.result;
  };
  const value = async (q: string): Promise<number> => {
    const r = await query(q);
    assert.equal(r.length, 1, `${q}: ${JSON.stringify(r)}`);
    return Number(r[0]!.value[1]);
  };

  for (const enc of ENCODINGS) {
    test(`every instrument kind over ${enc.name} (${enc.path})`, async () => {
      await record(server, enc);
      const sel = `job="shop/checkout",instance="i-${enc.name}"`;

      // Counter → _total, the {requests} annotation dropped, attributes as sanitized labels
      const counters = await query(`http_requests_total{${sel}}`);
      assert.deepEqual(counters.map((s) => [s.metric.http_route, s.value[1]]).sort(), [
        ['/a', '4'],
        ['/b', '2'],
      ]);
      const one = counters[0]!.metric;
      assert.equal(one.__name__, 'http_requests_total');
      assert.equal(one.otel_scope_name, 'sdk-test');
      assert.equal(one.otel_scope_version, '1.2.3');

      // UpDownCounter: a non-monotonic sum, no suffix
      assert.equal(await value(`queue_size{${sel}}`), 3);

      // Histogram: cumulative buckets with +Inf, _sum, _count; unit s → _seconds
      const buckets = await query(`request_latency_seconds_bucket{${sel},method="GET"}`);
      assert.deepEqual(Object.fromEntries(buckets.map((s) => [s.metric.le, Number(s.value[1])])), {
        '0.1': 1,
        '0.5': 2,
        '1': 3,
        '+Inf': 4,
      });
      assert.equal(await value(`request_latency_seconds_count{${sel}}`), 4);
      assert.ok(Math.abs((await value(`request_latency_seconds_sum{${sel}}`)) - 3.05) < 1e-9);
      const q = await value(`histogram_quantile(0.5, request_latency_seconds_bucket{${sel}})`);
      assert.ok(q > 0.1 && q <= 0.5, `median ${q}`);

      // Gauge (synchronous), with unit Cel and unit 1 (→ _ratio)
      assert.equal(await value(`room_temperature_celsius{${sel},room="lab"}`), 21.5);
      assert.equal(await value(`disk_utilization_ratio{${sel}}`), 0.75);
      // Observable gauge / counter / up-down counter
      assert.equal(await value(`memory_usage_bytes{${sel},pool="heap"}`), 1024);
      assert.equal(await value(`cpu_time_seconds_total{${sel}}`), 12.5);
      assert.equal(await value(`open_connections{${sel}}`), 7);

      // Exponential histogram: only _count and _sum are stored
      assert.equal(await value(`payload_size_bytes_count{${sel}}`), 2);
      assert.equal(await value(`payload_size_bytes_sum{${sel}}`), 400);
      assert.deepEqual(await query(`payload_size_bytes_bucket{${sel}}`), []);

      // target_info carries the non-identifying resource attributes
      const info = await query(`target_info{${sel}}`);
      assert.equal(info.length, 1);
      assert.deepEqual(info[0]!.metric, {
        __name__: 'target_info',
        job: 'shop/checkout',
        instance: `i-${enc.name}`,
        deployment_environment: 'test',
        host_cpus: '4',
      });
      assert.equal(info[0]!.value[1], '1');
    });
  }

  test('series and metadata through /api/v1/series and /api/v1/metadata', async () => {
    const res = await server.fetch(
      `/api/v1/series?match[]=${encodeURIComponent('{__name__=~"request_latency_seconds.*",instance="i-json"}')}`,
    );
    const body = (await res.json()) as { data: Record<string, string>[] };
    assert.equal(res.status, 200);
    const names = new Set(body.data.map((s) => s.__name__));
    assert.deepEqual([...names].sort(), [
      'request_latency_seconds_bucket',
      'request_latency_seconds_count',
      'request_latency_seconds_sum',
    ]);
    assert.equal(body.data.filter((s) => s.__name__ === 'request_latency_seconds_bucket').length, 4);

    const meta = (await (await server.fetch('/api/v1/metadata')).json()) as {
      data: Record<string, { type: string; help: string; unit: string }[]>;
    };
    assert.deepEqual(meta.data.http_requests_total?.[0], {
      type: 'counter',
      help: 'Requests served.',
      unit: '',
    });
    assert.equal(meta.data.request_latency_seconds?.[0]?.type, 'histogram');
    assert.equal(meta.data.request_latency_seconds?.[0]?.unit, 'seconds');
    assert.equal(meta.data.queue_size?.[0]?.type, 'gauge');
  });

  test('OTLP responses: gzip, partial success for exponential histograms, google.rpc.Status / JSON errors', async () => {
    const body = {
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'raw' } }] },
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'raw.exp',
                  exponentialHistogram: {
                    aggregationTemporality: 2,
                    dataPoints: [{ timeUnixNano: String(Date.now() * 1e6), count: '3', sum: 6, scale: 0 }],
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const res = await server.fetch('/v1/metrics', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify(body)),
    });
    assert.equal(res.status, 200);
    const answer = (await res.json()) as {
      partialSuccess: { rejectedDataPoints: string; errorMessage: string };
    };
    assert.equal(answer.partialSuccess.rejectedDataPoints, '1');
    assert.match(answer.partialSuccess.errorMessage, /exponential histogram/);
    assert.equal(await value('raw_exp_count{job="raw"}'), 3);

    const bad = await server.fetch('/v1/metrics', {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: Uint8Array.from([0x0a, 0xff, 0x01]),
    });
    assert.equal(bad.status, 400);
    assert.match(bad.headers.get('content-type') ?? '', /protobuf/);
    const badJson = await server.fetch('/v1/metrics', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"resourceMetrics": 5}',
    });
    assert.equal(badJson.status, 400);
    assert.match(await badJson.text(), /resourceMetrics/);
    const badType = await server.fetch('/v1/metrics', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'x',
    });
    assert.equal(badType.status, 415);
  });

  test('OTLP metrics survive a SIGKILL (WAL replay re-translates them)', async () => {
    const before = await query('{job="shop/checkout"}');
    assert.ok(before.length > 20, `${before.length} series`);
    await server.kill();
    server = await startServer({ dataDir: server.dataDir });
    const afterKill = await query('{job="shop/checkout"}');
    const key = (s: VectorSample) => `${JSON.stringify(s.metric)} ${s.value[1]}`;
    assert.deepEqual(afterKill.map(key).sort(), before.map(key).sort());
  });
});
