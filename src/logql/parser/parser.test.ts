import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Expr, LabelFilterExpr, LogSelectorExpr, RangeAggregationExpr } from '../ast.ts';
import { formatLogQL, LogQLParseError, parseLogQL } from './index.ts';

const DIR = fileURLToPath(new URL('../../../../shared/conformance/logql/', import.meta.url));

const stripPos = (e: unknown): string => JSON.stringify(e, (k, v: unknown) => (k === 'pos' ? undefined : v));

function assertRoundTrip(q: string): Expr {
  const e = parseLogQL(q);
  const text = formatLogQL(e);
  assert.equal(stripPos(parseLogQL(text)), stripPos(e), `${q}\n  formatted as ${text}`);
  return e;
}

function parseError(q: string): LogQLParseError {
  try {
    parseLogQL(q);
  } catch (e) {
    assert.ok(e instanceof LogQLParseError, `${q}: ${String(e)}`);
    assert.equal(e.status, 400);
    assert.equal(e.code, 'MS_ERR_LOGQL_PARSE');
    return e;
  }
  assert.fail(`${q}: parsed`);
}

test("every recorded Loki query parses (or fails with Loki's exact message) and round-trips", (t) => {
  if (!existsSync(DIR)) {
    if (process.env.CI === 'true') assert.fail(`conformance data missing: ${DIR}`);
    t.skip(`conformance data missing: ${DIR}`);
    return;
  }
  const queries = JSON.parse(readFileSync(`${DIR}queries.json`, 'utf8')) as { id: string; query: string }[];
  let parsed = 0;
  let errors = 0;
  for (const q of queries) {
    const expected = JSON.parse(readFileSync(`${DIR}expected/${q.id}.json`, 'utf8')) as {
      status: number;
      error?: string;
    };
    if (expected.status === 400 && expected.error?.startsWith('parse error')) {
      assert.equal(parseError(q.query).message, expected.error, q.id);
      errors++;
    } else {
      assertRoundTrip(q.query);
      parsed++;
    }
  }
  assert.ok(parsed > 100 && errors >= 9, `parsed ${parsed}, errors ${errors}`);
});

const messages: [string, string][] = [
  // recorded by Loki 3.4.6
  ['{job="api"', 'parse error at line 1, col 11: syntax error: unexpected $end, expecting } or ,'],
  [
    '-sum(count_over_time({job="cron"}[1h]))',
    'parse error at line 1, col 2: syntax error: unexpected SUM, expecting NUMBER',
  ],
  ['{job="api"} |= ', 'parse error at line 1, col 16: syntax error: unexpected $end, expecting STRING or ip'],
  ['count_over_time({job="api"})', 'parse error at line 1, col 28: syntax error: unexpected )'],
  ['{job="api"} | json | unwrap status', 'parse error at line 1, col 22: syntax error: unexpected unwrap'],
  ['count_over_time({job="api"}[5x])', 'parse error at line 0, col 28: unknown unit "x" in duration "5x"'],
  ['sum by (job) ({job="api"})', 'parse error at line 1, col 26: syntax error: unexpected )'],
  // Loki's grammar in other places
  ['{', 'parse error at line 1, col 2: syntax error: unexpected $end, expecting IDENTIFIER or }'],
  ['{job}', 'parse error at line 1, col 5: syntax error: unexpected }, expecting = or =~ or !~ or !='],
  ['{job=5}', 'parse error at line 1, col 6: syntax error: unexpected NUMBER, expecting STRING'],
  ['{job="a",}', 'parse error at line 1, col 10: syntax error: unexpected }, expecting IDENTIFIER'],
  [
    '{job="a"}\n  |= 5',
    'parse error at line 2, col 6: syntax error: unexpected NUMBER, expecting STRING or ip',
  ],
  [
    '{job="a"} |= "x" or 5',
    'parse error at line 1, col 21: syntax error: unexpected NUMBER, expecting STRING or ip',
  ],
  [
    '{job="a"} | regexp 5',
    'parse error at line 1, col 20: syntax error: unexpected NUMBER, expecting STRING',
  ],
  [
    '{job="a"} | label_format a=5',
    'parse error at line 1, col 28: syntax error: unexpected NUMBER, expecting IDENTIFIER or STRING',
  ],
  ['{job="a"} | foo', 'parse error at line 1, col 16: syntax error: unexpected $end'],
  [
    '{job="a"} | foo =~ 5',
    'parse error at line 1, col 20: syntax error: unexpected NUMBER, expecting STRING',
  ],
  ['{job="a"} | unwrap x', 'parse error at line 1, col 13: syntax error: unexpected unwrap'],
  [
    'rate({job="a"} | unwrap 5 [1m])',
    'parse error at line 1, col 25: syntax error: unexpected NUMBER, expecting IDENTIFIER or BYTES_CONV or DURATION_CONV or DURATION_SECONDS_CONV',
  ],
  ['rate({job="a"}[1m] 5)', 'parse error at line 1, col 20: syntax error: unexpected NUMBER, expecting )'],
  [
    'rate({job="a"}[1m] offset 5)',
    'parse error at line 1, col 27: syntax error: unexpected NUMBER, expecting DURATION',
  ],
  ['sum by (job) 5', 'parse error at line 1, col 14: syntax error: unexpected NUMBER, expecting ('],
  [
    'sum by (job (rate({job="a"}[1m]))',
    'parse error at line 1, col 13: syntax error: unexpected (, expecting , or )',
  ],
  ['vector(x)', 'parse error at line 1, col 8: syntax error: unexpected IDENTIFIER, expecting NUMBER'],
  ['{job="a"} |= "x', 'parse error at line 1, col 14: literal not terminated'],
  ['{job="a"} |= "\\q"', 'parse error at line 1, col 14: invalid char escape'],
  ['rate({job="a"}[1m', "parse error at line 0, col 15: missing closing ']' in duration"],
  ['rate({job="a"}[1m30])', 'parse error at line 0, col 15: not a valid duration string: "1m30"'],
  ['1 +', 'parse error at line 1, col 4: syntax error: unexpected $end'],
  // validation after the grammar
  ['sum_over_time({job="api"}[5m])', 'parse error : invalid aggregation sum_over_time without unwrap'],
  [
    'count_over_time({job="api"} | json | unwrap x [20m])',
    'parse error : invalid aggregation count_over_time with unwrap',
  ],
  ['topk(count_over_time({job="api"}[5m]))', 'parse error : parameter required for operation topk'],
  [
    'topk(0, count_over_time({job="api"}[5m]))',
    'parse error : invalid parameter (must be greater than 0) topk(0',
  ],
  ['sum(2, count_over_time({job="api"}[5m]))', 'parse error : unsupported parameter for operation sum(2,'],
  [
    'quantile_over_time({job="api"} | unwrap x [5m])',
    'parse error : parameter required for operation quantile_over_time',
  ],
  [
    'sum_over_time({job="api"} | unwrap x [5m]) by (a)',
    'parse error : grouping not allowed for sum_over_time aggregation',
  ],
  [
    'sort by (a) (count_over_time({job="api"}[5m]))',
    "parse error : sort and sort_desc doesn't allow grouping by ",
  ],
  [
    '{job=~".*"}',
    'parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will',
  ],
  [
    '{job!="x"} |= "a"',
    'parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will',
  ],
  [
    '{job="api"} |~ "(unclosed"',
    'parse error : stage \'|~ "(unclosed"\' : error parsing regexp: missing closing ): `(unclosed`',
  ],
  [
    '{job="api"} |= "a" |~ "(x"',
    'parse error : stage \'|= "a" |~ "(x"\' : error parsing regexp: missing closing ): `(x`',
  ],
  ['{job=~"(x"}', 'parse error : error parsing regexp: missing closing ): `(x`'],
  [
    '{job="a"} + 1',
    'parse error : unexpected type for left leg of binary operation (+): *syntax.MatchersExpr',
  ],
  [
    '1 + {job="a"} |= "x"',
    'parse error : unexpected type for right leg of binary operation (+): *syntax.PipelineExpr',
  ],
  [
    '1 and vector(1)',
    'parse error : unexpected literal for left leg of logical/set binary operation (and): 1.000000',
  ],
  [
    '{job="a"} | regexp "(a)"',
    'parse error : stage \'| regexp "(a)"\' : at least one named capture must be supplied',
  ],
];

test("syntax and validation errors read exactly as Loki's", () => {
  for (const [q, want] of messages) assert.equal(parseError(q).message, want, q);
});

test('errors carry the offset of what is wrong', () => {
  assert.equal(parseError('{job="api"').pos, 10);
  assert.equal(parseError('{job="a"}\n  |= 5').pos, 15);
  assert.equal(parseError('{a="b"} |= "ошибка" |= 5').pos, 23);
  // Loki's lexer makes `sum` an identifier unless `(` or `by (` follows
  assert.equal(
    parseError('sum by job (x)').message,
    'parse error at line 1, col 1: syntax error: unexpected IDENTIFIER',
  );
  assert.equal(
    parseError('{a="ü"} |= 5').message,
    'parse error at line 1, col 12: syntax error: unexpected NUMBER, expecting STRING or ip',
  );
  assert.equal(parseError('x'.repeat(6000)).message, 'parse error : input size too long (6000 > 5120)');
});

const roundTrips = [
  '{job="api", env!="x", host=~"a.+", pod!~"b"}',
  '{job="a"} |= "x" != "y" |~ `(?i)err` !~ "z" |> "<_> a" !> "b"',
  '{job="a"} |= "a" or "b" or ip("10.0.0.0/8")',
  '{job="a"} | json | logfmt --strict --keep-empty a, b="c" | regexp "(?P<x>.)" | pattern "<x> <_>" | unpack',
  '{job="a"} | json a, b="x.y", c="tags[0]"',
  '{job="a"} | x > 1.5 | y >= -2 | d < 250ms | d2 <= 1h30m | s == 1KiB | s2 != 1MB | s3 > 3B',
  '{job="a"} | a="1" and b!="2" or c=~"3" , d!~"4" e="5" | (f="6" or g="7") and h="8"',
  '{job="a"} | addr = ip("10.0.0.1") | addr2 != ip("::1")',
  '{job="a"} | line_format "{{.x}}" | label_format a=b, c="{{.d}}" | drop a, b="1", c=~"x" | keep d, e!="2" | decolorize',
  'sum by (host) (rate({job="a"} | json | unwrap bytes(size) | __error__="" [5m] offset 1h))',
  'avg_over_time({job="a"} | unwrap duration_seconds(d) [1m]) without (a, b)',
  'max_over_time({job="a"} | unwrap duration(d) [1m]) by ()',
  'rate({job="a"}[1m] offset 5m | json | unwrap x)',
  'rate(({job="a"} | json)[1m])',
  'rate(({job="a"}[1m]))',
  'count_over_time({job="a"} | json | x="y" [1d])',
  'quantile_over_time(0.99, {job="a"} | unwrap x [1m]) by (job)',
  'topk by (env) (3, sum(count_over_time({job="a"}[1h])))',
  'bottomk(2, count_over_time({job="a"}[1h])) by (job)',
  'sum without (a) (count_over_time({job="a"}[1h])) / on (a) group_left (b) sum(count_over_time({job="a"}[1h]))',
  'sum(rate({job="a"}[1m])) > bool ignoring (x) group_right sum(rate({job="a"}[1m]))',
  'sum(rate({job="a"}[1m])) and sum(rate({job="a"}[1m])) or vector(1) unless vector(2)',
  'label_replace(rate({job="a"}[1m]), "dst", "$1", "src", "(.*)")',
  'sort_desc(rate({job="a"}[1m])) ^ 2 ^ 3',
  'first_over_time({job="a"} | unwrap x [1m]) - last_over_time({job="a"} | unwrap x [1m])',
  'absent_over_time({job="a"} | unwrap x [1m])',
  'rate_counter({job="a"} | logfmt x | unwrap x [1m]) % 3',
  'bytes_rate({job="a"}[1m]) * -1 + bytes_over_time({job="a"}[1m])',
  'stddev(stdvar_over_time({job="a"} | unwrap x [1m])) / stdvar(stddev_over_time({job="a"} | unwrap x [1m]))',
  'min(min_over_time({job="a"} | unwrap x [1m])) + max(count(avg(sum_over_time({job="a"} | unwrap x [1m]))))',
  '{job="a"} # a comment\n |= "x"',
  'SUM(RATE({job="a"}[1m])) BY (job)',
];

test('every construct parses and formats back to the same tree', () => {
  for (const q of roundTrips) assertRoundTrip(q);
});

test('the tree holds what the query says', () => {
  const sel = parseLogQL('{job="a"} != "x" or "y" | s > 1KiB | d > 1.5s | n == 2') as LogSelectorExpr;
  // a negative filter with alternatives is one filter per alternative, as in Loki
  assert.deepEqual(
    sel.pipeline.slice(0, 2).map((s) => s.type === 'LineFilter' && s.values),
    [[{ kind: 'string', value: 'x' }], [{ kind: 'string', value: 'y' }]],
  );
  const filters = sel.pipeline.slice(2).map((s) => (s.type === 'LabelFilter' ? s.filter : null));
  assert.deepEqual(
    filters.map((f) => f && { ...f, pos: undefined }),
    [
      { kind: 'bytes', name: 's', op: '>', value: 1024, pos: undefined },
      { kind: 'duration', name: 'd', op: '>', valueNs: 1.5e9, pos: undefined },
      { kind: 'number', name: 'n', op: '==', value: 2, pos: undefined },
    ],
  );
  const r = parseLogQL(
    'max_over_time({job="a"} | json | unwrap bytes(size) | x="" [5m] offset 1h) by (job)',
  ) as RangeAggregationExpr;
  assert.equal(r.rangeMs, 300_000);
  assert.equal(r.offsetMs, 3_600_000);
  assert.equal(r.unwrap?.conversion, 'bytes');
  assert.equal(r.unwrap?.label, 'size');
  assert.equal(r.unwrap?.postFilters.length, 1);
  assert.deepEqual(r.grouping, { without: false, labels: ['job'] });
  assert.deepEqual(parseLogQL('1 + 2 * 3 ^ 2 ^ 0.5'), {
    type: 'Literal',
    value: 1 + 2 * 3 ** (2 ** 0.5),
    pos: { start: 0, end: 19 },
  });
  const lf = (parseLogQL('{a="b"} | a="1" , b="2" or c="3"') as LogSelectorExpr).pipeline[0];
  const shape = (f: LabelFilterExpr): unknown =>
    f.kind === 'binary'
      ? [shape(f.left), f.op, shape(f.right)]
      : f.kind === 'string'
        ? f.matcher.name
        : f.kind;
  assert.ok(lf?.type === 'LabelFilter');
  assert.deepEqual(shape(lf.filter), ['a', 'and', ['b', 'or', 'c']]);
});

test('parsing is linear: a long query parses quickly and deep nesting does not blow up', () => {
  const q = `{job="a"}${' |= "x"'.repeat(700)}`;
  assert.equal((parseLogQL(q) as LogSelectorExpr).pipeline.length, 700);
  const nested = `${'('.repeat(500)}1${')'.repeat(500)}`;
  assert.equal((parseLogQL(nested) as { value: number }).value, 1);
});
