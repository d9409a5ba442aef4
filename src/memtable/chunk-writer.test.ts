import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BIGINT,
  BLOB,
  BOOLEAN,
  DOUBLE,
  DuckDBDataChunk,
  DuckDBInstance,
  INTEGER,
  VARCHAR,
} from '@duckdb/node-api';
import { fillChunk, MillisAsNanos, type ChunkColumnKind } from './chunk-writer.ts';

test('fillChunk writes every kind, NULLs and raw UTF-8 bytes, and a row window', async () => {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  await conn.run('CREATE TABLE t (i BIGINT, n INTEGER, d DOUBLE, b BOOLEAN, s VARCHAR, x BLOB)');
  const kinds: ChunkColumnKind[] = ['BIGINT', 'INTEGER', 'DOUBLE', 'BOOLEAN', 'VARCHAR', 'BLOB'];
  const rows = 70; // spans two 64-bit validity words
  const cols: unknown[][] = [
    Array.from({ length: rows }, (_, i) => (i % 3 === 0 ? null : BigInt(i) * 10_000_000_000n)),
    Array.from({ length: rows }, (_, i) => (i % 4 === 0 ? undefined : -i)),
    Array.from({ length: rows }, (_, i) => (i % 5 === 0 ? null : i / 4)),
    Array.from({ length: rows }, (_, i) => (i % 6 === 0 ? null : i % 2 === 0)),
    Array.from({ length: rows }, (_, i) =>
      i % 7 === 0 ? null : i % 2 === 0 ? `s${i}é` : new TextEncoder().encode(`b${i}ü`),
    ),
    Array.from({ length: rows }, (_, i) => (i === 69 ? null : new Uint8Array([i, 0, 255]))),
  ];
  const start = 2;
  const end = rows;
  const appender = await conn.createAppender('t');
  const chunk = DuckDBDataChunk.create([BIGINT, INTEGER, DOUBLE, BOOLEAN, VARCHAR, BLOB], end - start);
  fillChunk(chunk, kinds, cols, start, end, () => assert.fail('no nested columns here'));
  appender.appendDataChunk(chunk);
  appender.closeSync();
  const got = (await conn.runAndReadAll('SELECT * FROM t')).getRowsJS();
  assert.equal(got.length, end - start);
  got.forEach((row, k) => {
    const i = k + start;
    assert.equal(row[0], i % 3 === 0 ? null : BigInt(i) * 10_000_000_000n, `i row ${i}`);
    assert.equal(row[1], i % 4 === 0 ? null : -i, `n row ${i}`);
    assert.equal(row[2], i % 5 === 0 ? null : i / 4, `d row ${i}`);
    assert.equal(row[3], i % 6 === 0 ? null : i % 2 === 0, `b row ${i}`);
    assert.equal(row[4], i % 7 === 0 ? null : i % 2 === 0 ? `s${i}é` : `b${i}ü`, `s row ${i}`);
    assert.deepEqual(
      row[5] === null ? null : [...(row[5] as Uint8Array)],
      i === 69 ? null : [i, 0, 255],
      `x row ${i}`,
    );
  });
  conn.closeSync();
  db.closeSync();
});

test('millisecond timestamps become exact int64 nanoseconds without BigInt, incl. the fallback', async () => {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  await conn.run('CREATE TABLE t (ts BIGINT)');
  const ms = Float64Array.from([0, 1, 1_700_000_000_123, 4_294_967_296, 9_199_999_999_999, -5, 1.5]);
  const appender = await conn.createAppender('t');
  const chunk = DuckDBDataChunk.create([BIGINT], ms.length);
  fillChunk(chunk, ['BIGINT'], [new MillisAsNanos(ms)], 0, ms.length, () => assert.fail('no nested columns'));
  appender.appendDataChunk(chunk);
  appender.closeSync();
  const got = (await conn.runAndReadAll('SELECT ts FROM t')).getRowsJS().map((r) => r[0]);
  assert.deepEqual(
    got,
    [...ms].map((m) => BigInt(Math.round(m)) * 1_000_000n),
  );
  conn.closeSync();
  db.closeSync();
});

test('a column that is NULL or one shared string on every row of the window is written as a constant', async () => {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  await conn.run(
    'CREATE TABLE t (i BIGINT, n INTEGER, s VARCHAR, label VARCHAR, short VARCHAR, absent VARCHAR)',
  );
  const kinds: ChunkColumnKind[] = ['BIGINT', 'INTEGER', 'VARCHAR', 'VARCHAR', 'VARCHAR', 'VARCHAR'];
  const rows = 40;
  const cols: (readonly unknown[])[] = [
    Array.from({ length: rows }, (_, i) => (i < 10 ? BigInt(i) : null)),
    Array.from({ length: rows }, () => undefined),
    Array.from({ length: rows }, (_, i) => `line ${i}`),
    // one label for rows 10..39, another before: the window [10, 40) sees a single value
    Array.from({ length: rows }, (_, i) => (i < 10 ? 'stream-a' : 'stream-b')),
    Array.from({ length: rows }, (_, i) => (i < 35 ? 'x' : 'y')),
    [], // a column the batch does not have
  ];
  const appender = await conn.createAppender('t');
  for (const [start, end] of [
    [0, 10],
    [10, 40],
  ] as const) {
    const chunk = DuckDBDataChunk.create([BIGINT, INTEGER, VARCHAR, VARCHAR, VARCHAR, VARCHAR], end - start);
    fillChunk(chunk, kinds, cols, start, end, () => assert.fail('no nested columns here'));
    appender.appendDataChunk(chunk);
  }
  appender.closeSync();
  const got = (await conn.runAndReadAll('SELECT * FROM t')).getRowsJS();
  assert.equal(got.length, rows);
  got.forEach((row, i) => {
    assert.deepEqual(
      row,
      [
        i < 10 ? BigInt(i) : null,
        null,
        `line ${i}`,
        i < 10 ? 'stream-a' : 'stream-b',
        i < 35 ? 'x' : 'y',
        null,
      ],
      `row ${i}`,
    );
  });
  conn.closeSync();
  db.closeSync();
});
