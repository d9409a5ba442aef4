import assert from 'node:assert/strict';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { before, describe, it } from 'node:test';
import { VALUE_FUNCTIONS } from './metric/range-functions.ts';
import { READ_LINES, type SampleAggregate, type WindowRow } from './metric/pushdown-types.ts';
import { unitsOf, windowsOfBuckets } from './sample-windows.ts';
import {
  bucketWidthNs,
  windowAggregateSql,
  windowBoundsSql,
  windowsPerSample,
  type WindowGrid,
} from './sample-windows-sql.ts';

let conn: DuckDBConnection;
before(async () => {
  conn = await (await DuckDBInstance.create(':memory:')).connect();
});

const ORIGIN = 1_767_225_600_000_000_000n;

/** The windows of a sample at r = ts - origin, straight from the definition `i*step < r <= i*step + range`. */
function windowsOf(r: number, g: { step: number; range: number; count: number }): number[] {
  const out = [];
  for (let i = 0; i < g.count; i++) if (i * g.step < r && r <= i * g.step + g.range) out.push(i);
  return out;
}

describe('window bounds', () => {
  it('every sample of the read span lands in exactly the windows of the definition', async () => {
    for (const [step, range, count] of [
      [60, 60, 5],
      [60, 180, 5],
      [60, 30, 5],
      [60, 90, 4],
      [7, 20, 9],
      [0, 300, 1],
    ] as const) {
      const g: WindowGrid = {
        originNs: ORIGIN,
        stepNs: BigInt(step),
        rangeNs: BigInt(range),
        windowCount: count,
      };
      const lastEnd = (count - 1) * step + range;
      const { first, last } = windowBoundsSql('ts', g);
      const rows = (
        await conn.runAndReadAll(
          `SELECT r, ${first}, ${last} FROM (SELECT r, ${ORIGIN} + r AS ts FROM range(1, ${lastEnd + 1}) t(r)) ORDER BY r`,
        )
      ).getRows();
      for (const [r, lo, hi] of rows) {
        const want = windowsOf(Number(r), { step, range, count });
        const got = [];
        for (let i = Number(lo); i <= Number(hi); i++) got.push(i);
        assert.deepEqual(got, want, `step ${step} range ${range}: r=${String(r)}`);
      }
      assert.ok(
        windowsPerSample(g) >= Math.max(...rows.map((x) => Number(x[2]) - Number(x[1]) + 1)),
        'windowsPerSample bounds the copies of a sample',
      );
    }
  });
});

describe('window aggregates', () => {
  // one label set, samples at r (ns after the origin), two streams (src) tied at r = 30
  const samples = [
    { r: 10, v: 3, src: 1 },
    { r: 20, v: 1.5, src: 1 },
    { r: 30, v: 4, src: 1 },
    { r: 30, v: -2, src: 2 },
    { r: 45, v: 10, src: 2 },
    { r: 60, v: 7.25, src: 1 },
    { r: 75, v: 0.1, src: 2 },
  ];
  const g: WindowGrid = { originNs: ORIGIN, stepNs: 20n, rangeNs: 40n, windowCount: 4 };
  const rowsSql = `SELECT true AS __s, 'x' AS __l0, ${ORIGIN} + r AS _timestamp, 0::BIGINT AS __part, k::BIGINT AS __row, src::UBIGINT AS __src, v::DOUBLE AS __x FROM (VALUES ${samples
    .map((s, k) => `(${s.r}, ${s.v}, ${s.src}, ${k})`)
    .join(', ')}) t(r, v, src, k)`;
  const run = async (agg: SampleAggregate, q = 0.5) =>
    new Map(
      (await conn.runAndReadAll(windowAggregateSql(rowsSql, 1, g, agg, q)))
        .getRows()
        .map((r) => [Number(r[1]), r.slice(2)] as const),
    );

  const OPS: [SampleAggregate, keyof typeof VALUE_FUNCTIONS][] = [
    ['sum', 'sum_over_time'],
    ['avg', 'avg_over_time'],
    ['min', 'min_over_time'],
    ['max', 'max_over_time'],
    ['stdvar', 'stdvar_over_time'],
    ['quantile', 'quantile_over_time'],
    ['first', 'first_over_time'],
  ];

  /** The line path's value of window i of the grid over `samples`, and how many samples it has. */
  function lineValue(op: keyof typeof VALUE_FUNCTIONS, grid: WindowGrid, i: number, q: number) {
    const step = Number(grid.stepNs);
    const inWindow = samples.filter((s) =>
      windowsOf(s.r, { step, range: Number(grid.rangeNs), count: grid.windowCount }).includes(i),
    );
    const value = VALUE_FUNCTIONS[op]!({
      ts: inWindow.map((s) => s.r),
      values: inWindow.map((s) => s.v),
      lo: 0,
      hi: inWindow.length,
      rangeMs: 0,
      param: q,
    });
    return { count: inWindow.length, value };
  }

  const near = (got: number, want: number, what: string) =>
    assert.ok(Math.abs(got - want) <= 1e-12 * Math.abs(want), `${what}: ${got}, want ${want}`);

  it('sum, avg, min, max, stdvar and quantile equal the line path functions per window', async () => {
    for (const [agg, op] of OPS.filter(([a]) => a !== 'first')) {
      const got = await run(agg, 0.9);
      for (let i = 0; i < g.windowCount; i++) {
        const want = lineValue(op, g, i, 0.9);
        const row = got.get(i)!;
        assert.equal(Number(row[2]), want.count, `${agg} window ${i}: samples`);
        near(row[4] as number, want.value, `${agg} window ${i}`);
      }
    }
  });

  it('windows combined from buckets equal the line path functions (but quantile)', async () => {
    for (const grid of [
      g,
      { ...g, stepNs: 30n, rangeNs: 20n, windowCount: 3 },
      { ...g, stepNs: 0n, rangeNs: 80n, windowCount: 1 },
    ]) {
      for (const [agg, op] of OPS.filter(([a]) => a !== 'quantile')) {
        const units = unitsOf(
          (await conn.runAndReadAll(windowAggregateSql(rowsSql, 1, grid, agg, 0, 'buckets'))).getRows(),
          ['x'],
        );
        assert.notEqual(units, READ_LINES);
        if (units === READ_LINES) return;
        const rows = windowsOfBuckets(units, { aggregate: agg, ...grid } as never, bucketWidthNs(grid));
        const what = `${agg} step ${grid.stepNs}`;
        // first: window 1 starts at the tie between two streams (r = 30): not answered
        if (agg === 'first' && grid.stepNs === 20n) {
          assert.equal(rows, null);
          continue;
        }
        assert.ok(rows, what);
        for (let i = 0; i < grid.windowCount; i++) {
          const want = lineValue(op, grid, i, 0);
          const row: WindowRow | undefined = rows.find((r) => r.window === i);
          if (want.count === 0) assert.equal(row, undefined, `${what} window ${i}`);
          else near(row!.value, want.value, `${what} window ${i}`);
        }
      }
    }
  });

  it('first and last take the sample by position and flag ties between streams', async () => {
    const first = await run('first');
    const last = await run('last');
    // window 0 = (0, 40]: the first sample is r=10; the last is at r=30, where two streams tie
    assert.equal(first.get(0)![4], 3);
    assert.equal(first.get(0)![6], first.get(0)![7]);
    assert.notEqual(last.get(0)![6], last.get(0)![7]);
    // window 1 = (20, 60]: first at r=30 (tie), last r=60
    assert.notEqual(first.get(1)![6], first.get(1)![7]);
    assert.equal(last.get(1)![4], 7.25);
    assert.equal(last.get(1)![6], last.get(1)![7]);
  });

  it('counts each line once however many windows hold it, and keeps the first timestamp', async () => {
    const got = await run('max');
    let lines = 0;
    for (const row of got.values()) lines += Number(row[3]);
    assert.equal(lines, samples.length);
    assert.equal(got.get(0)![1], ORIGIN + 10n);
  });
});
