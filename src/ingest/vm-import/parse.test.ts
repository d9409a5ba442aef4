import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MoleError } from '../../lib/errors.ts';
import { formatVmJsonLine, parseVmJsonLines } from './parse.ts';

const NOW = 1_700_000_000_000;
const parse = (text: string, extra: { name: string; value: string }[] = []) =>
  parseVmJsonLines(new TextEncoder().encode(text), extra, NOW);

test('lines of series with values and timestamps; special values; duplicates merge', () => {
  const text = [
    '{"metric":{"__name__":"up","job":"a","instance":"x:1"},"values":[1,0,null,"Infinity","-Infinity","2.5"],"timestamps":[1,2,3,4,5,6]}',
    '',
    '{"metric":{"instance":"x:1","__name__":"up","job":"a"},"values":[1],"timestamps":[7]}',
  ].join('\n');
  const s = parse(text);
  assert.equal(s.series.length, 1);
  assert.equal(s.series[0]!.toString(), 'up{instance="x:1", job="a"}');
  assert.deepEqual(s.values, [1, 0, NaN, Infinity, -Infinity, 2.5, 1]);
  assert.deepEqual(s.timestampsMs, [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(
    parse(text, [{ name: 'job', value: 'b' }]).series[0]!.toString(),
    'up{instance="x:1", job="b"}',
  );
});

test('VictoriaMetrics 1.79 export lines with bare +Inf/-Inf are read (outside strings only)', () => {
  const s = parse('{"metric":{"__name__":"m","a":"x,+Inf]"},"values":[+Inf, -Inf,1,NaN],"timestamps":[1,2,3,4]}');
  assert.deepEqual(s.values, [Infinity, -Infinity, 1, NaN]);
  assert.equal(s.series[0]!.get('a'), 'x,+Inf]');
  assert.throws(() => parse('{"metric":{"__name__":"m"},"values":[+Infx],"timestamps":[1]}'), /line 1: not JSON/);
});

test('export lines parse back to the same samples', () => {
  const line = formatVmJsonLine(
    { __name__: 'm', 'a.b': 'c"d' },
    [1.5, NaN, Infinity, -Infinity, 1e21],
    [1, 2, 3, 4, 5],
  );
  assert.equal(
    line,
    '{"metric":{"__name__":"m","a.b":"c\\"d"},"values":[1.5,null,"Infinity","-Infinity",1e+21],"timestamps":[1,2,3,4,5]}\n',
  );
  const s = parse(line);
  assert.deepEqual(s.values, [1.5, NaN, Infinity, -Infinity, 1e21]);
  assert.equal(s.series[0]!.get('a.b'), 'c"d');
});

test('errors name the line', () => {
  const ok = '{"metric":{"__name__":"m"},"values":[1],"timestamps":[1]}';
  const cases: [string, RegExp][] = [
    [`${ok}\n{"metric":`, /line 2: not JSON/],
    ['[1]', /line 1: expected a JSON object/],
    [
      '{"metric":{"__name__":"m"},"values":[1,2],"timestamps":[1]}',
      /line 1: "values" has 2 entries but "timestamps" has 1/,
    ],
    [
      '{"metric":{"__name__":"m"},"values":["x"],"timestamps":[1]}',
      /line 1: values\[0\] is "x", not a number/,
    ],
    [
      '{"metric":{"__name__":"m"},"values":[1],"timestamps":[1.5]}',
      /line 1: timestamps\[0\] is 1.5, not integer milliseconds/,
    ],
    ['{"metric":{"__name__":"m","a":1},"values":[1],"timestamps":[1]}', /line 1: label "a" must be a string/],
    ['{"metric":{"job":"x"},"values":[1],"timestamps":[1]}', /line 1: .*no metric name/],
    ['{"values":[1],"timestamps":[1]}', /line 1: "metric" must be an object/],
    [
      `{"metric":{"__name__":"m"},"values":[1],"timestamps":[${NOW + 3_600_000}]}`,
      /line 1: timestamp .* ahead/,
    ],
  ];
  for (const [text, re] of cases) assert.throws(() => parse(text), re, text);
});

test('property: any input either parses or fails with a MoleError', () => {
  fc.assert(
    fc.property(
      fc.string({ unit: fc.constantFrom(...'{}[]":,\n1ametricvaluestimestamps_'.split('')), maxLength: 80 }),
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
