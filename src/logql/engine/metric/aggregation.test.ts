import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SampleExpr } from '../../ast.ts';
import {
  agg,
  by,
  eq,
  instantAt,
  range,
  rangeOf,
  re,
  run,
  vectorMap,
  without,
  matrixMap,
} from './test-helpers.ts';

const counts = (): SampleExpr => range('count_over_time', [re('job', '.+')], 60_000);
const byJob = (v: string) => JSON.stringify({ job: v });

describe('vector aggregations', () => {
  // at 60s: {h1} 2, {h2, pod=p1} 1, {h3} 1
  it('sum, avg, min, max, count by a label', async () => {
    assert.deepEqual(vectorMap(await run(agg('sum', counts(), by('job')), instantAt(60))), {
      [byJob('a')]: '3',
      [byJob('b')]: '1',
    });
    assert.deepEqual(vectorMap(await run(agg('avg', counts(), by('job')), instantAt(60))), {
      [byJob('a')]: '1.5',
      [byJob('b')]: '1',
    });
    assert.deepEqual(vectorMap(await run(agg('min', counts(), by('job')), instantAt(60))), {
      [byJob('a')]: '1',
      [byJob('b')]: '1',
    });
    assert.deepEqual(vectorMap(await run(agg('max', counts(), by('job')), instantAt(60))), {
      [byJob('a')]: '2',
      [byJob('b')]: '1',
    });
    assert.deepEqual(vectorMap(await run(agg('count', counts(), by('job')), instantAt(60))), {
      [byJob('a')]: '2',
      [byJob('b')]: '1',
    });
  });

  it('without drops the listed labels; no grouping sums everything', async () => {
    assert.deepEqual(vectorMap(await run(agg('sum', counts(), without('host', 'pod')), instantAt(60))), {
      [byJob('a')]: '3',
      [byJob('b')]: '1',
    });
    assert.deepEqual(vectorMap(await run(agg('sum', counts()), instantAt(60))), { '{}': '4' });
  });

  it('stddev and stdvar', async () => {
    assert.deepEqual(vectorMap(await run(agg('stdvar', counts(), by('job')), instantAt(60))), {
      [byJob('a')]: '0.25',
      [byJob('b')]: '0',
    });
    assert.deepEqual(vectorMap(await run(agg('stddev', counts(), by('job')), instantAt(60))), {
      [byJob('a')]: '0.5',
      [byJob('b')]: '0',
    });
  });

  it('topk and bottomk keep the labels of the chosen series, per group', async () => {
    const top = await run(agg('topk', counts(), null, 1), instantAt(60));
    assert.deepEqual(vectorMap(top), { [JSON.stringify({ host: 'h1', job: 'a' })]: '2' });
    const bottom = await run(agg('bottomk', counts(), by('job'), 1), instantAt(60));
    assert.deepEqual(Object.values(vectorMap(bottom)), ['1', '1']);
    assert.deepEqual(vectorMap(await run(agg('topk', counts(), null, 0), instantAt(60))), {});
  });

  it('sort and sort_desc order the samples', async () => {
    const asc = await run(agg('sort', counts()), instantAt(60));
    assert.equal(asc.resultType, 'vector');
    if (asc.resultType === 'vector')
      assert.deepEqual(
        asc.result.map((s) => s.value[1]),
        ['1', '1', '2'],
      );
    const desc = await run(agg('sort_desc', counts()), instantAt(60));
    if (desc.resultType === 'vector')
      assert.deepEqual(
        desc.result.map((s) => s.value[1]),
        ['2', '1', '1'],
      );
  });

  it('aggregates each step of a range query separately', async () => {
    const r = await run(
      agg('sum', range('count_over_time', [eq('job', 'a')], 60_000), by('job')),
      rangeOf(0, 120, 60),
    );
    assert.deepEqual(matrixMap(r), {
      [byJob('a')]: [
        [60, '3'],
        [120, '3'],
      ],
    });
  });
});
