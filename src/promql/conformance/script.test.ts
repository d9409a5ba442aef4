import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  expandToken,
  goRegex,
  parseDuration,
  parseNumber,
  parseScript,
  parseSeriesDesc,
  type EvalCmd,
  type LoadCmd,
} from './script.ts';

const floats = (vals: ReturnType<typeof expandToken>): (number | string)[] =>
  vals.map((v) => (v.kind === 'float' ? v.v : v.kind));

test('expanding notation', () => {
  assert.deepEqual(floats(expandToken('1+2x3')), [1, 3, 5, 7]);
  assert.deepEqual(floats(expandToken('1-1x5')), [1, 0, -1, -2, -3, -4]);
  assert.deepEqual(floats(expandToken('5x2')), [5, 5, 5]);
  assert.deepEqual(floats(expandToken('-2')), [-2]);
  assert.deepEqual(floats(expandToken('52+0x100')).length, 101);
  assert.deepEqual(floats(expandToken('_')), ['omitted']);
  assert.deepEqual(floats(expandToken('_x3')), ['omitted', 'omitted', 'omitted']);
  assert.deepEqual(floats(expandToken('stale')), ['stale']);
  assert.deepEqual(floats(expandToken('Inf')), [Infinity]);
  assert.deepEqual(floats(expandToken('-Inf')), [-Infinity]);
  assert.ok(Number.isNaN((expandToken('NaN')[0] as { v: number }).v));
  assert.deepEqual(floats(expandToken('1e3+1e3x1')), [1000, 2000]);
  assert.throws(() => expandToken('abc'));
});

test('series descriptions', () => {
  const d = parseSeriesDesc('http_requests{job="api", instance="0"} 0+10x2 _ stale 3');
  assert.equal(d.labels.toString(), 'http_requests{instance="0", job="api"}');
  assert.deepEqual(floats(d.values), [0, 10, 20, 'omitted', 'stale', 3]);
  assert.equal(parseSeriesDesc('{__name__="x", a="b"} 1').labels.toString(), 'x{a="b"}');
  assert.equal(parseSeriesDesc('{} 1').labels.toString(), '{}');
  assert.equal(parseSeriesDesc('m{} 1 _ 3').values.length, 3);
  assert.equal(parseSeriesDesc('{"my.metric", "a.b"="c"} 1').labels.get('__name__'), 'my.metric');
  assert.equal(parseSeriesDesc('{"my.metric", "a.b"="c"} 1').labels.get('a.b'), 'c');
  assert.equal(parseSeriesDesc(String.raw`m{a="x\"y\\z"} 1`).labels.get('a'), 'x"y\\z');
  const h = parseSeriesDesc('h {{schema:1 sum:3 count:22 buckets:[5 10 7]}}x2 1');
  assert.deepEqual(
    h.values.map((v) => v.kind),
    ['histogram', 'histogram', 'histogram', 'float'],
  );
});

test('durations and numbers', () => {
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('10s53ms'), 10_053);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('0'), 0);
  assert.throws(() => parseDuration('5x'));
  assert.equal(parseNumber('12'), 12);
  assert.equal(parseNumber('-1.5'), -1.5);
  assert.equal(parseNumber('0x10'), 16);
  assert.equal(parseNumber('1e3'), 1000);
  assert.equal(parseNumber('+Inf'), Infinity);
  assert.ok(Number.isNaN(parseNumber('NaN')));
  assert.equal(parseNumber('foo{}'), null);
  assert.equal(parseNumber('{} 1'), null);
});

const SCRIPT = `
# a comment
load 5m
  metric{a="1"} 0+1x3 stale _ 7
  hist {{schema:0 sum:1 count:1}}

eval instant at 10m metric
  metric{a="1"} 2

eval range from 0 to 10m step 5m metric
  metric{a="1"} 0 1 2

clear

eval instant at 0 1 + 1
  2

eval_fail instant at 0 foo
  expected_fail_message some error

eval instant at 1m sum(x)
  expect fail regex: ^bad
  expect warn msg: a warning
  expect info
  expect no_warn
  expect ordered
  {} 1

eval instant at 1m "x"
  expect string \`Foo\`

eval instant at 1m x[1m]
  expect range vector from 0 to 1m step 30s
  x 1 2 3

eval_ordered instant at 0 topk(2, x)
  x{i="2"} 2
  x{i="1"} 1

eval_warn instant at 0 x

eval_info instant at 0 y

eval instant at 0 x
  x 1 2
`;

test('script: loads, clear, evals and expect lines', () => {
  const cmds = parseScript(SCRIPT, 'f.test');
  const load = cmds[0] as LoadCmd;
  assert.equal(load.kind, 'load');
  assert.equal(load.intervalMs, 300_000);
  const m = load.series[0];
  assert.ok(m);
  assert.deepEqual(m.t, [0, 300_000, 600_000, 900_000, 1_200_000, 1_800_000]);
  assert.deepEqual(m.stale, [false, false, false, false, true, false]);
  assert.equal(m.v[5], 7);
  assert.equal(load.series[1]?.hasHistograms, true);
  const evals = cmds.filter((c): c is EvalCmd => c.kind === 'eval');
  const byLine = (line: number): EvalCmd => {
    const e = evals.find((x) => x.line === line);
    assert.ok(e, `eval at line ${line}`);
    return e;
  };
  const e6 = byLine(7);
  assert.equal(e6.id, 'f.test:7');
  assert.equal(e6.expr, 'metric');
  assert.equal(e6.evalMs, 600_000);
  assert.equal(e6.expected[0]?.labels.toString(), 'metric{a="1"}');
  const e9 = byLine(10);
  assert.equal(e9.isRange, true);
  assert.deepEqual([e9.startMs, e9.endMs, e9.stepMs], [0, 600_000, 300_000]);
  assert.equal(e9.expected[0]?.values.length, 3);
  assert.equal(cmds.filter((c) => c.kind === 'clear').length, 1);
  assert.equal(byLine(15).expectScalar, 2);
  assert.deepEqual(byLine(18).fail, { message: 'some error' });
  const e20 = byLine(21);
  assert.ok(e20.fail?.regex?.test('bad thing'));
  assert.deepEqual(e20.warn, [{ message: 'a warning' }]);
  assert.deepEqual(e20.info, [{}]);
  assert.equal(e20.noWarn, true);
  assert.equal(e20.ordered, true);
  assert.equal(e20.expected.length, 1);
  assert.equal(byLine(29).expectedString, 'Foo');
  const e31 = byLine(32);
  assert.equal(e31.expectRangeVector, true);
  assert.deepEqual([e31.startMs, e31.endMs, e31.stepMs, e31.evalMs], [0, 60_000, 30_000, 60_000]);
  assert.equal(e31.defError, null);
  const e35 = byLine(36);
  assert.equal(e35.ordered, true);
  assert.deepEqual(
    e35.expected.map((x) => x.pos),
    [1, 2],
  );
  assert.equal(byLine(40).legacyWarn, true);
  assert.equal(byLine(42).legacyInfo, true);
  assert.match(byLine(44).defError ?? '', /multiple values/);
});

test('script: native histograms in expected results mark the eval', () => {
  const [e] = parseScript('eval instant at 0 h\n  h {{schema:0 sum:1 count:1}}\n', 'x.test');
  assert.equal((e as EvalCmd).expectsHistograms, true);
});

test('Go regular expressions', () => {
  assert.ok(goRegex('.*(?i:tion)', true).test('producTION'));
  assert.ok(!goRegex('.*(?i:tion)x', true).test('producTION'));
  assert.ok(goRegex('(?i)pro.*', true).test('PROduction'));
  assert.ok(goRegex('((?i)a)b', true).test('Ab'));
  assert.ok(!goRegex('((?i)a)b', true).test('AB'));
  assert.ok(goRegex('(?i)[a-c]+', true).test('AbC'));
  assert.ok(goRegex('(?P<x>a)', true).test('a'));
  assert.ok(goRegex(String.raw`\Qa.b\E`, true).test('a.b'));
  assert.ok(!goRegex(String.raw`\Qa.b\E`, true).test('axb'));
  assert.ok(!goRegex('a', true).test('ba'));
  assert.ok(goRegex('a').test('ba'));
});
