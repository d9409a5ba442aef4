import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MoleError } from '../../lib/errors.ts';
import type { FunctionImpl } from '../functions/types.ts';
import { Labels } from '../labels.ts';
import { parseExpr } from '../parser/index.ts';
import type { Sample } from '../value.ts';
import { instantQuery, PromQLExecError, PromQLTimeoutError, rangeQuery } from './index.ts';
import { MemoryQueryable } from './memory-queryable.ts';
import { instant, MIN, range } from './test-helpers.ts';

const q = new MemoryQueryable([
  MemoryQueryable.every(MIN, { __name__: 'm', a: '2' }, [0, 2, 4, 6]),
  MemoryQueryable.every(MIN, { __name__: 'm', a: '1' }, [0, 1, 2, 3]),
  MemoryQueryable.every(MIN, { __name__: 'n', a: '1' }, [null, null, 7]),
]);

test('range query: series sorted by labels, one point per step with a sample', async () => {
  const r = await rangeQuery(q, parseExpr('m'), 0, 3 * MIN, MIN);
  assert.equal(r.value.type, 'matrix');
  if (r.value.type !== 'matrix') return;
  assert.deepEqual(
    r.value.series.map((s) => s.metric.toString()),
    ['m{a="1"}', 'm{a="2"}'],
  );
  assert.deepEqual(await range(q, 'n', 0, 3 * MIN, MIN), {
    'n{a="1"}': [
      [2 * MIN, 7],
      [3 * MIN, 7],
    ],
  });
  assert.deepEqual(await range(q, 'm{a="1"} + n', 0, 4 * MIN, 2 * MIN), {
    '{a="1"}': [
      [2 * MIN, 9],
      [4 * MIN, 10],
    ],
  });
});

test('range query of a scalar expression gives one series without labels', async () => {
  assert.deepEqual(await range(q, '1 + 2', 0, 2 * MIN, MIN), {
    '{}': [
      [0, 3],
      [MIN, 3],
      [2 * MIN, 3],
    ],
  });
});

test('instant query value types', async () => {
  assert.deepEqual((await instantQuery(q, parseExpr('"hello"'), 5000)).value, { type: 'string', t: 5000, s: 'hello' });
  assert.deepEqual((await instantQuery(q, parseExpr('-(2)'), 5000)).value, { type: 'scalar', t: 5000, v: -2 });
  const m = await instantQuery(q, parseExpr('m[1m]'), 2 * MIN);
  assert.equal(m.value.type, 'matrix');
});

test('range query rejects range vectors and strings, and bad steps', async () => {
  await assert.rejects(rangeQuery(q, parseExpr('m[1m]'), 0, MIN, MIN), /invalid expression type "range vector" for range query/);
  await assert.rejects(rangeQuery(q, parseExpr('"x"'), 0, MIN, MIN), /invalid expression type "string"/);
  await assert.rejects(rangeQuery(q, parseExpr('m'), 0, MIN, 0), PromQLExecError);
});

const fakeFns = new Map<string, FunctionImpl>([
  [
    'timestamp',
    {
      name: 'timestamp',
      call: (args) => {
        const a = args[0];
        if (a?.type !== 'vector') throw new Error('vector expected');
        return a.samples.map((s): Sample => ({ metric: s.metric.withoutName(), t: s.t, v: s.t / 1000 }));
      },
    },
  ],
  [
    'count_over_time',
    {
      name: 'count_over_time',
      call: (args, ctx) => {
        const a = args[0];
        if (a?.type !== 'matrix') throw new Error('matrix expected');
        ctx.annotations.push({ level: 'info', message: 'counted' });
        return a.series.map((s): Sample => ({ metric: s.metric.withoutName(), t: ctx.t, v: s.points.t.length }));
      },
    },
  ],
  ['pi', { name: 'pi', call: () => Math.PI }],
]);

test('functions: arguments shaped per step, timestamp() sees original sample times, annotations deduplicated', async () => {
  const opts = { functions: fakeFns };
  assert.deepEqual(await instant(q, 'timestamp(m{a="1"})', 90_000, opts), { '{a="1"}': 60 });
  assert.deepEqual(await instant(q, 'timestamp((m{a="1"}))', 90_000, opts), { '{a="1"}': 60 });
  assert.deepEqual(await instant(q, 'timestamp(m{a="1"} * 1)', 90_000, opts), { '{a="1"}': 90 });
  assert.deepEqual(await instant(q, 'pi()', 0, opts), { scalar: Math.PI });
  const r = await rangeQuery(q, parseExpr('count_over_time(m[2m])'), MIN, 3 * MIN, MIN, opts);
  assert.deepEqual(r.annotations, [{ level: 'info', message: 'counted' }]);
  assert.deepEqual(await range(q, 'count_over_time(m{a="1"}[2m])', MIN, 3 * MIN, MIN, opts), {
    '{a="1"}': [
      [MIN, 2],
      [2 * MIN, 2],
      [3 * MIN, 2],
    ],
  });
  await assert.rejects(instantQuery(q, parseExpr('abs(m)'), 0, opts), /function "abs" is not available/);
});

test('duration functions read the query bounds', async () => {
  assert.deepEqual(await range(q, 'step() + range() + start() + end()', 10_000, 30_000, 10_000), {
    '{}': [
      [10_000, 10 + 20 + 10 + 30],
      [20_000, 70],
      [30_000, 70],
    ],
  });
  assert.deepEqual(await instant(q, 'max_of(1, 2) - min_of(1, 2)', 0), { scalar: 1 });
});

test('maxSamples bounds the samples held in memory', async () => {
  await assert.rejects(
    rangeQuery(q, parseExpr('m'), 0, 3 * MIN, MIN, { maxSamples: 5 }),
    /query processing would load too many samples into memory in query execution/,
  );
  await assert.rejects(instantQuery(q, parseExpr('m[5m]'), 3 * MIN, { maxSamples: 7 }), PromQLExecError);
  await rangeQuery(q, parseExpr('m'), 0, 3 * MIN, MIN, { maxSamples: 8 });
});

test('timeout between steps', async () => {
  const slow = new MemoryQueryable([]);
  const select = slow.select.bind(slow);
  slow.select = async (...args) => {
    await new Promise((r) => setTimeout(r, 20));
    return select(...args);
  };
  await assert.rejects(rangeQuery(slow, parseExpr('m'), 0, 3 * MIN, MIN, { timeoutMs: 5 }), PromQLTimeoutError);
});

test('info() adds data labels of target_info as of the base samples reference time', async () => {
  const qi = new MemoryQueryable([
    MemoryQueryable.every(MIN, { __name__: 'up', instance: 'a', job: 'j' }, [1, 1, 1, 1]),
    MemoryQueryable.every(MIN, { __name__: 'target_info', instance: 'a', job: 'j', v: 'old' }, [1, 1, 'stale']),
    MemoryQueryable.every(MIN, { __name__: 'target_info', instance: 'a', job: 'j', v: 'new' }, [null, null, 1, 1]),
  ]);
  assert.deepEqual(await instant(qi, 'info(up)', 3 * MIN), { 'up{instance="a", job="j", v="new"}': 1 });
  assert.deepEqual(await instant(qi, 'info(up @ 60)', 3 * MIN), { 'up{instance="a", job="j", v="old"}': 1 });
  assert.deepEqual(await instant(qi, 'info(up offset 2m)', 3 * MIN), { 'up{instance="a", job="j", v="old"}': 1 });
  assert.deepEqual(await instant(qi, 'info(up, {v=~"x.+"})', 3 * MIN), {});
});

test('sort functions warn in range queries; annotations are deduplicated across steps', async () => {
  const fns = new Map<string, FunctionImpl>([
    ['sort', { name: 'sort', call: (args) => (args[0]?.type === 'vector' ? args[0].samples : []) }],
  ]);
  const r = await rangeQuery(q, parseExpr('sum(sort(m))'), 0, 3 * MIN, MIN, { functions: fns });
  assert.deepEqual(r.annotations, [
    {
      level: 'warn',
      message: 'PromQL warning: sort is ineffective for range queries since results are always ordered by labels (1:5)',
    },
  ]);
  const i = await instantQuery(q, parseExpr('sort(m)'), 0, { functions: fns });
  assert.deepEqual(i.annotations, []);
});

test('function failures become execution errors; duplicate output label sets fail', async () => {
  const fns = new Map<string, FunctionImpl>([
    [
      'label_replace',
      {
        name: 'label_replace',
        call: () => {
          throw new MoleError('bad regex', { code: 'X', status: 400, reason: 'bad_request' });
        },
      },
    ],
    [
      'abs',
      {
        name: 'abs',
        call: (args) => (args[0]?.type === 'vector' ? args[0].samples.map((s) => ({ ...s, metric: Labels.EMPTY })) : []),
      },
    ],
  ]);
  await assert.rejects(instantQuery(q, parseExpr('label_replace(m, "a", "b", "c", "(")'), 0, { functions: fns }), (e: unknown) => {
    return e instanceof PromQLExecError && e.message === 'bad regex';
  });
  await assert.rejects(instantQuery(q, parseExpr('abs(m)'), 0, { functions: fns }), /vector cannot contain metrics with the same labelset/);
  await assert.rejects(rangeQuery(q, parseExpr('abs(m)'), 0, MIN, MIN, { functions: fns }), /same labelset/);
});
