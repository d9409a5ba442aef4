import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SampleExpr } from '../../ast.ts';
import { parseLogQL } from '../../parser/index.ts';
import { MemoryLogSource, type LokiPushBody } from '../memory-source.ts';
import { VALUE_FUNCTIONS } from './range-functions.ts';
import {
  contains,
  eq,
  instantAt,
  linesOnly,
  matrixMap,
  range,
  rangeOf,
  re,
  run,
  SEC,
  smallBody,
  T0,
  vectorMap,
} from './test-helpers.ts';

const h1 = JSON.stringify({ host: 'h1', job: 'a' });
const h2 = JSON.stringify({ host: 'h2', job: 'a' });
const h2pod = JSON.stringify({ host: 'h2', job: 'a', pod: 'p1' });
const h3 = JSON.stringify({ host: 'h3', job: 'b' });

describe('range aggregations over lines', () => {
  it('count_over_time: the window is (t - range, t], series keyed by stream labels plus metadata', async () => {
    assert.deepEqual(
      vectorMap(await run(range('count_over_time', [eq('job', 'a')], 60_000), instantAt(60))),
      {
        [h1]: '2',
        [h2pod]: '1',
      },
    );
    assert.deepEqual(
      vectorMap(await run(range('count_over_time', [eq('job', 'a')], 60_000), instantAt(120))),
      {
        [h1]: '2',
        [h2]: '1',
      },
    );
  });

  it('a range query has points only where the window has lines', async () => {
    const r = await run(range('count_over_time', [eq('job', 'a')], 60_000), rangeOf(0, 120, 60));
    assert.deepEqual(matrixMap(r), {
      [h1]: [
        [60, '2'],
        [120, '2'],
      ],
      [h2]: [[120, '1']],
      [h2pod]: [[60, '1']],
    });
  });

  it('rate is the count per second of the range; bytes_* count UTF-8 bytes', async () => {
    assert.deepEqual(vectorMap(await run(range('rate', [eq('host', 'h1')], 60_000), instantAt(60))), {
      [h1]: '0.03333333333333333',
    });
    // "GET /z" (6 bytes) + "GET ü" (6 bytes: ü is two)
    assert.deepEqual(
      vectorMap(await run(range('bytes_over_time', [eq('host', 'h1')], 60_000), instantAt(120))),
      {
        [h1]: '12',
      },
    );
    assert.deepEqual(vectorMap(await run(range('bytes_rate', [eq('host', 'h1')], 60_000), instantAt(120))), {
      [h1]: '0.2',
    });
  });

  it('line filters apply before counting', async () => {
    const e = range('count_over_time', [eq('job', 'a')], 120_000, { filters: [contains('GET')] });
    assert.deepEqual(vectorMap(await run(e, instantAt(120))), { [h1]: '3', [h2]: '1', [h2pod]: '1' });
  });

  it('offset shifts the window but not the timestamps', async () => {
    const r = await run(
      range('count_over_time', [eq('job', 'b')], 60_000, { offsetMs: 60_000 }),
      rangeOf(60, 180, 60),
    );
    // t=60 looks at (-60s, 0]: empty; t=120 at (0, 60]: the line at 5s; t=180 at (60s, 120s]: 65s
    assert.deepEqual(matrixMap(r), {
      [h3]: [
        [120, '1'],
        [180, '1'],
      ],
    });
  });

  it('absent_over_time answers 1 with the selector equality labels where nothing matched', async () => {
    const r = await run(
      range('absent_over_time', [eq('job', 'zzz'), eq('env', 'x'), re('host', '.+')], 60_000),
      instantAt(60),
    );
    assert.deepEqual(vectorMap(r), { [JSON.stringify({ env: 'x', job: 'zzz' })]: '1' });
    const steps = await run(range('absent_over_time', [eq('job', 'b')], 60_000), rangeOf(0, 120, 30));
    assert.deepEqual(matrixMap(steps), { [JSON.stringify({ job: 'b' })]: [[0, '1']] });
  });

  it('the pushdown and the line path give the same answers', async () => {
    const src = new MemoryLogSource(smallBody());
    for (const op of [
      'count_over_time',
      'rate',
      'bytes_over_time',
      'bytes_rate',
      'absent_over_time',
    ] as const) {
      for (const params of [rangeOf(0, 120, 30), rangeOf(0, 120, 45), instantAt(90)]) {
        const e = range(op, [re('job', 'a|b')], 60_000, { filters: [contains(' ')] });
        const pushed = await run(e, params, src);
        const read = await run(e, params, linesOnly(src));
        assert.deepEqual(
          pushed,
          read,
          `${op} ${JSON.stringify(params, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
        );
      }
    }
    assert.ok(src.bucketReads > 0);
  });
});

describe('unwrapped range aggregations', () => {
  const at = (s: number) => String(T0 + BigInt(s) * SEC);
  const body = {
    streams: [
      {
        stream: { job: 'w', host: 'x' },
        values: [
          [at(1), 'took=3'],
          [at(2), 'took=1'],
          [at(3), 'took=4'],
          [at(50), 'other=1'],
        ],
      },
      {
        stream: { job: 'w', host: 'y' },
        values: [
          [at(4), 'took=10'],
          [at(5), 'took=1.5s'],
        ],
      },
    ],
  } as LokiPushBody;
  const q = (text: string) => parseLogQL(text) as SampleExpr;

  it('give the same answers through readSamples and through the line path', async () => {
    const src = new MemoryLogSource(body);
    for (const text of [
      'quantile_over_time(0.5, {job="w"} | logfmt | unwrap took | __error__="" [1m]) by (job)',
      'sum_over_time({job="w"} | logfmt | unwrap took | __error__="" [1m])',
      'max_over_time({job="w"} | logfmt | unwrap took | __error__="" [1m]) by (host)',
      'rate_counter({job="w"} | logfmt | unwrap took | __error__="" [1m])',
    ]) {
      for (const params of [instantAt(60), rangeOf(0, 60, 2)]) {
        assert.deepEqual(await run(q(text), params, src), await run(q(text), params, linesOnly(src)), text);
      }
    }
    assert.ok(src.sampleReads > 0);
    assert.deepEqual(
      vectorMap(
        await run(
          q('sum_over_time({job="w"} | logfmt | unwrap took | __error__="" [1m])'),
          instantAt(60),
          src,
        ),
      ),
      {
        [JSON.stringify({ host: 'x', job: 'w' })]: '8',
        [JSON.stringify({ host: 'y', job: 'w' })]: '10',
      },
    );
  });

  it('give the same answers through aggregateSamples (windows) and through the line path', async () => {
    // samples every 7 s over 2 min in two streams, with values that do not convert
    const many = {
      streams: ['x', 'y'].map((host, h) => ({
        stream: { job: 'v', host },
        values: Array.from({ length: 18 }, (_, k) => [
          at(k * 7 + h),
          k % 9 === 4 ? 'took=1.5s' : `took=${(k * 37) % 11}.${k}`,
        ]),
      })),
    } as LokiPushBody;
    const src = new MemoryLogSource(many);
    for (const text of [
      'quantile_over_time(0.9, {job="v"} | logfmt | unwrap took | __error__="" [30s]) by (job)',
      'quantile_over_time(1.5, {job="v"} | logfmt | unwrap took | __error__="" [30s]) by (job)',
      'sum by (host) (sum_over_time({job="v"} | logfmt | unwrap took | __error__="" [15s]))',
      'sum by (job) (rate({job="v"} | logfmt | unwrap took | __error__="" [45s]))',
      'stddev_over_time({job="v"} | logfmt | unwrap took | __error__="" [20s]) by (host)',
      'first_over_time({job="v"} | logfmt | unwrap took | __error__="" [20s])',
      'last_over_time({job="v"} | logfmt | unwrap took [20s]) by (__error__)',
    ]) {
      // range > step, range < step, an instant query
      for (const params of [rangeOf(20, 120, 10), rangeOf(20, 120, 40), instantAt(60)]) {
        assert.deepEqual(await run(q(text), params, src), await run(q(text), params, linesOnly(src)), text);
      }
    }
    assert.ok(src.windowReads > 0);
    await assert.rejects(run(q('max_over_time({job="v"} | logfmt | unwrap took [1m])'), instantAt(60), src), {
      message: /^pipeline error: 'SampleExtractionErr' for series: /,
    });
  });

  it('a value that does not convert fails the query', async () => {
    await assert.rejects(
      run(
        q('sum_over_time({job="w"} | logfmt | unwrap took [1m])'),
        instantAt(60),
        new MemoryLogSource(body),
      ),
      { message: /^pipeline error: 'SampleExtractionErr' for series: / },
    );
  });
});

describe('range functions', () => {
  const values = [3, 1, 4, 1, 5];
  const ts = [1e9, 2e9, 3e9, 4e9, 5e9];
  const w = { ts, values, lo: 0, hi: values.length, rangeMs: 10_000, param: 0.5 };
  const call = (op: keyof typeof VALUE_FUNCTIONS, over = {}) => VALUE_FUNCTIONS[op]?.({ ...w, ...over });

  it('sum, avg, min, max, first, last', () => {
    assert.equal(call('sum_over_time'), 14);
    assert.equal(call('avg_over_time'), 2.8);
    assert.equal(call('min_over_time'), 1);
    assert.equal(call('max_over_time'), 5);
    assert.equal(call('first_over_time'), 3);
    assert.equal(call('last_over_time'), 5);
    assert.equal(call('rate'), 1.4);
  });

  it('stdvar and stddev are population statistics; quantile interpolates', () => {
    assert.ok(Math.abs((call('stdvar_over_time') ?? 0) - 2.56) < 1e-12);
    assert.ok(Math.abs((call('stddev_over_time') ?? 0) - Math.sqrt(2.56)) < 1e-12);
    assert.equal(call('quantile_over_time'), 3);
    assert.equal(call('quantile_over_time', { param: 0.99 }), 4.96);
  });

  it('rate_counter counts resets and extrapolates as Loki does', () => {
    // two resets: increase = (5 - 3) + 3 + 4 = 9; the sampled interval is 4e6 (ns / 1000) and the
    // duration to the start is rangeMs / 1000 = 10, under the threshold, so it is added
    assert.equal(call('rate_counter'), (9 * ((4e6 + 10) / 4e6)) / 10);
    assert.equal(call('rate_counter', { lo: 0, hi: 1 }), 0);
  });
});
