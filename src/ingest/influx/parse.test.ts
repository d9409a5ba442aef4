import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MoleError } from '../../lib/errors.ts';
import { influxPrecision, parseInfluxLines, type InfluxPrecision } from './parse.ts';

const NOW = 1_700_000_000_000;
const enc = (s: string) => new TextEncoder().encode(s);
const parse = (text: string, precision: InfluxPrecision = 'ns', db = '') =>
  parseInfluxLines(enc(text), { precision, db }, NOW);
/** `series value @t` per sample, in order */
const rows = (text: string, precision: InfluxPrecision = 'ns', db = '') => {
  const s = parse(text, precision, db);
  return s.sampleSeries.map((i, k) => `${s.series[i]!.toString()} ${s.values[k]} @${s.timestampsMs[k]}`);
};

test('names as VictoriaMetrics: measurement_field, `value` alone, tags and db as labels', () => {
  assert.deepEqual(
    rows('cpu,host=a,cpu=cpu0 usage_user=1.5,usage_idle=98i 1700000000000000000', 'ns', 'telegraf'),
    [
      'cpu_usage_user{cpu="cpu0", db="telegraf", host="a"} 1.5 @1700000000000',
      'cpu_usage_idle{cpu="cpu0", db="telegraf", host="a"} 98 @1700000000000',
    ],
  );
  assert.deepEqual(rows('temp,db=own value=21.5 1700000000', 's', 'ignored'), [
    'temp{db="own"} 21.5 @1700000000000',
  ]);
});

test('field types: integer, unsigned, float forms, booleans, numeric strings; other strings skipped', () => {
  const line = 'm i=-3i,u=7u,f=1.,g=.5,e=1e3,t=t,T=TRUE,f2=False,s="hello",n="42",q="say \\"hi\\""';
  assert.deepEqual(
    rows(`${line} 1`, 'ms').map((r) => r.replace(/ @1$/, '')),
    [
      'm_i{} -3',
      'm_u{} 7',
      'm_f{} 1',
      'm_g{} 0.5',
      'm_e{} 1000',
      'm_t{} 1',
      'm_T{} 1',
      'm_f2{} 0',
      'm_n{} 42',
    ],
  );
});

test('escapes in measurement, tag keys/values and field keys; quoted strings may hold spaces and commas', () => {
  assert.deepEqual(rows('my\\ meas,ta\\,g=v\\ 1\\=x,k=a\\\\b f\\=ield=1,s="a, b c" 5', 'ms'), [
    'my_meas_f_ield{k="a\\\\b", ta_g="v 1=x"} 1 @5',
  ]);
});

test('precisions floor to milliseconds; a line without a timestamp gets the receive time', () => {
  assert.deepEqual(
    (['ns', 'us', 'ms', 's', 'm', 'h'] as const).map((p) => parse('m v=1 2', p).timestampsMs[0]),
    [0, 0, 2, 2000, 120_000, 7_200_000],
  );
  assert.equal(parse('m v=1 1700000000123999999').timestampsMs[0], 1_700_000_000_123);
  assert.equal(parse('m v=1').timestampsMs[0], NOW);
  assert.equal(parse('m v=1   ').timestampsMs[0], NOW);
  assert.equal(influxPrecision('u'), 'us');
  assert.equal(influxPrecision('n'), 'ns');
  assert.throws(() => influxPrecision('d'), /precision "d"/);
});

test('comments, blank lines and CRLF are fine; series are deduplicated', () => {
  const s = parse('# comment\r\n\r\ncpu,host=a v=1 1\r\n  \ncpu,host=a v=2 2\n');
  assert.equal(s.series.length, 1);
  assert.deepEqual(s.values, [1, 2]);
});

test('invalid names are made Prometheus-compatible', () => {
  assert.deepEqual(rows('disk.io,dev-name=sda 9read=1 1', 'ms'), ['disk_io_9read{dev_name="sda"} 1 @1']);
  assert.deepEqual(rows('1m v=1 1', 'ms'), ['_1m_v{} 1 @1']);
});

test('errors name the line', () => {
  const cases: [string, RegExp][] = [
    ['m v=1\nm', /line 2: missing fields/],
    ['m,t v=1', /line 1: tag "t" has no "=value"/],
    ['m,t= v=1', /line 1: tag "t" has an empty value/],
    ['m v=', /line 1: field "v" has no value/],
    ['m v=1x', /line 1: field "v": "1x" is not a number/],
    ['m v=1.5i', /line 1: field "v": "1.5i" is not an integer/],
    ['m v=-1u', /not an unsigned integer/],
    ['m v=99999999999999999999i', /out of range/],
    ['m v="abc', /unterminated string/],
    ['m v=1 12x', /line 1: timestamp "12x" is not an integer/],
    ['m v=1 1 2', /unexpected text after the timestamp/],
    [',t=1 v=1', /missing measurement/],
    ['m,a.b=1,a_b=2 v=1', /twice/],
    ['m,__name__=x v=1', /reserved/],
    [`\n\nm v=1 ${(NOW + 3_600_000) * 1e6}`, /line 3: timestamp .* ahead of the server clock/],
  ];
  for (const [text, re] of cases) assert.throws(() => parse(text), re, text);
  assert.throws(
    () =>
      parseInfluxLines(
        Uint8Array.from([0x6d, 0x20, 0x76, 0x3d, 0x31, 0x0a, 0x6d, 0xff]),
        { precision: 'ns', db: '' },
        NOW,
      ),
    /^MoleError: line 2: not valid UTF-8/,
  );
  assert.throws(
    () => parse(`m v=1\nm,t=${'x'.repeat(300_000)} v=1`),
    /^MoleError: line 2: 300\d+ characters, over the limit/,
  );
});

test('property: any input either parses or fails with a MoleError', () => {
  fc.assert(
    fc.property(
      fc.string({ unit: fc.constantFrom(...'m,= "\\\n.t1iu-e'.split('')), maxLength: 60 }),
      (text) => {
        try {
          parse(text);
        } catch (e) {
          assert.ok(e instanceof MoleError, String(e));
        }
      },
    ),
    { numRuns: 2000 },
  );
});
