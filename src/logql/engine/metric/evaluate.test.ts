import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LabelReplaceExpr, SampleExpr } from '../../ast.ts';
import { MemoryLogSource } from '../memory-source.ts';
import { evaluateMetricWith } from './evaluate.ts';
import type { MetricPipelines } from './pipelines.ts';
import { agg, by, eq, instantAt, range, rangeOf, re, run, smallBody, vectorMap } from './test-helpers.ts';

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

  it('a sample that still carries __error__ fails the query unless grouped by __error__', async () => {
    // a pipeline that marks lines with "error" as failed, as a parser stage would
    const pipelines: MetricPipelines = {
      pipeline: () => ({
        process: (entry) => {
          const labels = new Map([...Object.entries(entry.stream), ...Object.entries(entry.metadata)]);
          if (entry.line.includes('error'))
            labels.set('__error__', 'JSONParserErr').set('__error_details__', 'bad');
          return { line: entry.line, labels };
        },
      }),
      extractor: () => {
        throw new Error('not used');
      },
    };
    const src = new MemoryLogSource(smallBody());
    const counts = range('count_over_time', [eq('job', 'b')], 60_000);
    await assert.rejects(evaluateMetricWith(counts, { read: (r) => src.read(r) }, instantAt(60), pipelines), {
      status: 400,
      message:
        `pipeline error: 'JSONParserErr' for series: '{__error__="JSONParserErr", __error_details__="bad", host="h3", job="b"}'.\n` +
        `Use a label filter to intentionally skip this error. (e.g | __error__!="JSONParserErr").\n` +
        `To skip all potential errors you can match empty errors.(e.g __error__="")\n` +
        `The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__="" )`,
    });
    const grouped = await evaluateMetricWith(
      agg('sum', counts, by('__error__')),
      { read: (r) => src.read(r) },
      instantAt(60),
      pipelines,
    );
    assert.deepEqual(vectorMap(grouped), { [JSON.stringify({ __error__: 'JSONParserErr' })]: '1' });
  });
});
