/**
 * Pushdown of range aggregations into the source (SQL), optional on both sides: a source
 * implements none, one or both methods (`LogSource & Partial<MetricPushdown>`), and may answer
 * null to any request it cannot answer exactly; the evaluator then reads lines through `read` and
 * runs the pipeline in JS. Answers must equal what the JS path computes (the in-memory source,
 * src/logql/engine/memory-source.ts, implements both by running the real pipeline; the metric
 * conformance test runs every query through both paths).
 *
 * - `aggregateBuckets` — `count_over_time`, `rate`, `bytes_over_time`, `bytes_rate`,
 *   `absent_over_time` without unwrap: counts and byte sums per label set per time bucket;
 *   every step's window is a whole number of buckets (bucket width = gcd(step, range)).
 * - `aggregateSamples` — the unwrap ops but rate_counter and absent_over_time: one value per
 *   label set per step window, answered whole (quantiles are not decomposable: a source that
 *   aggregates buckets combines them itself, for the ops that allow it).
 * - `readSamples` — the unwrap ops: (timestamp, value) pairs per label set, so that a source
 *   with the unwrapped field in a column skips the per-line parse.
 *
 * Labels: what the pipeline leaves on a line — stream labels, structured metadata, parsed and
 * formatted labels, `__error__`/`__error_details__` — reduced by `grouping` when it is given.
 */
import type { Grouping, Matcher, PipelineStage, UnwrapStage } from '../../ast.ts';

interface PushdownRequestBase {
  /** the stream selector's matchers, on stream labels */
  matchers: readonly Matcher[];
  /**
   * every stage of the selector's pipeline, in written order (Loki reorders some, e.g. a line
   * filter after `decolorize` runs first: src/logql/pipeline's reorderStages); answer null unless
   * every stage is applied exactly as the pipeline does
   */
  pipeline: readonly PipelineStage[];
  /**
   * Reduce each line's labels to this grouping before grouping rows: `by` keeps only these
   * labels plus `__error__` and `__error_details__` when present (so errors still fail the
   * query); `without` drops these. null: every label counts.
   */
  grouping: Grouping | null;
  signal?: AbortSignal;
}

export interface BucketAggregationRequest extends PushdownRequestBase {
  /**
   * Buckets are left-open, right-closed, like Loki's range windows: bucket i (0-based) holds the
   * lines with `originNs + i*bucketNs < _timestamp <= originNs + (i+1)*bucketNs`, for
   * i in [0, bucketCount). Lines outside `(originNs, originNs + bucketCount*bucketNs]` are not
   * read. In SQL, in integers: `bucket = (_timestamp - originNs - 1) // bucketNs`.
   */
  originNs: bigint;
  bucketNs: bigint;
  bucketCount: number;
  /** whether `bytes` is needed (bytes_over_time, bytes_rate); 0 may be returned otherwise */
  withBytes: boolean;
}

/**
 * One row per (label set, bucket) with at least one line that passed the pipeline: in SQL,
 * GROUP BY the label columns and the bucket. Several rows with equal labels and bucket are
 * allowed (they are added up).
 */
export interface BucketRow {
  labels: Readonly<Record<string, string>>;
  bucket: number;
  /** lines: `count(*)` */
  count: number;
  /** UTF-8 bytes of the lines as they leave the pipeline: `sum(octet_length(body))` without line_format */
  bytes: number;
}

export interface SampleReadRequest extends PushdownRequestBase {
  unwrap: UnwrapStage;
  /** `_timestamp` range: start inclusive, end exclusive (ns), as in LogReadRequest */
  startNs: bigint;
  endNs: bigint;
}

/**
 * The samples of one label set, timestamps ascending (equal timestamps in the order `read`
 * would give the lines). A line whose unwrapped label is missing or empty gives no sample; one
 * whose value does not convert gives value 0 with `__error__="SampleExtractionErr"` (as the
 * pipeline's CompiledExtractor does).
 */
export interface SampleSeries {
  labels: Readonly<Record<string, string>>;
  timestampsNs: BigInt64Array;
  values: Float64Array;
}

/** What `aggregateSamples` computes over the samples of one window of one label set. */
export type SampleAggregate = 'sum' | 'avg' | 'min' | 'max' | 'stdvar' | 'quantile' | 'first' | 'last';

export interface SampleAggregationRequest extends PushdownRequestBase {
  unwrap: UnwrapStage;
  aggregate: SampleAggregate;
  /** quantile's φ, in [0, 1] (the evaluator answers the others without values) */
  quantile: number;
  /**
   * The step windows, left-open, right-closed: window i (0-based) holds the samples with
   * `originNs + i*stepNs < _timestamp <= originNs + i*stepNs + rangeNs`, for i in
   * [0, windowCount); stepNs is 0 for one window (an instant query). Lines outside
   * `(originNs, originNs + (windowCount-1)*stepNs + rangeNs]` are not read.
   */
  originNs: bigint;
  stepNs: bigint;
  rangeNs: bigint;
  windowCount: number;
}

/**
 * One (label set, window) with at least one sample. `value` as the line path computes it
 * (range-functions.ts): the sum, mean, population variance, quantile (rank φ·(n−1), linear
 * interpolation), min, max, or the first/last sample by timestamp (ties in the line path's
 * order); the float arithmetic of sum, avg, stdvar and quantile may differ in the last bits
 * (another order of additions, another interpolation formula). Window -1 stands for samples of
 * the label set that are in no window (range < step): only `firstNs` counts.
 */
export interface WindowRow {
  labels: Readonly<Record<string, string>>;
  window: number;
  value: number;
  /** the timestamp of the row's first sample (the line path orders series by their first line) */
  firstNs: bigint;
}

export interface WindowAggregation {
  rows: WindowRow[];
  /** lines that gave a sample (each once, however many windows hold it) */
  samples: number;
}

/**
 * `aggregateSamples`' answer when a selected line needs the JS pipeline (SQL cannot prove it
 * simple): no pushdown can answer, the lines are read. (null: declined for another reason.)
 */
export const READ_LINES = 'read-lines';

export interface MetricPushdown {
  aggregateBuckets(req: BucketAggregationRequest): Promise<readonly BucketRow[] | null>;
  aggregateSamples(req: SampleAggregationRequest): Promise<WindowAggregation | typeof READ_LINES | null>;
  readSamples(req: SampleReadRequest): Promise<readonly SampleSeries[] | null>;
}
