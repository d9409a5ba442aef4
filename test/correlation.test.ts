/**
 * Correlation (issue 6, Done-when 4): a small demo service instrumented with the OpenTelemetry JS
 * SDK — traces, logs carrying their span's context, metrics (OTLP HTTP exporters), resource
 * `service.name` and `host.name` — then the walk metric → trace → log → host and back through
 * `/api/v1/web/correlation/{from}/{to}`. Every hop must return the right items, and every query it
 * returns must give those items when run as is through its own API.
 *
 * Exemplars: the JS SDK's MeterProvider does not export exemplars (its exemplar reservoirs are not
 * wired to the exporters), so metric → trace by exemplars is walked from the span metrics series,
 * whose exemplars the server derives from the SDK's spans; the SDK's own counter, which has none,
 * walks the fallback (the series' service.name and the window).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, context, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ROOT_AUTH, startServer, type ServerProcess } from './harness.ts';

interface Answer {
  from: Record<string, unknown>;
  keys: Record<string, unknown>;
  queries: Record<string, string>;
  params: Record<string, Record<string, string>>;
  items: Record<string, unknown>[];
  error?: string;
}
interface TraceItem {
  trace_id: string;
  root_service: string;
  root_name: string;
  start: string;
  duration_ms: number;
}
interface LogItem {
  timestamp: string;
  stream: string;
  body: string;
  labels: Record<string, string>;
}
interface MetricItem {
  labels: Record<string, string>;
  value: number;
}

/** One demo service: a tracer, a logger and a meter with the same resource. */
function demoService(server: ServerProcess, service: string, host: string) {
  const headers = { authorization: ROOT_AUTH };
  const resource = resourceFromAttributes({ 'service.name': service, 'host.name': host });
  const tracer = new BasicTracerProvider({
    resource,
    spanProcessors: [
      new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${server.url}/v1/traces`, headers })),
    ],
  });
  const logger = new LoggerProvider({
    resource,
    processors: [
      new SimpleLogRecordProcessor({
        exporter: new OTLPLogExporter({ url: `${server.url}/v1/logs`, headers }),
      }),
    ],
  });
  const meter = new MeterProvider({
    resource,
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: `${server.url}/v1/metrics`, headers }),
        exportIntervalMillis: 3_600_000,
      }),
    ],
  });
  const requests = meter.getMeter('demo').createCounter('demo.requests');
  /** one request: a server span with a client child, a log line in the child's context, a count */
  const handle = (route: string): string => {
    const t = tracer.getTracer('demo');
    const root = t.startSpan(`GET ${route}`, { kind: SpanKind.SERVER });
    const child = t.startSpan(
      'SELECT orders',
      { kind: SpanKind.CLIENT },
      trace.setSpan(context.active(), root),
    );
    logger.getLogger('demo').emit({
      context: trace.setSpan(context.active(), child),
      severityNumber: SeverityNumber.INFO,
      severityText: 'INFO',
      body: `${service} served ${route} (${root.spanContext().traceId})`,
    });
    requests.add(1, { route });
    child.end();
    root.end();
    return root.spanContext().traceId;
  };
  const flush = async () => {
    await Promise.all([tracer.forceFlush(), logger.forceFlush(), meter.forceFlush()]);
    await Promise.all([tracer.shutdown(), logger.shutdown(), meter.shutdown()]);
  };
  return { handle, flush };
}

async function correlation(server: ServerProcess, from: string, to: string, params: Record<string, string>) {
  const res = await server.fetch(
    `/api/v1/web/correlation/${from}/${to}?${new URLSearchParams(params).toString()}`,
  );
  const body = (await res.json()) as Answer;
  return { status: res.status, body };
}

async function ok(server: ServerProcess, from: string, to: string, params: Record<string, string>) {
  const { status, body } = await correlation(server, from, to, params);
  assert.equal(status, 200, JSON.stringify(body));
  return body;
}

/** Runs the answer's TraceQL through /api/search; the trace ids it finds. */
async function runTraceQL(server: ServerProcess, a: Answer): Promise<string[]> {
  const p = new URLSearchParams({ q: a.queries.traceql!, ...a.params.traceql });
  const res = await server.fetch(`/api/search?${p.toString()}`);
  const body = (await res.json()) as { traces: { traceID: string }[] };
  assert.equal(res.status, 200, JSON.stringify(body));
  // Tempo's answer trims leading zeros off trace ids
  return body.traces.map((t) => t.traceID.padStart(32, '0')).sort();
}

/** Runs the answer's LogQL through /loki/api/v1/query_range; the lines with their timestamps. */
async function runLogQL(server: ServerProcess, a: Answer): Promise<string[]> {
  const p = new URLSearchParams({ query: a.queries.logql!, ...a.params.logql });
  const res = await server.fetch(`/loki/api/v1/query_range?${p.toString()}`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const body = JSON.parse(text) as { data: { result: { values: [string, string][] }[] } };
  return body.data.result.flatMap((s) => s.values.map(([ts, line]) => `${ts} ${line}`)).sort();
}

/** Runs the answer's SQL through POST /api/default/_search; the rows' timestamps and bodies. */
async function runSQL(server: ServerProcess, a: Answer): Promise<string[]> {
  const p = a.params.sql!;
  const res = await server.fetch('/api/default/_search', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      sql: a.queries.sql,
      start_time: p.start_time,
      end_time: p.end_time,
      size: Number(p.size),
    }),
  });
  const body = (await res.json()) as { hits: { _timestamp: string | number; body: string }[] };
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.hits.map((h) => `${String(h._timestamp)} ${h.body}`).sort();
}

/** Runs the answer's PromQL through /api/v1/query_range; each series' labels (as JSON) and last value. */
async function runPromQL(server: ServerProcess, a: Answer): Promise<string[]> {
  const p = new URLSearchParams({ query: a.queries.promql!, ...a.params.promql });
  const res = await server.fetch(`/api/v1/query_range?${p.toString()}`);
  const body = (await res.json()) as {
    data: { result: { metric: Record<string, string>; values: [number, string][] }[] };
  };
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.data.result
    .map((s) => `${sortedJson(s.metric)} ${Number(s.values[s.values.length - 1]![1])}`)
    .sort();
}

const sortedJson = (r: Record<string, string>) =>
  JSON.stringify(Object.fromEntries(Object.entries(r).sort()));
const logLines = (items: Record<string, unknown>[]) =>
  (items as unknown as LogItem[]).map((i) => `${i.timestamp} ${i.body}`).sort();
const traceIds = (items: Record<string, unknown>[]) =>
  (items as unknown as TraceItem[]).map((t) => t.trace_id).sort();
const metricRows = (items: Record<string, unknown>[]) =>
  (items as unknown as MetricItem[]).map((m) => `${sortedJson(m.labels)} ${m.value}`).sort();

describe('correlation: metric → trace → log → host and back', () => {
  let server: ServerProcess;
  let checkoutTraces: string[];
  let billingTrace: string;
  const window = () => {
    const now = Date.now();
    return {
      start: String(BigInt(now - 600_000) * 1_000_000n),
      end: String(BigInt(now + 60_000) * 1_000_000n),
    };
  };

  before(async () => {
    server = await startServer({ env: { MOLESIGNAL_SPAN_METRICS_INTERVAL_MS: '100' } });
    const checkout = demoService(server, 'checkout', 'node-7');
    const billing = demoService(server, 'billing', 'node-9');
    checkoutTraces = [];
    for (const route of ['/cart', '/pay', '/done']) {
      checkoutTraces.push(checkout.handle(route));
      // the SDK stamps logs in ms: one request per ms keeps each log row's timestamp its own
      await new Promise((r) => setTimeout(r, 3));
    }
    checkoutTraces.sort();
    billingTrace = billing.handle('/invoice');
    await Promise.all([checkout.flush(), billing.flush()]);
    // span metrics (and their exemplars) are written every interval
    for (let i = 0; i < 200; i++) {
      const res = await server.fetch(
        `/api/v1/query?query=${encodeURIComponent('sum(traces_spanmetrics_calls_total{service="checkout"})')}`,
      );
      const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
      if (body.data.result[0]?.value[1] === '6') break;
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  after(async () => {
    await server.stop();
  });

  test('metric → trace by the exemplars of span metrics', async () => {
    const a = await ok(server, 'metric', 'trace', {
      query: 'traces_spanmetrics_latency_bucket{service="checkout"}',
      ...window(),
    });
    const ids = traceIds(a.items);
    assert.ok(ids.length > 0, JSON.stringify(a));
    for (const id of ids) assert.ok(checkoutTraces.includes(id), `${id} is not a checkout trace`);
    assert.deepEqual((a.keys.trace_id as string[]).slice().sort(), ids);
    assert.match(a.queries.traceql!, /trace:id = "/);
    assert.deepEqual(await runTraceQL(server, a), ids);
  });

  test('metric → trace by service.name when the series has no exemplars', async () => {
    const a = await ok(server, 'metric', 'trace', {
      query: 'demo_requests_total{job="checkout"}',
      ...window(),
    });
    assert.deepEqual(a.keys['service.name'], ['checkout']);
    assert.equal(a.keys.trace_id, undefined);
    assert.equal(a.queries.traceql, '{ resource.service.name = "checkout" }');
    assert.deepEqual(traceIds(a.items), checkoutTraces);
    const items = a.items as unknown as TraceItem[];
    assert.ok(items.every((t) => t.root_service === 'checkout' && t.root_name.startsWith('GET /')));
    assert.ok(BigInt(items[0]!.start) >= BigInt(items[items.length - 1]!.start), 'newest first');
    assert.deepEqual(await runTraceQL(server, a), checkoutTraces);
  });

  test('trace → log: the lines logged in the trace', async () => {
    const id = checkoutTraces[1]!;
    const a = await ok(server, 'trace', 'log', { trace_id: id });
    assert.equal(a.from.trace_id, id);
    assert.equal(a.from.root_service, 'checkout');
    assert.deepEqual(a.keys.trace_id, [id]);
    assert.equal(a.queries.logql, `{service_name="checkout"} | trace_id="${id}"`);
    assert.equal(a.items.length, 1);
    const log = a.items[0] as unknown as LogItem;
    assert.match(log.body, new RegExp(`checkout served /\\w+ \\(${id}\\)`));
    assert.equal(log.stream, 'default');
    assert.equal(log.labels.trace_id, id);
    assert.equal(log.labels.service_name, 'checkout');
    assert.deepEqual(await runLogQL(server, a), logLines(a.items));
    assert.deepEqual(await runSQL(server, a), logLines(a.items));
  });

  test('log → host, host → log, log → trace', async () => {
    const id = checkoutTraces[0]!;
    const log = (await ok(server, 'trace', 'log', { trace_id: id })).items[0] as unknown as LogItem;

    const h = await ok(server, 'log', 'host', { stream: log.stream, timestamp: log.timestamp });
    assert.equal(h.from.body, log.body);
    assert.deepEqual(h.items, [{ 'host.name': 'node-7' }]);
    assert.deepEqual(h.keys['host.name'], ['node-7']);
    // the host's metrics: the demo counter through its target_info, not billing's
    const hostMetrics = await runPromQL(server, h);
    assert.ok(
      hostMetrics.some(
        (m) => m.includes('"__name__":"demo_requests_total"') && m.includes('"job":"checkout"'),
      ),
    );
    assert.ok(!hostMetrics.some((m) => m.includes('billing')), hostMetrics.join('\n'));
    assert.equal(h.queries.logql, '{service_name=~".+"} | host_name="node-7"');

    const back = await ok(server, 'host', 'log', { host: 'node-7', ...window() });
    assert.equal(back.items.length, 3);
    assert.ok((back.items as unknown as LogItem[]).every((l) => l.body.startsWith('checkout served')));
    assert.deepEqual(await runLogQL(server, back), logLines(back.items));
    assert.deepEqual(await runSQL(server, back), logLines(back.items));

    const t = await ok(server, 'log', 'trace', { stream: log.stream, timestamp: log.timestamp });
    assert.deepEqual(traceIds(t.items), [id]);
    assert.deepEqual(await runTraceQL(server, t), [id]);
  });

  test('trace → metric, host → trace, metric → host', async () => {
    const m = await ok(server, 'trace', 'metric', { trace_id: checkoutTraces[2]! });
    const rows = metricRows(m.items);
    assert.ok(
      rows.some((r) => r.includes('"__name__":"demo_requests_total"') && r.includes('"route":"/done"')),
      rows.join('\n'),
    );
    assert.ok(
      rows.some(
        (r) =>
          r.includes('"__name__":"traces_spanmetrics_calls_total"') && r.includes('"service":"checkout"'),
      ),
    );
    assert.ok(!rows.some((r) => r.includes('_bucket')));
    assert.deepEqual(await runPromQL(server, m), rows);

    const t = await ok(server, 'host', 'trace', { host: 'node-9', ...window() });
    assert.deepEqual(traceIds(t.items), [billingTrace]);
    assert.deepEqual(await runTraceQL(server, t), [billingTrace]);

    const h = await ok(server, 'metric', 'host', {
      query: 'demo_requests_total{job="checkout"}',
      ...window(),
    });
    assert.deepEqual(h.items, [{ 'host.name': 'node-7' }]);
  });

  test('the org in the path', async () => {
    const res = await server.fetch(
      `/api/default/v1/web/correlation/trace/trace?trace_id=${checkoutTraces[0]!}`,
    );
    const body = (await res.json()) as Answer;
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(traceIds(body.items), [checkoutTraces[0]!]);
  });

  test('bad parameters are 400s that say what is wrong; nothing found is an empty 404', async () => {
    const cases: [string, string, Record<string, string>, RegExp][] = [
      ['span', 'trace', { trace_id: 'ab' }, /unknown from kind "span"/],
      ['trace', 'log', {}, /from trace needs trace_id/],
      ['trace', 'log', { trace_id: 'xyz' }, /invalid trace_id/],
      ['metric', 'trace', { query: 'up', start: 'yesterday' }, /invalid start/],
      ['metric', 'trace', { query: 'rate(up[5m])' }, /series selector/],
      ['log', 'trace', { stream: 'default' }, /stream and timestamp/],
      ['host', 'log', { host: 'node-7', limit: '0' }, /invalid limit/],
    ];
    for (const [from, to, params, message] of cases) {
      const res = await server.fetch(
        `/api/v1/web/correlation/${from}/${to}?${new URLSearchParams(params).toString()}`,
      );
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(body.error.message, message);
    }
    const missing = await correlation(server, 'trace', 'log', {
      trace_id: '0123456789abcdef0123456789abcdef',
    });
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body.items, []);
    assert.match(missing.body.error!, /not found/);
    const unrelated = await ok(server, 'host', 'trace', { host: 'nowhere', ...window() });
    assert.deepEqual(unrelated.items, []);
  });
});
