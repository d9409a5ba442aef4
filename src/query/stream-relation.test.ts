import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Catalog, FileRow } from '../catalog/catalog.ts';
import { LocalObjectStore } from '../storage/object-store.ts';
import type { StreamState } from '../write/streams.ts';
import { FIXTURE_ROWS } from '../../test/fixtures/samples/rows.ts';
import { encodedSamplesRelation, streamRelation, type RelationStats } from './stream-relation.ts';
import { encodedSamplesSql, readSeriesSamples } from './sample-reader.ts';

/** The checked-in sample files, one per format version (docs/format/samples.md). */
const FIXTURES = ['format-1', 'format-2'].map((f) =>
  fileURLToPath(new URL(`../../test/fixtures/samples/${f}.parquet`, import.meta.url)),
);

const FIXTURE_DIR = fileURLToPath(new URL('../../test/fixtures/samples/', import.meta.url));
/** A catalog listing the fixture files, in a real local store rooted at their directory. */
const deps = (paths: string[]) => ({
  catalog: {
    listFiles: () =>
      Promise.resolve(
        paths.map((p, i) => ({ id: `f${i}`, key: relative(FIXTURE_DIR, p), bytes: 0 }) as unknown as FileRow),
      ),
  } as unknown as Catalog,
  store: new LocalObjectStore(FIXTURE_DIR),
});
const stream = { type: 'metrics', name: '_samples', org: 'o' } as unknown as StreamState;
const stats = (): RelationStats => ({ files_scanned: 0, bytes_read: 0, memtable_rows: 0 });
const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

/** Rows expected in [fromMs, toMs), by series. */
const expected = (fromMs: number, toMs: number) => FIXTURE_ROWS.filter(([, t]) => t >= fromMs && t < toMs);

/** `got` rows [series, t ms, value, stale] equal `want`, values bit for bit (NaN as NaN). */
function assertRows(
  got: readonly (readonly [number, number, number, boolean])[],
  want: typeof FIXTURE_ROWS,
): void {
  assert.equal(got.length, want.length);
  got.forEach((row, k) => {
    assert.deepEqual([row[0], row[1], row[3]], [want[k]![0], want[k]![1], want[k]![3]]);
    assert.ok(same(row[2], want[k]![2]), `row ${k}: ${row[2]} vs ${want[k]![2]}`);
  });
}

const T_FIRST = FIXTURE_ROWS[0]![1];
// a start inside the chain window: the read must begin at the window start and drop the head
const RANGES: [number, number][] = [
  [T_FIRST, T_FIRST + 3_600_000],
  [T_FIRST + 170_000, T_FIRST + 950_000],
];

for (const [i, path] of FIXTURES.entries()) {
  test(`SQL reads the format-${i + 1} fixture exactly (metrics._samples)`, async () => {
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    for (const [from, to] of RANGES) {
      const rel = await streamRelation(
        deps([path]),
        stream,
        [],
        BigInt(from) * 1_000_000n,
        BigInt(to) * 1_000_000n,
        stats(),
      );
      const r = await conn.runAndReadAll(
        `SELECT series_id::INTEGER, (_timestamp // 1000000)::DOUBLE, value, stale FROM (${rel}) ORDER BY 1, 2`,
      );
      assertRows(r.getRows() as [number, number, number, boolean][], expected(from, to));
    }
    conn.closeSync();
    db.closeSync();
  });

  test(`the PromQL reader decodes the format-${i + 1} fixture exactly`, async () => {
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    for (const [from, to] of RANGES) {
      const rel = await encodedSamplesRelation(
        deps([path]),
        stream,
        [],
        BigInt(from) * 1_000_000n,
        BigInt(to) * 1_000_000n,
        stats(),
      );
      const series = await readSeriesSamples(conn, encodedSamplesSql(rel, ''), from);
      assertRows(
        series.flatMap((s) => [...s.t].map((t, k) => [s.id, t, s.v[k]!, s.stale?.[k] === 1] as const)),
        expected(from, to),
      );
    }
    conn.closeSync();
    db.closeSync();
  });
}
