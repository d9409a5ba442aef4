/**
 * The pushdown path of unwrapped range aggregations (see pushdown-types.ts): the source answers
 * one aggregate per label set per step window (`aggregateSamples`), so no sample comes to JS.
 * Windows, not buckets: quantiles are not decomposable. What is left here is Loki's arithmetic
 * on top (rate = sum / range, stddev = √stdvar, a φ outside [0, 1]), the error rule of the line
 * path, and the line path's series order (by first sample), so that an enclosing aggregation
 * adds the series up in the same order.
 */
import type { RangeAggregationExpr, RangeOp } from '../../ast.ts';
import type { LogSource } from '../source-types.ts';
import { pipelineError } from './errors.ts';
import { ERROR_LABEL, LabelSet } from './labels.ts';
import { READ_LINES, type MetricPushdown, type SampleAggregate, type WindowRow } from './pushdown-types.ts';
import { lineGrouping, type RangeContext, type RangeSpan } from './range-common.ts';
import type { Sample } from './values.ts';

/** The unwrapped ops the source aggregates; rate_counter (order-dependent resets) and absent_over_time are not. */
const AGGREGATES: Partial<Record<RangeOp, SampleAggregate>> = {
  sum_over_time: 'sum',
  rate: 'sum',
  avg_over_time: 'avg',
  min_over_time: 'min',
  max_over_time: 'max',
  stdvar_over_time: 'stdvar',
  stddev_over_time: 'stdvar',
  quantile_over_time: 'quantile',
  first_over_time: 'first',
  last_over_time: 'last',
};

/**
 * A φ outside [0, 1] or NaN gives a value that does not depend on the samples (Loki's quantile,
 * promql quantileOf): -Inf, +Inf, NaN; null for a φ in range.
 */
function constantQuantile(q: number): number | null {
  if (Number.isNaN(q)) return Number.NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  return null;
}

export function canAggregateSamples(
  e: RangeAggregationExpr,
  source: LogSource,
): source is LogSource & Pick<MetricPushdown, 'aggregateSamples'> {
  return (
    e.unwrap !== null &&
    AGGREGATES[e.op] !== undefined &&
    typeof (source as Partial<MetricPushdown>).aggregateSamples === 'function'
  );
}

interface WindowSeries {
  labels: LabelSet;
  firstNs: bigint;
  rows: WindowRow[];
}

/**
 * Fills `steps` and answers 'pushed'; or answers 'declined' when the source declines, 'lines'
 * when it declines because a line needs the JS pipeline (no pushdown can answer).
 */
export async function aggregateWithWindows(
  e: RangeAggregationExpr,
  source: LogSource & Pick<MetricPushdown, 'aggregateSamples'>,
  ctx: RangeContext,
  span: RangeSpan,
  steps: Sample[][],
): Promise<'pushed' | 'declined' | 'lines'> {
  const unwrap = e.unwrap;
  const aggregate = AGGREGATES[e.op];
  if (unwrap === null || aggregate === undefined) return 'declined';
  const constant = aggregate === 'quantile' ? constantQuantile(e.param ?? Number.NaN) : null;
  const got = await source.aggregateSamples({
    matchers: e.selector.matchers,
    pipeline: e.selector.pipeline,
    unwrap,
    grouping: lineGrouping(e, ctx.outerGrouping),
    // a constant quantile only needs to know which windows have samples: the cheapest aggregate
    aggregate: constant === null ? aggregate : 'max',
    quantile: constant === null ? (e.param ?? 0) : 0,
    originNs: span.originNs,
    stepNs: BigInt(span.step),
    rangeNs: BigInt(span.range),
    windowCount: span.count,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  if (got === null) return 'declined';
  if (got === READ_LINES) return 'lines';

  const byKey = new Map<string, WindowSeries>();
  for (const row of got.rows) {
    const labels = LabelSet.fromRecord(row.labels);
    let s = byKey.get(labels.key);
    if (s === undefined) byKey.set(labels.key, (s = { labels, firstNs: row.firstNs, rows: [] }));
    if (row.firstNs < s.firstNs) s.firstNs = row.firstNs;
    if (row.window >= 0 && row.window < span.count) s.rows.push(row);
  }
  // the line path meets the series by their first line (ties: by label set)
  const series = [...byKey.values()].sort((a, b) =>
    a.firstNs !== b.firstNs ? (a.firstNs < b.firstNs ? -1 : 1) : a.labels.key < b.labels.key ? -1 : 1,
  );
  const groupsErrors = e.grouping !== null && !e.grouping.without && e.grouping.labels.includes(ERROR_LABEL);
  const failOnError = !ctx.preserveErrors && !groupsErrors;
  const rangeSec = e.rangeMs / 1000;
  for (const s of series) {
    if (s.rows.length === 0) continue;
    if (failOnError && s.labels.has(ERROR_LABEL)) throw pipelineError(s.labels);
    s.rows.sort((a, b) => a.window - b.window);
    for (const row of s.rows) {
      let value = row.value;
      if (constant !== null) value = constant;
      else if (e.op === 'rate') value = value / rangeSec;
      else if (e.op === 'stddev_over_time') value = Math.sqrt(value);
      steps[row.window]?.push({ labels: s.labels, value });
    }
  }
  return 'pushed';
}
