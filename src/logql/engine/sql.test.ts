import assert from 'node:assert/strict';
import { DuckDBInstance } from '@duckdb/node-api';
import { test } from 'node:test';
import type { Matcher } from '../ast.ts';
import { matcherSql, selectorSql, streamLabelSql } from './sql.ts';

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
