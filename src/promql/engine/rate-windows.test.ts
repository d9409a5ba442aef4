import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Call } from '../ast.ts';
import { parseExpr } from '../parser/index.ts';
import { extrapolatedRate } from '../functions/rate.ts';
import { Labels } from '../labels.ts';
import type { StoredSeries } from '../storage.ts';
import { RateWindows, rateWindowSelector } from './rate-windows.ts';
import { selectRange } from './selectors.ts';
import { prng } from '../../wal/wal-test-helpers.ts';

/** Counters with resets, gaps, jittered times and staleness markers. */
function series(n: number, seed: number, name: string): StoredSeries[] {
  const r = prng(seed);
  return Array.from({ length: n }, (_, k) => {
    const t: number[] = [];
    const v: number[] = [];
    const stale: number[] = [];
    let time = Math.floor(r() * 20_000);
    let value = r() * 100;
    for (let i = 0; i < 400; i++) {
      time += r() < 0.05 ? 120_000 : 5_000 + Math.floor(r() * 10_000);
      value = r() < 0.03 ? r() * 5 : value + r() * 10; // a reset now and then
      t.push(time);
      v.push(value);
      stale.push(r() < 0.02 ? 1 : 0);
    }
    return {
      labels: Labels.fromRecord({ __name__: name, instance: `i${k}` }),
      t: Float64Array.from(t),
      v: Float64Array.from(v),
      stale: Uint8Array.from(stale),
    };
  });
}

for (const [query, isCounter, isRate] of [
  ['rate(m[5m])', true, true],
  ['increase(m_total[90s] offset 1m)', true, false],
  ['delta((m[10m]))', false, false],
] as const) {
  test(`${query}: the index-window path gives the generic path's values, bit for bit`, () => {
    const call = parseExpr(query) as Call;
    const sel = rateWindowSelector(call);
    assert.ok(sel, 'the fast path applies');
    const data = series(20, 7, query.includes('m_total') ? 'm_total' : 'm');
    const fast = new RateWindows(() => data);
    const m = sel;
    // forward steps, then a jump back (a subquery re-evaluates earlier times)
    const steps = [...Array.from({ length: 150 }, (_, i) => 30_000 + i * 15_000), 400_000, 60_000];
    let compared = 0;
    for (const t of steps) {
      const end = t - m.vector.offsetMs;
      const windows = selectRange(data, end, m.rangeMs);
      const want = windows.flatMap((w) => {
        const v = extrapolatedRate(w.points, end - m.rangeMs, end, isCounter, isRate);
        return v === undefined ? [] : [{ key: w.metric.key, v }];
      });
      const got = fast.eval(call, t)!;
      assert.deepEqual(
        got.samples.map((s) => ({ key: s.metric.key, v: s.v })),
        want,
        `step ${t}`,
      );
      assert.equal(
        got.points,
        windows.reduce((n, w) => n + w.points.t.length, 0),
      );
      for (const s of got.samples) assert.equal(s.t, t);
      compared += want.length;
    }
    assert.ok(compared > 1000, `compared ${compared} values`);
  });
}

test('rate of a name without a counter suffix carries Prometheus’ info annotation; _total does not', () => {
  const plain = parseExpr('rate(m[5m])') as Call;
  const total = parseExpr('rate(m_total[5m])') as Call;
  const a = new RateWindows(() => series(2, 1, 'm')).eval(plain, 200_000)!;
  assert.deepEqual(
    a.annotations.map((x) => x.message),
    [
      'PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "m" (1:6)',
    ],
  );
  assert.deepEqual(new RateWindows(() => series(2, 1, 'm_total')).eval(total, 200_000)!.annotations, []);
});

test('calls the path does not take: other functions, @ modifiers, subqueries', () => {
  for (const q of ['irate(m[5m])', 'rate(m[5m] @ 100)', 'rate(m[5m:1m])', 'max_over_time(m[5m])'])
    assert.equal(rateWindowSelector(parseExpr(q) as Call), null, q);
});
