/**
 * The Prometheus translation of OTLP metrics: naming (metric, unit, label) table-driven against
 * the rules of Prometheus' OTLP receiver, and the series/samples each point kind produces.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newPoint, type Attr, type OtlpMetric, type OtlpMetricsRequest, type OtlpPoint } from './parse.ts';
import {
  promLabelName,
  promMetricName,
  promUnit,
  translateMetrics,
  type NamerType,
  type TranslatedMetrics,
} from './translate.ts';

const T_MS = 1_700_000_000_000;
const T = BigInt(T_MS) * 1_000_000n;

const point = (p: Partial<OtlpPoint>): OtlpPoint => ({ ...newPoint(), timeNs: T, ...p });

const metric = (m: Partial<OtlpMetric>): OtlpMetric => ({
  name: 'm',
  description: '',
  unit: '',
  kind: 'gauge',
  temporality: 0,
  monotonic: false,
  points: [],
  ...m,
});

const request = (
  metrics: OtlpMetric[],
  resource: Attr[] = [{ key: 'service.name', value: 'api' }],
  scope = { name: '', version: '' },
): OtlpMetricsRequest => ({ resources: [{ attributes: resource, scopes: [{ ...scope, metrics }] }] });

/** The samples as `name{labels} value @t` lines, in order. */
function lines(t: TranslatedMetrics): string[] {
  return t.sampleSeries.map((s, i) => {
    const l = t.series[s]!;
    const name = l.get('__name__');
    const rest = l.list
      .filter((x) => x.name !== '__name__')
      .map((x) => `${x.name}="${x.value}"`)
      .join(',');
    const v = t.stale[i] === 1 ? 'stale' : String(t.values[i]);
    return `${name}{${rest}} ${v} @${t.timestampsMs[i]! - T_MS}`;
  });
}

describe('metric names (UnderscoreEscapingWithSuffixes)', () => {
  const cases: [string, string, NamerType, string][] = [
    ['system.filesystem.usage', 'By', 'gauge', 'system_filesystem_usage_bytes'],
    ['http.server.duration', 'ms', 'histogram', 'http_server_duration_milliseconds'],
    ['http.server.request.duration', 's', 'histogram', 'http_server_request_duration_seconds'],
    ['requests', '{requests}', 'monotonic_counter', 'requests_total'],
    ['requests_total', '1', 'monotonic_counter', 'requests_total'],
    ['total.requests', '', 'monotonic_counter', 'requests_total'],
    ['cpu.utilization', '1', 'gauge', 'cpu_utilization_ratio'],
    ['cpu.utilization', '1', 'non_monotonic_counter', 'cpu_utilization'],
    ['net.io', 'By/s', 'gauge', 'net_io_bytes_per_second'],
    ['speed', 'm/s', 'gauge', 'speed_meters_per_second'],
    ['rate', '1/s', 'gauge', 'rate_per_second'],
    ['events', '{event}/min', 'gauge', 'events_per_min'],
    ['events', 'min/{event}', 'gauge', 'events_minutes'],
    ['temp', 'Cel', 'gauge', 'temp_celsius'],
    ['load', '%', 'gauge', 'load_percent'],
    ['x', 'foo', 'gauge', 'x_foo'],
    ['x', 'a b', 'gauge', 'x_a_b'],
    ['uptime_seconds', 's', 'gauge', 'uptime_seconds'],
    ['queue.size', '{items}', 'non_monotonic_counter', 'queue_size'],
    ['cpu.time', 's', 'monotonic_counter', 'cpu_time_seconds_total'],
    ['2xx.count', '', 'gauge', '_2xx_count'],
    ['a..b__c', '', 'gauge', 'a_b_c'],
    ['foo:bar', '', 'gauge', 'foo:bar'],
    ['ünïcode.name', '', 'gauge', 'n_code_name'],
    ['...', '', 'gauge', ''],
  ];
  for (const [name, unit, type, want] of cases)
    test(`${JSON.stringify(name)} unit ${JSON.stringify(unit)} ${type} → ${JSON.stringify(want)}`, () =>
      assert.equal(promMetricName(name, unit, type), want));
});

describe('label names and units', () => {
  test('label names', () => {
    const cases: [string, string][] = [
      ['http.method', 'http_method'],
      ['123abc', 'key_123abc'],
      ['_private', 'key_private'],
      ['__reserved__', '__reserved__'],
      ['a-b/c', 'a_b_c'],
      ['foo:bar', 'foo_bar'],
      ['a__b', 'a__b'],
      ['', ''],
      ['...', ''],
      ['.', 'key_'],
    ];
    for (const [key, want] of cases) assert.equal(promLabelName(key), want, key);
  });
  test('metadata units', () => {
    const cases: [string, string][] = [
      ['s', 'seconds'],
      ['ms', 'milliseconds'],
      ['By/s', 'bytes_per_second'],
      ['1', ''],
      ['{requests}', ''],
      ['', ''],
      ['1/s', 'per_second'],
    ];
    for (const [unit, want] of cases) assert.equal(promUnit(unit), want, unit);
  });
});

describe('translateMetrics', () => {
  test('gauge and sums: one sample per point; resource → job/instance; scope labels', () => {
    const t = translateMetrics(
      request(
        [
          metric({
            name: 'memory.usage',
            unit: 'By',
            description: 'Memory in use.',
            points: [point({ value: 1024, attributes: [{ key: 'pool', value: 'heap' }] })],
          }),
          metric({
            name: 'requests',
            kind: 'sum',
            monotonic: true,
            temporality: 2,
            points: [point({ value: 5 })],
          }),
          metric({ name: 'queue', kind: 'sum', temporality: 2, points: [point({ value: -2 })] }),
          metric({
            name: 'delta',
            kind: 'sum',
            monotonic: true,
            temporality: 1,
            points: [point({ value: 3 })],
          }),
        ],
        [
          { key: 'service.name', value: 'api' },
          { key: 'service.namespace', value: 'shop' },
          { key: 'service.instance.id', value: 'i-1' },
        ],
        { name: 'lib', version: '2.0' },
      ),
      0,
    );
    const scope = 'instance="i-1",job="shop/api",otel_scope_name="lib",otel_scope_version="2.0"';
    assert.deepEqual(lines(t), [
      `memory_usage_bytes{${scope},pool="heap"} 1024 @0`,
      `requests_total{${scope}} 5 @0`,
      `queue{${scope}} -2 @0`,
      `delta_total{${scope}} 3 @0`,
    ]);
    assert.equal(t.rejected, 0);
    // only identifying resource attributes: no target_info
    assert.deepEqual(t.metadata, [
      { metricFamily: 'memory_usage_bytes', type: 'gauge', help: 'Memory in use.', unit: 'bytes' },
      { metricFamily: 'requests_total', type: 'counter', help: '', unit: '' },
      { metricFamily: 'queue', type: 'gauge', help: '', unit: '' },
      { metricFamily: 'delta_total', type: 'unknown', help: '', unit: '' },
    ]);
  });

  test('histogram: cumulative buckets, +Inf = count, _sum, _count', () => {
    const t = translateMetrics(
      request([
        metric({
          name: 'latency',
          unit: 's',
          kind: 'histogram',
          temporality: 2,
          points: [point({ count: 4, sum: 3.05, bucketCounts: [1, 1, 1, 1], explicitBounds: [0.1, 0.5, 1] })],
        }),
      ]),
      0,
    );
    assert.deepEqual(lines(t), [
      'latency_seconds_sum{job="api"} 3.05 @0',
      'latency_seconds_count{job="api"} 4 @0',
      'latency_seconds_bucket{job="api",le="0.1"} 1 @0',
      'latency_seconds_bucket{job="api",le="0.5"} 2 @0',
      'latency_seconds_bucket{job="api",le="1"} 3 @0',
      'latency_seconds_bucket{job="api",le="+Inf"} 4 @0',
    ]);
    assert.deepEqual(t.metadata, [
      { metricFamily: 'latency_seconds', type: 'histogram', help: '', unit: 'seconds' },
    ]);
  });

  test('summary: quantiles, _sum, _count', () => {
    const t = translateMetrics(
      request([
        metric({
          name: 'rpc.duration',
          unit: 'ms',
          kind: 'summary',
          points: [
            point({
              count: 10,
              sum: 42,
              quantiles: [
                [0.5, 3],
                [0.99, 9],
              ],
            }),
          ],
        }),
      ]),
      0,
    );
    assert.deepEqual(lines(t), [
      'rpc_duration_milliseconds_sum{job="api"} 42 @0',
      'rpc_duration_milliseconds_count{job="api"} 10 @0',
      'rpc_duration_milliseconds{job="api",quantile="0.5"} 3 @0',
      'rpc_duration_milliseconds{job="api",quantile="0.99"} 9 @0',
    ]);
  });

  test('exponential histogram: _count and _sum stored, the point reported', () => {
    const t = translateMetrics(
      request([
        metric({
          name: 'size',
          unit: 'By',
          kind: 'exponential_histogram',
          temporality: 2,
          points: [point({ count: 5, sum: 10, expBuckets: 5 })],
        }),
      ]),
      0,
    );
    assert.deepEqual(lines(t), ['size_bytes_sum{job="api"} 10 @0', 'size_bytes_count{job="api"} 5 @0']);
    assert.equal(t.rejected, 1);
    assert.match(t.rejectedMessage, /exponential histogram buckets are not stored/);
  });

  test('NO_RECORDED_VALUE → staleness markers for every sample of the point', () => {
    const t = translateMetrics(
      request([
        metric({ name: 'up', points: [point({ flags: 1 })] }),
        metric({
          name: 'h',
          kind: 'histogram',
          temporality: 2,
          points: [point({ flags: 1, count: 1, bucketCounts: [1, 0], explicitBounds: [1] })],
        }),
      ]),
      0,
    );
    assert.deepEqual(lines(t), [
      'up{job="api"} stale @0',
      'h_count{job="api"} stale @0',
      'h_bucket{job="api",le="1"} stale @0',
      'h_bucket{job="api",le="+Inf"} stale @0',
    ]);
    assert.ok(t.values.every((v) => Number.isNaN(v)));
  });

  test('refused points: no value, no temporality, bad names; timestamps default to the receive time', () => {
    const t = translateMetrics(
      request([
        metric({ name: 'novalue', points: [point({})] }),
        metric({ name: 'notemp', kind: 'sum', points: [point({ value: 1 })] }),
        metric({ name: '...', points: [point({ value: 1 })] }),
        metric({ name: 'badkey', points: [point({ value: 1, attributes: [{ key: '', value: 'x' }] })] }),
        metric({ name: 'notime', points: [point({ value: 1, timeNs: 0n })] }),
      ]),
      T_MS + 5,
    );
    assert.deepEqual(lines(t), ['notime{job="api"} 1 @5']);
    assert.equal(t.rejected, 4);
    assert.match(t.rejectedMessage, /no value/);
    assert.match(t.rejectedMessage, /no aggregation temporality/);
    assert.match(t.rejectedMessage, /no valid Prometheus name/);
    assert.match(t.rejectedMessage, /not a valid label name/);
  });

  test('attributes colliding after sanitizing are joined with ; in key order; empty values dropped', () => {
    const t = translateMetrics(
      request([
        metric({
          name: 'x',
          points: [
            point({
              value: 1,
              attributes: [
                { key: 'a/b', value: '2' },
                { key: 'a.b', value: '1' },
                { key: 'empty', value: '' },
              ],
            }),
          ],
        }),
      ]),
      0,
    );
    assert.deepEqual(lines(t), ['x{a_b="1;2",job="api"} 1 @0']);
  });

  test('target_info: non-identifying resource attributes, every 2.5 min from first to last point', () => {
    const t = translateMetrics(
      request(
        [
          metric({
            name: 'g',
            points: [point({ value: 1 }), point({ value: 2, timeNs: T + 400_000n * 1_000_000n })],
          }),
        ],
        [
          { key: 'service.name', value: 'api' },
          { key: 'service.instance.id', value: 'i-1' },
          { key: 'host.name', value: 'h1' },
          { key: 'k8s.pod.name', value: 'p' },
        ],
      ),
      0,
    );
    const info = lines(t).filter((l) => l.startsWith('target_info'));
    const labels = 'host_name="h1",instance="i-1",job="api",k8s_pod_name="p"';
    assert.deepEqual(info, [
      `target_info{${labels}} 1 @0`,
      `target_info{${labels}} 1 @150000`,
      `target_info{${labels}} 1 @300000`,
      `target_info{${labels}} 1 @400000`,
    ]);
    assert.ok(t.metadata.some((m) => m.metricFamily === 'target_info' && m.type === 'gauge'));
    // without service.name / service.instance.id there is no job or instance: no target_info
    const none = translateMetrics(
      request([metric({ points: [point({ value: 1 })] })], [{ key: 'host.name', value: 'h' }]),
      0,
    );
    assert.deepEqual(lines(none), ['m{} 1 @0']);
  });

  test('series are shared by the samples of one request', () => {
    const t = translateMetrics(
      request([
        metric({ name: 'g', points: [point({ value: 1 }), point({ value: 2, timeNs: T + 1_000_000n })] }),
      ]),
      0,
    );
    assert.equal(t.series.length, 1);
    assert.deepEqual(t.sampleSeries, [0, 0]);
  });
});
