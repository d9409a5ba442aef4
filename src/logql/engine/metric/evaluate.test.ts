import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LabelReplaceExpr, SampleExpr } from '../../ast.ts';
import { parseLogQL } from '../../parser/index.ts';
import { agg, by, instantAt, range, rangeOf, re, run, vectorMap } from './test-helpers.ts';

const pos = { start: 0, end: 0 };
const sumByJob = (): SampleExpr => agg('sum', range('count_over_time', [re('job', '.+')], 60_000), by('job'));

describe('evaluateMetric', () => {
  it('label_replace sets the destination from the anchored regex, or leaves the sample alone', async () => {
    const replace = (replacement: string, regex: string): LabelReplaceExpr => ({
      type: 'LabelReplace',
      expr: sumByJob(),
      dst: 'x',
      replacement,
      src: 'job',
      regex,
      pos,
    });
    assert.deepEqual(vectorMap(await run(replace('j-$0', '.*'), instantAt(60))), {
      [JSON.stringify({ job: 'a', x: 'j-a' })]: '3',
      [JSON.stringify({ job: 'b', x: 'j-b' })]: '1',
    });
    assert.deepEqual(vectorMap(await run(replace('$1', 'nomatch-(.*)'), instantAt(60))), {
      [JSON.stringify({ job: 'a' })]: '3',
      [JSON.stringify({ job: 'b' })]: '1',
    });
  });

  it('vector(n) has a point at every step', async () => {
    const r = await run({ type: 'Vector', value: 5, pos }, rangeOf(0, 120, 60));
    assert.deepEqual(r, {
      resultType: 'matrix',
      result: [
        {
          metric: {},
          values: [
            [1767225600, '5'],
            [1767225660, '5'],
            [1767225720, '5'],
          ],
        },
      ],
    });
  });

  it("over the series limit: Loki's error", async () => {
    const e = range('count_over_time', [re('job', '.+')], 60_000);
    await assert.rejects(run(e, instantAt(60, 2)), {
      status: 400,
      message: 'maximum number of series (2) reached for a single query',
    });
    await assert.rejects(run(e, rangeOf(0, 120, 60, 2)), /maximum number of series \(2\)/);
    assert.equal(vectorMap(await run(agg('sum', e), instantAt(60, 1)))['{}'], '4');
  });

  it("more than 11,000 points per series: Loki's error", async () => {
    await assert.rejects(
      run(sumByJob(), rangeOf(0, 11_001, 1)),
      /exceeded maximum resolution of 11,000 points per timeseries/,
    );
  });

  it('a sample that still carries __error__ fails the query unless filtered or grouped by __error__', async () => {
    const q = (text: string) => parseLogQL(text) as SampleExpr;
    // the job=b lines are not JSON
    await assert.rejects(
      run(q('count_over_time({job="b"} | json [1m])'), instantAt(60)),
      (err: Error & { status?: number }) => {
        assert.equal(err.status, 400);
        assert.match(
          err.message,
          /^pipeline error: 'JSONParserErr' for series: '\{__error__="JSONParserErr", __error_details__="[^"]*", host="h3", job="b"\}'\.\n/,
        );
        assert.match(
          err.message,
          /\nThe label filter can also be specified after unwrap\. \(e\.g \| unwrap latency \| __error__="" \)$/,
        );
        return true;
      },
    );
    assert.deepEqual(
      vectorMap(await run(q('sum by (__error__) (count_over_time({job="b"} | json [1m]))'), instantAt(60))),
      {
        [JSON.stringify({ __error__: 'JSONParserErr' })]: '1',
      },
    );
    assert.deepEqual(
      vectorMap(await run(q('count_over_time({job="b"} | json | __error__="" [1m])'), instantAt(60))),
      {},
    );
  });
});
