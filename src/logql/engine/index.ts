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
import type { MetricPushdown } from './metric/pushdown-types.ts';
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
  /**
   * Log queries: answer each entry as `[ts, line, {structuredMetadata, parsed}]` with only stream
   * labels in `stream` (Loki's `X-Loki-Response-Encoding-Flags: categorize-labels`).
   */
  categorizeLabels?: boolean;
}

/** What a query read and returned (Loki's `stats.summary`), counted while it runs. */
export interface LogQLStats {
  /** entries the source handed out (a pushed-down aggregation: the lines it counted) */
  linesProcessed: number;
  /** their UTF-8 bytes (a pushed-down count without bytes adds none) */
  bytesProcessed: number;
  /** log queries: entries in the answer (the lines that passed the pipeline, up to `limit`) */
  entriesReturned: number;
}

export const emptyStats = (): LogQLStats => ({
  linesProcessed: 0,
  bytesProcessed: 0,
  entriesReturned: 0,
});

type CountableSource = LogSource & Partial<MetricPushdown>;

/**
 * The source seen through counters: entries and UTF-8 bytes of what `read` hands out, and the
 * line counts of pushed-down aggregations (each optional method is kept only when the source has
 * it, so the evaluator's choice of path does not change).
 */
function countingSource(source: CountableSource, stats: LogQLStats): CountableSource {
  const counted: CountableSource = {
    async *read(req) {
      for await (const batch of source.read(req)) {
        let bytes = 0;
        for (const e of batch) bytes += Buffer.byteLength(e.line, 'utf8');
        stats.linesProcessed += batch.length;
        stats.bytesProcessed += bytes;
        yield batch;
      }
    },
  };
  const { aggregateBuckets, aggregateSamples, readSamples } = source;
  if (aggregateBuckets)
    counted.aggregateBuckets = async (req) => {
      const rows = await aggregateBuckets.call(source, req);
      for (const r of rows ?? []) {
        stats.linesProcessed += r.count;
        stats.bytesProcessed += req.withBytes ? r.bytes : 0;
      }
      return rows;
    };
  if (aggregateSamples)
    counted.aggregateSamples = async (req) => {
      const got = await aggregateSamples.call(source, req);
      if (typeof got === 'object') stats.linesProcessed += got?.samples ?? 0;
      return got;
    };
  if (readSamples)
    counted.readSamples = async (req) => {
      const series = await readSamples.call(source, req);
      for (const s of series ?? []) stats.linesProcessed += s.values.length;
      return series;
    };
  return counted;
}

export type LogQLData = { resultType: 'streams'; result: LokiStream[] } | MetricResult;

export async function runLogQL(
  raw: LogSource,
  req: LogQLRequest,
  stats: LogQLStats = emptyStats(),
): Promise<LogQLData> {
  const source = countingSource(raw, stats);
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
      maxStreams: req.limits.maxQuerySeries,
      categorizeLabels: req.categorizeLabels ?? false,
      ...(req.signal ? { signal: req.signal } : {}),
    });
    for (const s of result) stats.entriesReturned += s.values.length;
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
