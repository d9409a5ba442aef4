import assert from 'node:assert/strict';
import { DuckDBInstance } from '@duckdb/node-api';
import { test } from 'node:test';
import type { LineFilterStage, Matcher } from '../ast.ts';
import { lineFilterSql, matcherSql, requiredLiteral, selectorSql, sqlString, streamLabelSql } from './sql.ts';

const VALUES = [null, '', 'nginx', 'app', "a'b", 'x y', 'a.b', 'axb', 'nginx2', 'NGINX', 'é'];

const MATCHERS: Matcher[] = (
  [
    ['=', 'nginx'],
    ['=', "a'b"],
    ['=', ''],
    ['!=', 'nginx'],
    ['=~', 'nginx|app'],
    ['=~', 'nginx|app|nginx'],
    ['=~', 'x y|a-b:c/d@e'],
    ['=~', 'a.b'],
    ['=~', "a'b|app"],
    ['=~', 'nginx|'],
    ['=~', 'ngin(x)'],
    ['!~', 'nginx|app'],
  ] as const
).map(([type, value]) => ({ type, name: 'job', value }));

test('selectorSql: a one-column `=` or word alternation compares the column, with the rows of matcherSql', async () => {
  const conn = await (await DuckDBInstance.create(':memory:')).connect();
  const rows = VALUES.map(
    (v) => `SELECT ${v === null ? 'NULL' : `'${v.replace(/'/g, "''")}'`}::VARCHAR AS "resource.job"`,
  );
  const rel = rows.join(' UNION ALL ');
  for (const m of MATCHERS) {
    const simple = selectorSql(m, ['resource.job']);
    const exact = matcherSql(m, streamLabelSql(['resource.job']));
    const q = (where: string) =>
      `SELECT list("resource.job" ORDER BY "resource.job") FROM (${rel}) WHERE ${where}`;
    const [a, b] = [
      (await conn.runAndReadAll(q(simple))).getRows(),
      (await conn.runAndReadAll(q(exact))).getRows(),
    ];
    assert.deepEqual(a, b, `${m.type}"${m.value}": ${simple}`);
  }
  // the shapes DuckDB pushes into the Parquet scan
  assert.equal(selectorSql(MATCHERS[0]!, ['resource.job']), `"resource.job"::VARCHAR = 'nginx'`);
  assert.equal(selectorSql(MATCHERS[1]!, ['resource.job']), `"resource.job"::VARCHAR = 'a''b'`);
  assert.equal(selectorSql(MATCHERS[5]!, ['resource.job']), `"resource.job"::VARCHAR IN ('nginx', 'app')`);
  // a regexp with metacharacters, a quote, an empty alternative, or several columns: the label value
  for (const m of [MATCHERS[7]!, MATCHERS[8]!, MATCHERS[9]!, MATCHERS[10]!]) {
    assert.equal(selectorSql(m, ['resource.job']), matcherSql(m, streamLabelSql(['resource.job'])));
  }
  assert.equal(
    selectorSql(MATCHERS[0]!, ['resource.job', 'resource.job2']),
    matcherSql(MATCHERS[0]!, streamLabelSql(['resource.job', 'resource.job2'])),
  );
});

test('requiredLiteral: the longest literal run every match holds, null when unsure', () => {
  const cases: [string, string | null][] = [
    ['" 5[0-9][0-9] ', '" 5'],
    ['\\" 5\\d\\d ', '" 5'],
    ['error', 'error'],
    ['ab?cd', 'cd'],
    ['abc*de', 'ab'],
    ['ab+cd', 'ab'],
    ['xy{0,2}zz', 'zz'],
    ['xyz{2}', 'xyz'],
    ['a.b.cde', 'cde'],
    ["it's\\.x", "it's.x"],
    ['[[:alpha:]]+foo]', 'foo]'],
    ['[]a]bcd', 'bcd'],
    ['^GET /api', 'GET /api'],
    ['é€x', 'é€x'],
    ['a|b', null],
    ['(?i)error', null],
    ['(error)', null],
    ['\\x41BC', null],
    ['\\Qa.b\\E', null],
    ['a{x', null],
    ['a', null],
    ['*ab', null],
    ['[ab', null],
  ];
  for (const [re, lit] of cases) assert.equal(requiredLiteral(re), lit, re);
});

test('a line regexp prefiltered by its literal keeps the rows of the regexp alone', async () => {
  const conn = await (await DuckDBInstance.create(':memory:')).connect();
  const lines = [
    'GET / HTTP/1.1" 503 12',
    'GET / HTTP/1.1" 200 12',
    "it's.x",
    'its x',
    'abde',
    'abcccde',
    'ab',
    'xzz',
    'xyyzz',
    '',
    null,
  ];
  const rel = lines
    .map((l) => `SELECT ${l === null ? 'NULL' : sqlString(l)}::VARCHAR AS body`)
    .join(' UNION ALL ');
  for (const re of ['" 5[0-9][0-9] ', "it's\\.x", 'abc*de', 'xy{0,2}zz', 'ab?']) {
    for (const op of ['|~', '!~'] as const) {
      const f = {
        type: 'LineFilter',
        op,
        values: [{ kind: 'string', value: re }],
      } as unknown as LineFilterStage;
      const sql = lineFilterSql(f)!;
      const plain = `${op === '!~' ? 'NOT ' : ''}regexp_matches(COALESCE(body, ''), ${sqlString(re)})`;
      const q = (w: string) => `SELECT list(body ORDER BY body) FROM (${rel}) WHERE ${w}`;
      assert.deepEqual(
        (await conn.runAndReadAll(q(sql))).getRows(),
        (await conn.runAndReadAll(q(plain))).getRows(),
        `${op} ${re}`,
      );
    }
  }
  assert.match(
    lineFilterSql({
      type: 'LineFilter',
      op: '|~',
      values: [{ kind: 'string', value: "it's\\.x" }],
    } as unknown as LineFilterStage)!,
    /contains\(COALESCE\(body, ''\), 'it''s\.x'\)/,
  );
});
