/**
 * An in-memory LogSource (and bucket aggregator) over a Loki push body, for tests and tools:
 * `{"streams":[{"stream":{labels}, "values":[["<ns>", "<line>", {metadata}?], ...]}]}`. Stream
 * labels come from `stream`, structured metadata from the optional third element of each value,
 * as Loki stores them.
 *
 * Line filters are applied while reading, by the pipeline's own line-filter code. Both pushdown
 * methods are implemented by running the real pipeline, so they answer every request: this source
 * is the reference the SQL source's pushdown is checked against.
 */
import type { LineFilterStage, Matcher } from '../ast.ts';
import type { LogEntry } from '../pipeline/types.ts';
import { compileAnchored } from '../../promql/functions/re2.ts';
import { compileExtractor, compileLineFilter, compilePipeline } from '../pipeline/index.ts';
import { LabelSetInterner, type LabelSet } from './metric/labels.ts';
import type {
  BucketAggregationRequest,
  BucketRow,
  MetricPushdown,
  SampleAggregate,
  SampleAggregationRequest,
  SampleReadRequest,
  SampleSeries,
  WindowAggregation,
  WindowRow,
} from './metric/pushdown-types.ts';
import { reduceLabels } from './metric/range-common.ts';
import { VALUE_FUNCTIONS } from './metric/range-functions.ts';
import type { LogReadRequest, LogSource } from './source-types.ts';

export interface LokiPushBody {
  streams: { stream: Record<string, string>; values: [string, string, Record<string, string>?][] }[];
}

const BATCH_SIZE = 1024;
const NO_METADATA: Readonly<Record<string, string>> = Object.freeze({});

function matchesAll(labels: Readonly<Record<string, string>>, matchers: readonly Matcher[]): boolean {
  return matchers.every((m) => {
    const v = labels[m.name] ?? '';
    switch (m.type) {
      case '=':
        return v === m.value;
      case '!=':
        return v !== m.value;
      case '=~':
        return compileAnchored(m.value).test(v);
      case '!~':
        return !compileAnchored(m.value).test(v);
    }
  });
}

const WINDOW_FUNCTIONS = {
  sum: 'sum_over_time',
  avg: 'avg_over_time',
  min: 'min_over_time',
  max: 'max_over_time',
  stdvar: 'stdvar_over_time',
  quantile: 'quantile_over_time',
  first: 'first_over_time',
  last: 'last_over_time',
} as const satisfies Record<SampleAggregate, keyof typeof VALUE_FUNCTIONS>;

type PushdownRequest = Pick<BucketAggregationRequest, 'matchers' | 'pipeline' | 'grouping'>;

export class MemoryLogSource implements LogSource, MetricPushdown {
  /** every entry, oldest first; ties keep the order of the push body */
  private readonly entries: LogEntry[];
  /** how many times each method was called (for tests) */
  reads = 0;
  bucketReads = 0;
  sampleReads = 0;
  windowReads = 0;

  constructor(body: LokiPushBody) {
    const entries: LogEntry[] = [];
    for (const s of body.streams) {
      const stream = Object.freeze({ ...s.stream });
      for (const [ts, line, md] of s.values) {
        const metadata = md && Object.keys(md).length > 0 ? Object.freeze({ ...md }) : NO_METADATA;
        entries.push({ ts: BigInt(ts), line, stream, metadata });
      }
    }
    // Array.prototype.sort is stable: equal timestamps keep the body's order
    entries.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
    this.entries = entries;
  }

  /** index of the first entry with ts >= t */
  private lowerBound(t: bigint): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.entries[mid] as LogEntry).ts < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private selected(
    req: { matchers: readonly Matcher[]; lineFilters: readonly LineFilterStage[] },
    from: number,
    to: number,
  ) {
    const streamMatch = new Map<Readonly<Record<string, string>>, boolean>();
    const tests = req.lineFilters.map(compileLineFilter);
    return (k: number): LogEntry | null => {
      if (k < from || k >= to) return null;
      const e = this.entries[k] as LogEntry;
      let ok = streamMatch.get(e.stream);
      if (ok === undefined) {
        ok = matchesAll(e.stream, req.matchers);
        streamMatch.set(e.stream, ok);
      }
      if (!ok) return null;
      for (const t of tests) if (!t(e.line)) return null;
      return e;
    };
  }

  async *read(req: LogReadRequest): AsyncIterable<readonly LogEntry[]> {
    this.reads++;
    const from = this.lowerBound(req.startNs);
    const to = this.lowerBound(req.endNs);
    const pick = this.selected(req, from, to);
    let batch: LogEntry[] = [];
    const forward = req.direction === 'forward';
    for (let k = forward ? from : to - 1; forward ? k < to : k >= from; k += forward ? 1 : -1) {
      const e = pick(k);
      if (e === null) continue;
      batch.push(e);
      if (batch.length >= BATCH_SIZE) {
        if (req.signal?.aborted) throw req.signal.reason;
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  /** The lines of `[from, to)` of the selected streams through the request's pipeline, labels reduced. */
  private *piped(req: PushdownRequest, from: number, to: number) {
    const pick = this.selected({ matchers: req.matchers, lineFilters: [] }, from, to);
    const pipeline = compilePipeline(req.pipeline);
    const interner = new LabelSetInterner();
    for (let k = from; k < to; k++) {
      const e = pick(k);
      if (e === null) continue;
      const out = pipeline.process(e);
      if (out === null) continue;
      const labels = interner.intern(req.grouping ? reduceLabels(out.labels, req.grouping) : out.labels);
      yield { entry: e, line: out.line, labels };
    }
  }

  aggregateBuckets(req: BucketAggregationRequest): Promise<readonly BucketRow[] | null> {
    this.bucketReads++;
    const endNs = req.originNs + BigInt(req.bucketCount) * req.bucketNs;
    const rows = new Map<LabelSet, Map<number, BucketRow>>();
    for (const { entry, line, labels } of this.piped(
      req,
      this.lowerBound(req.originNs + 1n),
      this.lowerBound(endNs + 1n),
    )) {
      const bucket = Number((entry.ts - req.originNs - 1n) / req.bucketNs);
      let byBucket = rows.get(labels);
      if (!byBucket) rows.set(labels, (byBucket = new Map<number, BucketRow>()));
      let row = byBucket.get(bucket);
      if (!row) byBucket.set(bucket, (row = { labels: labels.toRecord(), bucket, count: 0, bytes: 0 }));
      row.count++;
      if (req.withBytes) row.bytes += Buffer.byteLength(line, 'utf8');
    }
    return Promise.resolve([...rows.values()].flatMap((byBucket) => [...byBucket.values()]));
  }

  /** readSamples, then each window through the line path's functions (range-functions.ts). */
  aggregateSamples(req: SampleAggregationRequest): Promise<WindowAggregation | null> {
    this.windowReads++;
    const endNs = req.originNs + BigInt(req.windowCount - 1) * req.stepNs + req.rangeNs;
    const series = this.samplesOf({ ...req, startNs: req.originNs + 1n, endNs: endNs + 1n });
    const fn = VALUE_FUNCTIONS[WINDOW_FUNCTIONS[req.aggregate]]!;
    const rows: WindowRow[] = [];
    let samples = 0;
    for (const s of series) {
      const ts = Array.from(s.timestampsNs, (t) => Number(t - req.originNs));
      const values = Array.from(s.values);
      samples += ts.length;
      let inNone = ts.length > 0;
      for (let i = 0; i < req.windowCount; i++) {
        const a = i * Number(req.stepNs);
        const b = a + Number(req.rangeNs);
        const lo = ts.findIndex((t) => t > a);
        let hi = lo;
        while (hi >= 0 && hi < ts.length && (ts[hi] as number) <= b) hi++;
        if (lo < 0 || hi === lo) continue;
        inNone = false;
        const value = fn({ ts, values, lo, hi, rangeMs: 0, param: req.quantile });
        rows.push({ labels: s.labels, window: i, value, firstNs: s.timestampsNs[0] as bigint });
      }
      if (inNone) rows.push({ labels: s.labels, window: -1, value: 0, firstNs: s.timestampsNs[0] as bigint });
    }
    return Promise.resolve({ rows, samples });
  }

  readSamples(req: SampleReadRequest): Promise<readonly SampleSeries[] | null> {
    this.sampleReads++;
    return Promise.resolve(this.samplesOf(req));
  }

  private samplesOf(req: SampleReadRequest): SampleSeries[] {
    const pick = this.selected({ matchers: req.matchers, lineFilters: [] }, 0, this.entries.length);
    const extractor = compileExtractor(req.pipeline, req.unwrap);
    const interner = new LabelSetInterner();
    const series = new Map<LabelSet, { ts: bigint[]; values: number[] }>();
    for (let k = this.lowerBound(req.startNs); k < this.lowerBound(req.endNs); k++) {
      const e = pick(k);
      if (e === null) continue;
      const out = extractor.process(e);
      if (out === null) continue;
      const labels = interner.intern(req.grouping ? reduceLabels(out.labels, req.grouping) : out.labels);
      let s = series.get(labels);
      if (!s) series.set(labels, (s = { ts: [] as bigint[], values: [] as number[] }));
      s.ts.push(e.ts);
      s.values.push(out.value);
    }
    return [...series].map(([labels, s]) => ({
      labels: labels.toRecord(),
      timestampsNs: BigInt64Array.from(s.ts),
      values: Float64Array.from(s.values),
    }));
  }
}
