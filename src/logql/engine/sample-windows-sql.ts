/**
 * The SQL of `aggregateSamples` (engine/metric/pushdown-types.ts) over rows that already carry
 * their sample: one aggregate per (label set, step window), computed in DuckDB.
 *
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

/**
 * `rows` has the columns `__s` (false: a row SQL leaves to the pipeline), `__l0..` (labels),
 * `_timestamp`, `__part`, `__row`, `__src` (the row's stream) and `__x` (its sample; NULL: none).
 * The answer has one row per (labels, window) with a sample or a row that is not simple:
 * `__l0..`, `__w`, `__ok` (every row simple), `__first` (least timestamp), `__n` (samples),
 * `__lines` (samples whose first window this is), `__a`..`__d`. For quantiles `__a`/`__b` are
 * the sorted window's values at floor(φ·(n−1)) and the next one.
 */
export function windowAggregateSql(
  rows: string,
  labelCount: number,
  g: WindowGrid,
  agg: SampleAggregate,
  quantile: number,
): string {
  const labels = Array.from({ length: labelCount }, (_, k) => `__l${k}`);
  const { first, last } = windowBoundsSql('_timestamp', g);
  const windowed =
    windowsPerSample(g) > 1
      ? `SELECT *, unnest(range(${first}, ${last} + 1)) AS __w, ${first} AS __w0 FROM (${rows})`
      : `SELECT *, CASE WHEN ${first} <= ${last} THEN ${last} ELSE -1 END AS __w, __w AS __w0 FROM (${rows})`;
  const cols = aggregateColumns(agg, quantile);
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
