/**
 * The LogQL entry point: parse, then evaluate a log query (streams) or a metric query (matrix,
 * vector or scalar) over a LogSource. Parameter rules that depend on the kind of query (instant
 * log queries are refused; `limit` is checked against `max_entries_limit_per_query` for log
 * queries only) are applied here, after parsing, in Loki's order.
 */
import { badRequest } from '../../lib/errors.ts';
import { isLogSelector } from '../ast.ts';
import { parseLogQL } from '../parser/index.ts';
import { compilePipeline } from '../pipeline/index.ts';
import { evaluateLogQuery, type LokiStream } from './log-query.ts';
import { evaluateMetric } from './metric/index.ts';
import type { MetricResult } from './metric-types.ts';
import type { LogSource } from './source-types.ts';

export interface LogQLLimits {
  /** Loki's `max_entries_limit_per_query` */
  maxEntriesLimitPerQuery: number;
  /** Loki's `max_query_series` */
  maxQuerySeries: number;
}

/** A query and its parameters, as the HTTP layer parsed them. */
export interface LogQLQuery {
  query: string;
  startNs: bigint;
  endNs: bigint;
  /** 0n for instant queries */
  stepNs: bigint;
  instant: boolean;
  limit: number;
  direction: 'forward' | 'backward';
}

export interface LogQLRequest extends LogQLQuery {
  limits: LogQLLimits;
  signal?: AbortSignal;
}

export type LogQLData = { resultType: 'streams'; result: LokiStream[] } | MetricResult;

export async function runLogQL(source: LogSource, req: LogQLRequest): Promise<LogQLData> {
  const expr = parseLogQL(req.query);
  if (isLogSelector(expr)) {
    if (req.instant)
      throw badRequest(
        'log queries are not supported as an instant query type, please change your query to a range query type',
        'MS_ERR_LOGQL_INSTANT_LOG_QUERY',
      );
    if (req.limit > req.limits.maxEntriesLimitPerQuery)
      throw badRequest(
        `max entries limit per query exceeded, limit > max_entries_limit_per_query (${req.limit} > ${req.limits.maxEntriesLimitPerQuery})`,
        'MS_ERR_LOGQL_LIMIT',
      );
    const result = await evaluateLogQuery(expr, compilePipeline(expr.pipeline), source, {
      startNs: req.startNs,
      endNs: req.endNs,
      limit: req.limit,
      direction: req.direction,
      ...(req.signal ? { signal: req.signal } : {}),
    });
    return { resultType: 'streams', result };
  }
  return evaluateMetric(expr, source, {
    startNs: req.startNs,
    endNs: req.endNs,
    stepNs: req.stepNs,
    instant: req.instant,
    limits: { maxSeries: req.limits.maxQuerySeries },
    ...(req.signal ? { signal: req.signal } : {}),
  });
}
