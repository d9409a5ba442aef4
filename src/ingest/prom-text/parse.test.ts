import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MoleError } from '../../lib/errors.ts';
import { decodePromTextPayload, encodePromTextParams, extraLabelsOf } from './to-samples.ts';

const NOW = 1_700_000_000_000;
const decode = (
  text: string,
  params: Parameters<typeof encodePromTextParams>[0] = { openMetrics: false, extraLabels: [], scrape: false },
) =>
  decodePromTextPayload({
    body: new TextEncoder().encode(text),
    params: encodePromTextParams(params),
    receivedAtMs: NOW,
  });
const rows = (text: string, params?: Parameters<typeof encodePromTextParams>[0]) => {
  const s = decode(text, params);
  return s.sampleSeries.map(
    (i, k) => `${s.series[i]!.toString()} ${s.values[k]} @${s.timestampsMs[k]}${s.stale[k] ? ' stale' : ''}`,
  );
};

const PAGE = `# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric from before the epoch:
something_weird{problem="division by zero"} +Inf -3982045

# A histogram, which has a pretty complex representation in the text format:
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320

# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5",} 4773
rpc_duration_seconds_count 2693
nan_gauge NaN
neg -Inf
`;

test('the exposition-format example page: labels, escapes, timestamps, special values, metadata', () => {
  assert.deepEqual(rows(PAGE), [
    'http_requests_total{code="200", method="post"} 1027 @1395066363000',
    'http_requests_total{code="400", method="post"} 3 @1395066363000',
    'msdos_file_access_time_seconds{error="Cannot find file:\\n\\"FILE.TXT\\"", path="C:\\\\DIR\\\\FILE.TXT"} 1458255915 @1700000000000',
    'metric_without_timestamp_and_labels{} 12.47 @1700000000000',
    'something_weird{problem="division by zero"} Infinity @-3982045',
    'http_request_duration_seconds_bucket{le="0.05"} 24054 @1700000000000',
    'http_request_duration_seconds_bucket{le="+Inf"} 144320 @1700000000000',
    'http_request_duration_seconds_sum{} 53423 @1700000000000',
    'http_request_duration_seconds_count{} 144320 @1700000000000',
    'rpc_duration_seconds{quantile="0.5"} 4773 @1700000000000',
    'rpc_duration_seconds_count{} 2693 @1700000000000',
    'nan_gauge{} NaN @1700000000000',
    'neg{} -Infinity @1700000000000',
  ]);
  const s = decode(PAGE);
  assert.equal(s.series[2]!.get('path'), 'C:\\DIR\\FILE.TXT');
  assert.deepEqual(s.metadata, [
    {
      metricFamily: 'http_requests_total',
      type: 'counter',
      help: 'The total number of HTTP requests.',
      unit: '',
    },
    {
      metricFamily: 'http_request_duration_seconds',
      type: 'histogram',
      help: 'A histogram of the request duration.',
      unit: '',
    },
    { metricFamily: 'rpc_duration_seconds', type: 'summary', help: '', unit: '' },
  ]);
});

test('OpenMetrics: seconds timestamps, exemplars ignored, UNIT, EOF ends the body', () => {
  const om = `# TYPE foo counter
# UNIT foo seconds
foo_total{a="b"} 17.0 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67
foo_created 1520430000.123
# EOF
ignored{ 1
`;
  assert.deepEqual(rows(om, { openMetrics: true, extraLabels: [], scrape: false }), [
    'foo_total{a="b"} 17 @1520879607789',
    'foo_created{} 1520430000.123 @1700000000000',
  ]);
  assert.deepEqual(decode(om, { openMetrics: true, extraLabels: [], scrape: false }).metadata, [
    { metricFamily: 'foo', type: 'counter', help: '', unit: 'seconds' },
  ]);
});

test('extra_label overrides sent labels; the scraper section of staleness markers', () => {
  const extra = extraLabelsOf(new URLSearchParams('extra_label=job=push&extra_label=env=prod'));
  assert.deepEqual(rows('up{job="x"} 1 5', { openMetrics: false, extraLabels: extra, scrape: false }), [
    'up{env="prod", job="push"} 1 @5',
  ]);
  assert.throws(() => extraLabelsOf(new URLSearchParams('extra_label=novalue')), /extra_label "novalue"/);
  const text = 'a 1 5\n# STALE\nb 0 5\n';
  assert.deepEqual(rows(text, { openMetrics: false, extraLabels: [], scrape: true }), [
    'a{} 1 @5',
    'b{} NaN @5 stale',
  ]);
  // a pushed body cannot write staleness markers
  assert.deepEqual(rows(text), ['a{} 1 @5', 'b{} 0 @5']);
});

test('errors name the line', () => {
  const cases: [string, RegExp][] = [
    ['a 1\nb{x="1"', /line 2: unterminated label value|line 2: expected/],
    ['a{x=1} 2', /line 1: expected a quoted value for label x/],
    ['a{x="1" y="2"} 2', /line 1: expected "," or "}" after label x/],
    ['a abc', /line 1: value "abc" is not a number/],
    ['a', /line 1: sample a has no value/],
    ['a 1 1.5', /line 1: timestamp "1.5" is not integer milliseconds/],
    ['a 1 2 3', /unexpected text after the timestamp/],
    ['a{x="1",x="2"} 1', /line 1: .*"x" twice/],
    ['1a 1', /line 1: expected a metric name/],
    ['# TYPE a bogus', /line 1: unknown metric type "bogus"/],
    ['a{__name__="b"} 1', /__name__/],
    [`a 1 ${NOW + 3_600_000}`, /line 1: timestamp .* ahead of the server clock/],
  ];
  for (const [text, re] of cases) assert.throws(() => decode(text), re, text);
  assert.throws(
    () =>
      decodePromTextPayload({
        body: Uint8Array.from([0x61, 0x20, 0x31, 0x0a, 0x62, 0xc3, 0x28]),
        receivedAtMs: NOW,
      }),
    /line 2: not valid UTF-8/,
  );
});

test('property: any input either parses or fails with a MoleError', () => {
  fc.assert(
    fc.property(
      fc.string({ unit: fc.constantFrom(...'a{}=",\\ #\n1.eNI+-_'.split('')), maxLength: 60 }),
      (text) => {
        try {
          decode(text);
        } catch (e) {
          assert.ok(e instanceof MoleError, String(e));
        }
      },
    ),
    { numRuns: 2000 },
  );
});
