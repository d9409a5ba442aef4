/**
 * Metric query evaluation: walks the SampleExpr and evaluates every node at all steps at once
 * (see values.ts), then shapes the result as Loki's matrix, vector or scalar.
 */
import type { Grouping, SampleExpr } from '../../ast.ts';
import type { MetricQueryParams, MetricResult, SamplePoint } from '../metric-types.ts';
import type { LogSource } from '../source-types.ts';
import { formatFloat } from '../../../promql/engine/format.ts';
import { scalarScalar, vectorScalar, vectorVector } from './binary.ts';
import { MAX_POINTS_PER_SERIES, queryError, seriesLimitError, tooManyPointsError } from './errors.ts';
import { labelReplacer } from './label-replace.ts';
import { ERROR_LABEL, LabelSet } from './labels.ts';
import { builtinPipelines, type MetricPipelines } from './pipelines.ts';
import { evalRangeAggregation } from './range-eval.ts';
import { aggregateVector } from './vector-aggregation.ts';
import { stepTimeSeconds, type Sample, type StepGrid, type StepValues } from './values.ts';

/**
 * Loki answers a query that is only scalars with this timestamp instead of the query time
 * (recorded: `1 > bool 2` → `[-3658231076116, "0"]`).
 */
const SCALAR_ONLY_TIMESTAMP = -3658231076116;

interface EvalContext {
  source: LogSource;
  grid: StepGrid;
  pipelines: MetricPipelines;
  signal?: AbortSignal;
}

export function stepGrid(params: MetricQueryParams): StepGrid {
  if (params.instant) return { startNs: params.startNs, stepNs: 0n, count: 1, instant: true };
  if (params.stepNs <= 0n)
    throw queryError(
      'zero or negative query resolution step widths are not accepted. Try a positive integer',
    );
  if (params.endNs < params.startNs)
    throw queryError('end timestamp must not be before or equal to start time');
  // Loki's check: (end - start) / step > 11000, in integer division
  const intervals = (params.endNs - params.startNs) / params.stepNs;
  if (intervals > BigInt(MAX_POINTS_PER_SERIES)) throw tooManyPointsError();
  return { startNs: params.startNs, stepNs: params.stepNs, count: Number(intervals) + 1, instant: false };
}

export async function evaluateMetricWith(
  expr: SampleExpr,
  source: LogSource,
  params: MetricQueryParams,
  pipelines: MetricPipelines = builtinPipelines,
): Promise<MetricResult> {
  const grid = stepGrid(params);
  const ctx: EvalContext = { source, grid, pipelines, ...(params.signal ? { signal: params.signal } : {}) };
  const value = await evaluate(expr, ctx, { preserveErrors: false, outerGrouping: null });
  return shapeResult(value, grid, params.limits.maxSeries);
}

interface Inherited {
  preserveErrors: boolean;
  outerGrouping: Grouping | null;
}

async function evaluate(e: SampleExpr, ctx: EvalContext, inh: Inherited): Promise<StepValues> {
  switch (e.type) {
    case 'Literal':
      return { kind: 'scalar', steps: new Array<number>(ctx.grid.count).fill(e.value) };
    case 'Vector':
      return {
        kind: 'vector',
        steps: Array.from({ length: ctx.grid.count }, () => [{ labels: LabelSet.EMPTY, value: e.value }]),
      };
    case 'RangeAggregation': {
      const steps = await evalRangeAggregation(e, { ...ctx, ...inh });
      return { kind: 'vector', steps };
    }
    case 'VectorAggregation': {
      const groupsError =
        e.grouping !== null && !e.grouping.without && e.grouping.labels.includes(ERROR_LABEL);
      const inner = await evaluate(e.expr, ctx, {
        preserveErrors: inh.preserveErrors || groupsError,
        outerGrouping: e.op === 'sum' ? (e.grouping ?? { without: false, labels: [] }) : null,
      });
      return { kind: 'vector', steps: vectorSteps(inner).map((vec) => aggregateVector(e, vec)) };
    }
    case 'LabelReplace': {
      const replace = labelReplacer(e);
      const inner = await evaluate(e.expr, ctx, { preserveErrors: inh.preserveErrors, outerGrouping: null });
      return { kind: 'vector', steps: vectorSteps(inner).map(replace) };
    }
    case 'BinaryOp': {
      const sub = { preserveErrors: inh.preserveErrors, outerGrouping: null };
      const [l, r] = await Promise.all([evaluate(e.lhs, ctx, sub), evaluate(e.rhs, ctx, sub)]);
      if (l.kind === 'scalar' && r.kind === 'scalar') {
        return {
          kind: 'scalar',
          steps: l.steps.map((lv, i) => scalarScalar(e.op, lv, r.steps[i] as number)),
        };
      }
      if (l.kind === 'scalar' && r.kind === 'vector') {
        return {
          kind: 'vector',
          steps: r.steps.map((vec, i) => vectorScalar(e, vec, l.steps[i] as number, true)),
        };
      }
      if (l.kind === 'vector' && r.kind === 'scalar') {
        return {
          kind: 'vector',
          steps: l.steps.map((vec, i) => vectorScalar(e, vec, r.steps[i] as number, false)),
        };
      }
      const rs = vectorSteps(r);
      return {
        kind: 'vector',
        steps: vectorSteps(l).map((vec, i) => vectorVector(e, vec, rs[i] as Sample[])),
      };
    }
  }
}

function vectorSteps(v: StepValues): Sample[][] {
  if (v.kind === 'vector') return v.steps;
  throw queryError('expected a vector expression, got a scalar');
}

const formatValue = (v: number): string => formatFloat(v, 'f');

function shapeResult(value: StepValues, grid: StepGrid, maxSeries: number): MetricResult {
  if (value.kind === 'scalar') {
    if (grid.instant)
      return { resultType: 'scalar', result: [SCALAR_ONLY_TIMESTAMP, formatValue(value.steps[0] as number)] };
    const values = value.steps.map((v, i): SamplePoint => [stepTimeSeconds(grid, i), formatValue(v)]);
    return { resultType: 'matrix', result: [{ metric: {}, values }] };
  }
  if (grid.instant) {
    const vec = value.steps[0] ?? [];
    if (vec.length > maxSeries) throw seriesLimitError(maxSeries);
    const t = stepTimeSeconds(grid, 0);
    return {
      resultType: 'vector',
      result: vec.map((s) => ({ metric: s.labels.toRecord(), value: [t, formatValue(s.value)] })),
    };
  }
  const series = new Map<string, { labels: LabelSet; values: SamplePoint[] }>();
  value.steps.forEach((vec, i) => {
    const t = stepTimeSeconds(grid, i);
    for (const s of vec) {
      let entry = series.get(s.labels.key);
      if (entry === undefined) {
        if (series.size >= maxSeries) throw seriesLimitError(maxSeries);
        entry = { labels: s.labels, values: [] };
        series.set(s.labels.key, entry);
      }
      entry.values.push([t, formatValue(s.value)]);
    }
  });
  const sorted = [...series.values()].sort((a, b) =>
    a.labels.key < b.labels.key ? -1 : a.labels.key > b.labels.key ? 1 : 0,
  );
  return {
    resultType: 'matrix',
    result: sorted.map((s) => ({ metric: s.labels.toRecord(), values: s.values })),
  };
}
