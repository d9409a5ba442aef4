import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { levelKey, type AttrColumn, type SpanStreamView } from '../span-reader.ts';
import type { ValueType } from '../../write/column-batch.ts';
import type { StreamState } from '../../write/streams.ts';
import { parseTraceQL, STRUCTURAL } from './parser.ts';
import { fieldCond, sqlLiteral, traceCondition, traceCondSql } from './pushdown.ts';

/** a stream view with these attribute columns (`attr.k`, `resource.k`, `attr.k::int`) */
function view(
  cols: [string, AttrColumn['level'], string, ValueType][],
  overflow: string[] = [],
): SpanStreamView {
  const byKey = new Map<string, AttrColumn[]>();
  const attrs = cols.map(([column, level, key, valueType]) => ({ column, level, key, valueType }));
  for (const a of attrs)
    byKey.set(levelKey(a.level, a.key), [...(byKey.get(levelKey(a.level, a.key)) ?? []), a]);
  const ov = new Map<string, ValueType[]>(overflow.map((k) => [levelKey('span', k), ['str']]));
  return { stream: {} as StreamState, attrs, byKey, overflow: ov };
}

const V = view([
  ['attr.http.status_code', 'span', 'http.status_code', 'int'],
  ['attr.amount', 'span', 'amount', 'float'],
  ['attr.flag', 'span', 'flag', 'bool'],
  ['attr.code', 'span', 'code', 'str'],
  ['attr.code::int', 'span', 'code', 'int'],
  ['resource.service.name', 'resource', 'service.name', 'str'],
  ['attr.blob', 'span', 'blob', 'bytes'],
]);
/** the span condition of a single spanset `{ … }` over one stream (null: no span can match) */
const where = (q: string, v = V) => {
  const root = parseTraceQL(q).root;
  assert.ok(root.k === 'filter' && root.cond !== null, q);
  const c = fieldCond(root.cond, v);
  return c === false ? null : c === true ? 'TRUE' : c;
};
/** the trace condition with "some span satisfies c" written `any(c)`, as one stream sees it */
const traceWhere = (q: string, v = V) => {
  const tc = traceCondition(parseTraceQL(q));
  if (tc === undefined) return undefined;
  return traceCondSql(tc, (w) => {
    const c = w(v);
    return c === null ? 'FALSE' : c === 'TRUE' ? 'TRUE' : `any(${c})`;
  });
};

test('pushed: intrinsics and typed attributes', () => {
  assert.equal(where('{ resource.service.name = "api" }'), `"resource.service.name" = 'api'`);
  assert.equal(
    where('{ resource.service.name = "api" && name = "POST /api/checkout" }'),
    `("resource.service.name" = 'api') AND ("name" = 'POST /api/checkout')`,
  );
  assert.equal(where('{ duration > 150ms }'), '"duration_ns" > 150000000');
  assert.equal(where('{ span.http.status_code = 500 }'), '"attr.http.status_code" = 500');
  assert.equal(where('{ status = error && kind = server }'), '("status_code" = 2) AND ("kind" = 2)');
  // a string literal against a key stored as string and as int: only the string column
  assert.equal(where('{ .code = "x" }'), `"attr.code" = 'x'`);
  assert.equal(where('{ span.code = 7 }'), '"attr.code::int" = 7');
  assert.equal(where('{ span.flag = true || name = "a" }'), `("attr.flag" = TRUE) OR ("name" = 'a')`);
});

test('left out when unsure; a stream without the attribute is skipped', () => {
  // no int/float coercion: an int literal never matches a double column (nor a float an int one)
  assert.equal(where('{ span.amount > 900 }'), null);
  assert.equal(where('{ span.http.status_code = 500.0 }'), null);
  assert.equal(where('{ span.missing = "x" && name = "a" }'), null);
  // a negation of a missing attribute, a duration against an attribute, nil, string order,
  // bytes, overflow: TRUE (the evaluator decides)
  assert.equal(where('{ span.missing != "x" }'), 'TRUE');
  assert.equal(where('{ span.http.status_code > 1s }'), 'TRUE');
  assert.equal(where('{ span.code != nil }'), 'TRUE');
  assert.equal(where('{ name > "m" }'), 'TRUE');
  assert.equal(where('{ span.blob = "x" }'), 'TRUE');
  assert.equal(where('{ span.ov = "x" }', view([], ['ov'])), 'TRUE');
  assert.equal(where('{ name !~ "a.*" }'), 'TRUE');
});

test('trace conditions: && and structural operators need both sides, || either, pipelines their head', () => {
  assert.equal(traceWhere('{ name = "a" }'), `any("name" = 'a')`);
  assert.equal(traceWhere('{ name = "a" } && { name = "b" }'), `(any("name" = 'a')) AND (any("name" = 'b'))`);
  assert.equal(traceWhere('{ name = "a" } || { name = "b" }'), `(any("name" = 'a')) OR (any("name" = 'b'))`);
  for (const op of STRUCTURAL)
    assert.equal(
      traceWhere(`{ name = "a" } ${op} { name = "b" }`),
      `(any("name" = 'a')) AND (any("name" = 'b'))`,
      op,
    );
  // a pipeline: its head, and its { … } stages on the same spans
  assert.equal(
    traceWhere('{ resource.service.name = "api" && name = "POST /api/checkout" } | count() > 1'),
    `any(("resource.service.name" = 'api') AND ("name" = 'POST /api/checkout'))`,
  );
  assert.equal(traceWhere('{ name = "a" } | { kind = server }'), `any(("name" = 'a') AND ("kind" = 2))`);
  assert.equal(
    traceWhere('({ name = "a" } && { name = "b" }) | by(name) | { kind = server }'),
    `((any("name" = 'a')) AND (any("name" = 'b'))) AND (any("kind" = 2))`,
  );
  assert.equal(traceWhere('{ } | { name = "a" }'), `any("name" = 'a')`);
  // constants fold: a side no stream can match, a side that narrows nothing
  assert.equal(traceWhere('{ span.missing = "x" } || { name = "b" }'), `any("name" = 'b')`);
  assert.equal(traceWhere('{ span.missing = "x" } && { name = "b" }'), 'FALSE');
  assert.equal(traceWhere('{ } && { name = "b" }'), `any("name" = 'b')`);
  assert.equal(traceWhere('{ } || { name = "b" }'), 'TRUE');
  assert.equal(traceWhere('{ name > "m" } && { name = "b" }'), `any("name" = 'b')`);
  // nothing narrows: every trace of the window is a candidate
  assert.equal(traceWhere('{ }'), undefined);
  assert.equal(traceWhere('{ } | count() > 3'), undefined);
  assert.equal(traceWhere('{ true } >> { }'), 'TRUE');
});

test('string literals and regexps are escaped; DuckDB reads them back exactly', async () => {
  assert.equal(sqlLiteral(`it's`), `'it''s'`);
  const tricky = [`it's`, `a\\'b`, `''`, `back\\slash`, `new\nline`, `é ☃ 😀`, `"; DROP TABLE t; --`];
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    await conn.run(`CREATE TABLE t (name VARCHAR, "attr.code" VARCHAR)`);
    for (const s of tricky) await conn.run(`INSERT INTO t VALUES (${sqlLiteral(s)}, ${sqlLiteral(s)})`);
    const count = async (sql: string) =>
      Number((await conn.runAndReadAll(`SELECT count(*) AS n FROM t WHERE ${sql}`)).getRowObjectsJS()[0]!.n);
    for (const s of tricky) {
      const q = `{ name = ${JSON.stringify(s)} && span.code = ${JSON.stringify(s)} }`;
      assert.equal(await count(where(q)!), 1, q);
    }
    // regexps are fully anchored (RE2), backslashes and quotes pass through
    const re = (r: string) => where(`{ name =~ ${JSON.stringify(r)} }`)!;
    assert.equal(re(`it's`), `regexp_full_match("name", 'it''s')`);
    assert.equal(await count(re(`it's`)), 1);
    assert.equal(await count(re(`it`)), 0);
    assert.equal(await count(re(`back\\\\slash`)), 1);
    assert.equal(await count(re(`a\\\\'b`)), 1);
    assert.equal(await count(re(`.*\\bDROP\\b.*`)), 1);
    assert.equal(await count(re(`\\p{So} ?.*`)), 0);
    assert.equal(await count(re(`é.*`)), 1);
  } finally {
    conn.closeSync();
  }
});
