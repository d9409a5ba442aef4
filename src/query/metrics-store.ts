/**
 * The PromQL engine's Queryable over one org's metrics: selectors resolve to series ids through
 * the in-memory inverted index, then only those series' samples in the time range are read from
 * the `metrics._samples` stream (Parquet files sorted by series and time, plus memtables).
 */
import type { Catalog } from '../catalog/catalog.ts';
import type { EnginePool } from '../memtable/org-engine.ts';
import type { LabelMatcher } from '../promql/labels.ts';
import type { Queryable, StoredSeries } from '../promql/storage.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { OrgId } from '../tenancy/org-id.ts';
import type { SeriesRegistry } from '../write/series-registry.ts';
import type { StreamRegistry } from '../write/streams.ts';
import {
  encodedFilesRelation,
  memtableSamplesRelation,
  parquetRelation,
  relationFiles,
  timeWhere,
  type RelationStats,
} from './stream-relation.ts';
import { encodedSamplesSql, normalize, readSeriesSamples } from './sample-reader.ts';
import type { CachedSamples, SampleCache, SeriesEntry } from './sample-cache.ts';
import { upperBound } from '../promql/engine/selectors.ts';
import type { DuckDBConnection } from '@duckdb/node-api';
import { SAMPLES_STREAM } from '../write/fixed-columns.ts';

export interface MetricsStoreDeps {
  catalog: Catalog;
  store: ObjectStore;
  engines: EnginePool;
  streams: StreamRegistry;
  registry: SeriesRegistry;
  cache: SampleCache;
}

/** Prometheus' "all time" for series/labels requests, kept within int64 nanoseconds. */
export const MIN_TIME_MS = -9_200_000_000_000;
export const MAX_TIME_MS = 9_200_000_000_000;

const EMPTY: CachedSamples = { t: new Float64Array(0), v: new Float64Array(0), stale: null };

export class MetricsQueryable implements Queryable {
  readonly stats: RelationStats & {
    series: number;
    samples: number;
    cache_hits: number;
    cache_misses: number;
  } = {
    files_scanned: 0,
    bytes_read: 0,
    memtable_rows: 0,
    series: 0,
    samples: 0,
    cache_hits: 0,
    cache_misses: 0,
  };

  constructor(
    private readonly deps: MetricsStoreDeps,
    private readonly org: OrgId,
  ) {}

  async select(matchers: readonly LabelMatcher[], minT: number, maxT: number): Promise<StoredSeries[]> {
    const ids = this.deps.registry.select(this.org, matchers);
    const s = this.deps.streams.get(this.org, 'metrics', SAMPLES_STREAM);
    if (ids.length === 0 || !s) return [];
    const tables = s.mem.pin();
    let conn: DuckDBConnection | undefined;
    const connect = async (): Promise<DuckDBConnection> =>
      (conn ??= await (await this.deps.engines.get(this.org)).connect());
    const idList = ids.join(',');
    try {
      const startNs = BigInt(Math.floor(minT)) * 1_000_000n;
      const endNs = BigInt(Math.floor(maxT) + 1) * 1_000_000n;
      const files = await relationFiles(this.deps, s, tables, startNs, endNs);
      // files in time order, then memtables: for equal timestamps the part written last wins
      files.sort((a, b) => (a.minTs < b.minTs ? -1 : a.minTs > b.minTs ? 1 : a.id < b.id ? -1 : 1));
      const keys = files.map((f) => f.key);
      const cache = this.deps.cache;
      const entries = new Map<number, SeriesEntry | undefined>();
      const missingOf = new Map<number, string[]>();
      const idsOfFile = new Map<string, number[]>();
      for (const id of ids) {
        const e = cache.get(this.org, id);
        entries.set(id, e);
        const missing = cache.missingFiles(e, keys);
        this.stats.cache_hits += keys.length - missing.length;
        this.stats.cache_misses += missing.length;
        if (missing.length === 0) continue;
        missingOf.set(id, missing);
        for (const k of missing) pushTo(idsOfFile, k, id);
      }
      // read what is missing, file by file in time order, then merge it into each series' entry
      const read = new Map<number, CachedSamples[]>();
      for (const f of files) {
        const need = idsOfFile.get(f.key);
        if (!need) continue;
        const found = await readSeriesSamples(
          await connect(),
          encodedSamplesSql(
            encodedFilesRelation([await this.deps.store.readablePath(f.key)], null, null),
            ` WHERE series_id IN (${need.join(',')})`,
          ),
        );
        for (const r of found) pushTo(read, r.id, r);
        this.stats.files_scanned++;
        this.stats.bytes_read += f.bytes;
      }
      for (const [id, missing] of missingOf) {
        const prev = entries.get(id);
        const pieces = [...(prev && prev.t.length > 0 ? [prev] : []), ...(read.get(id) ?? [])];
        const merged =
          pieces.length === 0 ? EMPTY : pieces.length === 1 ? pieces[0]! : mergePieces(id, pieces);
        const entry: SeriesEntry = {
          t: merged.t,
          v: merged.v,
          stale: merged.stale,
          files: new Set([...(prev?.files ?? []), ...missing]),
        };
        cache.set(this.org, id, entry);
        entries.set(id, entry);
      }
      let memRows = 0;
      for (const t of tables) memRows += t.rows;
      this.stats.memtable_rows += memRows;
      const recent = new Map<number, CachedSamples>();
      if (memRows > 0) {
        const rows = await readSeriesSamples(
          await connect(),
          encodedSamplesSql(
            memtableSamplesRelation(tables, timeWhere(startNs, endNs)),
            ` WHERE series_id IN (${idList})`,
          ),
        );
        for (const r of rows) recent.set(r.id, r);
      }
      const out: StoredSeries[] = [];
      for (const id of ids) {
        const e = entries.get(id);
        const w = e ? window(e, minT, maxT) : null;
        const m = recent.get(id);
        // memtable rows are newer than any file: they win equal timestamps
        const samples = m === undefined ? w : w === null ? m : mergePieces(id, [w, m]);
        if (samples === null) continue;
        const labels = this.deps.registry.labels(this.org, id);
        if (!labels) continue;
        this.stats.samples += samples.t.length;
        out.push({ labels, t: samples.t, v: samples.v, stale: samples.stale });
      }
      this.stats.series += out.length;
      return out;
    } finally {
      conn?.closeSync();
      await s.mem.unpin(tables);
    }
  }

  /**
   * Series with samples in [minT, maxT] (ms), at the granularity of files (hourly) plus the exact
   * memtable rows, as Prometheus answers from its blocks and head: for series, labels and label
   * values with `start`/`end`.
   */
  async seriesWithSamples(minT: number, maxT: number): Promise<Set<number>> {
    const out = new Set<number>();
    const s = this.deps.streams.get(this.org, 'metrics', SAMPLES_STREAM);
    if (!s) return out;
    const tables = s.mem.pin();
    let conn: DuckDBConnection | undefined;
    try {
      const clamp = (ms: number) => Math.max(MIN_TIME_MS, Math.min(MAX_TIME_MS, Math.floor(ms)));
      const startNs = BigInt(clamp(minT)) * 1_000_000n;
      const endNs = BigInt(clamp(maxT) + 1) * 1_000_000n;
      const parts: string[] = [];
      for (const f of await relationFiles(this.deps, s, tables, startNs, endNs)) {
        const known = this.deps.cache.seriesOfFile(f.key);
        if (known) for (const id of known) out.add(id);
        else parts.push(f.key);
      }
      if (parts.length > 0 || tables.some((t) => t.rows > 0)) {
        conn = await (await this.deps.engines.get(this.org)).connect();
        for (const key of parts) {
          const ids = await distinctIds(conn, parquetRelation([await this.deps.store.readablePath(key)], ''));
          this.deps.cache.setSeriesOfFile(key, ids);
          for (const id of ids) out.add(id);
        }
        if (tables.some((t) => t.rows > 0)) {
          const relation = memtableSamplesRelation(tables, timeWhere(startNs, endNs));
          for (const id of await distinctIds(conn, relation)) out.add(id);
        }
      }
      return out;
    } finally {
      conn?.closeSync();
      await s.mem.unpin(tables);
    }
  }
}

function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/** The samples of `c` with times in [minT, maxT], as views (no copy); null when there are none. */
function window(c: CachedSamples, minT: number, maxT: number): CachedSamples | null {
  const lo = lowerBound(c.t, minT);
  const hi = upperBound(c.t, maxT);
  if (hi <= lo) return null;
  if (lo === 0 && hi === c.t.length) return c;
  const stale = c.stale?.subarray(lo, hi) ?? null;
  return { t: c.t.subarray(lo, hi), v: c.v.subarray(lo, hi), stale: stale?.includes(1) ? stale : null };
}

function lowerBound(t: Float64Array, x: number): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One series' pieces (files, then memtables) joined, sorted by time, later pieces winning ties. */
function mergePieces(id: number, list: readonly CachedSamples[]): CachedSamples {
  let n = 0;
  let anyStale = false;
  for (const p of list) {
    n += p.t.length;
    if (p.stale !== null) anyStale = true;
  }
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  const stale = new Uint8Array(n);
  let k = 0;
  for (const p of list) {
    t.set(p.t, k);
    v.set(p.v, k);
    if (p.stale !== null) stale.set(p.stale, k);
    k += p.t.length;
  }
  const r = normalize({ s: { id, t, v, stale }, anyStale });
  return { t: r.t, v: r.v, stale: r.stale };
}

async function distinctIds(conn: DuckDBConnection, relation: string): Promise<Int32Array> {
  const r = await conn.runAndReadAll(`SELECT DISTINCT series_id::INTEGER AS id FROM (${relation})`);
  return Int32Array.from(r.getColumns()[0] ?? [], (v) => Number(v));
}
