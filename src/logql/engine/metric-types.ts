/**
 * The contract between the query entry point (index.ts, the HTTP layer) and metric-query
 * evaluation (metric/). The entry point parses the query, validates the parameters (step, range,
 * points per series), and calls
 *
 *   evaluateMetric(expr, source, params): Promise<MetricResult>
 *
 * exported from `src/logql/engine/metric/index.ts`. The result is Loki's `data.result` already
 * in its wire shape, so the HTTP layer only adds `status`, `resultType` and `stats`.
 *
 * Errors a user caused (Loki's `pipeline error: ...`, `maximum number of series (N) reached for a
 * single query`, ...) are thrown as MoleError with status 400 and exactly Loki's message: the HTTP
 * layer sends the message as the plain-text body.
 */
import type { SampleExpr } from '../ast.ts';
import type { LogSource } from './source-types.ts';

export interface MetricLimits {
  /** `max_query_series`: distinct series a query may produce (Loki's default 500) */
  maxSeries: number;
}

export interface MetricQueryParams {
  /**
   * Evaluation times: `startNs`, `startNs + stepNs`, … up to and including `endNs`. An instant
   * query has `instant: true`, `startNs === endNs` (the `time` parameter) and `stepNs === 0n`.
   */
  startNs: bigint;
  endNs: bigint;
  stepNs: bigint;
  instant: boolean;
  limits: MetricLimits;
  /** aborted on timeout or when the client goes away: stop reading and throw */
  signal?: AbortSignal;
}

/** Loki's wire shapes. Timestamps are Unix seconds as a number (ms precision: ns / 1e9). */
export type SamplePoint = [timestampSeconds: number, value: string];

export interface MatrixSeries {
  metric: Record<string, string>;
  values: SamplePoint[];
}

export interface VectorSample {
  metric: Record<string, string>;
  value: SamplePoint;
}

/**
 * Values are formatted as Go's `strconv.FormatFloat(v, 'f', -1, 64)` (no exponent), `NaN`,
 * `+Inf`, `-Inf`. Series order: as Loki answers (the conformance runner compares matrix and
 * vector as sets, except `sort`/`sort_desc`, where the order counts).
 */
export type MetricResult =
  | { resultType: 'matrix'; result: MatrixSeries[] }
  | { resultType: 'vector'; result: VectorSample[] }
  | { resultType: 'scalar'; result: SamplePoint };

export type EvaluateMetric = (
  expr: SampleExpr,
  source: LogSource,
  params: MetricQueryParams,
) => Promise<MetricResult>;
