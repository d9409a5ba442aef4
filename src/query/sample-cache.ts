/**
 * Decoded samples of Parquet files, kept in memory for PromQL: per series, the times and values
 * of every file read for it so far, merged into one sorted pair of typed arrays, with the set of
 * files they came from. A query lists the files of its time range, reads from DuckDB only the
 * files a series has not seen yet (merging them in), and then takes its window out of the arrays
 * as views: the samples of a series are decoded and copied once, not at every query.
 *
 * Files never change once written, so an entry is never stale while its files exist; a file that
 * is deleted (retention, compaction) must be dropped here so its samples stop being answered.
 * The budget is in bytes of typed arrays; the least recently used series go first.
 */
import type { SeriesSamples } from './sample-reader.ts';

export type CachedSamples = Omit<SeriesSamples, 'id'>;

export interface SeriesEntry extends CachedSamples {
  /** keys of the files merged in, including files without samples of this series */
  readonly files: ReadonlySet<string>;
}

/** Bookkeeping cost of one entry besides its arrays (map slots, array headers). */
const ENTRY_OVERHEAD = 200;

export function entryBytes(e: SeriesEntry): number {
  return e.t.byteLength + e.v.byteLength + (e.stale?.byteLength ?? 0) + ENTRY_OVERHEAD + e.files.size * 16;
}

export class SampleCache {
  private readonly entries = new Map<string, { e: SeriesEntry; bytes: number }>();
  private total = 0;
  /** series reads of a file served from memory */
  hits = 0;
  /** series reads of a file that had to be decoded */
  misses = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entry of a series, marked most recently used. */
  get(org: string, id: number): SeriesEntry | undefined {
    const k = `${org}\u0000${id}`;
    const x = this.entries.get(k);
    if (!x) return undefined;
    this.entries.delete(k);
    this.entries.set(k, x);
    return x.e;
  }

  /** Which of `files` the series has not read yet; counts hits and misses. */
  missingFiles(entry: SeriesEntry | undefined, files: readonly string[]): string[] {
    const out = entry ? files.filter((f) => !entry.files.has(f)) : [...files];
    this.misses += out.length;
    this.hits += files.length - out.length;
    return out;
  }

  /** Stores the series' entry (replacing the previous one) and evicts past the budget. */
  set(org: string, id: number, e: SeriesEntry): void {
    const k = `${org}\u0000${id}`;
    const prev = this.entries.get(k);
    if (prev) {
      this.entries.delete(k);
      this.total -= prev.bytes;
    }
    const bytes = entryBytes(e);
    this.entries.set(k, { e, bytes });
    this.total += bytes;
    for (const [key, x] of this.entries) {
      if (this.total <= this.maxBytes) break;
      this.entries.delete(key);
      this.total -= x.bytes;
    }
  }

  /** Forgets every series that read the file (deleted by retention or compaction). */
  dropFile(key: string): void {
    for (const [k, x] of this.entries) {
      if (!x.e.files.has(key)) continue;
      this.entries.delete(k);
      this.total -= x.bytes;
    }
  }
}
