import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { FlatJsonSplitter, parseShape, shapeId, shapeText, ShapeSet, splitFlatJson } from './json-columns.ts';

/** Either split exactly (the parts give the line back) or kept (null). */
function roundTrip(line: string): boolean {
  const s = splitFlatJson(line);
  if (s === null) return false;
  let out = s.pieces[0]!;
  s.values.forEach((v, i) => (out += v + s.pieces[i + 1]!));
  assert.equal(out, line);
  const shape = parseShape(shapeText(s.pieces));
  assert.deepEqual(shape.keys, s.keys);
  return true;
}

test('flat objects are split into pieces and raw values', () => {
  const s = splitFlatJson('{"level":"info","status":200,"d":1.50,"ok":true,"x":null,"e":""}');
  assert.deepEqual(s?.keys, ['level', 'status', 'd', 'ok', 'x', 'e']);
  assert.deepEqual(s?.values, ['info', '200', '1.50', 'true', 'null', '']);
  assert.equal(s?.pieces[0], '{"level":"');
  assert.equal(s?.pieces[1], '","status":');
  assert.equal(s?.pieces.at(-1), '"}');
  const shape = parseShape(shapeText(s.pieces));
  assert.deepEqual(shape.strings, [true, false, false, false, false, true]);
});

test('odd but valid lines are split exactly', () => {
  for (const line of [
    '{ "a" : "b" , "c":1 }',
    '  {"a":"b"}\t',
    '{"a":"b"}\n',
    '{"a":-0,"b":1e3,"c":-1.25E-7,"d":0.0}',
    '{"msg":"héllo wörld ✓ 😀","k":"日本"}',
    '{"a":"\u2028"}',
    `{"long":"${'x'.repeat(60000)}"}`,
    '{"_a":"","b_2":" "}',
  ]) {
    assert.equal(roundTrip(line), true, line);
  }
});

test('other lines keep their body', () => {
  for (const line of [
    '',
    '{}',
    '[1,2]',
    'plain text',
    '{"a":"b\\"c"}', // escape
    '{"a":"b\\u00e9"}',
    '{"a\\u0062":"x"}',
    '{"a":{"b":1}}', // nested
    '{"a":[1]}',
    '{"a":1,"a":2}', // duplicate key
    '{"a-b":1}', // not column-like
    '{"1a":1}',
    '{"":1}',
    '{"a":01}', // invalid numbers
    '{"a":1.}',
    '{"a":.5}',
    '{"a":+1}',
    '{"a":1e}',
    '{"a":NaN}',
    '{"a":tru}',
    '{"a":"x\ty"}', // raw control character
    '{"a":"b",}', // trailing comma
    '{"a":"b"} x', // trailing text
    '{"a":"b"',
    '{"a":"b',
    `{"long":"${'x'.repeat(70000)}"}`,
    `{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',')}}`,
  ]) {
    assert.equal(roundTrip(line), false, line);
  }
});

test('FlatJsonSplitter gives each line the values and the shape splitFlatJson gives it', () => {
  const lines = [
    '{"level":"info","status":200}',
    '{"ab":1}',
    '{"cd":1}', // the same piece lengths as the line before, other keys
    '{"level":"warn","status":404}',
    '{"cd":22}',
    '{"a":1,"a":2}', // duplicate key: kept, and so is every line of that shape
    '{"a":3,"a":4}',
    'plain text',
    '{ "ab" : 1 }',
    '{"level":"info","status":200,"x":true}',
  ];
  const splitter = new FlatJsonSplitter(128, 64);
  const values: string[] = [];
  for (const line of lines) {
    const want = splitFlatJson(line);
    const si = splitter.split(line, values);
    if (want === null) {
      assert.equal(si, -1, line);
      continue;
    }
    assert.ok(si >= 0, line);
    assert.equal(splitter.shapes[si], shapeText(want.pieces), line);
    assert.deepEqual(values, want.values, line);
  }
  assert.equal(splitter.shapes.length, 5);
  assert.deepEqual([...splitter.keys].sort(), ['ab', 'cd', 'level', 'status', 'x']);
});

test('FlatJsonSplitter keeps the body of lines past its limits of shapes and keys', () => {
  const splitter = new FlatJsonSplitter(2, 3);
  const values: string[] = [];
  assert.equal(splitter.split('{"a":1,"b":2}', values), 0);
  assert.equal(splitter.split('{"c":1}', values), 1);
  assert.equal(splitter.split('{"d":1}', values), -1, 'a third shape');
  const keys = new FlatJsonSplitter(8, 3);
  assert.equal(keys.split('{"a":1,"b":2}', values), 0);
  assert.equal(keys.split('{"c":1,"d":2}', values), -1, 'a fourth key');
  assert.equal(keys.split('{"a":1,"c":2}', values), 1);
});

test('shape ids are stable and distinct', () => {
  const a = shapeId('{"a":"\u0000"}');
  assert.equal(a, shapeId('{"a":"\u0000"}'));
  assert.notEqual(a, shapeId('{"a":\u0000}'));
  assert.ok(Number.isSafeInteger(a) && a >= 0);
});

test('the SQL rebuild gives every line back byte for byte', async () => {
  const lines = [
    '{"level":"info","status":200,"d":1.50}',
    '{ "level" : "warn" ,"msg":"it\'s \u00e9 😀", "n":null }',
    '{"status":-0,"ok":false,"e":""}',
  ];
  const splits = lines.map((l) => splitFlatJson(l)!);
  const set = ShapeSet.of([splits.map((s) => shapeText(s.pieces))]);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const cols = set.columns();
    await conn.run(
      `CREATE TABLE t (i INTEGER, body VARCHAR, _json_shape BIGINT, ${cols.map((c) => `"${c}" VARCHAR`).join(', ')})`,
    );
    for (const [i, s] of splits.entries()) {
      const vals = cols.map((c) => {
        const k = s.keys.indexOf(c.slice(5));
        return k < 0 ? 'NULL' : `'${s.values[k]!.replace(/'/g, "''")}'`;
      });
      await conn.run(
        `INSERT INTO t VALUES (${i}, NULL, ${shapeId(shapeText(s.pieces))}, ${vals.join(', ')})`,
      );
    }
    await conn.run(`INSERT INTO t (i, body) VALUES (9, 'kept')`);
    const r = await conn.runAndReadAll(
      `SELECT ${set.bodySql()}, ${set.valueJsonSql('status')}, ${set.valueJsonSql('level')}, ${set.valueJsonSql('nope')} FROM t ORDER BY i`,
    );
    const rows = r.getRows();
    assert.deepEqual(
      rows.map((x) => x[0]),
      [...lines, 'kept'],
    );
    assert.deepEqual(
      rows.map((x) => x[1]),
      ['200', null, '-0', null],
    );
    assert.deepEqual(
      rows.map((x) => x[2]),
      ['"info"', '"warn"', null, null],
    );
    assert.deepEqual(
      rows.map((x) => x[3]),
      [null, null, null, null],
    );
    // contains on split rows (from the columns) = contains on the rebuilt line
    for (const needle of [
      'info',
      'level',
      'lev',
      '200',
      '00',
      '-0',
      "it's",
      '😀',
      'x',
      'kept',
      'nul',
      ' ',
      '"info"',
      'n":',
      '50',
      'e"',
    ]) {
      const q = (w: string) => `SELECT list(i ORDER BY i) FROM t WHERE ${w}`;
      const fast = await conn.runAndReadAll(q(set.containsSql(needle)));
      const slow = await conn.runAndReadAll(q(`contains(${set.bodySql()}, '${needle.replace(/'/g, "''")}')`));
      assert.deepEqual(fast.getRows(), slow.getRows(), needle);
    }
  } finally {
    conn.closeSync();
  }
});
