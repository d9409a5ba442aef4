/**
 * An in-memory LogSource (and bucket aggregator) over a Loki push body, for tests and tools:
 * `{"streams":[{"stream":{labels}, "values":[["<ns>", "<line>", {metadata}?], ...]}]}`. Stream
 * labels come from `stream`, structured metadata from the optional third element of each value,
 * as Loki stores them.
 *
 * Line filters are applied while reading, by the pipeline's own line-filter code.
 */
import type { LineFilterStage, Matcher } from '../ast.ts';
import type { LogEntry } from '../pipeline/types.ts';
import { compileAnchored } from '../../promql/functions/re2.ts';
import { compileLineFilter } from '../pipeline/index.ts';
import type { BucketAggregationRequest, BucketAggregator, BucketRow } from './metric/pushdown-types.ts';
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

export class MemoryLogSource implements LogSource, BucketAggregator {
  /** every entry, oldest first; ties keep the order of the push body */
  private readonly entries: LogEntry[];
  /** how many times read() and aggregateBuckets() were called (for tests) */
  reads = 0;
  bucketReads = 0;

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

  aggregateBuckets(req: BucketAggregationRequest): Promise<readonly BucketRow[] | null> {
    this.bucketReads++;
    const endNs = req.originNs + BigInt(req.bucketCount) * req.bucketNs;
    const from = this.lowerBound(req.originNs + 1n);
    const to = this.lowerBound(endNs + 1n);
    const pick = this.selected(req, from, to);
    // one row per (stream, metadata, bucket); equal label sets in two rows are merged by the caller
    const streamIds = new Map<Readonly<Record<string, string>>, number>();
    const rows = new Map<string, BucketRow>();
    for (let k = from; k < to; k++) {
      const e = pick(k);
      if (e === null) continue;
      const bucket = Number((e.ts - req.originNs - 1n) / req.bucketNs);
      let sid = streamIds.get(e.stream);
      if (sid === undefined) streamIds.set(e.stream, (sid = streamIds.size));
      const key = `${sid}\u0001${e.metadata === NO_METADATA ? '' : JSON.stringify(e.metadata)}\u0001${bucket}`;
      let row = rows.get(key);
      if (!row) rows.set(key, (row = { stream: e.stream, metadata: e.metadata, bucket, count: 0, bytes: 0 }));
      row.count++;
      if (req.withBytes) row.bytes += Buffer.byteLength(e.line, 'utf8');
    }
    const out = [...rows.values()];
    return Promise.resolve(out);
  }
}
