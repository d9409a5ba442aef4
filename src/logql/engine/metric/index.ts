/** Metric-query evaluation: the entry point named in ../metric-types.ts. */
import type { SampleExpr } from '../../ast.ts';
import type { EvaluateMetric, MetricQueryParams, MetricResult } from '../metric-types.ts';
import type { LogSource } from '../source-types.ts';
import { evaluateMetricWith } from './evaluate.ts';

export const evaluateMetric: EvaluateMetric = (
  expr: SampleExpr,
  source: LogSource,
  params: MetricQueryParams,
): Promise<MetricResult> => evaluateMetricWith(expr, source, params);

export type {
  BucketAggregationRequest,
  BucketRow,
  MetricPushdown,
  SampleReadRequest,
  SampleSeries,
} from './pushdown-types.ts';
