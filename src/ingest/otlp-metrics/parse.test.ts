/**
 * The OTLP metrics decoders: every point kind, protobuf and JSON decoding to the same result,
 * attribute values as strings, and malformed input refused with a 400 MoleError.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MoleError } from '../../lib/errors.ts';
import { ProtobufWriter as W } from '../../lib/protobuf-writer.ts';
import {
  decodeMetricsJson,
  decodeMetricsProto,
  formatFloat,
  newPoint,
  type OtlpMetricsRequest,
} from './parse.ts';

const T = 1_700_000_000_000_000_000n;
const fixed64 = (w: W, field: number, n: bigint | number) =>
  w.doubleBits(field, BigInt.asUintN(64, BigInt(n)));
const packedFixed64 = (ns: number[]) => {
  const b = new Uint8Array(ns.length * 8);
  const dv = new DataView(b.buffer);
  ns.forEach((n, i) => dv.setBigUint64(i * 8, BigInt(n), true));
  return b;
};
const packedDouble = (ns: number[]) => {
  const b = new Uint8Array(ns.length * 8);
  const dv = new DataView(b.buffer);
  ns.forEach((n, i) => dv.setFloat64(i * 8, n, true));
  return b;
};
const packedVarint = (ns: number[]) => {
  const w = new W();
  for (const n of ns) w.varint(n);
  return w.finish();
};
const zigzag = (n: number) => (n << 1) ^ (n >> 31);

const kv = (key: string, value: W) => new W().string(1, key).message(2, value);
const str = (s: string) => new W().string(1, s);

/** The same request in protobuf and in OTLP/JSON. */
function protoRequest(): Uint8Array {
  const resource = new W()
    .message(1, kv('service.name', str('api')))
    .message(1, kv('host.cpus', new W().uint(3, 4)))
    .message(1, kv('ratio', new W().double(4, 0.5)))
    .message(1, kv('debug', new W().uint(2, 1)))
    .message(1, kv('blob', new W().bytesField(7, Uint8Array.from([1, 2, 3]))))
    .message(1, kv('tags', new W().message(5, new W().message(1, str('a')).message(1, new W().uint(3, 2)))))
    .message(1, kv('map', new W().message(6, new W().message(1, kv('k', str('v'))))));
  const gaugePoint = fixed64(fixed64(new W().message(7, kv('route', str('/a'))), 2, 0n), 3, T).double(4, 2.5);
  const sumPoint = fixed64(fixed64(new W(), 2, T - 1n), 3, T).tag(6, 1);
  const sumInt = new Uint8Array(8);
  new DataView(sumInt.buffer).setBigInt64(0, -7n, true);
  const sumPointBytes = Uint8Array.from([...sumPoint.finish(), ...sumInt, 0x40, 0x01]); // flags = 1
  const histPoint = fixed64(fixed64(new W().message(9, kv('m', str('GET'))), 3, T), 4, 4)
    .double(5, 3.05)
    .bytesField(6, packedFixed64([1, 1, 1, 1]))
    .bytesField(7, packedDouble([0.1, 0.5, 1]))
    .double(11, 0.05)
    .double(12, 2);
  const expPoint = fixed64(fixed64(new W(), 3, T), 4, 5)
    .double(5, 10)
    .uint(6, zigzag(-2))
    .tag(7, 1);
  const expBytes = Uint8Array.from([
    ...expPoint.finish(),
    ...packedFixed64([1]),
    ...new W()
      .message(8, new W().uint(1, zigzag(-1)).bytesField(2, packedVarint([2, 1])))
      .message(9, new W().bytesField(2, packedVarint([1])))
      .uint(10, 0)
      .finish(),
  ]);
  const summaryPoint = fixed64(fixed64(new W(), 3, T), 4, 10)
    .double(5, 42)
    .message(6, new W().double(1, 0.5).double(2, 3))
    .message(6, new W().double(1, 0.99).double(2, 9));
  const metrics = [
    new W().string(1, 'g').string(2, 'a gauge').string(3, 'By').message(5, new W().message(1, gaugePoint)),
    new W().string(1, 's').message(7, new W().bytesField(1, sumPointBytes).uint(2, 2).uint(3, 1)),
    new W().string(1, 'h').string(3, 's').message(9, new W().message(1, histPoint).uint(2, 2)),
    new W().string(1, 'e').message(10, new W().bytesField(1, expBytes).uint(2, 1)),
    new W().string(1, 'q').message(11, new W().message(1, summaryPoint)),
  ];
  const scope = new W().message(1, new W().string(1, 'lib').string(2, '1.0'));
  for (const m of metrics) scope.message(2, m);
  return new W().message(1, new W().message(1, resource).message(2, scope)).finish();
}

const jsonRequest = {
  resourceMetrics: [
    {
      resource: {
        attributes: [
          { key: 'service.name', value: { stringValue: 'api' } },
          { key: 'host.cpus', value: { intValue: '4' } },
          { key: 'ratio', value: { doubleValue: 0.5 } },
          { key: 'debug', value: { boolValue: true } },
          { key: 'blob', value: { bytesValue: 'AQID' } },
          { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: 2 }] } } },
          { key: 'map', value: { kvlistValue: { values: [{ key: 'k', value: { stringValue: 'v' } }] } } },
        ],
      },
      scopeMetrics: [
        {
          scope: { name: 'lib', version: '1.0' },
          metrics: [
            {
              name: 'g',
              description: 'a gauge',
              unit: 'By',
              gauge: {
                dataPoints: [
                  {
                    attributes: [{ key: 'route', value: { stringValue: '/a' } }],
                    startTimeUnixNano: '0',
                    timeUnixNano: String(T),
                    asDouble: 2.5,
                  },
                ],
              },
            },
            {
              name: 's',
              sum: {
                dataPoints: [
                  { startTimeUnixNano: String(T - 1n), timeUnixNano: String(T), asInt: '-7', flags: 1 },
                ],
                aggregationTemporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE',
                isMonotonic: true,
              },
            },
            {
              name: 'h',
              unit: 's',
              histogram: {
                dataPoints: [
                  {
                    attributes: [{ key: 'm', value: { stringValue: 'GET' } }],
                    timeUnixNano: String(T),
                    count: '4',
                    sum: 3.05,
                    bucketCounts: ['1', '1', '1', 1],
                    explicitBounds: [0.1, 0.5, 1],
                    min: 0.05,
                    max: 2,
                  },
                ],
                aggregationTemporality: 2,
              },
            },
            {
              name: 'e',
              exponentialHistogram: {
                dataPoints: [
                  {
                    timeUnixNano: String(T),
                    count: '5',
                    sum: 10,
                    scale: -2,
                    zeroCount: '1',
                    positive: { offset: -1, bucketCounts: ['2', '1'] },
                    negative: { bucketCounts: ['1'] },
                  },
                ],
                aggregationTemporality: 1,
              },
            },
            {
              name: 'q',
              summary: {
                dataPoints: [
                  {
                    timeUnixNano: String(T),
                    count: '10',
                    sum: 42,
                    quantileValues: [
                      { quantile: 0.5, value: 3 },
                      { quantile: 0.99, value: 9 },
                    ],
                  },
                ],
              },
            },
          ],
        },
      ],
    },
  ],
};

const point = (
  p: Partial<OtlpMetricsRequest['resources'][number]['scopes'][number]['metrics'][number]['points'][number]>,
) => ({ ...newPoint(), timeNs: T, ...p });

const expected: OtlpMetricsRequest = {
  resources: [
    {
      attributes: [
        { key: 'service.name', value: 'api' },
        { key: 'host.cpus', value: '4' },
        { key: 'ratio', value: '0.5' },
        { key: 'debug', value: 'true' },
        { key: 'blob', value: 'AQID' },
        { key: 'tags', value: '["a",2]' },
        { key: 'map', value: '{"k":"v"}' },
      ],
      scopes: [
        {
          name: 'lib',
          version: '1.0',
          metrics: [
            {
              name: 'g',
              description: 'a gauge',
              unit: 'By',
              kind: 'gauge',
              temporality: 0,
              monotonic: false,
              points: [point({ attributes: [{ key: 'route', value: '/a' }], value: 2.5 })],
            },
            {
              name: 's',
              description: '',
              unit: '',
              kind: 'sum',
              temporality: 2,
              monotonic: true,
              points: [point({ startTimeNs: T - 1n, value: -7, flags: 1 })],
            },
            {
              name: 'h',
              description: '',
              unit: 's',
              kind: 'histogram',
              temporality: 2,
              monotonic: false,
              points: [
                point({
                  attributes: [{ key: 'm', value: 'GET' }],
                  count: 4,
                  sum: 3.05,
                  bucketCounts: [1, 1, 1, 1],
                  explicitBounds: [0.1, 0.5, 1],
                }),
              ],
            },
            {
              name: 'e',
              description: '',
              unit: '',
              kind: 'exponential_histogram',
              temporality: 1,
              monotonic: false,
              points: [point({ count: 5, sum: 10, expBuckets: 5 })],
            },
            {
              name: 'q',
              description: '',
              unit: '',
              kind: 'summary',
              temporality: 0,
              monotonic: false,
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
            },
          ],
        },
      ],
    },
  ],
};

const badRequest = (fn: () => unknown, re: RegExp) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MoleError, String(e));
    assert.equal(e.status, 400);
    assert.match(e.message, re);
    return true;
  });

describe('OTLP metrics decoders', () => {
  test('protobuf: every point kind', () => {
    assert.deepEqual(decodeMetricsProto(protoRequest()), expected);
  });

  test('JSON: the same request decodes identically', () => {
    assert.deepEqual(decodeMetricsJson(JSON.stringify(jsonRequest)), expected);
    assert.deepEqual(decodeMetricsJson(JSON.stringify(jsonRequest)), decodeMetricsProto(protoRequest()));
  });

  test('JSON: snake_case keys, NaN/Infinity doubles, empty request', () => {
    const r = decodeMetricsJson(
      JSON.stringify({
        resource_metrics: [
          {
            scope_metrics: [
              { metrics: [{ name: 'x', gauge: { data_points: [{ time_unix_nano: 5, as_double: 'NaN' }] } }] },
            ],
          },
        ],
      }),
    );
    assert.ok(Number.isNaN(r.resources[0]!.scopes[0]!.metrics[0]!.points[0]!.value));
    assert.deepEqual(decodeMetricsJson('{}'), { resources: [] });
    assert.deepEqual(decodeMetricsProto(new Uint8Array(0)), { resources: [] });
  });

  test('malformed protobuf → 400', () => {
    badRequest(() => decodeMetricsProto(Uint8Array.from([0x0a, 0xff, 0x01])), /malformed protobuf/);
    // resource_metrics as a varint
    badRequest(() => decodeMetricsProto(Uint8Array.from([0x08, 0x01])), /resource_metrics/);
    // a metric name that is not UTF-8
    const badName = new W()
      .message(1, new W().message(2, new W().message(2, new W().bytesField(1, Uint8Array.from([0xff])))))
      .finish();
    badRequest(() => decodeMetricsProto(badName), /UTF-8/);
    // a fixed64 cut short
    const cut = protoRequest().slice(0, 200);
    assert.throws(() => decodeMetricsProto(cut), MoleError);
  });

  test('malformed JSON → 400 naming the path', () => {
    badRequest(() => decodeMetricsJson('{'), /malformed JSON/);
    badRequest(() => decodeMetricsJson('{"resourceMetrics": 5}'), /resourceMetrics: expected an array/);
    badRequest(
      () =>
        decodeMetricsJson(
          JSON.stringify({
            resourceMetrics: [
              { scopeMetrics: [{ metrics: [{ name: 'x', sum: { dataPoints: [{ asInt: 'x' }] } }] }] },
            ],
          }),
        ),
      /resourceMetrics\[0\]\.scopeMetrics\[0\]\.metrics\[0\]\.sum\.dataPoints\[0\]\.asInt/,
    );
    badRequest(
      () =>
        decodeMetricsJson(
          JSON.stringify({
            resourceMetrics: [
              {
                scopeMetrics: [{ metrics: [{ name: 'x', gauge: { dataPoints: [{ timeUnixNano: '-1' }] } }] }],
              },
            ],
          }),
        ),
      /timeUnixNano/,
    );
  });

  test('formatFloat is Go strconv.FormatFloat(f, f, -1, 64)', () => {
    const cases: [number, string][] = [
      [0.1, '0.1'],
      [1, '1'],
      [2.5e-7, '0.00000025'],
      [1e21, '1000000000000000000000'],
      [1.5e22, '15000000000000000000000'],
      [-3e-7, '-0.0000003'],
      [Infinity, '+Inf'],
      [-Infinity, '-Inf'],
      [NaN, 'NaN'],
    ];
    for (const [f, s] of cases) assert.equal(formatFloat(f), s, String(f));
  });
});

test('exemplars of number and histogram points, protobuf and JSON alike', () => {
  const ex = fixed64(new W().message(7, kv('route', str('/a'))), 2, T)
    .double(3, 0.7)
    .bytesField(4, Uint8Array.from([0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]))
    .bytesField(5, new Uint8Array(16).fill(0xab));
  const histPoint = fixed64(new W(), 4, 1).message(8, ex);
  const gaugePoint = fixed64(new W(), 3, T).double(4, 1).message(5, ex);
  const scope = new W()
    .message(2, new W().string(1, 'h').message(9, new W().message(1, histPoint).uint(2, 2)))
    .message(2, new W().string(1, 'g').message(5, new W().message(1, gaugePoint)));
  const proto = decodeMetricsProto(new W().message(1, new W().message(2, scope)).finish());
  const exemplar = {
    attributes: [{ key: 'route', value: '/a' }],
    timeNs: T,
    value: 0.7,
    traceId: 'ab'.repeat(16),
    spanId: '00f067aa0ba902b7',
  };
  const points = proto.resources[0]!.scopes[0]!.metrics.map((m) => m.points[0]!.exemplars);
  assert.deepEqual(points, [[exemplar], [exemplar]]);
  const jsonEx = {
    filteredAttributes: [{ key: 'route', value: { stringValue: '/a' } }],
    timeUnixNano: String(T),
    asDouble: 0.7,
    traceId: 'AB'.repeat(16),
    spanId: '00f067aa0ba902b7',
  };
  const json = decodeMetricsJson(
    JSON.stringify({
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'h',
                  histogram: { aggregationTemporality: 2, dataPoints: [{ count: '1', exemplars: [jsonEx] }] },
                },
                {
                  name: 'g',
                  gauge: { dataPoints: [{ timeUnixNano: String(T), asDouble: 1, exemplars: [jsonEx] }] },
                },
              ],
            },
          ],
        },
      ],
    }),
  );
  assert.deepEqual(
    json.resources[0]!.scopes[0]!.metrics.map((m) => m.points[0]!.exemplars),
    [[exemplar], [exemplar]],
  );
});
