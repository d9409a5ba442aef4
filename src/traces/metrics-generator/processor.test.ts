import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ColumnBatch } from '../../write/column-batch.ts';
import { MetricsGenerator, TEMPO_LATENCY_BUCKETS, TEMPO_SERVICE_GRAPH_BUCKETS } from './processor.ts';
import { bucketOf } from './series-state.ts';
import { spanColumns } from './span-columns.ts';

interface S {
  trace: string;
  id: string;
  parent?: string;
  name: string;
  kind: number;
  status?: number;
  ms: number;
  service: string;
  attrs?: Record<string, string>;
}

/** A traces batch as the OTLP decoder makes it. */
function batch(spans: S[]): ColumnBatch {
  const attrKeys = [...new Set(spans.flatMap((s) => Object.keys(s.attrs ?? {})))];
  return {
    signal: 'traces',
    rowCount: spans.length,
    fixed: {
      _timestamp: spans.map(() => 1_700_000_000_000_000_000n),
      end_timestamp: spans.map((s) => 1_700_000_000_000_000_000n + BigInt(s.ms * 1e6)),
      duration_ns: spans.map((s) => BigInt(s.ms * 1e6)),
      trace_id: spans.map((s) => s.trace),
      span_id: spans.map((s) => s.id),
      parent_span_id: spans.map((s) => s.parent ?? null),
      name: spans.map((s) => s.name),
      kind: spans.map((s) => s.kind),
      status_code: spans.map((s) => s.status ?? 0),
    },
    dynamic: [
      { name: 'resource.service.name', type: 'str', values: spans.map((s) => s.service) },
      ...attrKeys.map((k) => ({
        name: `attr.${k}`,
        type: 'str' as const,
        values: spans.map((s) => s.attrs?.[k]),
      })),
    ],
    rejectedCount: 0,
    rejectedMessage: '',
  };
}

const config = {
  latencyBuckets: TEMPO_LATENCY_BUCKETS,
  serviceGraphBuckets: TEMPO_SERVICE_GRAPH_BUCKETS,
  dimensions: ['http.method'],
  serviceGraphWaitMs: 10_000,
  serviceGraphMaxItems: 100,
};

const find = (series: ReturnType<MetricsGenerator['collect']>, want: Record<string, string>) =>
  series.filter((s) =>
    Object.entries(want).every(([k, v]) => s.labels.some((l) => l.name === k && l.value === v)),
  );

test("Tempo's default buckets, and the bucket of a value (upper bound inclusive)", () => {
  assert.deepEqual(TEMPO_LATENCY_BUCKETS.slice(0, 3), [0.002, 0.004, 0.008]);
  assert.equal(TEMPO_LATENCY_BUCKETS.at(-1), 16.384);
  assert.deepEqual(TEMPO_SERVICE_GRAPH_BUCKETS, [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8]);
  assert.equal(bucketOf([1, 2, 4], 0.5), 0);
  assert.equal(bucketOf([1, 2, 4], 2), 1);
  assert.equal(bucketOf([1, 2, 4], 2.5), 2);
  assert.equal(bucketOf([1, 2, 4], 9), 3);
});

test('span metrics: calls counter and cumulative latency histogram per service/name/kind/status', () => {
  const g = new MetricsGenerator(config);
  g.consume(
    spanColumns(
      batch([
        {
          trace: 't1',
          id: 'a',
          name: 'GET /',
          kind: 2,
          ms: 3,
          service: 'api',
          attrs: { 'http.method': 'GET' },
        },
        {
          trace: 't2',
          id: 'b',
          name: 'GET /',
          kind: 2,
          ms: 100,
          service: 'api',
          attrs: { 'http.method': 'GET' },
        },
        {
          trace: 't3',
          id: 'c',
          name: 'GET /',
          kind: 2,
          ms: 5,
          status: 2,
          service: 'api',
          attrs: { 'http.method': 'GET' },
        },
      ]),
    ),
    1000,
  );
  const out = g.collect(1000, 60_000);
  const calls = find(out, { __name__: 'traces_spanmetrics_calls_total', status_code: 'STATUS_CODE_UNSET' });
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.value, 2);
  assert.deepEqual(
    calls[0]!.labels.map((l) => `${l.name}=${l.value}`),
    [
      '__name__=traces_spanmetrics_calls_total',
      'service=api',
      'span_name=GET /',
      'span_kind=SPAN_KIND_SERVER',
      'status_code=STATUS_CODE_UNSET',
      'http_method=GET',
    ],
  );
  const le = (v: string) =>
    find(out, { __name__: 'traces_spanmetrics_latency_bucket', status_code: 'STATUS_CODE_UNSET', le: v })[0]!;
  assert.equal(le('0.002').value, 0);
  assert.equal(le('0.004').value, 1);
  assert.equal(le('0.128').value, 2);
  assert.equal(le('+Inf').value, 2);
  assert.equal(le('0.128').exemplar?.traceId, 't2');
  assert.equal(
    find(out, { __name__: 'traces_spanmetrics_latency_count', status_code: 'STATUS_CODE_UNSET' })[0]!.value,
    2,
  );
  const sum = find(out, { __name__: 'traces_spanmetrics_latency_sum', status_code: 'STATUS_CODE_UNSET' })[0]!
    .value;
  assert.ok(Math.abs(sum - 0.103) < 1e-9);
  // cumulative: a second interval adds to the first; exemplars are handed out once
  g.consume(
    spanColumns(
      batch([
        {
          trace: 't4',
          id: 'd',
          name: 'GET /',
          kind: 2,
          ms: 1,
          service: 'api',
          attrs: { 'http.method': 'GET' },
        },
      ]),
    ),
    2000,
  );
  const out2 = g.collect(2000, 60_000);
  assert.equal(
    find(out2, { __name__: 'traces_spanmetrics_calls_total', status_code: 'STATUS_CODE_UNSET' })[0]!.value,
    3,
  );
  assert.equal(find(out2, { le: '0.128', status_code: 'STATUS_CODE_UNSET' })[0]!.exemplar, undefined);
});

test('service graph: a client span and its child server span in another service are one edge, in any order', () => {
  const g = new MetricsGenerator(config);
  g.consume(
    spanColumns(
      batch([
        { trace: 't', id: 's1', parent: 'c1', name: 'h', kind: 2, ms: 300, status: 2, service: 'db-api' },
      ]),
    ),
    0,
  );
  g.consume(
    spanColumns(
      batch([{ trace: 't', id: 'c1', parent: 'r', name: 'call', kind: 3, ms: 350, service: 'web' }]),
    ),
    10,
  );
  // a client span of another trace with the same span id does not pair
  g.consume(
    spanColumns(
      batch([{ trace: 'u', id: 's9', parent: 'c1', name: 'h', kind: 2, ms: 1, service: 'db-api' }]),
    ),
    10,
  );
  const out = g.collect(20, 60_000);
  const req = find(out, { __name__: 'traces_service_graph_request_total' });
  assert.equal(req.length, 1);
  assert.deepEqual(
    req[0]!.labels.filter((l) => l.value !== '').map((l) => `${l.name}=${l.value}`),
    ['__name__=traces_service_graph_request_total', 'client=web', 'server=db-api'],
  );
  assert.equal(req[0]!.value, 1);
  assert.equal(find(out, { __name__: 'traces_service_graph_request_failed_total' })[0]!.value, 1);
  assert.equal(
    find(out, { __name__: 'traces_service_graph_request_server_seconds_bucket', le: '0.4' })[0]!.value,
    1,
  );
  assert.equal(
    find(out, { __name__: 'traces_service_graph_request_server_seconds_bucket', le: '0.2' })[0]!.value,
    0,
  );
  assert.equal(find(out, { __name__: 'traces_service_graph_request_client_seconds_count' })[0]!.value, 1);
  assert.equal(g.pendingEdges, 1);
  // after the wait: the lone server half is unpaired; a client half naming a peer is a virtual node edge
  g.consume(
    spanColumns(
      batch([
        {
          trace: 'v',
          id: 'c2',
          parent: 'r',
          name: 'q',
          kind: 3,
          ms: 2,
          service: 'web',
          attrs: { 'db.system': 'postgresql' },
        },
      ]),
    ),
    30,
  );
  const later = g.collect(20_000, 60_000);
  assert.equal(
    find(later, { __name__: 'traces_service_graph_unpaired_spans_total', server: 'db-api' })[0]!.value,
    1,
  );
  const virtual = find(later, { __name__: 'traces_service_graph_request_total', server: 'postgresql' })[0]!;
  assert.equal(find([virtual], { connection_type: 'virtual_node', client: 'web' }).length, 1);
  assert.equal(g.pendingEdges, 0);
});

test('restore: stored values are the base later spans add to, histograms part by part', () => {
  const g = new MetricsGenerator(config);
  const labels = (name: string, extra: Record<string, string> = {}) => [
    { name: '__name__', value: name },
    { name: 'service', value: 'api' },
    { name: 'span_kind', value: 'SPAN_KIND_SERVER' },
    { name: 'span_name', value: 'GET /' },
    { name: 'status_code', value: 'STATUS_CODE_UNSET' },
    ...Object.entries(extra).map(([n, v]) => ({ name: n, value: v })),
  ];
  g.restore(labels('traces_spanmetrics_calls_total'), 10, 0);
  g.restore(labels('traces_spanmetrics_latency_bucket', { le: '+Inf' }), 10, 0);
  g.restore(labels('traces_spanmetrics_latency_bucket', { le: '0.004' }), 4, 0);
  g.restore(labels('traces_spanmetrics_latency_count'), 10, 0);
  g.restore(labels('traces_spanmetrics_latency_sum'), 1.5, 0);
  g.consume(spanColumns(batch([{ trace: 't', id: 'a', name: 'GET /', kind: 2, ms: 3, service: 'api' }])), 1);
  const out = g.collect(2, 60_000);
  assert.equal(find(out, { __name__: 'traces_spanmetrics_calls_total' }).length, 1);
  assert.equal(find(out, { __name__: 'traces_spanmetrics_calls_total' })[0]!.value, 11);
  assert.equal(find(out, { __name__: 'traces_spanmetrics_latency_bucket', le: '0.004' })[0]!.value, 5);
  assert.equal(find(out, { __name__: 'traces_spanmetrics_latency_bucket', le: '+Inf' })[0]!.value, 11);
  assert.equal(find(out, { __name__: 'traces_spanmetrics_latency_count' })[0]!.value, 11);
});

test('stale series are no longer written', () => {
  const g = new MetricsGenerator(config);
  g.consume(spanColumns(batch([{ trace: 't', id: 'a', name: 'x', kind: 1, ms: 1, service: 'api' }])), 0);
  assert.ok(g.collect(1000, 5000).length > 0);
  assert.equal(g.collect(10_000, 5000).length, 0);
});
