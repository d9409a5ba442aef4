/** rate/increase/delta (extrapolated), irate/idelta, deriv, predict_linear, resets, changes, smoothing. */
import type { PointArrays, Sample } from '../value.ts';
import {
  annotate,
  define,
  derived,
  execError,
  formatF,
  kahanInc,
  matrixArg,
  metricName,
  scalarArg,
  windowEnd,
} from './common.ts';
import type { FnArg, FnContext, FunctionImpl } from './types.ts';

/**
 * Prometheus' extrapolatedRate over one series' points in (end - range, end]. Returns undefined when
 * fewer than two points.
 */
export function extrapolatedRate(
  { t, v }: PointArrays,
  rangeStart: number,
  rangeEnd: number,
  isCounter: boolean,
  isRate: boolean,
): number | undefined {
  const n = t.length;
  if (n < 2) return undefined;
  let result = v[n - 1]! - v[0]!;
  if (isCounter) {
    for (let i = 1; i < n; i++) {
      const prev = v[i - 1]!;
      if (v[i]! < prev) result += prev;
    }
  }
  return extrapolate(t, v, 0, n, result, rangeStart, rangeEnd, isCounter, isRate);
}

/**
 * The second half of extrapolatedRate: `result` (the last value minus the first, plus the value
 * before each counter reset, added in order) extrapolated to the window's edges.
 */
export function extrapolate(
  t: Float64Array,
  v: Float64Array,
  lo: number,
  hi: number,
  result: number,
  rangeStart: number,
  rangeEnd: number,
  isCounter: boolean,
  isRate: boolean,
): number {
  const n = hi - lo;
  const last = hi - 1;
  const firstV = v[lo]!;
  let durationToStart = (t[lo]! - rangeStart) / 1000;
  let durationToEnd = (rangeEnd - t[last]!) / 1000;
  const sampledInterval = (t[last]! - t[lo]!) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (n - 1);
  const extrapolationThreshold = averageDurationBetweenSamples * 1.1;
  if (durationToStart >= extrapolationThreshold) durationToStart = averageDurationBetweenSamples / 2;
  if (isCounter) {
    // counters cannot go negative: do not extrapolate below the zero point
    let durationToZero = durationToStart;
    if (result > 0 && firstV >= 0) durationToZero = sampledInterval * (firstV / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= extrapolationThreshold) durationToEnd = averageDurationBetweenSamples / 2;
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= (rangeEnd - rangeStart) / 1000;
  return result * factor;
}

export const COUNTER_SUFFIXES = ['_total', '_sum', '_count', '_bucket'];

export function possibleNonCounterInfo(name: string): string {
  return `PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${JSON.stringify(name)}`;
}

function rateFn(name: string, isCounter: boolean, isRate: boolean): FunctionImpl {
  return define(name, (args, ctx) => {
    const { series, rangeMs } = matrixArg(args, 0);
    const end = windowEnd(ctx);
    const out: Sample[] = [];
    const warned = new Set<string>();
    for (const s of series) {
      const v = extrapolatedRate(s.points, end - rangeMs, end, isCounter, isRate);
      if (v === undefined) continue;
      out.push(derived(s.metric, ctx.t, v));
      if (isCounter) {
        const n = metricName(s.metric);
        if (n !== '' && !warned.has(n) && !COUNTER_SUFFIXES.some((suf) => n.endsWith(suf))) {
          warned.add(n);
          annotate(ctx, 'info', possibleNonCounterInfo(n), 0);
        }
      }
    }
    return out;
  });
}

function instantValue({ t, v: vs }: PointArrays, isRate: boolean): number | undefined {
  const n = t.length;
  if (n < 2) return undefined;
  const interval = t[n - 1]! - t[n - 2]!;
  if (interval === 0) return undefined;
  const a = vs[n - 2]!;
  const b = vs[n - 1]!;
  // a counter reset keeps the last value as the increase
  let v = isRate && b < a ? b : b - a;
  if (isRate) v /= interval / 1000;
  return v;
}

/** Least squares with Kahan sums; x relative to interceptTime (ms), as Prometheus' linearRegression. */
export function linearRegression({ t, v }: PointArrays, interceptTime: number): [number, number] {
  let n = 0;
  let sumX = 0;
  let cX = 0;
  let sumY = 0;
  let cY = 0;
  let sumXY = 0;
  let cXY = 0;
  let sumX2 = 0;
  let cX2 = 0;
  const initY = v[0]!;
  let constY = true;
  for (let i = 0; i < t.length; i++) {
    const y = v[i]!;
    if (constY && i > 0 && y !== initY) constY = false;
    n += 1;
    const x = (t[i]! - interceptTime) / 1e3;
    [sumX, cX] = kahanInc(x, sumX, cX);
    [sumY, cY] = kahanInc(y, sumY, cY);
    [sumXY, cXY] = kahanInc(x * y, sumXY, cXY);
    [sumX2, cX2] = kahanInc(x * x, sumX2, cX2);
  }
  if (constY) {
    if (initY === Infinity || initY === -Infinity) return [NaN, NaN];
    return [0, initY];
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  const intercept = sumY / n - (slope * sumX) / n;
  return [slope, intercept];
}

function perSeries(
  args: FnArg[],
  ctx: FnContext,
  f: (points: PointArrays) => number | undefined,
  matrixIndex = 0,
): Sample[] {
  const out: Sample[] = [];
  for (const s of matrixArg(args, matrixIndex).series) {
    const v = f(s.points);
    if (v !== undefined) out.push(derived(s.metric, ctx.t, v));
  }
  return out;
}

function countPairs(
  { v }: PointArrays,
  test: (prev: number, cur: number) => boolean,
): number | undefined {
  if (v.length === 0) return undefined;
  let n = 0;
  for (let i = 1; i < v.length; i++) {
    if (test(v[i - 1]!, v[i]!)) n++;
  }
  return n;
}

/** Holt's linear (double exponential) smoothing, as Prometheus' funcDoubleExponentialSmoothing. */
export function doubleExponentialSmoothing(
  { v }: PointArrays,
  sf: number,
  tf: number,
): number | undefined {
  const l = v.length;
  if (l < 2) return undefined;
  let s0 = 0;
  let s1 = v[0]!;
  let b = v[1]! - s1;
  for (let i = 1; i < l; i++) {
    const x = sf * v[i]!;
    // the trend at i-1 (the initial trend is used as-is for the first step)
    if (i - 1 !== 0) b = tf * (s1 - s0) + (1 - tf) * b;
    const y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  return s1;
}

function smoothing(name: string): FunctionImpl {
  return define(name, (args, ctx) => {
    const sf = scalarArg(args, 1);
    const tf = scalarArg(args, 2);
    // Prometheus validates inside the per-series call: no series, no error
    if (matrixArg(args, 0).series.length === 0) return [];
    // NaN fails neither comparison in Go either, so NaN factors are accepted there too
    if (sf <= 0 || sf >= 1)
      throw execError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${formatF(sf)}`);
    if (tf <= 0 || tf >= 1)
      throw execError(`invalid trend factor. Expected: 0 < tf < 1, got: ${formatF(tf)}`);
    return perSeries(args, ctx, (p) => doubleExponentialSmoothing(p, sf, tf));
  });
}

export const RATE_FUNCTIONS: FunctionImpl[] = [
  rateFn('rate', true, true),
  rateFn('increase', true, false),
  rateFn('delta', false, false),
  define('irate', (args, ctx) => perSeries(args, ctx, (p) => instantValue(p, true))),
  define('idelta', (args, ctx) => perSeries(args, ctx, (p) => instantValue(p, false))),
  define('deriv', (args, ctx) =>
    perSeries(args, ctx, (p) => (p.t.length < 2 ? undefined : linearRegression(p, p.t[0]!)[0])),
  ),
  define('predict_linear', (args, ctx) => {
    const duration = scalarArg(args, 1);
    return perSeries(args, ctx, (p) => {
      if (p.t.length < 2) return undefined;
      const [slope, intercept] = linearRegression(p, ctx.t);
      return slope * duration + intercept;
    });
  }),
  define('resets', (args, ctx) => perSeries(args, ctx, (p) => countPairs(p, (prev, cur) => cur < prev))),
  define('changes', (args, ctx) =>
    perSeries(args, ctx, (p) =>
      countPairs(p, (prev, cur) => cur !== prev && !(Number.isNaN(cur) && Number.isNaN(prev))),
    ),
  ),
  smoothing('double_exponential_smoothing'),
  smoothing('holt_winters'),
];
