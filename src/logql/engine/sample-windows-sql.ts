/**
 * The SQL of `aggregateSamples` (engine/metric/pushdown-types.ts) over rows that already carry
 * their sample: one aggregate per (label set, step window), computed in DuckDB.
 *
 * Two ways (windowAggregateSql's `unit`): per bucket of gcd(step, range), which tile every window,
 * combined into windows in JS (sample-windows.ts; every aggregate but quantiles), or per window.
 * A row at `r = _timestamp - originNs` (1 ≤ r ≤ (count-1)*step + range) is in the windows i with
 * `i*step < r <= i*step + range`: from `ceil((r - range) / step)` (0 when r ≤ range) to
 * `min(count - 1, (r - 1) // step)`, in integers (DuckDB's `//` truncates, so only non-negative
 * operands are divided). When range ≤ step a row is in at most one window (the rows in none get
 * window -1, kept for the series' first sample); when range > step it is in one or more and is
 * repeated per window (`unnest(range(...))`).
 *
 * Quantiles: `quantile_cont` ranks as Prometheus (and Loki) do, φ·(n−1), and interpolates between
 * the same two samples, as `lo + (hi - lo)·w` where Prometheus computes `lo·(1 - w) + hi·w`: the
 * last bits may differ (as float sums do; a sorted list per window to do Prometheus' arithmetic
 * exactly costs more than the rest of the query).
 */
import type { SampleAggregate } from './metric/pushdown-types.ts';

export interface WindowGrid {
  originNs: bigint;
  /** 0: one window (instant query) */
  stepNs: bigint;
  rangeNs: bigint;
  windowCount: number;
}

/** How many windows one sample is in at most. */
export function windowsPerSample(g: WindowGrid): number {
  if (g.stepNs === 0n) return 1;
  return Number((g.rangeNs + g.stepNs - 1n) / g.stepNs);
}

/** SQL of the first and last window index of a row (first > last: none). */
export function windowBoundsSql(ts: string, g: WindowGrid): { first: string; last: string } {
  if (g.stepNs === 0n) return { first: '0', last: '0' };
  const r = `(${ts} - ${g.originNs})`;
  return {
    first: `(CASE WHEN ${r} <= ${g.rangeNs} THEN 0 ELSE (${r} - ${g.rangeNs} - 1) // ${g.stepNs} + 1 END)`,
    last: `least(${g.windowCount - 1}, (${r} - 1) // ${g.stepNs})`,
  };
}

/**
 * Aggregates read the rows with a sample through FILTER, not WHERE: a WHERE would be pushed
 * below the projections that compute `__x`, and DuckDB would compute them twice.
 */
const SAMPLED = 'FILTER (WHERE __x IS NOT NULL)';

/**
 * first/last: the sample with the least (greatest) position, and the least and greatest stream
 * among the samples at that timestamp: they differ when streams tie, whose order SQL does not know.
 */
function endSample(isFirst: boolean): string[] {
  const [pick, other] = isFirst ? ['arg_min', 'arg_max'] : ['arg_max', 'arg_min'];
  return [
    `${pick}(__x, (_timestamp, __part, __row)) ${SAMPLED}`,
    'NULL::DOUBLE',
    `${pick}(__src, (_timestamp, __src)) ${SAMPLED}`,
    `${other}(__src, (-_timestamp, __src)) ${SAMPLED}`,
  ];
}

/** The per-window aggregate columns `__a`, `__b`, `__c`, `__d` (NULL when the aggregate needs fewer). */
function aggregateColumns(agg: SampleAggregate, quantile: number): string[] {
  switch (agg) {
    case 'sum':
      return ['fsum(__x)'];
    case 'avg':
      return ['favg(__x)'];
    case 'min':
      return ['min(__x)'];
    case 'max':
      return ['max(__x)'];
    case 'stdvar':
      return ['var_pop(__x)'];
    case 'quantile':
      return [`quantile_cont(__x, CAST('${quantile}' AS DOUBLE))`];
    case 'first':
    case 'last':
      return endSample(agg === 'first');
  }
}

/** The width of the buckets that tile every window: gcd(step, range); the range for one window. */
export function bucketWidthNs(g: WindowGrid): bigint {
  let [a, b] = [g.stepNs, g.rangeNs];
  if (a === 0n) return b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** How many buckets tile `(originNs, originNs + (count-1)*step + range]`. */
export function bucketCount(g: WindowGrid): number {
  return Number((BigInt(g.windowCount - 1) * g.stepNs + g.rangeNs) / bucketWidthNs(g));
}

/**
 * What a bucket keeps so that windows can be combined from buckets (sample-windows.ts): sums
 * for sum/avg, extremes, first/last as above, and for the variance each bucket's mean and
 * population variance (merged with Chan's formula).
 */
function bucketColumns(agg: SampleAggregate): string[] {
  if (agg === 'avg') return ['fsum(__x)'];
  if (agg === 'stdvar') return ['favg(__x)', 'var_pop(__x)'];
  return aggregateColumns(agg, 0);
}

/**
 * `rows` has the columns `__s` (false: a row SQL leaves to the pipeline), `__l0..` (labels),
 * `_timestamp`, `__part`, `__row`, `__src` (the row's stream) and `__x` (its sample; NULL: none).
 * The answer has one row per (labels, unit) with a sample or a row that is not simple:
 * `__l0..`, `__w` (the unit), `__ok` (every row simple), `__first` (least timestamp), `__n`
 * (samples), `__lines` (samples whose first unit this is), `__a`..`__d`.
 *
 * Units: `windows` aggregates each step window (a sample repeated per window it is in);
 * `buckets` each bucket of bucketWidthNs (`(r - 1) // width`), which every window is a whole
 * number of, with bucketColumns (quantiles have no bucket form).
 */
export function windowAggregateSql(
  rows: string,
  labelCount: number,
  g: WindowGrid,
  agg: SampleAggregate,
  quantile: number,
  unit: 'windows' | 'buckets' = 'windows',
): string {
  const labels = Array.from({ length: labelCount }, (_, k) => `__l${k}`);
  const { first, last } = windowBoundsSql('_timestamp', g);
  let windowed: string;
  if (unit === 'buckets') {
    const bucket = g.stepNs === 0n ? '0' : `(_timestamp - ${g.originNs} - 1) // ${bucketWidthNs(g)}`;
    windowed = `SELECT *, ${bucket} AS __w, __w AS __w0 FROM (${rows})`;
  } else if (windowsPerSample(g) > 1) {
    windowed = `SELECT *, unnest(range(${first}, ${last} + 1)) AS __w, ${first} AS __w0 FROM (${rows})`;
  } else {
    windowed = `SELECT *, CASE WHEN ${first} <= ${last} THEN ${last} ELSE -1 END AS __w, __w AS __w0 FROM (${rows})`;
  }
  const cols = unit === 'buckets' ? bucketColumns(agg) : aggregateColumns(agg, quantile);
  while (cols.length < 4) cols.push('NULL::DOUBLE');
  const grouped =
    `SELECT ${[
      ...labels,
      '__w',
      'bool_and(__s) AS __ok',
      `min(_timestamp) ${SAMPLED} AS __first`,
      'count(__x) AS __n',
      'count(__x) FILTER (WHERE __w = __w0) AS __lines',
      ...cols.map((c, k) => `${c} AS __${'abcd'[k]}`),
    ].join(', ')} FROM (${windowed}) GROUP BY ${[...labels, '__w'].join(', ')}` +
    ` HAVING count(__x) > 0 OR NOT bool_and(__s)`;
  return `SELECT ${[...labels, '__w', '__ok', '__first', '__n', '__lines', '__a', '__b', '__c', '__d'].join(', ')} FROM (${grouped})`;
}
