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

const MAX_FILES_WITH_IDS = 10_000;

interface Slot {
  org: string;
  id: number;
  e: SeriesEntry;
  bytes: number;
}

export class SampleCache {
  private readonly byOrg = new Map<string, Map<number, Slot>>();
  /** every slot, least recently used first */
  private readonly lru = new Set<Slot>();
  private readonly idsOfFile = new Map<string, Int32Array>();
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
    return this.lru.size;
  }

  /** The entry of a series, marked most recently used. */
  get(org: string, id: number): SeriesEntry | undefined {
    const slot = this.byOrg.get(org)?.get(id);
    if (!slot) return undefined;
    this.lru.delete(slot);
    this.lru.add(slot);
    return slot.e;
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
    let series = this.byOrg.get(org);
    if (!series) {
      series = new Map();
      this.byOrg.set(org, series);
    }
    const prev = series.get(id);
    if (prev) this.remove(prev);
    const slot: Slot = { org, id, e, bytes: entryBytes(e) };
    series.set(id, slot);
    this.lru.add(slot);
    this.total += slot.bytes;
    for (const x of this.lru) {
      if (this.total <= this.maxBytes) break;
      this.remove(x);
    }
  }

  /** Forgets every series that read the file (deleted by retention or compaction). */
  dropFile(key: string): void {
    for (const x of this.lru) if (x.e.files.has(key)) this.remove(x);
    this.idsOfFile.delete(key);
  }

  /** The series ids a file holds samples of (for the series/labels APIs), when known. */
  seriesOfFile(key: string): Int32Array | undefined {
    return this.idsOfFile.get(key);
  }

  setSeriesOfFile(key: string, ids: Int32Array): void {
    // 4 bytes per series per file: a bounded map, oldest files first out
    if (this.idsOfFile.size >= MAX_FILES_WITH_IDS) this.idsOfFile.delete(this.idsOfFile.keys().next().value!);
    this.idsOfFile.set(key, ids);
  }

  private remove(x: Slot): void {
    this.lru.delete(x);
    this.byOrg.get(x.org)?.delete(x.id);
    this.total -= x.bytes;
  }
}
