import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FUNCTIONS } from './index.ts';
import { close, call, load, matrix, matrixSelector, min, render, scalar, selector } from './testing.ts';

function assertResult(actual: ReturnType<typeof render>, expected: Record<string, number>): void {
  assert.equal(typeof actual, 'object');
  const a = actual as Record<string, number>;
  assert.deepEqual(Object.keys(a).sort(), Object.keys(expected).sort());
  for (const [k, v] of Object.entries(expected)) assert.ok(close(a[k], v), `${k}: ${a[k]} != ${v}`);
}

describe('increase / rate / delta (functions.test)', () => {
  const http = [
    load({ __name__: 'http_requests_total', path: '/foo' }, min(5), '0+10x10'),
    load({ __name__: 'http_requests_total', path: '/bar' }, min(5), '0+18x5 0+18x5'),
    load({ __name__: 'http_requests_total', path: '/dings' }, min(5), '10+10x10'),
    load({ __name__: 'http_requests_total', path: '/bumms' }, min(5), '1+10x10'),
  ];
  const cases: {
    name: string;
    fn: string;
    series: typeof http;
    t: number;
    range: number;
    offset?: number;
    want: Record<string, number>;
  }[] = [
    {
      name: 'increase 50m',
      fn: 'increase',
      series: http,
      t: min(50),
      range: min(50),
      want: { '{path="/foo"}': 100, '{path="/bar"}': 160, '{path="/dings"}': 100, '{path="/bumms"}': 100 },
    },
    {
      name: 'increase 100m (zero-point limit)',
      fn: 'increase',
      series: http,
      t: min(50),
      range: min(100),
      want: { '{path="/foo"}': 100, '{path="/bar"}': 162, '{path="/dings"}': 105, '{path="/bumms"}': 101 },
    },
    {
      name: 'increase with counter reset',
      fn: 'increase',
      series: [load({ __name__: 'http_requests_total', path: '/foo' }, min(5), '0 1 2 3 2 3 4')],
      t: min(30),
      range: min(30),
      want: { '{path="/foo"}': 7 },
    },
    {
      name: 'rate reset in the middle',
      fn: 'rate',
      series: [load({ __name__: 'testcounter_reset_middle_total' }, min(5), '0+27x4 0+27x5')],
      t: min(50),
      range: min(50),
      want: { '{}': 0.08 },
    },
    {
      name: 'rate reset at the end, 5m: one point',
      fn: 'rate',
      series: [load({ __name__: 'testcounter_reset_end_total' }, min(5), '0+10x9 0 10')],
      t: min(50),
      range: min(5),
      want: {},
    },
    {
      name: 'rate reset at the end, 6m',
      fn: 'rate',
      series: [load({ __name__: 'testcounter_reset_end_total' }, min(5), '0+10x9 0 10')],
      t: min(50),
      range: min(6),
      want: { '{}': 0 },
    },
    {
      name: 'rate per second',
      fn: 'rate',
      series: [load({ __name__: 'calculate_rate_window_total' }, min(5), '0+80x10')],
      t: min(50),
      range: min(50),
      want: { '{}': 0.26666666666666666 },
    },
    {
      name: 'rate with offset',
      fn: 'rate',
      series: [
        load({ __name__: 'calculate_rate_offset_total', x: 'a' }, min(5), '0+10x10'),
        load({ __name__: 'calculate_rate_offset_total', x: 'b' }, min(5), '0+20x10'),
      ],
      t: min(50),
      range: min(10),
      offset: min(5),
      want: { '{x="a"}': 0.03333333333333333, '{x="b"}': 0.06666666666666667 },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const expr = matrixSelector(selector('m', [], c.offset ?? 0), c.range);
      const r = call(c.fn, [matrix(c.series, c.t, c.range, c.offset ?? 0)], c.t, [expr]);
      assertResult(render(r.out), c.want);
      assert.ok(Array.isArray(r.out) && r.out.every((s) => s.dropName === true && s.t === c.t));
    });
  }

  const cutoff = ['0m', '1m', '2m', '3m', '4m', '5m'].map((start, i) =>
    load({ __name__: 'testcounter_zero_cutoff_total', start }, min(4), `${60 * i}+240x10`),
  );
  it('zero cutoff for left-side extrapolation', () => {
    const r = call('rate', [matrix(cutoff, min(10), min(20))], min(10), [
      matrixSelector(selector('x'), min(20)),
    ]);
    assertResult(render(r.out), {
      '{start="0m"}': 0.5,
      '{start="1m"}': 0.55,
      '{start="2m"}': 0.6,
      '{start="3m"}': 0.6,
      '{start="4m"}': 0.6,
      '{start="5m"}': 0.6,
    });
  });
  it('half-interval cutoff', () => {
    const r = call('rate', [matrix(cutoff, min(50), min(20))], min(50), [
      matrixSelector(selector('x'), min(20)),
    ]);
    const want: Record<string, number> = {};
    for (const s of ['0m', '1m', '2m', '3m', '4m', '5m']) want[`{start="${s}"}`] = 0.6;
    assertResult(render(r.out), want);
  });
  it('delta does not correct resets nor limit at zero', () => {
    const s = [load({ __name__: 'g' }, min(5), '10 5 0')];
    // (0-10) over 10m sampled, extrapolated by 2.5m each side to a 15m... window 20m: (10+2.5+2.5)/10
    const r = call('delta', [matrix(s, min(10), min(20))], min(10));
    assertResult(render(r.out), { '{}': -10 * 1.25 });
  });
  it('rate on a name without a counter suffix is an info; _total is not', () => {
    const a = call(
      'rate',
      [matrix([load({ __name__: 'metric' }, min(1), '0+1x10')], min(10), min(5))],
      min(10),
    );
    assert.deepEqual(a.annotations, [
      {
        level: 'info',
        message:
          'PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "metric"',
      },
    ]);
    const b = call(
      'increase',
      [matrix([load({ __name__: 'metric_total' }, min(1), '0+1x10')], min(10), min(5))],
      min(10),
    );
    assert.deepEqual(b.annotations, []);
    const c = call(
      'delta',
      [matrix([load({ __name__: 'metric' }, min(1), '0+1x10')], min(10), min(5))],
      min(10),
    );
    assert.deepEqual(c.annotations, []);
  });
});

describe('irate / idelta', () => {
  const s = [
    load({ __name__: 'http_requests_total', path: '/foo' }, min(5), '0+10x10'),
    load({ __name__: 'http_requests_total', path: '/bar' }, min(5), '0+10x5 0+10x5'),
  ];
  it('irate at 50m', () => {
    const r = call('irate', [matrix(s, min(50), min(50))], min(50));
    assertResult(render(r.out), { '{path="/foo"}': 1 / 30, '{path="/bar"}': 1 / 30 });
  });
  it('irate counter reset at 30m', () => {
    const r = call('irate', [matrix(s, min(30), min(50))], min(30));
    assertResult(render(r.out), { '{path="/foo"}': 1 / 30, '{path="/bar"}': 0 });
  });
  it('irate with NaN', () => {
    const nan = [load({ __name__: 'http_requests_nan' }, min(5), '1 NaN NaN 5 11')];
    const at = (t: number) => render(call('irate', [matrix(nan, t, min(15) + 1000)], t).out);
    assert.deepEqual(at(0), {});
    assert.ok(Number.isNaN((at(min(5)) as Record<string, number>)['{}']));
    assert.ok(Number.isNaN((at(min(15)) as Record<string, number>)['{}']));
    assertResult(at(min(20)), { '{}': 0.02 });
  });
  it('idelta', () => {
    const g = [load({ __name__: 'g' }, min(5), '0 10 4')];
    assertResult(render(call('idelta', [matrix(g, min(10), min(20))], min(10)).out), { '{}': -6 });
  });
});

describe('deriv / predict_linear (functions.test)', () => {
  const reset = [load({ __name__: 'testcounter_reset_middle_total' }, min(5), '0+10x4 0+10x5')];
  const req = [
    load(
      { __name__: 'http_requests_total', job: 'app-server', instance: '1', group: 'canary' },
      min(5),
      '0+80x10',
    ),
  ];
  it('deriv like rate', () => {
    assertResult(render(call('deriv', [matrix(req, min(50), min(50))], min(50)).out), {
      '{group="canary", instance="1", job="app-server"}': 0.26666666666666666,
    });
  });
  it('deriv over a reset', () => {
    assertResult(render(call('deriv', [matrix(reset, min(50), min(100))], min(50)).out), {
      '{}': 0.010606060606060607,
    });
  });
  it('deriv with infinities is NaN', () => {
    const inf = [load({ __name__: 'http_requests_inf' }, min(5), '-Inf 0+80x10 Inf')];
    const r = render(call('deriv', [matrix(inf, min(100), min(100))], min(100)).out) as Record<
      string,
      number
    >;
    assert.ok(Number.isNaN(r['{}']));
  });
  it('predict_linear', () => {
    assertResult(
      render(call('predict_linear', [matrix(reset, min(50), min(50)), scalar(3600)], min(50)).out),
      { '{}': 70 },
    );
  });
  it('predict_linear @ 3000 uses the step time as intercept', () => {
    // the window is fixed at 3000s (55m range); the intercept moves with the evaluation time
    const w = matrix(reset, 3_000_000, min(55));
    assertResult(render(call('predict_linear', [w, scalar(3600)], min(50)).out), { '{}': 76.81818181818181 });
    assertResult(render(call('predict_linear', [w, scalar(3600)], min(10)).out), { '{}': 51.36363636363637 });
    assertResult(render(call('predict_linear', [w, scalar(3600)], min(70)).out), { '{}': 89.54545454545455 });
  });
});

describe('resets / changes (functions.test)', () => {
  const http = [
    load({ path: '/foo' }, min(5), '1 2 3 0 1 0 0 1 2 0'),
    load({ path: '/bar' }, min(5), '1 2 3 4 5 1 2 3 4 5'),
    load({ path: '/biz' }, min(5), '0 0 0 0 0 1 1 1 1 1'),
  ];
  const cases: [string, number, Record<string, number>][] = [
    ['resets', min(5), {}],
    ['resets', min(10), { '{path="/foo"}': 0, '{path="/bar"}': 0, '{path="/biz"}': 0 }],
    ['resets', min(20), { '{path="/foo"}': 1, '{path="/bar"}': 0, '{path="/biz"}': 0 }],
    ['resets', min(32), { '{path="/foo"}': 2, '{path="/bar"}': 1, '{path="/biz"}': 0 }],
    ['resets', min(50), { '{path="/foo"}': 3, '{path="/bar"}': 1, '{path="/biz"}': 0 }],
  ];
  for (const [fn, range, want] of cases) {
    it(`${fn}[${range / 60000}m] at 50m`, () =>
      assertResult(render(call(fn, [matrix(http, min(50), range)], min(50)).out), want));
  }
  it('changes', () => {
    assertResult(render(call('changes', [matrix(http, min(50), min(50))], min(50)).out), {
      '{path="/foo"}': 7,
      '{path="/bar"}': 8,
      '{path="/biz"}': 1,
    });
  });
  it('changes treats NaN to NaN as no change', () => {
    const x = [load({ a: 'b' }, min(5), 'NaN NaN NaN'), load({ a: 'c' }, min(5), '0 NaN 0')];
    assertResult(render(call('changes', [matrix(x, min(15), min(20))], min(15)).out), {
      '{a="b"}': 0,
      '{a="c"}': 2,
    });
  });
});

describe('double_exponential_smoothing / holt_winters', () => {
  const s = [
    load({ job: 'api-server', instance: '0', group: 'production' }, 10_000, '0+10x1000 100+30x1000'),
    load({ job: 'api-server', instance: '1', group: 'canary' }, 10_000, '0+40x2000'),
  ];
  it('positive trends (functions.test)', () => {
    for (const fn of ['double_exponential_smoothing', 'holt_winters']) {
      const r = call(fn, [matrix(s, 8_000_000, 60_000), scalar(0.01), scalar(0.1)], 8_000_000);
      assertResult(render(r.out), {
        '{group="production", instance="0", job="api-server"}': 8000,
        '{group="canary", instance="1", job="api-server"}': 32000,
      });
    }
  });
  it('negative trends', () => {
    const n = [load({ i: '0' }, 10_000, '8000-10x1000'), load({ i: '1' }, 10_000, '0-40x1000 0+40x1000')];
    const r = call(
      'double_exponential_smoothing',
      [matrix(n, 8_000_000, 60_000), scalar(0.01), scalar(0.1)],
      8_000_000,
    );
    assertResult(render(r.out), { '{i="0"}': 0, '{i="1"}': -32000 });
  });
  it('invalid factors are evaluation errors', () => {
    const m = matrix(s, 8_000_000, 60_000);
    assert.throws(
      () => call('holt_winters', [m, scalar(1), scalar(0.1)], 8_000_000),
      (e: Error) => {
        assert.equal(e.message, 'invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000');
        assert.equal((e as { code?: string }).code, 'MS_ERR_PROMQL_EXEC');
        return true;
      },
    );
    assert.throws(
      () => call('double_exponential_smoothing', [m, scalar(0.5), scalar(0)], 8_000_000),
      /invalid trend factor\. Expected: 0 < tf < 1, got: 0\.000000/,
    );
  });
});

describe('window end from the selector (offset and @)', () => {
  const s = [load({ __name__: 'c_total' }, min(1), '0+1x100')];
  it('@ <time> fixes the window', () => {
    const vs = { ...selector('c_total'), at: { kind: 'time' as const, timeMs: min(30) } };
    const r = call('increase', [matrix(s, min(30), min(10))], min(50), [matrixSelector(vs, min(10))]);
    assertResult(render(r.out), { '{}': 10 });
  });
  it('@ end() uses the query bounds the engine passes', () => {
    const vs = { ...selector('c_total'), at: { kind: 'end' as const } };
    const f = FUNCTIONS.get('increase');
    assert.ok(f !== undefined);
    const ctx = {
      t: min(20),
      argExprs: [matrixSelector(vs, min(10))],
      pos: { start: 0, end: 0 },
      annotations: [],
      startMs: 0,
      endMs: min(40),
    };
    assertResult(render(f.call([matrix(s, min(40), min(10))], ctx)), { '{}': 10 });
  });
});
