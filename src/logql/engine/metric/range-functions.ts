/**
 * The functions of range aggregations over one window of one series, as Loki computes them
 * (pkg/logql/range_vector.go): `values[lo, hi)` are the samples in the window, `ts` their
 * timestamps in nanoseconds (relative to any origin: only differences are used).
 */
import type { RangeOp } from '../../ast.ts';
import { quantileOf } from '../../../promql/functions/over-time.ts';

export interface WindowInput {
  ts: readonly number[];
  values: readonly number[];
  lo: number;
  hi: number;
  rangeMs: number;
  param: number | null;
}

type WindowFn = (w: WindowInput) => number;

function sum({ values, lo, hi }: WindowInput): number {
  let s = 0;
  for (let k = lo; k < hi; k++) s += values[k] as number;
  return s;
}

function avg({ values, lo, hi }: WindowInput): number {
  let mean = 0;
  let count = 0;
  for (let k = lo; k < hi; k++) {
    const v = values[k] as number;
    count++;
    if (mean === Infinity || mean === -Infinity) {
      if ((v === Infinity || v === -Infinity) && mean > 0 === v > 0) continue;
      if (Number.isFinite(v)) continue;
    }
    mean += v / count - mean / count;
  }
  return mean;
}

function extreme(isMax: boolean): WindowFn {
  return ({ values, lo, hi }) => {
    let m = values[lo] as number;
    for (let k = lo; k < hi; k++) {
      const v = values[k] as number;
      if ((isMax ? v > m : v < m) || Number.isNaN(m)) m = v;
    }
    return m;
  };
}

/** Welford's algorithm, as Loki's stdvarOverTime. */
function stdvar({ values, lo, hi }: WindowInput): number {
  let aux = 0;
  let count = 0;
  let mean = 0;
  for (let k = lo; k < hi; k++) {
    const v = values[k] as number;
    count++;
    const delta = v - mean;
    mean += delta / count;
    aux += delta * (v - mean);
  }
  return aux / count;
}

/**
 * Loki's rate_counter: Prometheus' extrapolatedRate as Loki adapted it — its range start is the
 * first sample minus the range in *milliseconds* while timestamps are nanoseconds, so the
 * duration to the start is rangeMs/1000 and the one to the end is 0. Reproduced as is.
 */
function rateCounter({ ts, values, lo, hi, rangeMs }: WindowInput): number {
  const n = hi - lo;
  if (n < 2) return 0;
  const first = values[lo] as number;
  const lastV = values[hi - 1] as number;
  let result = lastV - first;
  let prev = 0;
  for (let k = lo; k < hi; k++) {
    const v = values[k] as number;
    if (v < prev) result += prev;
    prev = v;
  }
  let durationToStart = rangeMs / 1000;
  const durationToEnd = 0;
  const sampledInterval = ((ts[hi - 1] as number) - (ts[lo] as number)) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (n - 1);
  if (result > 0 && first >= 0) {
    const durationToZero = sampledInterval * (first / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  const threshold = averageDurationBetweenSamples * 1.1;
  let extrapolateToInterval = sampledInterval;
  extrapolateToInterval += durationToStart < threshold ? durationToStart : averageDurationBetweenSamples / 2;
  extrapolateToInterval += durationToEnd < threshold ? durationToEnd : averageDurationBetweenSamples / 2;
  result = result * (extrapolateToInterval / sampledInterval);
  return result / (rangeMs / 1000);
}

/**
 * Prometheus' quantile (what Loki uses). The window is first sorted as a typed array (native,
 * no comparator: several times faster on the large windows of log samples), so quantileOf's own
 * sort meets sorted input and runs in linear time. NaN sorts last here and first there, which
 * quantileOf's sort still puts right.
 */
function quantile({ values, lo, hi, param }: WindowInput): number {
  const sorted = Float64Array.from(values.slice(lo, hi)).sort();
  return quantileOf(param ?? Number.NaN, Array.from(sorted));
}

/** Functions over the unwrapped values (and bytes_*); count-based ops are computed by the caller. */
export const VALUE_FUNCTIONS: Partial<Record<RangeOp, WindowFn>> = {
  sum_over_time: sum,
  bytes_over_time: sum,
  bytes_rate: (w) => sum(w) / (w.rangeMs / 1000),
  rate: (w) => sum(w) / (w.rangeMs / 1000),
  avg_over_time: avg,
  max_over_time: extreme(true),
  min_over_time: extreme(false),
  stdvar_over_time: stdvar,
  stddev_over_time: (w) => Math.sqrt(stdvar(w)),
  quantile_over_time: quantile,
  first_over_time: (w) => w.values[w.lo] as number,
  last_over_time: (w) => w.values[w.hi - 1] as number,
  rate_counter: rateCounter,
};
