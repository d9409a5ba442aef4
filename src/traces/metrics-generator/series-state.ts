/**
 * The cumulative state of generated metrics (counters and classic histograms), kept in memory per
 * series, and its snapshot: one sample per series at the collection time, as Tempo's
 * metrics-generator remote-writes its registry every collection interval.
 * Invariant: a counter only grows while the process runs; a value restored from the WAL (the last
 * snapshot written) is the base that later increments add to, so a restart is not a reset.
 */

/** A label set in a fixed order (metric name first); `key` identifies it. */
export interface SeriesLabels {
  names: readonly string[];
  values: readonly string[];
}

export interface Exemplar {
  traceId: string;
  spanId: string;
  value: number;
  timestampMs: number;
}

/** One series of a snapshot, labels in `name=value` pairs, with an exemplar to attach if any. */
export interface SnapshotSeries {
  labels: { name: string; value: string }[];
  value: number;
  exemplar?: Exemplar;
  /**
   * first snapshot of a series created by spans (not restored): a 0 sample one interval earlier
   * goes first, so that rate() and increase() see its first increment (Tempo does the same)
   */
  isNew?: boolean;
}

interface CounterState {
  labels: SeriesLabels;
  isNew: boolean;
  value: number;
  lastUpdateMs: number;
}

interface HistogramState {
  labels: SeriesLabels;
  isNew: boolean;
  /** per bucket, cumulative as on the wire (count of values ≤ its bound); the last one is +Inf */
  counts: Float64Array;
  sum: number;
  count: number;
  lastUpdateMs: number;
  /** the newest observation not yet written as an exemplar, and its bucket */
  exemplar?: Exemplar & { bucket: number };
}

/**
 * The identity of a series as Prometheus sees it: empty values dropped, names sorted, so a series
 * restored from storage (where `connection_type=""` is absent) is the one live spans update.
 */
function keyOf(name: string, l: SeriesLabels): string {
  const pairs: string[] = [];
  for (let i = 0; i < l.names.length; i++)
    if (l.values[i] !== '') pairs.push(`${l.names[i]}\u0000${l.values[i]}`);
  return `${name}\u0001${pairs.sort().join('\u0001')}`;
}

/** Prometheus `le` text of a bound (Go's strconv 'g' formatting of the usual bucket values). */
export const formatLe = (b: number): string => (b === Infinity ? '+Inf' : String(b));

export class SeriesState {
  private readonly counters = new Map<string, CounterState & { name: string }>();
  private readonly histograms = new Map<string, HistogramState & { name: string }>();

  constructor(private readonly buckets: readonly number[]) {}

  get seriesCount(): number {
    return this.counters.size + this.histograms.size * (this.buckets.length + 3);
  }

  addCounter(name: string, labels: SeriesLabels, delta: number, nowMs: number): void {
    const key = keyOf(name, labels);
    let c = this.counters.get(key);
    if (!c) {
      c = { name, labels, value: 0, lastUpdateMs: nowMs, isNew: true };
      this.counters.set(key, c);
    }
    c.value += delta;
    c.lastUpdateMs = nowMs;
  }

  observe(name: string, labels: SeriesLabels, value: number, nowMs: number, exemplar?: Exemplar): void {
    const key = keyOf(name, labels);
    let h = this.histograms.get(key);
    if (!h) {
      h = {
        name,
        labels,
        isNew: true,
        counts: new Float64Array(this.buckets.length + 1),
        sum: 0,
        count: 0,
        lastUpdateMs: nowMs,
      };
      this.histograms.set(key, h);
    }
    const bucket = bucketOf(this.buckets, value);
    for (let i = bucket; i < h.counts.length; i++) h.counts[i]!++;
    h.sum += value;
    h.count++;
    h.lastUpdateMs = nowMs;
    if (exemplar) h.exemplar = { ...exemplar, bucket };
  }

  /**
   * Replay: a written snapshot's value becomes the state of its series (the base later increments
   * add to). Histogram series are set part by part from their `_bucket`/`_sum`/`_count` samples.
   */
  restore(
    histogramNames: ReadonlySet<string>,
    labels: readonly { name: string; value: string }[],
    value: number,
    nowMs: number,
  ): void {
    const metric = labels.find((l) => l.name === '__name__')?.value ?? '';
    const rest = labels.filter((l) => l.name !== '__name__' && l.name !== 'le');
    const series: SeriesLabels = { names: rest.map((l) => l.name), values: rest.map((l) => l.value) };
    for (const suffix of ['_bucket', '_sum', '_count'] as const) {
      const base = metric.endsWith(suffix) ? metric.slice(0, -suffix.length) : '';
      if (!base || !histogramNames.has(base)) continue;
      const key = keyOf(base, series);
      let h = this.histograms.get(key);
      if (!h) {
        h = {
          name: base,
          labels: series,
          counts: new Float64Array(this.buckets.length + 1),
          sum: 0,
          count: 0,
          lastUpdateMs: nowMs,
          isNew: false,
        };
        this.histograms.set(key, h);
      }
      if (suffix === '_sum') h.sum = value;
      else if (suffix === '_count') h.count = value;
      else {
        const le = labels.find((l) => l.name === 'le')?.value ?? '';
        const i = le === '+Inf' ? this.buckets.length : this.buckets.findIndex((b) => formatLe(b) === le);
        if (i >= 0) h.counts[i] = value;
      }
      return;
    }
    const key = keyOf(metric, series);
    const c = this.counters.get(key);
    if (c) c.value = value;
    else this.counters.set(key, { name: metric, labels: series, value, lastUpdateMs: nowMs, isNew: false });
  }

  /** Drops series not updated since `olderThanMs` (Tempo's `stale_duration`). */
  dropStale(olderThanMs: number): void {
    for (const [k, c] of this.counters) if (c.lastUpdateMs < olderThanMs) this.counters.delete(k);
    for (const [k, h] of this.histograms) if (h.lastUpdateMs < olderThanMs) this.histograms.delete(k);
  }

  /** Every series's current value (histograms as `_bucket{le}`, `_sum`, `_count`); exemplars are handed out once. */
  snapshot(): SnapshotSeries[] {
    const out: SnapshotSeries[] = [];
    for (const c of this.counters.values()) {
      out.push({ labels: withName(c.name, c.labels), value: c.value, isNew: c.isNew });
      c.isNew = false;
    }
    for (const h of this.histograms.values()) {
      const isNew = h.isNew;
      h.isNew = false;
      for (let i = 0; i <= this.buckets.length; i++) {
        const le = formatLe(i === this.buckets.length ? Infinity : this.buckets[i]!);
        const labels = [...withName(`${h.name}_bucket`, h.labels), { name: 'le', value: le }];
        const s: SnapshotSeries = { labels, value: h.counts[i]!, isNew };
        if (h.exemplar && h.exemplar.bucket === i) {
          const { bucket: _b, ...ex } = h.exemplar;
          s.exemplar = ex;
        }
        out.push(s);
      }
      out.push({ labels: withName(`${h.name}_sum`, h.labels), value: h.sum, isNew });
      out.push({ labels: withName(`${h.name}_count`, h.labels), value: h.count, isNew });
      h.exemplar = undefined;
    }
    return out;
  }
}

function withName(name: string, l: SeriesLabels): { name: string; value: string }[] {
  const out = [{ name: '__name__', value: name }];
  l.names.forEach((n, i) => out.push({ name: n, value: l.values[i]! }));
  return out;
}

/** The index of the first bucket whose upper bound is ≥ value (the last index is +Inf). */
export function bucketOf(buckets: readonly number[], value: number): number {
  let lo = 0;
  let hi = buckets.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (value <= buckets[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
