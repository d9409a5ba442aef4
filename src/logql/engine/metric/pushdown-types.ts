/**
 * Pushdown of the simplest metric queries into the source (SQL). `count_over_time`, `rate`,
 * `bytes_over_time`, `bytes_rate` and `absent_over_time` over a selector whose pipeline has only
 * line filters need no per-line work in JS: counts and byte sums per label set per time bucket
 * are enough, and every step's window is a whole number of buckets.
 *
 * A source implements `aggregateBuckets` optionally (`LogSource & Partial<BucketAggregator>`).
 * When it is absent, or answers null, the evaluator reads the lines through `read` instead.
 */
import type { Grouping, LineFilterStage, Matcher } from '../../ast.ts';

export interface BucketAggregationRequest {
  /** the stream selector's matchers, on stream labels (as in LogReadRequest) */
  matchers: readonly Matcher[];
  /**
   * every line filter of the pipeline, in order; the source must apply ALL of them exactly as the
   * pipeline does (or answer null)
   */
  lineFilters: readonly LineFilterStage[];
  /**
   * Buckets are left-open, right-closed, like Loki's range windows: bucket i (0-based) holds the
   * rows with `originNs + i*bucketNs < _timestamp <= originNs + (i+1)*bucketNs`, for
   * i in [0, bucketCount). Rows outside `(originNs, originNs + bucketCount*bucketNs]` are not read.
   * In SQL: `bucket = CAST(ceil((_timestamp - originNs) / bucketNs) AS BIGINT) - 1` computed in
   * integers: `(_timestamp - originNs - 1) // bucketNs`.
   */
  originNs: bigint;
  bucketNs: bigint;
  bucketCount: number;
  /**
   * A hint: the caller reduces every row's labels to this grouping (`by`: only these labels;
   * `without`: all but these) before using them, so a source may GROUP BY only the label columns
   * that survive and leave the others out of `stream`/`metadata`. null: every label counts.
   */
  grouping: Grouping | null;
  /** whether `bytes` is needed (bytes_over_time, bytes_rate); 0 may be returned otherwise */
  withBytes: boolean;
  signal?: AbortSignal;
}

/**
 * One row per (label set, bucket) that has at least one line: GROUP BY every label column and
 * the bucket. `stream` and `metadata` are exactly what `read` would put in a LogEntry for these
 * lines (stream labels; structured metadata with NULL columns left out).
 */
export interface BucketRow {
  stream: Readonly<Record<string, string>>;
  metadata: Readonly<Record<string, string>>;
  bucket: number;
  /** `count(*)` */
  count: number;
  /** `sum(octet_length(body))`: line length in UTF-8 bytes */
  bytes: number;
}

export interface BucketAggregator {
  /** null: this source cannot apply these line filters in SQL; the caller reads lines instead */
  aggregateBuckets(req: BucketAggregationRequest): Promise<readonly BucketRow[] | null>;
}
