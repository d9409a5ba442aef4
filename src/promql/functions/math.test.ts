import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { call, close, instant, load, render, scalar, vec } from './testing.ts';

const values = (out: ReturnType<typeof render>) => out as Record<string, number>;

/** Prometheus' test runner compares floats with a relative tolerance of 1e-6. */
function expectAll(got: Record<string, number>, want: Record<string, number>): void {
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
  for (const [k, v] of Object.entries(want)) assert.ok(close(got[k], v, 1e-6), `${k}: ${got[k]} != ${v}`);
}

describe('trigonometric functions (trig_functions.test)', () => {
  const trig = vec([
    { labels: { __name__: 'trig', l: 'x' }, v: 10 },
    { labels: { __name__: 'trig', l: 'y' }, v: 20 },
    { labels: { __name__: 'trig', l: 'NaN' }, v: NaN },
  ]);
  const cases: [string, number, number][] = [
    ['sin', -0.5440211108893699, 0.9129452507276277],
    ['cos', -0.8390715290764524, 0.40808206181339196],
    ['tan', 0.6483608274590867, 2.2371609442247427],
    ['atan', 1.4711276743037345, 1.5208379310729538],
    ['sinh', 11013.232920103324, 2.4258259770489514e8],
    ['deg', 572.9577951308232, 1145.9155902616465],
    ['rad', 0.17453292519943295, 0.3490658503988659],
  ];
  for (const [fn, x, y] of cases) {
    it(fn, () =>
      expectAll(values(render(call(fn, [trig], 60_000).out)), {
        '{l="x"}': x,
        '{l="y"}': y,
        '{l="NaN"}': NaN,
      }),
    );
  }
  it('asin/acos out of domain give NaN', () => {
    const shifted = vec([
      { labels: { l: 'x' }, v: 10 - 10.1 },
      { labels: { l: 'y' }, v: 20 - 10.1 },
    ]);
    expectAll(values(render(call('asin', [shifted], 0).out)), {
      '{l="x"}': -0.10016742116155944,
      '{l="y"}': NaN,
    });
    expectAll(values(render(call('acos', [shifted], 0).out)), {
      '{l="x"}': 1.670963747956456,
      '{l="y"}': NaN,
    });
  });
  it('pi() and time() are scalars', () => {
    assert.equal(call('pi', [], 0).out, Math.PI);
    assert.equal(call('time', [], 61_500).out, 61.5);
  });
});

describe('abs, ceil, floor, round, sgn, exp, ln, sqrt (functions.test)', () => {
  const data = vec([
    { labels: { __name__: 'data', type: 'positive' }, v: 2.5 },
    { labels: { __name__: 'data', type: 'whole' }, v: 2 },
    { labels: { __name__: 'data', type: 'negative' }, v: -2.5 },
    { labels: { __name__: 'data', type: 'nwhole' }, v: -2 },
    { labels: { __name__: 'data', type: 'zero' }, v: 0 },
    { labels: { __name__: 'data', type: 'nzero' }, v: -0 },
  ]);
  const run = (fn: string, extra: number[] = []) =>
    values(render(call(fn, [data, ...extra.map(scalar)], 0).out));
  it('round: ties round up', () =>
    expectAll(run('round'), {
      '{type="positive"}': 3,
      '{type="whole"}': 2,
      '{type="negative"}': -2,
      '{type="nwhole"}': -2,
      '{type="zero"}': 0,
      '{type="nzero"}': 0,
    }));
  it('round to nearest 0.1 / 5', () => {
    const v = vec([{ labels: { a: '1' }, v: 1.234 }]);
    assert.ok(close(values(render(call('round', [v, scalar(0.1)], 0).out))['{a="1"}'], 1.2));
    assert.equal(
      values(render(call('round', [vec([{ labels: { a: '1' }, v: 12.5 }]), scalar(5)], 0).out))['{a="1"}'],
      15,
    );
  });
  it('abs / ceil / floor / sgn', () => {
    expectAll(run('abs'), {
      '{type="positive"}': 2.5,
      '{type="whole"}': 2,
      '{type="negative"}': 2.5,
      '{type="nwhole"}': 2,
      '{type="zero"}': 0,
      '{type="nzero"}': 0,
    });
    expectAll(run('ceil'), {
      '{type="positive"}': 3,
      '{type="whole"}': 2,
      '{type="negative"}': -2,
      '{type="nwhole"}': -2,
      '{type="zero"}': 0,
      '{type="nzero"}': -0,
    });
    expectAll(run('floor'), {
      '{type="positive"}': 2,
      '{type="whole"}': 2,
      '{type="negative"}': -3,
      '{type="nwhole"}': -2,
      '{type="zero"}': 0,
      '{type="nzero"}': -0,
    });
    expectAll(run('sgn'), {
      '{type="positive"}': 1,
      '{type="whole"}': 1,
      '{type="negative"}': -1,
      '{type="nwhole"}': -1,
      '{type="zero"}': 0,
      '{type="nzero"}': 0,
    });
  });
  it('exp / ln / log2 / log10 / sqrt', () => {
    const v = vec([{ labels: { a: 'b' }, v: 8 }]);
    const one = (fn: string) => values(render(call(fn, [v], 0).out))['{a="b"}'];
    assert.ok(close(one('exp'), Math.exp(8)));
    assert.ok(close(one('ln'), Math.log(8)));
    assert.equal(one('log2'), 3);
    assert.ok(close(one('log10'), Math.log10(8)));
    assert.ok(close(one('sqrt'), Math.sqrt(8)));
  });
  it('results drop the name at the end and carry the step time', () => {
    const out = call('abs', [data], 123_000).out;
    assert.ok(
      Array.isArray(out) &&
        out.every((s) => s.dropName === true && s.t === 123_000 && s.metric.get('__name__') === 'data'),
    );
  });
});

describe('clamp (functions.test)', () => {
  const c = vec([
    { labels: { __name__: 'test_clamp', src: 'clamp-a' }, v: -50 },
    { labels: { __name__: 'test_clamp', src: 'clamp-b' }, v: 0 },
    { labels: { __name__: 'test_clamp', src: 'clamp-c' }, v: 100 },
  ]);
  const run = (fn: string, ...a: number[]) => values(render(call(fn, [c, ...a.map(scalar)], 0).out));
  it('clamp_max / clamp_min / clamp', () => {
    expectAll(run('clamp_max', 75), { '{src="clamp-a"}': -50, '{src="clamp-b"}': 0, '{src="clamp-c"}': 75 });
    expectAll(run('clamp_min', -25), {
      '{src="clamp-a"}': -25,
      '{src="clamp-b"}': 0,
      '{src="clamp-c"}': 100,
    });
    expectAll(run('clamp', -25, 75), { '{src="clamp-a"}': -25, '{src="clamp-b"}': 0, '{src="clamp-c"}': 75 });
  });
  it('NaN bounds give NaN', () => {
    expectAll(run('clamp', 0, NaN), {
      '{src="clamp-a"}': NaN,
      '{src="clamp-b"}': NaN,
      '{src="clamp-c"}': NaN,
    });
    expectAll(run('clamp', NaN, 0), {
      '{src="clamp-a"}': NaN,
      '{src="clamp-b"}': NaN,
      '{src="clamp-c"}': NaN,
    });
  });
  it('min > max gives an empty result', () =>
    assert.deepEqual(call('clamp', [c, scalar(5), scalar(-5)], 0).out, []));
});

describe('timestamp, vector, scalar', () => {
  const metric = [load({ __name__: 'metric' }, 10_000, '1 1')];
  it('timestamp() is the sample time, not the step', () => {
    // the engine passes the original sample time in Sample.t
    const at5 = vec([{ labels: { __name__: 'metric' }, v: 1, t: 0 }]);
    assert.deepEqual(values(render(call('timestamp', [at5], 5000).out)), { '{}': 0 });
    const at10 = instant(metric, 10_000);
    assert.deepEqual(values(render(call('timestamp', [at10], 10_000).out)), { '{}': 10 });
  });
  it('vector(s) has no labels and keeps nothing to drop', () => {
    const out = call('vector', [scalar(1)], 0).out;
    assert.ok(Array.isArray(out));
    assert.equal(out.length, 1);
    assert.equal(out[0]?.metric.list.length, 0);
    assert.equal(out[0]?.dropName, undefined);
  });
  it('scalar(v): NaN unless exactly one sample', () => {
    assert.equal(call('scalar', [vec([{ labels: { a: 'b' }, v: 3 }])], 0).out, 3);
    assert.ok(Number.isNaN(call('scalar', [vec([])], 0).out));
    assert.ok(
      Number.isNaN(
        call(
          'scalar',
          [
            vec([
              { labels: { a: 'b' }, v: 3 },
              { labels: { a: 'c' }, v: 4 },
            ]),
          ],
          0,
        ).out,
      ),
    );
  });
});

describe('date functions (functions.test)', () => {
  const at = (fn: string, v?: number) => {
    const args = v === undefined ? [] : [vec([{ labels: {}, v }])];
    return values(render(call(fn, args, 0).out))['{}'] ?? NaN;
  };
  it('defaults to vector(time())', () => {
    assert.equal(at('year'), 1970);
    assert.equal(at('month'), 1);
    assert.equal(at('day_of_month'), 1);
    assert.equal(at('day_of_year'), 1);
    assert.equal(at('day_of_week'), 4);
    assert.equal(at('hour'), 0);
    assert.equal(at('minute'), 0);
    assert.equal(at('days_in_month'), 31);
  });
  it('2006-01-02 22:04:05 UTC', () => {
    assert.equal(at('year', 1136239445), 2006);
    assert.equal(at('month', 1136239445), 1);
    assert.equal(at('day_of_month', 1136239445), 2);
    assert.equal(at('day_of_year', 1136239445), 2);
    assert.equal(at('day_of_week', 1136239445), 1);
    assert.equal(at('hour', 1136239445), 22);
    assert.equal(at('minute', 1136239445), 4);
  });
  it('edges', () => {
    assert.equal(at('year', 1230767999), 2008);
    assert.equal(at('year', 1230768000), 2009);
    assert.equal(at('month', 1456790399) + at('day_of_month', 1456790399) / 100, 2.29);
    assert.equal(at('month', 1456790400) + at('day_of_month', 1456790400) / 100, 3.01);
    assert.equal(at('day_of_year', 1483191420), 366);
    assert.equal(at('day_of_year', 1672493820), 365);
    assert.equal(at('days_in_month', 1454284800), 29);
    assert.equal(at('days_in_month', 1485907200), 28);
  });
  it('non-finite input gives NaN, not an error', () => assert.ok(Number.isNaN(at('year', NaN))));
});
