/**
 * Decoded samples of Parquet files, kept in memory for PromQL: per file, per series, the times
 * and values as typed arrays, exactly as read. Files are immutable, so an entry never goes stale;
 * a file the catalog no longer lists is simply never asked for again and ages out. The budget is
 * in bytes of typed arrays; the least recently used files go first.
 *
 * Series are cached on demand: a query loads only the series it needs from a file, and the file's
 * entry remembers which series it has asked for (including those with no samples in the file), so
 * the next query reads DuckDB only for series never asked for before.
 */
import type { SeriesSamples } from './sample-reader.ts';

export type CachedSamples = Omit<SeriesSamples, 'id'>;

export interface FileSamples {
  /** series ids asked for: present in `series` when the file holds samples of them */
  readonly loaded: Set<number>;
  readonly series: Map<number, CachedSamples>;
  bytes: number;
}

/** Bookkeeping cost of one series entry besides its arrays (map slots, array headers). */
const ENTRY_OVERHEAD = 200;

export function samplesBytes(s: CachedSamples): number {
  return s.t.byteLength + s.v.byteLength + (s.stale?.byteLength ?? 0) + ENTRY_OVERHEAD;
}

export class SampleCache {
  private readonly files = new Map<string, FileSamples>();
  private total = 0;
  hits = 0;
  misses = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.total;
  }

  get fileCount(): number {
    return this.files.size;
  }

  /** The entry of a file (created empty), marked most recently used. */
  file(key: string): FileSamples {
    let f = this.files.get(key);
    if (f) this.files.delete(key);
    else f = { loaded: new Set(), series: new Map(), bytes: 0 };
    this.files.set(key, f);
    return f;
  }

  /** Which of `ids` the file's entry has not been asked for yet; counts hits and misses. */
  missing(f: FileSamples, ids: readonly number[]): number[] {
    const out: number[] = [];
    for (const id of ids) if (!f.loaded.has(id)) out.push(id);
    this.misses += out.length;
    this.hits += ids.length - out.length;
    return out;
  }

  /** Records what a read of `asked` series from the file found (series without samples are absent). */
  fill(key: string, f: FileSamples, asked: readonly number[], found: readonly SeriesSamples[]): void {
    let added = 0;
    for (const s of found) {
      if (f.series.has(s.id)) continue;
      const entry: CachedSamples = { t: s.t, v: s.v, stale: s.stale };
      f.series.set(s.id, entry);
      added += samplesBytes(entry);
    }
    for (const id of asked) {
      if (f.loaded.has(id)) continue;
      f.loaded.add(id);
      added += 16;
    }
    f.bytes += added;
    // an entry evicted while this query read it is not in the map any more: do not count it
    if (this.files.get(key) === f) this.total += added;
    this.evict();
  }

  /** Forgets a file (deleted by compaction or retention). */
  drop(key: string): void {
    const f = this.files.get(key);
    if (!f) return;
    this.files.delete(key);
    this.total -= f.bytes;
  }

  private evict(): void {
    for (const [key, f] of this.files) {
      if (this.total <= this.maxBytes) return;
      this.files.delete(key);
      this.total -= f.bytes;
    }
  }
}
