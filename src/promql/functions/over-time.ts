/** The *_over_time family, present/absent_over_time and quantile/mad over time. */
import type { Labels } from '../labels.ts';
import type { PointArrays, Sample } from '../value.ts';
import { absentLabels } from './absent.ts';
import { annotate, define, derived, formatG, kahanInc, matrixArg, scalarArg } from './common.ts';
import type { FnArg, FnContext, FunctionImpl } from './types.ts';

/** One output sample per series with at least one point; `keepName` series keep their name. */
function overTime(name: string, f: (points: PointArrays) => number, keepName = false): FunctionImpl {
  return define(name, (args, ctx) => eachSeries(args, ctx, f, keepName));
}

function eachSeries(
  args: FnArg[],
  ctx: FnContext,
  f: (points: PointArrays) => number,
  keepName: boolean,
  matrixIndex = 0,
): Sample[] {
  const out: Sample[] = [];
  for (const s of matrixArg(args, matrixIndex).series) {
    if (s.points.t.length === 0) continue;
    const v = f(s.points);
    // last/first_over_time keep the name, unless the series already lost it (a subquery over a
    // name-dropping expression); WindowSeries has no dropName field, so read it if the engine passes one
    const inherited = (s as { dropName?: boolean }).dropName === true;
    out.push(keepName && !inherited ? { metric: s.metric, t: ctx.t, v } : derived(s.metric, ctx.t, v));
  }
  return out;
}

/**
 * Direct mean with Kahan summation while the sum stays finite, then the incremental mean
 * (Prometheus' avg_over_time). The plain-sum loop is inlined: it runs once per sample.
 */
export function avgPoints({ v: values }: PointArrays): number {
  const n = values.length;
  if (n === 0) return NaN;
  let sum = values[0]!;
  let c = 0;
  let i = 1;
  for (; i < n; i++) {
    const v = values[i]!;
    const t = sum + v;
    if (t === Infinity || t === -Infinity) break;
    if (Math.abs(sum) >= Math.abs(v)) c += sum - t + v;
    else c += v - t + sum;
    sum = t;
  }
  if (i === n) return sum / n + c / n;
  // the sum overflowed at sample i: continue with the incremental mean from there
  let mean = sum / i;
  c /= i;
  for (; i < n; i++) {
    const count = i + 1;
    const q = (count - 1) / count;
    [mean, c] = kahanInc(values[i]! / count, q * mean, q * c);
  }
  return mean + c;
}

function sumPoints({ v: values }: PointArrays): number {
  let sum = 0;
  let c = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const t = sum + v;
    if (t === Infinity || t === -Infinity) {
      sum = t;
      c = 0;
      continue;
    }
    if (Math.abs(sum) >= Math.abs(v)) c += sum - t + v;
    else c += v - t + sum;
    sum = t;
  }
  if (sum === Infinity || sum === -Infinity) return sum;
  return sum + c;
}

/** Welford with Kahan compensation, as Prometheus' varianceOverTime. */
function variancePoints({ v: values }: PointArrays): number {
  let count = 0;
  let mean = 0;
  let cMean = 0;
  let aux = 0;
  let cAux = 0;
  for (const v of values) {
    count++;
    const delta = v - (mean + cMean);
    [mean, cMean] = kahanInc(delta / count, mean, cMean);
    [aux, cAux] = kahanInc(delta * (v - (mean + cMean)), aux, cAux);
  }
  return (aux + cAux) / count;
}

/** The index of the point chosen by `better(cur, best)` scanning from the first; NaN is always replaced. */
function pick({ v }: PointArrays, better: (cur: number, best: number) => boolean): number {
  let best = 0;
  for (let i = 0; i < v.length; i++) if (better(v[i]!, v[best]!) || Number.isNaN(v[best]!)) best = i;
  return best;
}

/** The largest (or smallest) value, as pick() would choose it (NaN only when every value is NaN). */
function extreme({ v }: PointArrays, max: boolean): number {
  let best = v[0]!;
  for (let i = 1; i < v.length; i++) {
    const x = v[i]!;
    if ((max ? x > best : x < best) || best !== best) best = x;
  }
  return best;
}

/** Prometheus' quantile(): sorts a copy (NaN first), interpolates between neighbours. */
export function quantileOf(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...values].sort((a, b) =>
    Number.isNaN(a) ? (Number.isNaN(b) ? 0 : -1) : Number.isNaN(b) ? 1 : a - b,
  );
  const n = sorted.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return (sorted[lower] as number) * (1 - weight) + (sorted[upper] as number) * weight;
}

export function invalidQuantileWarning(q: number): string {
  return `PromQL warning: quantile value should be between 0 and 1, got ${formatG(q)}`;
}

function madPoints(points: PointArrays): number {
  const values = Array.from(points.v);
  // a NaN sample makes the median, and so the deviation, undefined (Prometheus 3.x)
  if (values.some((v) => Number.isNaN(v))) return NaN;
  const median = quantileOf(0.5, values);
  return quantileOf(
    0.5,
    values.map((v) => Math.abs(v - median)),
  );
}

const last = (a: Float64Array): number => a[a.length - 1]!;

export const OVER_TIME_FUNCTIONS: FunctionImpl[] = [
  overTime('avg_over_time', avgPoints),
  overTime('sum_over_time', sumPoints),
  overTime('count_over_time', (p) => p.t.length),
  overTime('min_over_time', (p) => extreme(p, false)),
  overTime('max_over_time', (p) => extreme(p, true)),
  overTime('last_over_time', (p) => last(p.v), true),
  overTime('first_over_time', (p) => p.v[0]!, true),
  overTime('present_over_time', () => 1),
  overTime('stddev_over_time', (p) => Math.sqrt(variancePoints(p))),
  overTime('stdvar_over_time', variancePoints),
  overTime('mad_over_time', madPoints),
  overTime('ts_of_first_over_time', (p) => p.t[0]! / 1000),
  overTime('ts_of_last_over_time', (p) => last(p.t) / 1000),
  overTime('ts_of_max_over_time', (p) => p.t[pick(p, (cur, best) => cur >= best)]! / 1000),
  overTime('ts_of_min_over_time', (p) => p.t[pick(p, (cur, best) => cur <= best)]! / 1000),
  define('quantile_over_time', (args, ctx) => {
    const q = scalarArg(args, 0);
    const out = eachSeries(
      args,
      ctx,
      (p) =>
        quantileOf(q, Array.from(p.v)),
      false,
      1,
    );
    if (out.length > 0 && (Number.isNaN(q) || q < 0 || q > 1)) {
      annotate(ctx, 'warn', invalidQuantileWarning(q), 0);
    }
    return out;
  }),
  define('absent_over_time', (args, ctx) => {
    const { series } = matrixArg(args, 0);
    if (series.some((s) => s.points.t.length > 0)) return [];
    const metric: Labels = absentLabels(ctx.argExprs[0]);
    return [{ metric, t: ctx.t, v: 1 }];
  }),
];
