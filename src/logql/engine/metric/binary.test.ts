import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SampleExpr } from '../../ast.ts';
import { agg, bin, by, instantAt, lit, range, rangeOf, re, run, vectorMap } from './test-helpers.ts';

const sumBy = (label: string, job: string): SampleExpr =>
  agg('sum', range('count_over_time', [re('job', job)], 60_000), by(label));
const h = (host: string) => JSON.stringify({ host });
const j = (job: string) => JSON.stringify({ job });

// at 60s: hosts h1=2, h2=1, h3=1; jobs a=3, b=1
describe('binary operators', () => {
  it('vector and scalar arithmetic keeps the labels', async () => {
    const r = await run(bin('+', bin('*', sumBy('host', 'a'), lit(2)), lit(1)), instantAt(60));
    assert.deepEqual(vectorMap(r), { [h('h1')]: '5', [h('h2')]: '3' });
    assert.deepEqual(vectorMap(await run(bin('-', lit(10), sumBy('job', '.+')), instantAt(60))), {
      [j('a')]: '7',
      [j('b')]: '9',
    });
  });

  it('division and modulo by zero give NaN, as in Loki', async () => {
    assert.deepEqual(vectorMap(await run(bin('/', sumBy('job', 'b'), lit(0)), instantAt(60))), {
      [j('b')]: 'NaN',
    });
    assert.deepEqual(vectorMap(await run(bin('%', sumBy('job', 'b'), lit(0)), instantAt(60))), {
      [j('b')]: 'NaN',
    });
  });

  it('comparisons filter and keep the vector value; bool gives 0 or 1', async () => {
    assert.deepEqual(vectorMap(await run(bin('>', sumBy('job', '.+'), lit(2)), instantAt(60))), {
      [j('a')]: '3',
    });
    assert.deepEqual(vectorMap(await run(bin('<', lit(2), sumBy('job', '.+')), instantAt(60))), {
      [j('a')]: '3',
    });
    assert.deepEqual(
      vectorMap(await run(bin('>', sumBy('job', '.+'), lit(2), { returnBool: true }), instantAt(60))),
      {
        [j('a')]: '1',
        [j('b')]: '0',
      },
    );
  });

  it('vector matching on the full label set, with on() and group_left', async () => {
    assert.deepEqual(vectorMap(await run(bin('/', sumBy('job', '.+'), sumBy('job', '.+')), instantAt(60))), {
      [j('a')]: '1',
      [j('b')]: '1',
    });
    const perHost = agg('sum', range('count_over_time', [re('job', '.+')], 60_000), by('job', 'host'));
    const share = bin('/', perHost, sumBy('job', '.+'), {
      matching: { on: true, labels: ['job'], card: 'many-to-one', include: [] },
    });
    assert.deepEqual(vectorMap(await run(share, instantAt(60))), {
      [JSON.stringify({ host: 'h1', job: 'a' })]: '0.6666666666666666',
      [JSON.stringify({ host: 'h2', job: 'a' })]: '0.3333333333333333',
      [JSON.stringify({ host: 'h3', job: 'b' })]: '1',
    });
    const oneToOne = bin('/', perHost, sumBy('job', '.+'), {
      matching: { on: true, labels: ['job'], card: 'one-to-one', include: [] },
    });
    await assert.rejects(
      run(oneToOne, instantAt(60)),
      /multiple matches for labels: many-to-one matching must be explicit/,
    );
  });

  it('and, or, unless', async () => {
    const all = sumBy('job', '.+');
    const onlyB = sumBy('job', 'b');
    assert.deepEqual(vectorMap(await run(bin('and', all, onlyB), instantAt(60))), { [j('b')]: '1' });
    assert.deepEqual(vectorMap(await run(bin('unless', all, onlyB), instantAt(60))), { [j('a')]: '3' });
    assert.deepEqual(vectorMap(await run(bin('or', onlyB, all), instantAt(60))), {
      [j('a')]: '3',
      [j('b')]: '1',
    });
    const r = await run(
      bin('or', sumBy('job', 'nothing'), { type: 'Vector', value: 0, pos: { start: 0, end: 0 } }),
      rangeOf(0, 60, 60),
    );
    assert.equal(r.resultType, 'matrix');
    if (r.resultType === 'matrix')
      assert.deepEqual(
        r.result[0]?.values.map((p) => p[1]),
        ['0', '0'],
      );
  });

  it('a scalar-only query answers a scalar with the timestamp Loki gives it', async () => {
    assert.deepEqual(await run(bin('>', lit(1), lit(2), { returnBool: true }), instantAt(3600)), {
      resultType: 'scalar',
      result: [-3658231076116, '0'],
    });
  });
});
