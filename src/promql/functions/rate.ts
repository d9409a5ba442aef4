/** rate/increase/delta (extrapolated), irate/idelta, deriv, predict_linear, resets, changes, smoothing. */
import type { Point, Sample } from '../value.ts';
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
  points: readonly Point[],
  rangeStart: number,
  rangeEnd: number,
  isCounter: boolean,
  isRate: boolean,
): number | undefined {
  if (points.length < 2) return undefined;
  const first = points[0] as Point;
  const last = points[points.length - 1] as Point;
  let result = last.v - first.v;
  if (isCounter) {
    for (let i = 1; i < points.length; i++) {
      const prev = points[i - 1] as Point;
      if ((points[i] as Point).v < prev.v) result += prev.v;
    }
  }
  let durationToStart = (first.t - rangeStart) / 1000;
  let durationToEnd = (rangeEnd - last.t) / 1000;
  const sampledInterval = (last.t - first.t) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (points.length - 1);
  const extrapolationThreshold = averageDurationBetweenSamples * 1.1;
  if (durationToStart >= extrapolationThreshold) durationToStart = averageDurationBetweenSamples / 2;
  if (isCounter) {
    // counters cannot go negative: do not extrapolate below the zero point
    let durationToZero = durationToStart;
    if (result > 0 && first.v >= 0) durationToZero = sampledInterval * (first.v / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= extrapolationThreshold) durationToEnd = averageDurationBetweenSamples / 2;
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= (rangeEnd - rangeStart) / 1000;
  return result * factor;
}

const COUNTER_SUFFIXES = ['_total', '_sum', '_count', '_bucket'];

export function possibleNonCounterInfo(name: string): string {
  return `PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${JSON.stringify(name)}`;
}

function rateFn(name: string, isCounter: boolean, isRate: boolean): FunctionImpl {
  return define(name, (args, ctx) => {
    const { series, rangeMs } = matrixArg(args, 0);
    const end = windowEnd(ctx);
    const out: Sample[] = [];
    for (const s of series) {
      const v = extrapolatedRate(s.points, end - rangeMs, end, isCounter, isRate);
      if (v === undefined) continue;
      out.push(derived(s.metric, ctx.t, v));
      if (isCounter) {
        const n = metricName(s.metric);
        if (n !== '' && !COUNTER_SUFFIXES.some((suf) => n.endsWith(suf))) {
          annotate(ctx, 'info', possibleNonCounterInfo(n), 0);
        }
      }
    }
    return out;
  });
}

function instantValue(points: readonly Point[], isRate: boolean): number | undefined {
  if (points.length < 2) return undefined;
  const a = points[points.length - 2] as Point;
  const b = points[points.length - 1] as Point;
  const interval = b.t - a.t;
  if (interval === 0) return undefined;
  // a counter reset keeps the last value as the increase
  let v = isRate && b.v < a.v ? b.v : b.v - a.v;
  if (isRate) v /= interval / 1000;
  return v;
}

/** Least squares with Kahan sums; x relative to interceptTime (ms), as Prometheus' linearRegression. */
export function linearRegression(points: readonly Point[], interceptTime: number): [number, number] {
  let n = 0;
  let sumX = 0;
  let cX = 0;
  let sumY = 0;
  let cY = 0;
  let sumXY = 0;
  let cXY = 0;
  let sumX2 = 0;
  let cX2 = 0;
  const initY = (points[0] as Point).v;
  let constY = true;
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as Point;
    if (constY && i > 0 && p.v !== initY) constY = false;
    n += 1;
    const x = (p.t - interceptTime) / 1e3;
    [sumX, cX] = kahanInc(x, sumX, cX);
    [sumY, cY] = kahanInc(p.v, sumY, cY);
    [sumXY, cXY] = kahanInc(x * p.v, sumXY, cXY);
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
  f: (points: readonly Point[]) => number | undefined,
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
  points: readonly Point[],
  test: (prev: number, cur: number) => boolean,
): number | undefined {
  if (points.length === 0) return undefined;
  let n = 0;
  for (let i = 1; i < points.length; i++) {
    if (test((points[i - 1] as Point).v, (points[i] as Point).v)) n++;
  }
  return n;
}

/** Holt's linear (double exponential) smoothing, as Prometheus' funcDoubleExponentialSmoothing. */
export function doubleExponentialSmoothing(
  points: readonly Point[],
  sf: number,
  tf: number,
): number | undefined {
  const l = points.length;
  if (l < 2) return undefined;
  let s0 = 0;
  let s1 = (points[0] as Point).v;
  let b = (points[1] as Point).v - s1;
  for (let i = 1; i < l; i++) {
    const x = sf * (points[i] as Point).v;
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
    perSeries(args, ctx, (p) => (p.length < 2 ? undefined : linearRegression(p, (p[0] as Point).t)[0])),
  ),
  define('predict_linear', (args, ctx) => {
    const duration = scalarArg(args, 1);
    return perSeries(args, ctx, (p) => {
      if (p.length < 2) return undefined;
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
