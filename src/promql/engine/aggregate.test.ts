import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExpr } from '../parser/index.ts';
import { formatFloat } from './format.ts';
import { kahanSumInc, quantile } from './aggregate.ts';
import { instantQuery, PromQLExecError } from './index.ts';
import { xxhash64 } from './xxhash.ts';
import { MemoryQueryable } from './memory-queryable.ts';
import { instant, MIN } from './test-helpers.ts';

const s = (job: string, inst: string, v: number) => MemoryQueryable.every(MIN, { __name__: 'req', job, inst }, [v]);
const q = new MemoryQueryable([
  s('a', '1', 10),
  s('a', '2', 20),
  s('a', '3', 30),
  s('b', '1', 5),
  s('b', '2', Number.NaN),
  MemoryQueryable.every(MIN, { __name__: 'v', i: '1' }, [1.5]),
  MemoryQueryable.every(MIN, { __name__: 'v', i: '2' }, [1.5]),
  MemoryQueryable.every(MIN, { __name__: 'v', i: '3' }, [1e21]),
  MemoryQueryable.every(MIN, { __name__: 'big', i: '1' }, [1e308]),
  MemoryQueryable.every(MIN, { __name__: 'big', i: '2' }, [1e308]),
]);

test('sum, avg, count, min, max, group with by/without', async () => {
  assert.deepEqual(await instant(q, 'sum by (job) (req{inst!="2"})', 0), { '{job="a"}': 40, '{job="b"}': 5 });
  assert.deepEqual(await instant(q, 'sum without (inst) (req{job="a"})', 0), { '{job="a"}': 60 });
  assert.deepEqual(await instant(q, 'sum(req{job="a"})', 0), { '{}': 60 });
  assert.deepEqual(await instant(q, 'avg by (job) (req{job="a"})', 0), { '{job="a"}': 20 });
  assert.deepEqual(await instant(q, 'count by (job) (req)', 0), { '{job="a"}': 3, '{job="b"}': 2 });
  assert.deepEqual(await instant(q, 'min by (job) (req)', 0), { '{job="a"}': 10, '{job="b"}': 5 });
  assert.deepEqual(await instant(q, 'max by (job) (req)', 0), { '{job="a"}': 30, '{job="b"}': 5 });
  assert.deepEqual(await instant(q, 'group by (job) (req)', 0), { '{job="a"}': 1, '{job="b"}': 1 });
  assert.deepEqual(await instant(q, 'sum by (__name__) (req{job="a"})', 0), { 'req{}': 60 });
  // avg does not overflow where the sum would
  assert.deepEqual(await instant(q, 'avg(big)', 0), { '{}': 1e308 });
  assert.deepEqual(await instant(q, 'sum(big)', 0), { '{}': Infinity });
});

test('stddev and stdvar', async () => {
  const r = await instant(q, 'stdvar(req{job="a"})', 0);
  assert.ok(Math.abs((r['{}'] ?? 0) - 200 / 3) < 1e-9);
  const d = await instant(q, 'stddev(req{job="a"})', 0);
  assert.ok(Math.abs((d['{}'] ?? 0) - Math.sqrt(200 / 3)) < 1e-9);
  assert.ok(Number.isNaN((await instant(q, 'stddev(req{job="b"})', 0))['{}']));
  assert.deepEqual(await instant(q, 'stddev by (inst) (req{job="a"})', 0), {
    '{inst="1"}': 0,
    '{inst="2"}': 0,
    '{inst="3"}': 0,
  });
});

test('topk / bottomk: order, NaN last, labels kept, k from a scalar', async () => {
  const r = await instantQuery(q, parseExpr('topk(2, req)'), 0);
  assert.equal(r.value.type, 'vector');
  if (r.value.type !== 'vector') return;
  assert.deepEqual(
    r.value.samples.map((x) => [x.metric.toString(), x.v]),
    [
      ['req{inst="3", job="a"}', 30],
      ['req{inst="2", job="a"}', 20],
    ],
  );
  assert.deepEqual(await instant(q, 'bottomk by (job) (1, req)', 0), { 'req{inst="1", job="a"}': 10, 'req{inst="1", job="b"}': 5 });
  assert.deepEqual(await instant(q, 'topk by (job) (1, req{job="b"})', 0), { 'req{inst="1", job="b"}': 5 });
  assert.deepEqual(await instant(q, 'topk(0, req)', 0), {});
  assert.equal(Object.keys(await instant(q, 'topk(100, req)', 0)).length, 5);
  assert.equal(Object.keys(await instant(q, 'bottomk(2.9, req)', 0)).length, 2);
});

test('quantile, with a warning outside [0, 1]', async () => {
  assert.deepEqual(await instant(q, 'quantile(0.5, req{job="a"})', 0), { '{}': 20 });
  assert.deepEqual(await instant(q, 'quantile by (job) (0.25, req{job="a"})', 0), { '{job="a"}': 15 });
  const r = await instantQuery(q, parseExpr('quantile(2, req{job="a"})'), 0);
  assert.deepEqual(r.annotations.length, 1);
  assert.match(r.annotations[0]?.message ?? '', /^PromQL warning: quantile value should be between 0 and 1, got 2 \(1:10\)$/);
  assert.equal(quantile(Number.NaN, [1]), Number.NaN);
  assert.equal(quantile(-1, [1]), -Infinity);
  assert.equal(quantile(0, [Number.NaN, 1]), Number.NaN);
});

test('count_values formats values like Go', async () => {
  assert.deepEqual(await instant(q, 'count_values("val", v)', 0), { '{val="1.5"}': 2, '{val="1000000000000000000000"}': 1 });
  assert.deepEqual(await instant(q, 'count_values by (job) ("inst", req{job="a"})', 0), {
    '{inst="10", job="a"}': 1,
    '{inst="20", job="a"}': 1,
    '{inst="30", job="a"}': 1,
  });
  assert.equal(formatFloat(1e-7, 'f'), '0.0000001');
  assert.equal(formatFloat(-0.5, 'f'), '-0.5');
  assert.equal(formatFloat(Infinity, 'f'), '+Inf');
  assert.equal(formatFloat(1234567, 'g'), '1.234567e+06');
  assert.equal(formatFloat(0.00001, 'g'), '1e-05');
  assert.equal(formatFloat(123456, 'g'), '123456');
});

test('limitk and limit_ratio', async () => {
  assert.equal(Object.keys(await instant(q, 'limitk(2, req)', 0)).length, 2);
  assert.equal(Object.keys(await instant(q, 'limitk by (job) (1, req)', 0)).length, 2);
  assert.deepEqual(await instant(q, 'limitk(0, req)', 0), {});
  const all = Object.keys(await instant(q, 'req', 0)).sort();
  const a = Object.keys(await instant(q, 'limit_ratio(0.4, req)', 0));
  const b = Object.keys(await instant(q, 'limit_ratio(-0.6, req)', 0));
  assert.deepEqual([...a, ...b].sort(), all);
  assert.deepEqual(Object.keys(await instant(q, 'limit_ratio(1, req)', 0)).sort(), all);
  assert.deepEqual(await instant(q, 'limit_ratio(0, req)', 0), {});
  const r = await instantQuery(q, parseExpr('limit_ratio(1.5, req)'), 0);
  assert.match(r.annotations[0]?.message ?? '', /ratio value should be between -1 and 1, got 1.5, capping to 1/);
});

test('parameter errors', async () => {
  for (const [query, msg] of [
    ['topk(NaN, req)', 'Parameter value is NaN'],
    ['limitk(NaN, req)', 'Parameter value is NaN'],
    ['limit_ratio(NaN, req)', 'Ratio value is NaN'],
    ['topk(1e300, req)', 'Scalar value 1e+300 overflows int64'],
  ] as const) {
    await assert.rejects(instantQuery(q, parseExpr(query), 0), (e: unknown) => e instanceof PromQLExecError && e.message === msg);
  }
});

test('Kahan summation keeps small addends', () => {
  let sum = 0;
  let c = 0;
  for (const x of [1e16, 1, 1, -1e16]) [sum, c] = kahanSumInc(x, sum, c);
  assert.equal(sum + c, 2);
});

test('xxHash64 known answers (limit_ratio samples as Prometheus does)', () => {
  const e = new TextEncoder();
  assert.equal(xxhash64(e.encode('')).toString(16), 'ef46db3751d8e999');
  assert.equal(xxhash64(e.encode('abc')).toString(16), '44bc2cf5ad770999');
  assert.equal(xxhash64(e.encode('Nobody inspects the spammish repetition')).toString(16), 'fbcea83c8a378bf1');
});
