/**
 * The pushdown path of range aggregations (see pushdown-types.ts): counts and byte sums per
 * label set per bucket from the source, summed over the buckets of each step's window. The
 * bucket width is gcd(step, range), so every window `(origin + i*step, origin + i*step + range]`
 * is exactly the buckets `[i*step/w, (i*step + range)/w)`.
 */
import type { RangeAggregationExpr } from '../../ast.ts';
import type { LogSource } from '../source-types.ts';
import { pipelineError } from './errors.ts';
import { ERROR_LABEL, LabelSet, LabelSetInterner } from './labels.ts';
import type { MetricPushdown } from './pushdown-types.ts';
import { lineGrouping, reduceLabels, type RangeContext, type RangeSpan } from './range-common.ts';
import type { Sample } from './values.ts';

const PUSHDOWN_OPS = new Set([
  'count_over_time',
  'rate',
  'bytes_over_time',
  'bytes_rate',
  'absent_over_time',
]);

/** Above this many buckets per series the line path is used (memory: 8 bytes per bucket and series). */
const MAX_BUCKETS = 100_000;

export function canPushDown(
  e: RangeAggregationExpr,
  source: LogSource,
): source is LogSource & Pick<MetricPushdown, 'aggregateBuckets'> {
  return (
    PUSHDOWN_OPS.has(e.op) &&
    e.unwrap === null &&
    typeof (source as Partial<MetricPushdown>).aggregateBuckets === 'function'
  );
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

interface BucketSeries {
  labels: LabelSet;
  counts: Float64Array;
  bytes: Float64Array;
}

/** Fills `steps` and answers true, or answers false when the source declines. */
export async function aggregateWithBuckets(
  e: RangeAggregationExpr,
  source: LogSource & Pick<MetricPushdown, 'aggregateBuckets'>,
  ctx: RangeContext,
  span: RangeSpan,
  steps: Sample[][],
): Promise<boolean> {
  const width = span.step > 0 ? gcd(span.step, span.range) : span.range;
  const bucketCount = span.lastEnd / width;
  if (bucketCount > MAX_BUCKETS || !Number.isSafeInteger(bucketCount)) return false;
  const withBytes = e.op === 'bytes_over_time' || e.op === 'bytes_rate';
  const grouping = lineGrouping(e, ctx.outerGrouping);
  const rows = await source.aggregateBuckets({
    matchers: e.selector.matchers,
    pipeline: e.selector.pipeline,
    originNs: span.originNs,
    bucketNs: BigInt(width),
    bucketCount,
    grouping,
    withBytes,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  if (rows === null) return false;

  const interner = new LabelSetInterner();
  const series = new Map<LabelSet, BucketSeries>();
  for (const row of rows) {
    if (row.bucket < 0 || row.bucket >= bucketCount) continue;
    const labels = new Map(Object.entries(row.labels));
    const set = interner.intern(grouping ? reduceLabels(labels, grouping) : labels);
    let s = series.get(set);
    if (s === undefined) {
      s = {
        labels: set,
        counts: new Float64Array(bucketCount + 1),
        bytes: new Float64Array(withBytes ? bucketCount + 1 : 0),
      };
      series.set(set, s);
    }
    // stored at bucket+1 so that the prefix sums below start with 0
    s.counts[row.bucket + 1] = (s.counts[row.bucket + 1] as number) + row.count;
    if (withBytes) s.bytes[row.bucket + 1] = (s.bytes[row.bucket + 1] as number) + row.bytes;
  }

  const rangeSec = e.rangeMs / 1000;
  const perStep = span.step / width;
  const perRange = span.range / width;
  const failOnError = !ctx.preserveErrors && e.op !== 'absent_over_time';
  for (const s of series.values()) {
    if (failOnError && s.labels.has(ERROR_LABEL)) throw pipelineError(s.labels);
    for (let k = 1; k <= bucketCount; k++) {
      s.counts[k] = (s.counts[k] as number) + (s.counts[k - 1] as number);
      if (withBytes) s.bytes[k] = (s.bytes[k] as number) + (s.bytes[k - 1] as number);
    }
    for (let i = 0; i < span.count; i++) {
      const from = i * perStep;
      const to = from + perRange;
      const count = (s.counts[to] as number) - (s.counts[from] as number);
      if (count === 0) continue;
      let value: number;
      if (e.op === 'rate') value = count / rangeSec;
      else if (e.op === 'bytes_over_time') value = (s.bytes[to] as number) - (s.bytes[from] as number);
      else if (e.op === 'bytes_rate')
        value = ((s.bytes[to] as number) - (s.bytes[from] as number)) / rangeSec;
      else value = count;
      steps[i]?.push({ labels: s.labels, value });
    }
  }
  return true;
}
