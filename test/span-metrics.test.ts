/**
 * Span metrics and service graph (docs/traces.md): spans sent with the OpenTelemetry JS SDK become
 * Tempo's `traces_spanmetrics_*` and `traces_service_graph_*` series, answered by PromQL; after a
 * SIGKILL (spans not yet in a snapshot, spans already in one) and after a graceful restart the
 * counters continue from the right values, never counting a span twice.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ROOT_AUTH, removeDir, startServer, tempDir, type ServerProcess } from './harness.ts';

const FAST = { MOLESIGNAL_SPAN_METRICS_INTERVAL_MS: '100' };

async function instant(
  server: ServerProcess,
  query: string,
): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await server.fetch(`/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as {
    status: string;
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.data.result;
}

/** Polls a PromQL query until `check` accepts its result (snapshots are written every interval). */
async function until<T>(read: () => Promise<T>, check: (v: T) => boolean, what: string): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 300; i++) {
    last = await read();
    if (check(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: last answer ${JSON.stringify(last)}`);
}

const byLabel = (rows: { metric: Record<string, string>; value: [number, string] }[], label: string) =>
  Object.fromEntries(rows.map((r) => [r.metric[label] ?? '', Number(r.value[1])]));

function sdk(server: ServerProcess, service: string) {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [
      new SimpleSpanProcessor(
        new OTLPTraceExporter({ url: `${server.url}/v1/traces`, headers: { authorization: ROOT_AUTH } }),
      ),
    ],
  });
  return provider;
}

describe('span metrics from the OpenTelemetry JS SDK', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer({ env: FAST });
  });
  after(async () => {
    await server.stop();
  });

  test('RED series per service and a service graph edge between two services', async () => {
    const web = sdk(server, 'web');
    const api = sdk(server, 'api');
    const webTracer = web.getTracer('t');
    const apiTracer = api.getTracer('t');
    for (let i = 0; i < 3; i++) {
      const root = webTracer.startSpan('GET /checkout', { kind: SpanKind.SERVER });
      const rootCtx = trace.setSpan(context.active(), root);
      const call = webTracer.startSpan('POST /pay', { kind: SpanKind.CLIENT }, rootCtx);
      const handle = apiTracer.startSpan(
        'pay',
        { kind: SpanKind.SERVER },
        trace.setSpan(context.active(), call),
      );
      if (i === 0) handle.setStatus({ code: SpanStatusCode.ERROR, message: 'declined' });
      handle.end();
      call.end();
      root.end();
    }
    await Promise.all([web.forceFlush(), api.forceFlush()]);

    const calls = await until(
      () => instant(server, 'sum by (service) (traces_spanmetrics_calls_total)'),
      (r) => byLabel(r, 'service').web === 6 && byLabel(r, 'service').api === 3,
      'calls per service',
    );
    assert.equal(calls.length, 2);
    const errors = await instant(
      server,
      'sum by (service) (traces_spanmetrics_calls_total{status_code="STATUS_CODE_ERROR"})',
    );
    assert.deepEqual(byLabel(errors, 'service'), { api: 1 });
    const kinds = await instant(
      server,
      'count by (span_kind) (traces_spanmetrics_calls_total{service="web"})',
    );
    assert.deepEqual(byLabel(kinds, 'span_kind'), { SPAN_KIND_SERVER: 1, SPAN_KIND_CLIENT: 1 });
    const buckets = await instant(server, 'sum(traces_spanmetrics_latency_bucket{service="api",le="+Inf"})');
    assert.equal(Number(buckets[0]!.value[1]), 3);
    const count = await instant(server, 'sum(traces_spanmetrics_latency_count{service="api"})');
    assert.equal(Number(count[0]!.value[1]), 3);

    // the query of Tempo's RED panels, and of the issue
    await until(
      () => instant(server, 'sum by (service) (rate(traces_spanmetrics_calls_total[1m]))'),
      (r) => r.length === 2 && r.every((x) => Number(x.value[1]) > 0),
      'rate of calls',
    );

    // service graph: web → api, one of the three failed (the server span's status)
    const edges = await until(
      () => instant(server, 'sum by (client, server) (traces_service_graph_request_total)'),
      (r) => r.some((x) => x.metric.client === 'web' && x.metric.server === 'api' && x.value[1] === '3'),
      'service graph edge',
    );
    assert.ok(edges.some((x) => x.metric.client === 'web' && x.metric.server === 'api'));
    const failed = await instant(
      server,
      'traces_service_graph_request_failed_total{client="web",server="api"}',
    );
    assert.equal(failed[0]?.value[1], '1');
    const serverSeconds = await instant(
      server,
      'traces_service_graph_request_server_seconds_count{client="web",server="api"}',
    );
    assert.equal(serverSeconds[0]?.value[1], '3');
    const sumSeries = await server.fetch(
      `/api/v1/series?match[]=traces_service_graph_request_server_seconds_sum&start=0&end=${Math.ceil(Date.now() / 1000) + 60}`,
    );
    assert.equal(((await sumSeries.json()) as { data: unknown[] }).data.length, 1);
  });
});

/** An OTLP/JSON traces body of `n` SERVER spans of `service`. */
function otlpSpans(service: string, n: number, seed: number): string {
  const now = BigInt(Date.now()) * 1_000_000n;
  const spans = Array.from({ length: n }, (_, i) => ({
    traceId: (seed * 1000 + i + 1).toString(16).padStart(32, '0'),
    spanId: (seed * 1000 + i + 1).toString(16).padStart(16, '0'),
    name: 'op',
    kind: 2,
    startTimeUnixNano: String(now),
    endTimeUnixNano: String(now + 5_000_000n),
  }));
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [{ spans }],
      },
    ],
  });
}

describe('span metrics across crashes and restarts', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await tempDir();
  });
  after(async () => {
    await removeDir(dataDir);
  });

  const post = async (server: ServerProcess, n: number, seed: number) => {
    const res = await server.fetch('/v1/traces', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: otlpSpans('crashy', n, seed),
    });
    assert.equal(res.status, 200, await res.text());
  };
  const total = async (server: ServerProcess) => {
    const r = await instant(server, 'sum(traces_spanmetrics_calls_total{service="crashy"})');
    return r.length === 0 ? 0 : Number(r[0]!.value[1]);
  };
  const maxEver = async (server: ServerProcess) => {
    const r = await instant(
      server,
      'max(max_over_time(traces_spanmetrics_calls_total{service="crashy"}[1h]))',
    );
    return Number(r[0]!.value[1]);
  };

  test('SIGKILL before any snapshot, after one, and a graceful restart: the counter is exact', async () => {
    // 1. no snapshot before the kill (interval of an hour): replay consumes the spans again
    let server = await startServer({ dataDir, env: { MOLESIGNAL_SPAN_METRICS_INTERVAL_MS: '3600000' } });
    await post(server, 5, 1);
    await server.kill();
    server = await startServer({ dataDir, env: FAST });
    await until(
      () => total(server),
      (v) => v === 5,
      'after replay of unsnapshotted spans',
    );

    // 2. spans in a snapshot, then more spans, then a kill: nothing twice, nothing lost
    await post(server, 7, 2);
    await until(
      () => total(server),
      (v) => v === 12,
      'snapshot of 12',
    );
    await post(server, 4, 3);
    await server.kill();
    server = await startServer({ dataDir, env: FAST });
    await until(
      () => total(server),
      (v) => v === 16,
      'after replay of a snapshot and later spans',
    );

    // 3. a graceful restart (final snapshot, flush, WAL dropped): the counter continues, not reset
    await server.stop();
    server = await startServer({ dataDir, env: FAST });
    await post(server, 2, 4);
    await until(
      () => total(server),
      (v) => v === 18,
      'after a graceful restart',
    );
    assert.equal(await maxEver(server), 18, 'no sample ever counted a span twice');
    await server.stop();
  });
});
