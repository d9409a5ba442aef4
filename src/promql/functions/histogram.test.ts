import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Sample } from '../value.ts';
import { bucketQuantile, parseGoFloat } from './histogram.ts';
import { call, close, render, scalar, selector, str, vec } from './testing.ts';

/** Bucket values at 50m of `0+Nx10` series = 10*N. */
const testhistogram = vec([
  { labels: { __name__: 'testhistogram_bucket', le: '0.1', start: 'positive' }, v: 50 },
  { labels: { __name__: 'testhistogram_bucket', le: '.2', start: 'positive' }, v: 70 },
  { labels: { __name__: 'testhistogram_bucket', le: '1e0', start: 'positive' }, v: 110 },
  { labels: { __name__: 'testhistogram_bucket', le: '+Inf', start: 'positive' }, v: 120 },
  { labels: { __name__: 'testhistogram_bucket', le: '-.2', start: 'negative' }, v: 10 },
  { labels: { __name__: 'testhistogram_bucket', le: '-0.1', start: 'negative' }, v: 20 },
  { labels: { __name__: 'testhistogram_bucket', le: '0.3', start: 'negative' }, v: 20 },
  { labels: { __name__: 'testhistogram_bucket', le: '+Inf', start: 'negative' }, v: 30 },
]);

const hq = (q: number, input = testhistogram) => call('histogram_quantile', [scalar(q), input], 0);

function expectAll(got: ReturnType<typeof render>, want: Record<string, number>): void {
  const g = got as Record<string, number>;
  assert.deepEqual(Object.keys(g).sort(), Object.keys(want).sort());
  for (const [k, v] of Object.entries(want)) assert.ok(close(g[k], v, 1e-6), `${k}: ${g[k]} != ${v}`);
}

describe('histogram_quantile over classic buckets (histograms.test)', () => {
  const cases: [number, number, number][] = [
    [0, 0, -0.2],
    [0.2, 0.048, -0.2],
    [0.5, 0.15, -0.15],
    [0.8, 0.72, 0.3],
    [1, 1, 0.3],
  ];
  for (const [q, pos, neg] of cases) {
    it(`q=${q}`, () => {
      const r = hq(q);
      expectAll(render(r.out), { '{start="positive"}': pos, '{start="negative"}': neg });
      assert.deepEqual(r.annotations, []);
      assert.ok((r.out as Sample[]).every((s) => s.dropName === true && !s.metric.has('le')));
    });
  }
  it('quantiles out of range warn and give ±Inf / NaN', () => {
    for (const [q, want] of [
      [-0.1, -Infinity],
      [1.01, Infinity],
      [NaN, NaN],
    ] as const) {
      const r = hq(q);
      expectAll(render(r.out), { '{start="positive"}': want, '{start="negative"}': want });
      assert.equal(r.annotations.length, 1);
      assert.equal(r.annotations[0]?.level, 'warn');
    }
    const empty = hq(NaN, vec([]));
    assert.deepEqual(empty.out, []);
    assert.deepEqual(empty.annotations, [
      { level: 'warn', message: 'PromQL warning: quantile value should be between 0 and 1, got NaN' },
    ]);
  });
  it('different representations of one upper bound are coalesced', () => {
    // mixed_bucket at 50m rate over 10m: ins1 buckets 0.1:1/300, 0.2 (three spellings): 3/300, +Inf 4/300
    const r = 1 / 300;
    const mixed = vec([
      { labels: { __name__: 'mixed_bucket', job: 'job1', instance: 'ins1', le: '0.1' }, v: r },
      { labels: { __name__: 'mixed_bucket', job: 'job1', instance: 'ins1', le: '0.2' }, v: r },
      { labels: { __name__: 'mixed_bucket', job: 'job1', instance: 'ins1', le: '2e-1' }, v: r },
      { labels: { __name__: 'mixed_bucket', job: 'job1', instance: 'ins1', le: '2.0e-1' }, v: r },
      { labels: { __name__: 'mixed_bucket', job: 'job1', instance: 'ins1', le: '+Inf' }, v: 4 * r },
      { labels: { __name__: 'mixed_bucket', job: 'job1', instance: 'ins2', le: '+inf' }, v: 0 },
      { labels: { __name__: 'mixed_bucket', job: 'job1', instance: 'ins2', le: '+Inf' }, v: 0 },
    ]);
    expectAll(render(hq(0.5, mixed).out), {
      '{instance="ins1", job="job1"}': 0.15,
      '{instance="ins2", job="job1"}': NaN,
    });
    expectAll(render(hq(0.75, mixed).out), {
      '{instance="ins1", job="job1"}': 0.2,
      '{instance="ins2", job="job1"}': NaN,
    });
  });
  it('non-monotonic buckets are fixed with an info annotation', () => {
    const nm = vec(
      (
        [
          ['0.1', 20],
          ['1', 10],
          ['10', 50],
          ['100', 40],
          ['1000', 90],
          ['+Inf', 80],
        ] as const
      ).map(([le, v]) => ({ labels: { __name__: 'nonmonotonic_bucket', le }, v })),
    );
    for (const [q, want] of [
      [0.01, 0.0045],
      [0.5, 8.5],
      [0.99, 979.75],
    ] as const) {
      const r = hq(q, nm);
      expectAll(render(r.out), { '{}': want });
      assert.equal(r.annotations.length, 1);
      assert.equal(r.annotations[0]?.level, 'info');
      assert.match(
        r.annotations[0]?.message ?? '',
        /^PromQL info: input to histogram_quantile needed to be fixed for monotonicity .* for metric name "nonmonotonic_bucket"$/,
      );
    }
  });
  it('tiny precision differences are ignored silently', () => {
    const [v, forced] = bucketQuantile(0.5, [
      { upperBound: 1, count: 10 },
      { upperBound: 2, count: 10 - 1e-14 },
      { upperBound: Infinity, count: 20 },
    ]);
    assert.equal(forced, false);
    assert.ok(Number.isFinite(v));
  });
  it('missing or malformed le warns and skips the sample', () => {
    for (const le of ['', 'Hello World']) {
      const labels: Record<string, string> =
        le === '' ? { __name__: 'series', ale: '0.1' } : { __name__: 'series', le };
      const r = hq(0.8, vec([{ labels, v: 2 }]));
      assert.deepEqual(r.out, []);
      assert.deepEqual(r.annotations, [
        {
          level: 'warn',
          message: `PromQL warning: bucket label "le" is missing or has a malformed value of ${JSON.stringify(le)} for metric name "series"`,
        },
      ]);
    }
  });
  it('series with different names stay separate (the engine then reports the duplicate labelset)', () => {
    const two = vec([
      { labels: { __name__: 'a_bucket', le: '1' }, v: 1 },
      { labels: { __name__: 'a_bucket', le: '+Inf' }, v: 2 },
      { labels: { __name__: 'b_bucket', le: '1' }, v: 1 },
      { labels: { __name__: 'b_bucket', le: '+Inf' }, v: 2 },
    ]);
    assert.equal((hq(0.5, two).out as Sample[]).length, 2);
  });
});

describe('histogram_fraction over classic buckets (histograms.test)', () => {
  const h2 = vec(
    (
      [
        ['0', 0],
        ['2', 10],
        ['4', 20],
        ['6', 30],
        ['+Inf', 30],
      ] as const
    ).map(([le, v]) => ({ labels: { __name__: 'testhistogram2_bucket', le }, v })),
  );
  const hf = (lo: number, hi: number, input: ReturnType<typeof vec>) =>
    render(call('histogram_fraction', [scalar(lo), scalar(hi), input], 0).out);
  it('testhistogram2', () => {
    expectAll(hf(0, 4, h2), { '{}': 0.6666666666666666 });
    expectAll(hf(0, 6, h2), { '{}': 1 });
    expectAll(hf(0, 3.5, h2), { '{}': 0.5833333333333334 });
  });
  it('lower falls in the first bucket', () => {
    const p = vec(
      (
        [
          ['1', 1],
          ['2', 3],
          ['3', 6],
          ['+Inf', 100],
        ] as const
      ).map(([le, v]) => ({ labels: { le }, v })),
    );
    expectAll(hf(0, 1.5, p), { '{}': 0.02 });
  });
  it('testhistogram3', () => {
    const h3 = vec([
      ...(
        [
          ['0', 0],
          ['0.1', 50],
          ['.2', 70],
          ['1e0', 110],
          ['+Inf', 110],
        ] as const
      ).map(([le, v]) => ({ labels: { start: 'positive', le }, v })),
      ...(
        [
          ['-.25', 0],
          ['-.2', 10],
          ['-0.1', 20],
          ['0.3', 20],
          ['+Inf', 20],
        ] as const
      ).map(([le, v]) => ({ labels: { start: 'negative', le }, v })),
    ]);
    expectAll(hf(0, 0.2, h3), { '{start="positive"}': 0.6363636363636364, '{start="negative"}': 0 });
  });
  it('NaN bounds and empty buckets give NaN; lower >= upper gives 0', () => {
    expectAll(hf(NaN, 1, h2), { '{}': NaN });
    expectAll(hf(2, 2, h2), { '{}': 0 });
  });
});

describe('native-histogram-only functions return nothing for floats', () => {
  for (const fn of [
    'histogram_count',
    'histogram_sum',
    'histogram_avg',
    'histogram_stddev',
    'histogram_stdvar',
  ]) {
    it(fn, () => assert.deepEqual(call(fn, [vec([{ labels: { a: 'b' }, v: 1 }])], 0).out, []));
  }
});

describe("le parsing as Go's strconv.ParseFloat", () => {
  it('accepts Go float syntax', () => {
    assert.equal(parseGoFloat('+Inf'), Infinity);
    assert.equal(parseGoFloat('+inf'), Infinity);
    assert.equal(parseGoFloat('-Infinity'), -Infinity);
    assert.ok(Number.isNaN(parseGoFloat('NaN')));
    assert.equal(parseGoFloat('.2'), 0.2);
    assert.equal(parseGoFloat('1e0'), 1);
    assert.equal(parseGoFloat('2.0e-1'), 0.2);
    assert.equal(parseGoFloat('0x1p-2'), 0.25);
  });
  it('rejects what Go rejects', () => {
    for (const bad of ['', ' 1', 'Hello World', '0x10', '1_000', '1e'])
      assert.equal(parseGoFloat(bad), undefined, bad);
  });
});

describe('annotation positions', () => {
  it('the bad-le warning points at the vector argument, like Prometheus (1:25)', () => {
    const argExprs = [
      { type: 'NumberLiteral' as const, val: 0.8, pos: { start: 19, end: 22 } },
      { ...selector('series'), pos: { start: 24, end: 30 } },
    ];
    const r = call(
      'histogram_quantile',
      [scalar(0.8), vec([{ labels: { __name__: 'series', le: 'x' }, v: 1 }])],
      0,
      argExprs,
    );
    assert.deepEqual(r.annotations, [
      {
        level: 'warn',
        message:
          'PromQL warning: bucket label "le" is missing or has a malformed value of "x" for metric name "series" (1:25)',
      },
    ]);
  });
});

describe('histogram_quantiles (not in signatures.ts yet)', () => {
  it('one output series per quantile, labelled in OpenMetrics float format', () => {
    const r = call('histogram_quantiles', [testhistogram, str('q'), scalar(0.5), scalar(1), scalar(NaN)], 0);
    expectAll(render(r.out), {
      '{q="0.5", start="positive"}': 0.15,
      '{q="0.5", start="negative"}': -0.15,
      '{q="1.0", start="positive"}': 1,
      '{q="1.0", start="negative"}': 0.3,
      '{q="NaN", start="positive"}': NaN,
      '{q="NaN", start="negative"}': NaN,
    });
    assert.equal(r.annotations.length, 1);
  });
});
