/**
 * histogram_quantile / histogram_fraction over classic histograms (series with an `le` label,
 * grouped by all other labels including the name). The native-histogram functions have no float
 * input to act on and return nothing.
 */
import { Labels, METRIC_NAME } from '../labels.ts';
import type { Sample } from '../value.ts';
import { annotate, define, derived, formatG, scalarArg, stringArg, vectorArg } from './common.ts';
import { invalidQuantileWarning } from './over-time.ts';
import type { FnArg, FnContext, FunctionImpl } from './types.ts';

export interface Bucket {
  upperBound: number;
  count: number;
}

const BUCKET_LABEL = 'le';
const SMALL_DELTA_TOLERANCE = 1e-12;
const MIN_NORMAL = 2.2250738585072014e-308;

/** Go's strconv.ParseFloat(s, 64) syntax (decimal, hex with p exponent, inf/infinity/nan, `_` not allowed). */
export function parseGoFloat(s: string): number | undefined {
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return Number(s);
  const hex = /^([+-]?)0x([0-9a-f]*)\.?([0-9a-f]*)p([+-]?\d+)$/i.exec(s);
  if (hex !== null && (hex[2] !== '' || hex[3] !== '')) {
    const intPart = hex[2] ?? '';
    const frac = hex[3] ?? '';
    const mant = parseInt(intPart + frac || '0', 16) / 16 ** frac.length;
    const v = mant * 2 ** Number(hex[4]);
    return hex[1] === '-' ? -v : v;
  }
  return undefined;
}

/** Prometheus' almost.Equal. */
function almostEqual(a: number, b: number, epsilon: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < epsilon * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}

function sortAndCoalesce(buckets: Bucket[]): Bucket[] {
  const sorted = [...buckets].sort((a, b) =>
    a.upperBound < b.upperBound ? -1 : a.upperBound > b.upperBound ? 1 : 0,
  );
  const out: Bucket[] = [];
  for (const b of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && last.upperBound === b.upperBound) last.count += b.count;
    else out.push({ upperBound: b.upperBound, count: b.count });
  }
  return out;
}

/** Removes tiny (precision) deltas silently and decreases with a flag. */
function ensureMonotonic(buckets: Bucket[]): boolean {
  let forced = false;
  let prev = (buckets[0] as Bucket).count;
  for (let i = 1; i < buckets.length; i++) {
    const b = buckets[i] as Bucket;
    const curr = b.count;
    if (curr === prev) continue;
    if (almostEqual(prev, curr, SMALL_DELTA_TOLERANCE)) {
      b.count = prev;
      continue;
    }
    if (curr < prev) {
      b.count = prev;
      forced = true;
      continue;
    }
    prev = curr;
  }
  return forced;
}

/** Prometheus' BucketQuantile: [quantile, forcedMonotonicity]. */
export function bucketQuantile(q: number, input: Bucket[]): [number, boolean] {
  if (Number.isNaN(q)) return [NaN, false];
  if (q < 0) return [-Infinity, false];
  if (q > 1) return [Infinity, false];
  if (input.length === 0) return [NaN, false];
  const buckets = sortAndCoalesce(input);
  if ((buckets[buckets.length - 1] as Bucket).upperBound !== Infinity) return [NaN, false];
  const forced = ensureMonotonic(buckets);
  if (buckets.length < 2) return [NaN, false];
  const observations = (buckets[buckets.length - 1] as Bucket).count;
  if (observations === 0) return [NaN, false];
  let rank = q * observations;
  // sort.Search over the first n-1 buckets
  let b = buckets.length - 1;
  for (let i = 0; i < buckets.length - 1; i++) {
    if ((buckets[i] as Bucket).count >= rank) {
      b = i;
      break;
    }
  }
  if (b === buckets.length - 1) return [(buckets[buckets.length - 2] as Bucket).upperBound, forced];
  if (b === 0 && (buckets[0] as Bucket).upperBound <= 0) return [(buckets[0] as Bucket).upperBound, forced];
  let bucketStart = 0;
  const bucketEnd = (buckets[b] as Bucket).upperBound;
  let count = (buckets[b] as Bucket).count;
  if (b > 0) {
    const prev = buckets[b - 1] as Bucket;
    bucketStart = prev.upperBound;
    count -= prev.count;
    rank -= prev.count;
  }
  return [bucketStart + (bucketEnd - bucketStart) * (rank / count), forced];
}

/** Prometheus' BucketFraction over cumulative classic buckets. */
export function bucketFraction(lower: number, upper: number, input: Bucket[]): number {
  if (input.length === 0) return NaN;
  const buckets = sortAndCoalesce(input);
  if ((buckets[buckets.length - 1] as Bucket).upperBound !== Infinity) return NaN;
  const count = (buckets[buckets.length - 1] as Bucket).count;
  if (count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return NaN;
  if (lower >= upper) return 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  let lowerBound = (buckets[0] as Bucket).upperBound <= 0 ? -Infinity : 0;
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i] as Bucket;
    if (i > 0) lowerBound = (buckets[i - 1] as Bucket).upperBound;
    const upperBound = b.upperBound;
    const interpolate = (v: number): number =>
      lowerBound === -Infinity
        ? b.count
        : rank + ((b.count - rank) * (v - lowerBound)) / (upperBound - lowerBound);
    if (!lowerSet && lowerBound >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && lowerBound >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && lowerBound < lower && upperBound > lower) {
      lowerRank = interpolate(lower);
      lowerSet = true;
    }
    if (!upperSet && lowerBound < upper && upperBound > upper) {
      upperRank = interpolate(upper);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank = b.count;
  }
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return (upperRank - lowerRank) / count;
}

interface Group {
  metric: Labels;
  buckets: Bucket[];
}

/** Groups classic bucket samples by their labels without `le`; warns on a missing/malformed `le`. */
export function groupBuckets(samples: readonly Sample[], ctx: FnContext, vectorArgIndex: number): Group[] {
  const groups = new Map<string, Group>();
  for (const s of samples) {
    const le = s.metric.get(BUCKET_LABEL);
    const upperBound = parseGoFloat(le);
    if (upperBound === undefined) {
      annotate(ctx, 'warn', badBucketLabelWarning(s.metric.get(METRIC_NAME), le), vectorArgIndex);
      continue;
    }
    const metric = s.metric.without([BUCKET_LABEL]);
    let g = groups.get(metric.key);
    if (g === undefined) {
      g = { metric, buckets: [] };
      groups.set(metric.key, g);
    }
    g.buckets.push({ upperBound, count: s.v });
  }
  return [...groups.values()];
}

const withName = (msg: string, name: string): string =>
  name === '' ? msg : `${msg} for metric name ${JSON.stringify(name)}`;

export function badBucketLabelWarning(name: string, le: string): string {
  return withName(
    `PromQL warning: bucket label "le" is missing or has a malformed value of ${JSON.stringify(le)}`,
    name,
  );
}

export function forcedMonotonicityInfo(name: string): string {
  return withName(
    'PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)',
    name,
  );
}

function quantiles(
  samples: readonly Sample[],
  qs: number[],
  ctx: FnContext,
  label: string | null,
  vectorArgIndex: number,
): Sample[] {
  const out: Sample[] = [];
  const groups = groupBuckets(samples, ctx, vectorArgIndex);
  for (const q of qs) {
    for (const g of groups) {
      if (g.buckets.length === 0) continue;
      const [v, forced] = bucketQuantile(q, g.buckets);
      if (forced) annotate(ctx, 'info', forcedMonotonicityInfo(g.metric.get(METRIC_NAME)), vectorArgIndex);
      const metric = label === null ? g.metric : g.metric.with(label, formatOpenMetricsFloat(q));
      out.push(derived(metric, ctx.t, v));
    }
  }
  return out;
}

/** Prometheus' labels.FormatOpenMetricsFloat: %g, with '.0' appended to integers. */
export function formatOpenMetricsFloat(q: number): string {
  const s = formatG(q);
  if (!Number.isFinite(q) || s.includes('e') || s.includes('.')) return s;
  return `${s}.0`;
}

function checkQuantile(q: number, ctx: FnContext, argIndex: number): void {
  if (Number.isNaN(q) || q < 0 || q > 1) annotate(ctx, 'warn', invalidQuantileWarning(q), argIndex);
}

/** Native-histogram-only functions: no float sample is a native histogram, so nothing is returned. */
const nativeOnly = (name: string): FunctionImpl => define(name, (): Sample[] => []);

export const HISTOGRAM_FUNCTIONS: FunctionImpl[] = [
  define('histogram_quantile', (args: FnArg[], ctx) => {
    const q = scalarArg(args, 0);
    checkQuantile(q, ctx, 0);
    return quantiles(vectorArg(args, 1), [q], ctx, null, 1);
  }),
  // Prometheus' experimental histogram_quantiles(vector, label, q...)
  define('histogram_quantiles', (args: FnArg[], ctx) => {
    const label = stringArg(args, 1);
    const qs: number[] = [];
    for (let k = 2; k < args.length; k++) {
      const q = scalarArg(args, k);
      checkQuantile(q, ctx, k);
      qs.push(q);
    }
    return quantiles(vectorArg(args, 0), qs, ctx, label, 0);
  }),
  define('histogram_fraction', (args: FnArg[], ctx) => {
    const lower = scalarArg(args, 0);
    const upper = scalarArg(args, 1);
    return groupBuckets(vectorArg(args, 2), ctx, 2)
      .filter((g) => g.buckets.length > 0)
      .map((g) => derived(g.metric, ctx.t, bucketFraction(lower, upper, g.buckets)));
  }),
  nativeOnly('histogram_count'),
  nativeOnly('histogram_sum'),
  nativeOnly('histogram_avg'),
  nativeOnly('histogram_stddev'),
  nativeOnly('histogram_stdvar'),
  // info(v, selector): enriches with info-metric labels; without native support here, v unchanged
  define('info', (args) => vectorArg(args, 0)),
];
