/**
 * What the PromQL engine reads: series selected by matchers, with their samples in a time range.
 * The metrics store implements it over Parquet + memtables; the conformance runner implements it
 * in memory. Times are ms since the epoch; samples are sorted by time.
 */
import type { LabelMatcher, Labels } from './labels.ts';

export interface StoredSeries {
  labels: Labels;
  /** sample times, ms, ascending */
  t: Float64Array;
  /** sample values (float samples only; native histograms are not supported yet) */
  v: Float64Array;
  /** 1 where the sample is a staleness marker (Prometheus' StaleNaN); null when there are none */
  stale: Uint8Array | null;
}

export interface Queryable {
  /** Every series matching all matchers that has samples in [minT, maxT] (inclusive), with those samples. */
  select(matchers: readonly LabelMatcher[], minT: number, maxT: number): Promise<StoredSeries[]>;
}
