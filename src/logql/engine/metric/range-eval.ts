/**
 * Range aggregations (`count_over_time(...[5m])`, `quantile_over_time(...)`): the source is read
 * once for `(start - range - offset, end - offset]`; each line goes through the pipeline into a
 * per-series array of timestamps (and values); then a window slides over each series for every
 * step. Windows are left-open, right-closed: step t covers `(t - range - offset, t - offset]`.
 *
 * Timestamps are kept as nanoseconds relative to the read origin in float64, exact while the
 * read span stays under 2^53 ns (104 days); longer spans are refused.
 */
import type { RangeAggregationExpr } from '../../ast.ts';
import type { LogEntry } from '../../pipeline/types.ts';
import { pipelineError, queryError } from './errors.ts';
import type { LogSource } from '../source-types.ts';
import { ERROR_LABEL, LabelSet, LabelSetInterner } from './labels.ts';
import type { MetricPushdown } from './pushdown-types.ts';
import { aggregateWithBuckets, canPushDown } from './pushdown.ts';
import { aggregateWithWindows, canAggregateSamples } from './pushdown-samples.ts';
import {
  absentLabels,
  lineGrouping,
  rangeSpan,
  reduceLabels,
  type RangeContext,
  type RangeSpan,
} from './range-common.ts';
import { VALUE_FUNCTIONS } from './range-functions.ts';
import type { Sample } from './values.ts';

type LineProcessor = (entry: LogEntry) => { value: number; labels: Map<string, string> } | null;

function lineProcessor(e: RangeAggregationExpr, ctx: RangeContext): LineProcessor {
  if (e.unwrap) {
    const x = ctx.pipelines.extractor(e.selector, e.unwrap);
    return (entry) => x.process(entry);
  }
  const p = ctx.pipelines.pipeline(e.selector);
  if (!BYTES_OPS.has(e.op)) {
    return (entry) => {
      const out = p.process(entry);
      return out === null ? null : { value: 1, labels: out.labels };
    };
  }
  return (entry) => {
    const out = p.process(entry);
    return out === null ? null : { value: Buffer.byteLength(out.line, 'utf8'), labels: out.labels };
  };
}

interface SeriesData {
  labels: LabelSet;
  ts: number[];
  values: number[];
  sorted: boolean;
}

const COUNT_OPS = new Set(['count_over_time', 'rate', 'absent_over_time']);
const BYTES_OPS = new Set(['bytes_over_time', 'bytes_rate']);

/** The unwrap ops through the source's readSamples, or null when it has none or declines. */
async function pushedSamples(
  e: RangeAggregationExpr,
  ctx: RangeContext,
  span: RangeSpan,
): Promise<SeriesData[] | null> {
  const source = ctx.source as LogSource & Partial<MetricPushdown>;
  if (e.unwrap === null || typeof source.readSamples !== 'function') return null;
  const got = await source.readSamples({
    matchers: e.selector.matchers,
    pipeline: e.selector.pipeline,
    unwrap: e.unwrap,
    grouping: lineGrouping(e, ctx.outerGrouping),
    startNs: span.originNs + 1n,
    endNs: span.originNs + BigInt(span.lastEnd) + 1n,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  if (got === null) return null;
  const series = new Map<string, SeriesData>();
  for (const g of got) {
    const labels = LabelSet.fromRecord(g.labels);
    let s = series.get(labels.key);
    if (s === undefined) series.set(labels.key, (s = { labels, ts: [], values: [], sorted: true }));
    // a second series with the same labels is appended and sorted below
    if (s.ts.length > 0) s.sorted = false;
    for (let k = 0; k < g.timestampsNs.length; k++) {
      s.ts.push(Number((g.timestampsNs[k] as bigint) - span.originNs));
      s.values.push(g.values[k] as number);
    }
  }
  const list = [...series.values()];
  for (const s of list) if (!s.sorted) sortSeries(s, true);
  return list;
}

/** `withSamples`: ask the source's readSamples first. */
async function collectSeries(
  e: RangeAggregationExpr,
  ctx: RangeContext,
  span: RangeSpan,
  withSamples: boolean,
): Promise<SeriesData[]> {
  const pushed = withSamples ? await pushedSamples(e, ctx, span) : null;
  if (pushed !== null) return pushed;
  const grouping = lineGrouping(e, ctx.outerGrouping);
  const withValues = e.unwrap !== null || !COUNT_OPS.has(e.op);
  const process = lineProcessor(e, ctx);

  const interner = new LabelSetInterner();
  const series = new Map<LabelSet, SeriesData>();
  const leading = [];
  for (const stage of e.selector.pipeline) {
    if (stage.type !== 'LineFilter') break;
    leading.push(stage);
  }
  const batches = ctx.source.read({
    matchers: e.selector.matchers,
    lineFilters: leading,
    startNs: span.originNs + 1n,
    endNs: span.originNs + BigInt(span.lastEnd) + 1n,
    direction: 'forward',
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  for await (const batch of batches) {
    if (ctx.signal?.aborted) throw ctx.signal.reason;
    for (const entry of batch) {
      const out = process(entry);
      if (out === null) continue;
      const labels = interner.intern(grouping ? reduceLabels(out.labels, grouping) : out.labels);
      let s = series.get(labels);
      if (s === undefined) {
        s = { labels, ts: [], values: [], sorted: true };
        series.set(labels, s);
      }
      const t = Number(entry.ts - span.originNs);
      const n = s.ts.length;
      if (n > 0 && (s.ts[n - 1] as number) > t) s.sorted = false;
      s.ts.push(t);
      if (withValues) s.values.push(out.value);
    }
  }
  const list = [...series.values()];
  for (const s of list) if (!s.sorted) sortSeries(s, withValues);
  return list;
}

function sortSeries(s: SeriesData, withValues: boolean): void {
  const idx = s.ts.map((_, k) => k).sort((a, b) => (s.ts[a] as number) - (s.ts[b] as number) || a - b);
  s.ts = idx.map((k) => s.ts[k] as number);
  if (withValues) s.values = idx.map((k) => s.values[k] as number);
  s.sorted = true;
}

/** Evaluate a range aggregation at every step of the grid. */
export async function evalRangeAggregation(e: RangeAggregationExpr, ctx: RangeContext): Promise<Sample[][]> {
  const span = rangeSpan(e, ctx.grid);
  const steps: Sample[][] = Array.from({ length: span.count }, () => []);
  const source = ctx.source;
  let pushed: 'pushed' | 'declined' | 'lines' = 'declined';
  if (canPushDown(e, source)) {
    pushed = (await aggregateWithBuckets(e, source, ctx, span, steps)) ? 'pushed' : 'declined';
  } else if (canAggregateSamples(e, source)) {
    pushed = await aggregateWithWindows(e, source, ctx, span, steps);
  }
  if (pushed !== 'pushed') {
    const series = await collectSeries(e, ctx, span, pushed !== 'lines');
    for (const s of series) windowSeries(e, ctx, span, s, steps);
  }
  if (e.op === 'absent_over_time') {
    const labels = absentLabels(e.selector);
    return steps.map((vec) => (vec.length > 0 ? [] : [{ labels, value: 1 }]));
  }
  return steps;
}

/** Slide the window over one series and add its value at each step where the window has samples. */
function windowSeries(
  e: RangeAggregationExpr,
  ctx: RangeContext,
  span: RangeSpan,
  s: SeriesData,
  steps: Sample[][],
) {
  const { ts } = s;
  const n = ts.length;
  const fn = VALUE_FUNCTIONS[e.op];
  const rangeSec = e.rangeMs / 1000;
  const groupsErrors = e.grouping !== null && !e.grouping.without && e.grouping.labels.includes(ERROR_LABEL);
  // recorded: Loki's absent_over_time never fails on an error sample (it only asks "any samples?")
  const hasError =
    e.op !== 'absent_over_time' && !ctx.preserveErrors && !groupsErrors && s.labels.has(ERROR_LABEL);
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < span.count; i++) {
    const a = i * span.step;
    const b = a + span.range;
    while (lo < n && (ts[lo] as number) <= a) lo++;
    if (lo >= n) break;
    if ((ts[lo] as number) > b) {
      // no sample in this window: jump to the first step whose window reaches ts[lo]
      if (span.step > 0) i = Math.max(i, Math.ceil(((ts[lo] as number) - span.range) / span.step) - 1);
      else break;
      continue;
    }
    if (hi < lo) hi = lo;
    while (hi < n && (ts[hi] as number) <= b) hi++;
    if (hasError) throw pipelineError(s.labels);
    let value: number;
    if (e.op === 'count_over_time' || e.op === 'absent_over_time') value = hi - lo;
    else if (e.op === 'rate' && !e.unwrap) value = (hi - lo) / rangeSec;
    else if (fn) value = fn({ ts, values: s.values, lo, hi, rangeMs: e.rangeMs, param: e.param });
    else throw queryError(`unsupported range aggregation ${e.op}`);
    steps[i]?.push({ labels: s.labels, value });
  }
}
