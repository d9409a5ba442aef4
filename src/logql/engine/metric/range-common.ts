/**
 * What the two paths of range aggregations share (range-eval.ts reads lines, pushdown.ts reads
 * bucket counts): the read span, the per-line label reduction, absent_over_time's labels.
 */
import type { Grouping, LogSelectorExpr, RangeAggregationExpr } from '../../ast.ts';
import type { LogSource } from '../source-types.ts';
import { queryError } from './errors.ts';
import { ERROR_DETAILS_LABEL, ERROR_LABEL, LabelSet } from './labels.ts';
import type { MetricPipelines } from './pipelines.ts';
import type { StepGrid } from './values.ts';

export interface RangeContext {
  source: LogSource;
  grid: StepGrid;
  pipelines: MetricPipelines;
  /** an enclosing aggregation groups by `__error__`: samples with errors are results, not failures */
  preserveErrors: boolean;
  /**
   * the grouping of an enclosing `sum` that may be applied to the series before windowing (Loki
   * injects it into the extractor for the linear ops); null: keep every label
   */
  outerGrouping: Grouping | null;
  signal?: AbortSignal;
}

/** The read span of a range aggregation, all in ns; windows are relative to `originNs`. */
export interface RangeSpan {
  originNs: bigint;
  /** step in ns as a number (0 for an instant query) */
  step: number;
  range: number;
  /** end of the last window, relative to the origin */
  lastEnd: number;
  count: number;
}

const MAX_SAFE_SPAN_NS = 2 ** 53;

export function rangeSpan(e: RangeAggregationExpr, grid: StepGrid): RangeSpan {
  const rangeNs = BigInt(e.rangeMs) * 1_000_000n;
  const offsetNs = BigInt(e.offsetMs) * 1_000_000n;
  const lastEndNs = BigInt(grid.count - 1) * grid.stepNs + rangeNs;
  if (lastEndNs >= BigInt(MAX_SAFE_SPAN_NS)) {
    throw queryError(
      'the query time range plus the range of the selector is over 104 days; query a shorter range',
    );
  }
  return {
    originNs: grid.startNs - rangeNs - offsetNs,
    step: Number(grid.stepNs),
    range: Number(rangeNs),
    lastEnd: Number(lastEndNs),
    count: grid.count,
  };
}

/** Loki's rule for the labels of absent_over_time: the selector's `=` matchers, a name at most once. */
export function absentLabels(selector: LogSelectorExpr): LabelSet {
  const set = new Map<string, string>();
  const dropped = new Set<string>();
  for (const m of selector.matchers) {
    if (m.type === '=' && !set.has(m.name)) {
      if (m.value !== '') set.set(m.name, m.value);
    } else dropped.add(m.name);
  }
  for (const n of dropped) set.delete(n);
  return LabelSet.from(set);
}

/** Ops where summing over merged series equals summing their results (Loki's canInjectVectorGrouping). */
const LINEAR_OPS = new Set(['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate', 'sum_over_time']);

/** The label reduction applied per line: the range op's own grouping, else an enclosing sum's. */
export function lineGrouping(e: RangeAggregationExpr, outer: Grouping | null): Grouping | null {
  if (e.grouping) return e.grouping;
  if (outer && LINEAR_OPS.has(e.op)) return outer;
  return null;
}

/** Reduce a label map by a grouping; `by` keeps the error labels so that errors still fail. */
export function reduceLabels(labels: ReadonlyMap<string, string>, g: Grouping): Map<string, string> {
  if (g.without) {
    const out = new Map(labels);
    for (const n of g.labels) out.delete(n);
    return out;
  }
  const out = new Map<string, string>();
  for (const n of g.labels) {
    const v = labels.get(n);
    if (v !== undefined) out.set(n, v);
  }
  for (const n of [ERROR_LABEL, ERROR_DETAILS_LABEL]) {
    const v = labels.get(n);
    if (v !== undefined) out.set(n, v);
  }
  return out;
}
