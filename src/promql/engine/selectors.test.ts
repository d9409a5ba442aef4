import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Labels } from '../labels.ts';
import { parseExpr } from '../parser/index.ts';
import { instantQuery, rangeQuery } from './index.ts';
import { MemoryQueryable } from './memory-queryable.ts';
import { seekUpper, upperBound } from './selectors.ts';
import { instant, MIN, range } from './test-helpers.ts';

const q = new MemoryQueryable([
  MemoryQueryable.every(MIN, { __name__: 'm', a: '1' }, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
  MemoryQueryable.every(MIN, { __name__: 'm', a: '2' }, [10, 20, 'stale', null, 40]),
  MemoryQueryable.every(MIN, { __name__: 'other' }, [100]),
]);

test('instant selector: latest sample within the 5m lookback, sample time = step time', async () => {
  assert.deepEqual(await instant(q, 'm', 3.5 * MIN), { 'm{a="1"}': 3 });
  assert.deepEqual(await instant(q, 'm', 1 * MIN), { 'm{a="1"}': 1, 'm{a="2"}': 20 });
  // other has one sample at 0: visible until 5m (exclusive)
  assert.deepEqual(await instant(q, 'other', 4.99 * MIN), { 'other{}': 100 });
  assert.deepEqual(await instant(q, 'other', 5 * MIN), {});
  const r = await instantQuery(q, parseExpr('m{a="1"}'), 90_500);
  assert.equal(r.value.type === 'vector' ? r.value.samples[0]?.t : -1, 90_500);
});

test('staleness marker hides a series until the next sample', async () => {
  assert.deepEqual(await instant(q, 'm{a="2"}', 2 * MIN), {});
  assert.deepEqual(await instant(q, 'm{a="2"}', 3.5 * MIN), {});
  assert.deepEqual(await instant(q, 'm{a="2"}', 4 * MIN), { 'm{a="2"}': 40 });
  assert.deepEqual(await instant(q, 'm{a="2"}[4m]', 4 * MIN), { 'm{a="2"}@60000': 20, 'm{a="2"}@240000': 40 });
});

test('lookbackDeltaMs option', async () => {
  assert.deepEqual(await instant(q, 'other', 2 * MIN, { lookbackDeltaMs: MIN }), {});
  assert.deepEqual(await instant(q, 'other', 0.5 * MIN, { lookbackDeltaMs: MIN }), { 'other{}': 100 });
});

test('offset and @ shift the sample time', async () => {
  assert.deepEqual(await instant(q, 'm{a="1"} offset 2m', 5 * MIN), { 'm{a="1"}': 3 });
  assert.deepEqual(await instant(q, 'm{a="1"} @ 120', 9 * MIN), { 'm{a="1"}': 2 });
  assert.deepEqual(await instant(q, 'm{a="1"} @ 300 offset 1m', 0), { 'm{a="1"}': 4 });
  assert.deepEqual(await instant(q, 'm{a="1"} offset -1m', 5 * MIN), { 'm{a="1"}': 6 });
  assert.deepEqual(await range(q, 'm{a="1"} @ end()', 0, 2 * MIN, MIN), {
    'm{a="1"}': [
      [0, 2],
      [MIN, 2],
      [2 * MIN, 2],
    ],
  });
  assert.deepEqual(await range(q, 'm{a="1"} @ start()', MIN, 2 * MIN, MIN), {
    'm{a="1"}': [
      [MIN, 1],
      [2 * MIN, 1],
    ],
  });
});

test('matrix selector: points in (t - range, t], original times', async () => {
  assert.deepEqual(await instant(q, 'm{a="1"}[2m]', 5 * MIN), { 'm{a="1"}@240000': 4, 'm{a="1"}@300000': 5 });
  assert.deepEqual(await instant(q, 'm{a="1"}[2m] offset 1m', 5 * MIN), { 'm{a="1"}@180000': 3, 'm{a="1"}@240000': 4 });
});

test('subquery: steps aligned to multiples of the step in (t - range, t]', async () => {
  assert.deepEqual(await instant(q, 'm{a="1"}[3m:2m]', 5 * MIN), { 'm{a="1"}@240000': 4 });
  assert.deepEqual(await instant(q, 'm{a="1"}[4m:2m]', 5 * MIN), { 'm{a="1"}@120000': 2, 'm{a="1"}@240000': 4 });
  // default step = noStepSubqueryIntervalMs (1m)
  assert.deepEqual(await instant(q, '(m{a="1"} * 2)[2m:]', 5.5 * MIN), { '{a="1"}@240000': 8, '{a="1"}@300000': 10 });
  assert.deepEqual(await instant(q, '(m{a="1"} * 2)[2m:]', 5.5 * MIN, { noStepSubqueryIntervalMs: 2 * MIN }), {
    '{a="1"}@240000': 8,
  });
  assert.deepEqual(await instant(q, 'm{a="1"}[2m:1m] offset 3m', 5 * MIN), { 'm{a="1"}@60000': 1, 'm{a="1"}@120000': 2 });
  assert.deepEqual(await instant(q, 'm{a="1"}[2m:1m] @ 240', 9 * MIN), { 'm{a="1"}@180000': 3, 'm{a="1"}@240000': 4 });
  // nested
  assert.deepEqual(await instant(q, 'sum_over_time(m{a="1"}[2m:1m])[3m:1m]', 5 * MIN), {
    '{a="1"}@180000': 5,
    '{a="1"}@240000': 7,
    '{a="1"}@300000': 9,
  });
});

test('fetches each selector once with its full time range', async () => {
  const qq = new MemoryQueryable([MemoryQueryable.every(MIN, { __name__: 'x' }, [1])]);
  await rangeQuery(qq, parseExpr('sum_over_time(x[2m:1m] offset 1m)'), 10 * MIN, 20 * MIN, MIN);
  assert.equal(qq.selects.length, 1);
  assert.deepEqual(qq.selects[0], { minT: 10 * MIN - MIN - 2 * MIN - 5 * MIN, maxT: 20 * MIN - MIN });
});

test('hand-built AST without the parser', async () => {
  const r = await instantQuery(
    q,
    {
      type: 'VectorSelector',
      name: 'other',
      matchers: [{ name: '__name__', type: '=', value: 'other' }],
      offsetMs: 0,
      at: null,
      pos: { start: 0, end: 5 },
    },
    0,
  );
  assert.deepEqual(r.value, { type: 'vector', samples: [{ metric: Labels.fromRecord({ __name__: 'other' }), t: 0, v: 100 }] });
});

test('seekUpper finds upperBound from any hint, forward or backward', () => {
  const t = Float64Array.from([10, 20, 20, 30, 40, 50, 60, 70, 80, 90]);
  for (const x of [0, 5, 10, 15, 20, 25, 55, 90, 95])
    for (let hint = 0; hint <= t.length + 2; hint++)
      assert.equal(seekUpper(t, x, hint), upperBound(t, x), `x=${x} hint=${hint}`);
  assert.equal(seekUpper(new Float64Array(0), 1, 0), 0);
});
