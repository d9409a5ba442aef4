import assert from 'node:assert/strict';
import { DuckDBInstance } from '@duckdb/node-api';
import { test } from 'node:test';
import type { PipelineStage } from '../ast.ts';
import { parseLogQL } from '../parser/index.ts';
import { mapLabelColumns } from './labels-mapping.ts';
import { pushdownRowsSql, pushdownSql } from './pushdown-sql.ts';
import { ShapeSet, shapeText, splitFlatJson } from '../../storage/json-columns.ts';

const mapping = mapLabelColumns(['_timestamp', 'body', 'resource.job', "resource.it's", 'attr.trace_id']);

function plan(q: string) {
  const e = parseLogQL(q) as unknown as {
    selector: { matchers: never[]; pipeline: PipelineStage[] };
    grouping: null;
    unwrap: never;
  };
  return pushdownSql(
    {
      matchers: e.selector.matchers,
      pipeline: e.selector.pipeline,
      grouping: { without: false, labels: ['status', 'job'] },
      ...(e.unwrap ? { unwrap: e.unwrap } : {}),
    },
    mapping,
  );
}

test('label values, line filters and regexps are quoted as SQL strings and run in DuckDB', async () => {
  const p = plan(
    `count_over_time({job="a'b", job=~"x'|y.*"} |= "it's" |~ "\\\\d+'" | json | status="o'k" [1m])`,
  );
  assert.ok(p);
  const conn = await (await DuckDBInstance.create(':memory:')).connect();
  const rel = `SELECT 'a''b' AS "resource.job", NULL::VARCHAR AS "resource.it's", NULL::VARCHAR AS "attr.trace_id", 1::BIGINT AS _timestamp, '{"status":"o''k","x":"it''s 12''"}' AS body`;
  const sql = `SELECT ${p.labels.map((l) => l.sql).join(', ')}, __s, ${p.keep.join(' AND ')} FROM (${pushdownRowsSql(rel, p)})`;
  const rows = (await conn.runAndReadAll(sql)).getRows();
  // job=~"x'|y.*" does not match a'b: no row
  assert.equal(rows.length, 0);
  const p2 = plan(`count_over_time({job="a'b"} |= "it's" |~ "\\\\d+'" | json | status="o'k" [1m])`)!;
  const sql2 = `SELECT ${p2.labels.map((l) => l.sql).join(', ')}, __s, ${p2.keep.join(' AND ')} FROM (${pushdownRowsSql(rel, p2)})`;
  assert.deepEqual((await conn.runAndReadAll(sql2)).getRows(), [["o'k", "a'b", true, true]]);
});

test('shapes SQL does not compute exactly are declined', () => {
  for (const q of [
    'count_over_time({job="a"} | logfmt [1m])',
    'count_over_time({job="a"} | json | line_format "{{.x}}" [1m])',
    'count_over_time({job="a"} | json a="b.c" [1m])',
    'count_over_time({job="a"} | json | status > 200 [1m])',
    'count_over_time({job="a"} |= ip("10.0.0.1") [1m])',
    'sum_over_time({job="a"} | json | unwrap duration(d) [1m])',
    'count_over_time({job="a"} | json | drop x [1m])',
  ]) {
    assert.equal(plan(q), null, q);
  }
  assert.ok(plan('count_over_time({job="a"} |= "x" != "y" |~ "z" | job="a" [1m])'));
});

test('line filters over JSON columns: rows that store their line are filtered on body alone', async () => {
  const shapes = ShapeSet.of([[shapeText(splitFlatJson('{"level":"error","n":1}')!.pieces)]]);
  const cols = mapLabelColumns(['_timestamp', 'body', 'resource.job', '_json_shape', 'json.level', 'json.n']);
  const e = parseLogQL('count_over_time({job="a"} |= "error" != "warn" |~ "e.r" [1m])') as unknown as {
    selector: { matchers: never[]; pipeline: PipelineStage[] };
  };
  const p = pushdownSql(
    { matchers: e.selector.matchers, pipeline: e.selector.pipeline, grouping: null },
    cols,
    shapes,
  )!;
  assert.ok(p.whereStored && p.whereSplit);
  assert.ok(!p.whereStored.join(' ').includes('json.'), 'the stored branch reads no json.* column');
  const id = [...shapes.byId.keys()][0]!;
  const rel =
    `SELECT * FROM (VALUES (1::BIGINT, 'an error here', 'a', NULL::BIGINT, NULL, NULL), (2, NULL, 'a', ${id}, 'error', '1'),` +
    ` (3, NULL, 'a', ${id}, 'warn', '2'), (4, 'error warn', 'a', NULL, NULL, NULL), (5, NULL, 'a', NULL, NULL, NULL),` +
    ` (6, 'an error', 'b', NULL, NULL, NULL)) AS t(_timestamp, body, "resource.job", _json_shape, "json.level", "json.n")`;
  const conn = await (await DuckDBInstance.create(':memory:')).connect();
  const rows = (
    await conn.runAndReadAll(`SELECT _timestamp FROM (${pushdownRowsSql(rel, p)}) ORDER BY 1`)
  ).getRows();
  // 1: stored, matches; 2: split {"level":"error","n":1} matches; 3: no "error"; 4: has "warn"; 5: no line; 6: job b
  assert.deepEqual(rows, [[1n], [2n]]);
});
