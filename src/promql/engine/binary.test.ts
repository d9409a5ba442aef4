import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExpr } from '../parser/index.ts';
import { goPow, scalarBinop } from './binary.ts';
import { instantQuery, PromQLExecError } from './index.ts';
import { MemoryQueryable } from './memory-queryable.ts';
import { instant, MIN, range } from './test-helpers.ts';

const q = new MemoryQueryable([
  MemoryQueryable.every(MIN, { __name__: 'req', job: 'a', inst: '1' }, [10]),
  MemoryQueryable.every(MIN, { __name__: 'req', job: 'a', inst: '2' }, [20]),
  MemoryQueryable.every(MIN, { __name__: 'req', job: 'b', inst: '1' }, [30]),
  MemoryQueryable.every(MIN, { __name__: 'lim', job: 'a', inst: '1' }, [15]),
  MemoryQueryable.every(MIN, { __name__: 'lim', job: 'a', inst: '2' }, [15]),
  MemoryQueryable.every(MIN, { __name__: 'info', job: 'a', team: 'x' }, [1]),
  MemoryQueryable.every(MIN, { __name__: 'info', job: 'b', team: 'y' }, [1]),
  MemoryQueryable.every(MIN, { __name__: 'dup', l: 'alpha' }, [1]),
  MemoryQueryable.every(MIN, { __name__: 'dup', l: 'beta' }, [2]),
  MemoryQueryable.every(MIN, { __name__: 'one' }, [3]),
  MemoryQueryable.every(MIN, { __name__: 'info2', job: 'a', inst: '9' }, [1]),
  MemoryQueryable.every(10 * MIN, { __name__: 'ma' }, [1, null]),
  MemoryQueryable.every(10 * MIN, { __name__: 'mb' }, [3, 4]),
]);

async function fails(query: string, msg: string | RegExp): Promise<void> {
  await assert.rejects(instantQuery(q, parseExpr(query), 0), (e: unknown) => {
    assert.ok(e instanceof PromQLExecError, String(e));
    if (typeof msg === 'string') assert.equal(e.message, msg);
    else assert.match(e.message, msg);
    assert.equal(e.status, 422);
    assert.equal(e.code, 'MS_ERR_PROMQL_EXEC');
    return true;
  });
}

test('scalar arithmetic: Go semantics of %, ^, division by zero', async () => {
  assert.deepEqual(await instant(q, '7 % -3', 0), { scalar: 1 });
  assert.deepEqual(await instant(q, '-7 % 3', 0), { scalar: -1 });
  assert.deepEqual(await instant(q, '2 ^ 10', 0), { scalar: 1024 });
  assert.deepEqual(await instant(q, '1 / 0', 0), { scalar: Infinity });
  assert.deepEqual(await instant(q, '-1 / 0', 0), { scalar: -Infinity });
  assert.ok(Number.isNaN((await instant(q, '0 / 0', 0)).scalar));
  assert.deepEqual(await instant(q, '1 < bool 2', 0), { scalar: 1 });
  assert.deepEqual(await instant(q, '1 atan2 1', 0), { scalar: Math.PI / 4 });
  assert.equal(goPow(1, Number.NaN), 1);
  assert.equal(goPow(-1, Infinity), 1);
  assert.ok(Number.isNaN(scalarBinop('%', 5, 0).v));
});

test('vector-scalar: arithmetic drops the name, comparisons filter and keep it', async () => {
  assert.deepEqual(await instant(q, 'req{job="a"} * 2', 0), { '{inst="1", job="a"}': 20, '{inst="2", job="a"}': 40 });
  assert.deepEqual(await instant(q, 'req > 15', 0), { 'req{inst="2", job="a"}': 20, 'req{inst="1", job="b"}': 30 });
  assert.deepEqual(await instant(q, '15 < req', 0), { 'req{inst="2", job="a"}': 20, 'req{inst="1", job="b"}': 30 });
  assert.deepEqual(await instant(q, 'req{job="a"} > bool 15', 0), { '{inst="1", job="a"}': 0, '{inst="2", job="a"}': 1 });
  assert.deepEqual(await instant(q, '100 - req{job="b"}', 0), { '{inst="1", job="b"}': 70 });
  assert.deepEqual(await instant(q, '-req{job="b"}', 0), { '{inst="1", job="b"}': -30 });
});

test('vector-vector one-to-one with on/ignoring', async () => {
  assert.deepEqual(await instant(q, 'req / lim', 0), { '{inst="1", job="a"}': 10 / 15, '{inst="2", job="a"}': 20 / 15 });
  assert.deepEqual(await instant(q, 'req > lim', 0), { 'req{inst="2", job="a"}': 20 });
  assert.deepEqual(await instant(q, 'req > bool lim', 0), { '{inst="1", job="a"}': 0, '{inst="2", job="a"}': 1 });
  assert.deepEqual(await instant(q, 'req - on(job, inst) lim', 0), { '{inst="1", job="a"}': -5, '{inst="2", job="a"}': 5 });
  assert.deepEqual(await instant(q, 'req{inst="1"} + ignoring(inst, team) info', 0), {
    '{job="a"}': 11,
    '{job="b"}': 31,
  });
});

test('group_left / group_right copy included labels from the one side', async () => {
  assert.deepEqual(await instant(q, 'req * on(job) group_left(team) info', 0), {
    '{inst="1", job="a", team="x"}': 10,
    '{inst="2", job="a", team="x"}': 20,
    '{inst="1", job="b", team="y"}': 30,
  });
  assert.deepEqual(await instant(q, 'info * on(job) group_right(team) req', 0), {
    '{inst="1", job="a", team="x"}': 10,
    '{inst="2", job="a", team="x"}': 20,
    '{inst="1", job="b", team="y"}': 30,
  });
  assert.deepEqual(await instant(q, 'req > on(job) group_left info', 0), {
    'req{inst="1", job="a"}': 10,
    'req{inst="2", job="a"}': 20,
    'req{inst="1", job="b"}': 30,
  });
});

test('matching errors', async () => {
  await fails(
    'one > on() dup',
    'found duplicate series for the match group {} on the right hand-side of the operation: [{__name__="dup", l="alpha"}, {__name__="dup", l="beta"}];many-to-many matching not allowed: matching labels must be unique on one side',
  );
  await fails('dup * on() group_right one', /on the left hand-side of the operation/);
  await fails('req + on(job) info', 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
  // filtered comparisons still detect the ambiguity
  await fails('req > on(job) info * 1000', 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
  await fails('req * on(job) group_left(inst) info2', 'multiple matches for labels: grouping labels must ensure unique matches');
});

test('set operators keep lhs labels', async () => {
  assert.deepEqual(await instant(q, 'req and lim', 0), { 'req{inst="1", job="a"}': 10, 'req{inst="2", job="a"}': 20 });
  assert.deepEqual(await instant(q, 'req unless lim', 0), { 'req{inst="1", job="b"}': 30 });
  assert.deepEqual(await instant(q, 'req unless on(job) info', 0), {});
  assert.deepEqual(await instant(q, 'lim or req', 0), {
    'lim{inst="1", job="a"}': 15,
    'lim{inst="2", job="a"}': 15,
    'req{inst="1", job="b"}': 30,
  });
  assert.deepEqual(await instant(q, 'req and on(inst) one', 0), {});
  assert.deepEqual(await instant(q, 'req{inst="2"} or on() one', 0), { 'req{inst="2", job="a"}': 20 });
});

test('delayed name removal: series equal after dropping names merge unless they overlap', async () => {
  assert.deepEqual(await range(q, '-ma or -mb', 0, 20 * MIN, 10 * MIN), {
    '{}': [
      [0, -1],
      [10 * MIN, -4],
    ],
  });
  await fails('-{__name__=~"ma|mb"}', 'vector cannot contain metrics with the same labelset');
});
