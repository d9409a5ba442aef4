import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Expr } from '../ast.ts';
import { exprType, formatExpr, parseDurationMs, parseExpr, PromQLParseError } from './index.ts';
import { formatDurationMs } from './durations.ts';
import { stripPos } from './testdata-cases.ts';

const sel = (name: string, extra: object[] = []) => ({
  type: 'VectorSelector',
  name,
  matchers: [...extra, ...(name !== '' ? [{ name: '__name__', type: '=', value: name }] : [])],
  offsetMs: 0,
  at: null,
});
const num = (val: number) => ({ type: 'NumberLiteral', val });
const oneToOne = { card: 'one-to-one', on: false, labels: [], include: [] };
const manyToMany = { card: 'many-to-many', on: false, labels: [], include: [] };
const bin = (op: string, lhs: object, rhs: object, matching: object | null = null, returnBool = false) => ({
  type: 'BinaryExpr',
  op,
  lhs,
  rhs,
  returnBool,
  matching,
});

/** [query, expected tree without positions] */
const TREES: [string, object][] = [
  ['1', num(1)],
  ['-1', num(-1)],
  ['+Inf', num(Infinity)],
  ['-inf', num(-Infinity)],
  ['.5', num(0.5)],
  ['5.', num(5)],
  ['1e3', num(1000)],
  ['5e-3', num(0.005)],
  ['0x1F', num(31)],
  ['0755', num(493)],
  ['1_000', num(1000)],
  ['0x_1_F', num(31)],
  ['1_0.2_5e1', num(102.5)],
  ['1h', num(3600)],
  ['"a\\tb"', { type: 'StringLiteral', val: 'a\tb' }],
  ["'it\\'s'", { type: 'StringLiteral', val: "it's" }],
  ['`raw\\n`', { type: 'StringLiteral', val: 'raw\\n' }],
  ['"\\u00e9\\x41"', { type: 'StringLiteral', val: 'éA' }],
  ['"\\xc3\\xa9"', { type: 'StringLiteral', val: 'é' }],
  ['"a\\xc5z"', { type: 'StringLiteral', val: 'a\udcc5z' }],
  ['foo', sel('foo')],
  ['job:rate5m:sum', sel('job:rate5m:sum')],
  ['foo{a="b", c!="d", e=~"f.*", g!~"h"}', sel('foo', [
    { name: 'a', type: '=', value: 'b' },
    { name: 'c', type: '!=', value: 'd' },
    { name: 'e', type: '=~', value: 'f.*' },
    { name: 'g', type: '!~', value: 'h' },
  ])],
  ['{"metric.name", "a.b"="c"}', sel('', [
    { name: '__name__', type: '=', value: 'metric.name' },
    { name: 'a.b', type: '=', value: 'c' },
  ])],
  ['{__name__=~"x.*"}', sel('', [{ name: '__name__', type: '=~', value: 'x.*' }])],
  ['foo{on="1", by="2", bool="3", offset="4",}', sel('foo', [
    { name: 'on', type: '=', value: '1' },
    { name: 'by', type: '=', value: '2' },
    { name: 'bool', type: '=', value: '3' },
    { name: 'offset', type: '=', value: '4' },
  ])],
  ['offset', sel('offset')],
  ['foo[5m]', { type: 'MatrixSelector', vector: sel('foo'), rangeMs: 300000 }],
  ['foo[90]', { type: 'MatrixSelector', vector: sel('foo'), rangeMs: 90000 }],
  ['foo[5m] offset -1m @ 100', { type: 'MatrixSelector', vector: { ...sel('foo'), offsetMs: -60000, at: { kind: 'time', timeMs: 100000 } }, rangeMs: 300000 }],
  ['foo @ end() offset 1h', { ...sel('foo'), offsetMs: 3600000, at: { kind: 'end' } }],
  ['foo offset 1h @ start()', { ...sel('foo'), offsetMs: 3600000, at: { kind: 'start' } }],
  ['rate(foo[5m])[30m:1m]', {
    type: 'SubqueryExpr',
    expr: { type: 'Call', func: 'rate', args: [{ type: 'MatrixSelector', vector: sel('foo'), rangeMs: 300000 }] },
    rangeMs: 1800000, stepMs: 60000, offsetMs: 0, at: null,
  }],
  ['foo[30m:] offset 5m', { type: 'SubqueryExpr', expr: sel('foo'), rangeMs: 1800000, stepMs: 0, offsetMs: 300000, at: null }],
  ['(foo)', { type: 'ParenExpr', expr: sel('foo') }],
  ['-foo', { type: 'UnaryExpr', op: '-', expr: sel('foo') }],
  ['-2 ^ 2', { type: 'UnaryExpr', op: '-', expr: bin('^', num(2), num(2)) }],
  ['-1 * 2', bin('*', num(-1), num(2))],
  ['2 ^ 3 ^ 2', bin('^', num(2), bin('^', num(3), num(2)))],
  ['1 + 2 * 3 - 4', bin('-', bin('+', num(1), bin('*', num(2), num(3))), num(4))],
  ['a or b and c unless d', bin('or', sel('a'), bin('unless', bin('and', sel('b'), sel('c'), manyToMany), sel('d'), manyToMany), manyToMany)],
  ['a > b + c', bin('>', sel('a'), bin('+', sel('b'), sel('c'), oneToOne), oneToOne)],
  ['a atan2 b', bin('atan2', sel('a'), sel('b'), oneToOne)],
  ['foo + 1', bin('+', sel('foo'), num(1))],
  ['1 < bool 2', bin('<', num(1), num(2), null, true)],
  ['a == bool on(x) b', bin('==', sel('a'), sel('b'), { ...oneToOne, on: true, labels: ['x'] }, true)],
  ['a * on(x, y) group_left(z) b', bin('*', sel('a'), sel('b'), { card: 'many-to-one', on: true, labels: ['x', 'y'], include: ['z'] })],
  ['a / ignoring(x) group_right b', bin('/', sel('a'), sel('b'), { card: 'one-to-many', on: false, labels: ['x'], include: [] })],
  ['a and on() b', bin('and', sel('a'), sel('b'), { ...manyToMany, on: true })],
  ['sum by (job) (foo)', { type: 'AggregateExpr', op: 'sum', expr: sel('foo'), param: null, grouping: ['job'], without: false }],
  ['sum(foo) without (a, "b.c")', { type: 'AggregateExpr', op: 'sum', expr: sel('foo'), param: null, grouping: ['a', 'b.c'], without: true }],
  ['topk(3, foo)', { type: 'AggregateExpr', op: 'topk', expr: sel('foo'), param: num(3), grouping: [], without: false }],
  ['count_values by (on, bool) ("v", foo)', {
    type: 'AggregateExpr', op: 'count_values', expr: sel('foo'), param: { type: 'StringLiteral', val: 'v' }, grouping: ['on', 'bool'], without: false,
  }],
  ['time()', { type: 'Call', func: 'time', args: [] }],
  ['round(foo)', { type: 'Call', func: 'round', args: [sel('foo')] }],
  ['label_join(foo, "a", ",", "b", "c", "d")', { type: 'Call', func: 'label_join', args: [sel('foo'), ...['a', ',', 'b', 'c', 'd'].map((val) => ({ type: 'StringLiteral', val }))] }],
  ['foo # a comment\n + bar', bin('+', sel('foo'), sel('bar'), oneToOne)],
];

describe('parseExpr trees', () => {
  for (const [q, want] of TREES) {
    test(q, () => assert.deepStrictEqual(stripPos(parseExpr(q)), want));
  }
});

/** [query, formatExpr output] */
const FORMATS: [string, string][] = [
  ['sum by(job)(rate(foo[5m]))', 'sum by (job) (rate(foo[5m]))'],
  ['sum(rate(foo[5m])) without(a)', 'sum without (a) (rate(foo[5m]))'],
  ['sum by () (foo)', 'sum(foo)'],
  ['foo[90m]', 'foo[1h30m]'],
  ['foo[7d]', 'foo[1w]'],
  ['foo[8d] offset -2h', 'foo[8d] offset -2h'],
  ['foo @ 1.5 offset 1m', 'foo @ 1.500 offset 1m'],
  ['foo offset 1m @ start()', 'foo @ start() offset 1m'],
  ['rate(foo[5m])[30m:]', 'rate(foo[5m])[30m:]'],
  ['{"metric.name"}', '{__name__="metric.name"}'],
  ['foo{a="b",c=~"d"}', 'foo{a="b", c=~"d"}'],
  ['{"a.b"="c", d="e"}', '{"a.b"="c", d="e"}'],
  ['a*on(x)group_left(y)b', 'a * on (x) group_left (y) b'],
  ['a and ignoring(x) b', 'a and ignoring (x) b'],
  ['a > bool 1', 'a > bool 1'],
  ['-(1 + 2)', '-(1 + 2)'],
  ['1e3 + 0x10 + inf + NaN', '1000 + 16 + Inf + NaN'],
  ['topk(3, foo)', 'topk(3, foo)'],
  ['"a\\"b"', '"a\\"b"'],
  ['"a\\xc5z\\\\"', '"a\\xc5z\\\\"'],
  ["'\\n\\u2603'", '"\\n☃"'],
  ['predict_linear(foo[5m], 1h)', 'predict_linear(foo[5m], 3600)'],
];

describe('formatExpr', () => {
  for (const [q, want] of FORMATS) {
    test(q, () => {
      const e = parseExpr(q);
      assert.equal(formatExpr(e), want);
      assert.deepStrictEqual(stripPos(parseExpr(formatExpr(e))), stripPos(e));
    });
  }
});

/** [query, Prometheus' error message] */
const ERRORS: [string, string][] = [
  ['', '1:1: parse error: no expression found in input'],
  ['# just a comment\n', '1:1: parse error: no expression found in input'],
  ['1+', '1:3: parse error: unexpected end of input'],
  ['*1', '1:1: parse error: unexpected <op:*>'],
  ['.', "1:1: parse error: unexpected character: '.'"],
  ['2.5.', '1:1: parse error: bad number or duration syntax: "2.5."'],
  ['(1))', "1:5: parse error: unexpected right parenthesis ')'"],
  ['((1)', '1:5: parse error: unclosed left parenthesis'],
  ['1 !~ 1', "1:3: parse error: unexpected character after '!': '~'"],
  ['1 and 1', '1:1: parse error: set operator "and" not allowed in binary scalar expression'],
  ['1 == 1', '1:3: parse error: comparisons between scalars must use BOOL modifier'],
  ['foo + bool bar', '1:5: parse error: bool modifier can only be used on comparison operators'],
  ['-"string"', '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "string"'],
  ['1 offset 1d', '1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery'],
  ['foo offset 1s offset 2s', '1:1: parse error: offset may not be set multiple times'],
  ['foo @ 1 @ 2', '1:1: parse error: @ <timestamp> may not be set multiple times'],
  ['a - on(b) ignoring(c) d', '1:11: parse error: unexpected <ignoring>'],
  ['sum(foo) by (job) by (a)', '1:19: parse error: unexpected <by>'],
  ['{}', '1:1: parse error: vector selector must contain at least one non-empty matcher'],
  ['{a=~".*", b!="c"}', '1:1: parse error: vector selector must contain at least one non-empty matcher'],
  ['foo{__name__="bar"}', '1:1: parse error: metric name must not be set twice: "foo" or "bar"'],
  ['foo{a="b" c="d"}', '1:11: parse error: unexpected identifier "c" in label matching, expected "," or "}"'],
  ['foo{a}', '1:6: parse error: unexpected "}" in label matching, expected label matching operator'],
  ['(foo)[5m]', '1:6: parse error: ranges only allowed for vector selectors'],
  ['foo offset 1m [5m]', '1:15: parse error: no offset modifiers allowed before range'],
  ['foo[5m][5m:]', '1:1: parse error: subquery is only allowed on instant vector, got matrix instead'],
  ['foo[0s]', '1:5: parse error: duration must be greater than 0'],
  ['foo[5m:1m:1m]', '1:10: parse error: unexpected ":" in subquery selector, expected "]"'],
  ['rate(foo)', '1:6: parse error: expected type range vector in call to function "rate", got instant vector'],
  ['abs(foo, bar)', '1:1: parse error: expected 1 argument(s) in call to "abs", got 2'],
  ['round()', '1:1: parse error: expected at least 1 argument(s) in call to "round", got 0'],
  ['round(foo, 1, 2)', '1:1: parse error: expected at most 2 argument(s) in call to "round", got 3'],
  ['foo(bar)', '1:1: parse error: unknown function with name "foo"'],
  ['rate(foo[5m],)', '1:13: parse error: trailing commas not allowed in function call args'],
  ['topk(foo)', '1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1'],
  ['sum(foo[5m])', '1:5: parse error: expected type instant vector in aggregation expression, got range vector'],
  ['topk("a", foo)', '1:6: parse error: expected type scalar in aggregation parameter, got string'],
  ['count_values(1, foo)', '1:14: parse error: expected type string in aggregation parameter, got scalar'],
  ['foo and on(a) group_left bar', '1:1: parse error: no grouping allowed for "and" operation'],
  ['foo * on(a) group_left(a) bar', '1:5: parse error: label "a" must not occur in ON and GROUP clause at once'],
  ['1 + on(a) foo', '1:1: parse error: vector matching only allowed between instant vectors'],
  ['foo[5m] + 1', '1:1: parse error: binary expression must contain only scalar and instant vector types'],
  ['sum by (a', '1:10: parse error: unclosed left parenthesis'],
  ['sum by (a b) (x)', '1:11: parse error: unexpected identifier "b" in grouping opts, expected "," or ")"'],
  ['foo offset', '1:11: parse error: unexpected end of input in offset, expected number, duration, step(), or range()'],
  ['foo @ bar', '1:7: parse error: unexpected identifier "bar" in @, expected timestamp'],
  ['foo bar', '1:5: parse error: unexpected identifier "bar"'],
  ['foo\n  + on', '2:7: parse error: unexpected end of input in grouping opts, expected "("'],
];

describe('parse errors', () => {
  for (const [q, msg] of ERRORS) {
    test(JSON.stringify(q), () => {
      assert.throws(
        () => parseExpr(q),
        (err: unknown) => {
          assert.ok(err instanceof PromQLParseError);
          assert.equal(err.message, msg);
          assert.equal(err.status, 400);
          assert.equal(err.code, 'MS_ERR_PROMQL_PARSE');
          assert.equal(err.reason, 'bad_request');
          return true;
        },
      );
    });
  }
});

test('experimental functions can be disabled', () => {
  assert.equal(parseExpr('mad_over_time(foo[5m])').type, 'Call');
  assert.throws(() => parseExpr('mad_over_time(foo[5m])', { enableExperimentalFunctions: false }), /function "mad_over_time" is not enabled/);
  assert.throws(() => parseExpr('step()', { enableExperimentalFunctions: false }), /unknown function with name "step"/);
  assert.equal(exprType(parseExpr('step() * 2')), 'scalar');
  assert.equal(parseExpr('limitk(1, foo)').type, 'AggregateExpr');
  assert.throws(() => parseExpr('limitk(1, foo)', { enableExperimentalFunctions: false }), /are experimental/);
});

test('positions are character offsets', () => {
  const e = parseExpr('sum(rate(foo{a="b"}[5m])) + 1') as Extract<Expr, { type: 'BinaryExpr' }>;
  assert.deepEqual(e.pos, { start: 0, end: 29 });
  assert.deepEqual(e.lhs.pos, { start: 0, end: 25 });
  assert.deepEqual(e.rhs.pos, { start: 28, end: 29 });
  const err = (() => {
    try {
      parseExpr('foo + bar[5m]');
    } catch (x) {
      return x as PromQLParseError;
    }
    throw new Error('no error');
  })();
  assert.deepEqual(err.position, { start: 6, end: 13 });
});

test('exprType', () => {
  const cases: [string, string][] = [
    ['1', 'scalar'], ['"a"', 'string'], ['foo', 'vector'], ['foo[5m]', 'matrix'], ['foo[5m:]', 'matrix'],
    ['-(1)', 'scalar'], ['1 + foo', 'vector'], ['1 + 2', 'scalar'], ['time()', 'scalar'], ['abs(foo)', 'vector'],
    ['sum(foo)', 'vector'], ['scalar(foo)', 'scalar'],
  ];
  for (const [q, t] of cases) assert.equal(exprType(parseExpr(q)), t, q);
});

test('durations', () => {
  const cases: [string, number][] = [
    ['0', 0], ['100ms', 100], ['5m', 300000], ['1h30m', 5400000], ['1d', 86400000], ['1w', 604800000],
    ['1y', 31536000000], ['2h45m30s100ms', 9930100],
  ];
  for (const [s, ms] of cases) assert.equal(parseDurationMs(s), ms, s);
  for (const bad of ['', '5', '1m1h', '1.5h', '-1m', '1x']) assert.throws(() => parseDurationMs(bad), bad);
  assert.equal(formatDurationMs(5400000), '1h30m');
  assert.equal(formatDurationMs(90 * 86400000), '90d');
  assert.equal(formatDurationMs(0), '0s');
  assert.equal(formatDurationMs(1500), '1s500ms');
});
