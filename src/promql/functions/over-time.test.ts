import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Labels } from '../labels.ts';
import { toPointArrays } from '../value.ts';
import { call, close, load, matrix, matrixSelector, render, scalar, selector } from './testing.ts';

const S10 = 10_000;

function one(fn: string, notation: string, t: number, range: number, step = S10): number {
  const r = render(call(fn, [matrix([load({}, step, notation)], t, range)], t).out) as Record<string, number>;
  const v = r['{}'];
  assert.notEqual(v, undefined, `${fn}(${notation}) returned nothing`);
  return v as number;
}

function expectValue(actual: number, expected: number): void {
  assert.ok(close(actual, expected, 1e-6), `${actual} != ${expected}`);
}

describe('avg_over_time / sum_over_time (functions.test)', () => {
  const cases: [string, number][] = [
    ['1 2 3 4 5', 3],
    ['1 2 3 4 Inf', Infinity],
    ['1 2 3 4 -Inf', -Infinity],
    ['1 2 3 Inf -Inf', NaN],
    ['Inf 0 Inf', Infinity],
    ['Inf Inf Inf -Inf', NaN],
    ['1 2 3 -Inf -Inf', -Infinity],
    ['-Inf 0 -Inf', -Infinity],
    ['1 2 -Inf -Inf Inf', NaN],
    ['9.988465674311579e+307 9.988465674311579e+307', 9.988465674311579e307],
    ['-9.988465674311579e+307 -9.988465674311579e+307 -9.988465674311579e+307', -9.988465674311579e307],
    ['-9.988465674311579e+307 9.988465674311579e+307', 0],
    ['1 2 3 NaN NaN', NaN],
  ];
  for (const [n, want] of cases)
    it(`avg_over_time(${n})`, () => expectValue(one('avg_over_time', n, 55_000, 60_000), want));
  it('no samples in the range: no result', () => {
    assert.deepEqual(
      call('avg_over_time', [matrix([load({}, S10, '1 2 3 4 5')], 55_000, S10)], 55_000).out,
      [],
    );
  });
  it('one sample', () => expectValue(one('avg_over_time', '1 2 3 4 5', 55_000, 20_000), 5));
  it('avg with NaN at 20s', () => expectValue(one('avg_over_time', '1 2 3 NaN NaN', 20_000, 60_000), 2));
  it('sum overflows where avg does not', () => {
    expectValue(
      one('sum_over_time', '9.988465674311579e+307 9.988465674311579e+307', 55_000, 60_000),
      Infinity,
    );
  });
  it('Kahan summation keeps small terms next to huge ones', () => {
    expectValue(one('sum_over_time', '1 1e100 1 -1e100', 60_000, 120_000), 2);
    expectValue(one('avg_over_time', '1 1e100 1 -1e100', 60_000, 120_000), 0.5);
  });
  it('extreme magnitudes', () => {
    expectValue(
      one('avg_over_time', '1e10 1e-6 1e-6 1e-6 1e-6 1e-6', 55_000, 60_000, 5000),
      1.6666666666666675e9,
    );
    expectValue(
      one('avg_over_time', '1.78264e50 0.76342771 1.9592258 7.69805412 458.90154', 55_000, 60_000, 5000),
      3.56528e49,
    );
    expectValue(
      one(
        'avg_over_time',
        '1.78264E+50 0.76342771 1.9592258 2.258E+220 7.69805412 458.90154',
        55_000,
        60_000,
        5000,
      ),
      3.76333333333333e219,
    );
  });
});

describe('min/max/last/first/count/present over time (functions.test)', () => {
  const data = [
    load({ __name__: 'data', type: 'numbers' }, S10, '2 0 3'),
    load({ __name__: 'data', type: 'some_nan' }, S10, '2 0 NaN'),
    load({ __name__: 'data', type: 'some_nan2' }, S10, '2 NaN 1'),
    load({ __name__: 'data', type: 'some_nan3' }, S10, 'NaN 0 1'),
    load({ __name__: 'data', type: 'only_nan' }, S10, 'NaN NaN NaN'),
    load({ __name__: 'data_sparse', type: 'sparse_numbers' }, S10, '_ 5 2 _ 4 _'),
  ];
  const run = (fn: string) =>
    render(call(fn, [matrix(data, 60_000, 120_000)], 60_000).out) as Record<string, number>;
  const check = (fn: string, want: Record<string, number>) => {
    const got = run(fn);
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
    for (const [k, v] of Object.entries(want)) expectValue(got[k] as number, v);
  };
  it('min_over_time', () =>
    check('min_over_time', {
      '{type="numbers"}': 0,
      '{type="some_nan"}': 0,
      '{type="some_nan2"}': 1,
      '{type="some_nan3"}': 0,
      '{type="only_nan"}': NaN,
      '{type="sparse_numbers"}': 2,
    }));
  it('max_over_time', () =>
    check('max_over_time', {
      '{type="numbers"}': 3,
      '{type="some_nan"}': 2,
      '{type="some_nan2"}': 2,
      '{type="some_nan3"}': 1,
      '{type="only_nan"}': NaN,
      '{type="sparse_numbers"}': 5,
    }));
  it('last_over_time keeps the name', () =>
    check('last_over_time', {
      'data{type="numbers"}': 3,
      'data{type="some_nan"}': NaN,
      'data{type="some_nan2"}': 1,
      'data{type="some_nan3"}': 1,
      'data{type="only_nan"}': NaN,
      'data_sparse{type="sparse_numbers"}': 4,
    }));
  it('first_over_time keeps the name', () =>
    check('first_over_time', {
      'data{type="numbers"}': 2,
      'data{type="some_nan"}': 2,
      'data{type="some_nan2"}': 2,
      'data{type="some_nan3"}': NaN,
      'data{type="only_nan"}': NaN,
      'data_sparse{type="sparse_numbers"}': 5,
    }));
  it('count_over_time and present_over_time drop the name', () => {
    const c = run('count_over_time');
    assert.equal(c['{type="sparse_numbers"}'], 3);
    assert.equal(c['{type="numbers"}'], 3);
    const p = run('present_over_time');
    assert.ok(Object.values(p).every((v) => v === 1));
  });
});

describe('stddev / stdvar / mad over time (functions.test)', () => {
  it('stdvar and stddev', () => {
    expectValue(one('stdvar_over_time', '0 8 8 2 3', 60_000, 120_000), 10.56);
    expectValue(one('stddev_over_time', '0 8 8 2 3', 60_000, 120_000), 3.249615);
  });
  it('constant series has zero variance (#4927)', () => {
    assert.equal(
      one('stdvar_over_time', '1.5990505637277868 1.5990505637277868 1.5990505637277868', 55_000, 60_000),
      0,
    );
    assert.equal(
      one('stddev_over_time', '1.5990505637277868 1.5990505637277868 1.5990505637277868', 55_000, 60_000),
      0,
    );
  });
  it('mad_over_time', () => {
    expectValue(one('mad_over_time', '4 6 2 1 999 1 2', 70_000, 70_000), 1);
    expectValue(one('mad_over_time', '1 2 3 4 5', 40_000, 50_000), 1);
    expectValue(one('mad_over_time', '7 7 7 7 7', 40_000, 50_000), 0);
    expectValue(one('mad_over_time', '5', 0, 10_000), 0);
    expectValue(one('mad_over_time', '1 2 NaN 4', 30_000, 40_000), NaN);
  });
});

describe('ts_of_*_over_time (functions.test, load 10s53ms)', () => {
  const step = 10_053;
  it('ts_of_min / ts_of_max', () => {
    expectValue(one('ts_of_min_over_time', '1 2 3 0 5 6 2 1 4', 90_000, 90_000, step), 30.159);
    expectValue(one('ts_of_max_over_time', '1 2 3 0 5 6 2 1 4', 90_000, 90_000, step), 50.265);
  });
  it('ts_of_last', () => {
    expectValue(one('ts_of_last_over_time', '1 2 3 _ _', 90_000, 90_000, step), 20.106);
    expectValue(one('ts_of_last_over_time', '1 2 3 _ _', 95_000, 90_000, step), 20.106);
  });
  it('ts_of_first', () => {
    expectValue(one('ts_of_first_over_time', '_ _ 1 2 3 _ _', 90_000, 90_000, step), 20.106);
    assert.deepEqual(
      call('ts_of_first_over_time', [matrix([load({}, step, '_ _ 1 2 3 _ _')], 15_000, 90_000)], 15_000).out,
      [],
    );
  });
});

describe('quantile_over_time (functions.test)', () => {
  const data = [
    load({ test: 'two samples' }, S10, '0 1'),
    load({ test: 'three samples' }, S10, '0 1 2'),
    load({ test: 'uneven samples' }, S10, '0 1 4'),
  ];
  const cases: [number, [number, number, number], boolean][] = [
    [0, [0, 0, 0], false],
    [0.5, [0.5, 1, 1], false],
    [0.75, [0.75, 1.5, 2.5], false],
    [0.8, [0.8, 1.6, 2.8], false],
    [1, [1, 2, 4], false],
    [-1, [-Infinity, -Infinity, -Infinity], true],
    [2, [Infinity, Infinity, Infinity], true],
  ];
  for (const [q, want, warn] of cases) {
    it(`q=${q}`, () => {
      const r = call('quantile_over_time', [scalar(q), matrix(data, 60_000, 120_000)], 60_000);
      const got = render(r.out) as Record<string, number>;
      expectValue(got['{test="two samples"}'] as number, want[0]);
      expectValue(got['{test="three samples"}'] as number, want[1]);
      expectValue(got['{test="uneven samples"}'] as number, want[2]);
      assert.equal(r.annotations.length > 0, warn);
      if (warn) {
        assert.equal(r.annotations[0]?.level, 'warn');
        assert.equal(
          r.annotations[0]?.message,
          `PromQL warning: quantile value should be between 0 and 1, got ${q}`,
        );
      }
    });
  }
});

describe('absent_over_time (functions.test)', () => {
  const ms = (matchers: { name: string; type: '=' | '!=' | '=~' | '!~'; value: string }[]) =>
    matrixSelector(selector('http_requests_total', matchers), 300_000);
  const empty = { type: 'matrix' as const, series: [], rangeMs: 300_000 };
  it('labels from equality matchers', () => {
    const r = call('absent_over_time', [empty], 60_000, [
      ms([{ name: 'handler', type: '=', value: '/foo' }]),
    ]);
    assert.deepEqual(render(r.out), { '{handler="/foo"}': 1 });
  });
  it('non-equality and repeated matchers give no label', () => {
    assert.deepEqual(
      render(
        call('absent_over_time', [empty], 60_000, [ms([{ name: 'handler', type: '!=', value: '/foo' }])]).out,
      ),
      { '{}': 1 },
    );
    const rep = ms([
      { name: 'handler', type: '=', value: '/foo' },
      { name: 'handler', type: '=', value: '/bar' },
      { name: 'instance', type: '=', value: '127.0.0.1' },
    ]);
    assert.deepEqual(render(call('absent_over_time', [empty], 60_000, [rep]).out), {
      '{instance="127.0.0.1"}': 1,
    });
  });
  it('present series: no result', () => {
    const m = matrix([load({ __name__: 'x' }, 60_000, '1 1')], 60_000, 300_000);
    assert.deepEqual(call('absent_over_time', [m], 60_000, [ms([])]).out, []);
  });
  it('a series with no points in the window counts as absent', () => {
    const m = {
      type: 'matrix' as const,
      series: [{ metric: Labels.fromRecord({ a: 'b' }), points: toPointArrays([]) }],
      rangeMs: 1000,
    };
    assert.deepEqual(render(call('absent_over_time', [m], 60_000, [ms([])]).out), { '{}': 1 });
  });
});

describe('name dropping of last/first_over_time over subqueries (name_label_dropping.test)', () => {
  it('a series that already drops its name keeps dropping it', () => {
    const series = [
      {
        metric: Labels.fromRecord({ __name__: 'metric_total', env: '1' }),
        points: toPointArrays([{ t: 0, v: 120 }]),
        dropName: true,
      },
    ];
    const out = call('last_over_time', [{ type: 'matrix', series, rangeMs: 600_000 }], 600_000).out;
    assert.deepEqual(render(out), { '{env="1"}': 120 });
  });
});
