import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DuckDBInstance } from '@duckdb/node-api';
import { groupBySeries, readSeriesSamples } from './sample-reader.ts';

/** the chain columns of rows whose `value` is stored as is */
const PLAIN = '0::DOUBLE, 0::DOUBLE, -1::TINYINT, false';

test('groups by series, sorts out-of-order rows, keeps the last write of a duplicate timestamp', () => {
  const ids = Int32Array.from([2, 1, 2, 1, 2, 2]);
  const ts = Float64Array.from([20, 10, 10, 30, 20, 5]);
  const vs = Float64Array.from([1, 2, 3, 4, 5, 6]);
  const st = Uint8Array.from([0, 0, 0, 1, 0, 0]);
  const g = groupBySeries(ids, ts, vs, st, ids.length);
  assert.deepEqual(
    g.map((s) => ({ id: s.id, t: [...s.t], v: [...s.v], stale: s.stale && [...s.stale] })),
    [
      { id: 1, t: [10, 30], v: [2, 4], stale: [0, 1] },
      { id: 2, t: [5, 10, 20], v: [6, 3, 5], stale: null },
    ],
  );
});

test('reads typed columns from a real DuckDB result across several chunks', async () => {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const rows = await readSeriesSamples(
    conn,
    `SELECT (i % 3)::INTEGER AS series_id, (i * 1000)::DOUBLE AS t, i / 2 AS value, i = 4999 AS stale, ${PLAIN} FROM range(5000) r(i)`,
  );
  assert.deepEqual(
    rows.map((r) => r.id),
    [0, 1, 2],
  );
  assert.equal(
    rows.reduce((n, r) => n + r.t.length, 0),
    5000,
  );
  const s1 = rows[1]!;
  assert.equal(s1.t[0], 1000);
  assert.equal(s1.v[0], 0.5);
  assert.equal(rows[1]!.stale![rows[1]!.t.length - 1], 1, '4999 % 3 = 1 is the stale row');
  assert.equal(rows[0]!.stale, null);
  conn.closeSync();
  db.closeSync();
});
