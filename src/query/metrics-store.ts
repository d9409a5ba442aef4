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
import { memtableRelation, parquetRelation, relationFiles, timeWhere, type RelationStats } from './stream-relation.ts';
import { normalize, readSeriesSamples } from './sample-reader.ts';
import type { CachedSamples, SampleCache } from './sample-cache.ts';
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

const SAMPLE_COLUMNS = 'series_id::INTEGER, (_timestamp // 1000000)::DOUBLE AS t, value, stale';

export class MetricsQueryable implements Queryable {
  readonly stats: RelationStats & { series: number; samples: number; cache_hits: number; cache_misses: number } = {
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
      const pieces = new Map<number, CachedSamples[]>();
      const add = (id: number, c: CachedSamples): void => {
        const w = window(c, minT, maxT);
        if (w === null) return;
        const list = pieces.get(id);
        if (list) list.push(w);
        else pieces.set(id, [w]);
      };
      const cache = this.deps.cache;
      for (const f of files) {
        const entry = cache.file(f.key);
        const h0 = cache.hits;
        const m0 = cache.misses;
        const missing = cache.missing(entry, ids);
        this.stats.cache_hits += cache.hits - h0;
        this.stats.cache_misses += cache.misses - m0;
        if (missing.length > 0) {
          const path = this.deps.store.localPath(f.key);
          const found = await readSeriesSamples(
            await connect(),
            `SELECT ${SAMPLE_COLUMNS} FROM (${parquetRelation([path], '')}) WHERE series_id IN (${missing.join(',')}) ORDER BY series_id, t`,
          );
          cache.fill(f.key, entry, missing, found);
          this.stats.files_scanned++;
          this.stats.bytes_read += f.bytes;
        }
        for (const id of ids) {
          const c = entry.series.get(id);
          if (c) add(id, c);
        }
      }
      let memRows = 0;
      for (const t of tables) memRows += t.rows;
      this.stats.memtable_rows += memRows;
      if (memRows > 0) {
        const relation = memtableRelation(tables, timeWhere(startNs, endNs)).join(' UNION ALL BY NAME ');
        const rows = await readSeriesSamples(
          await connect(),
          `SELECT ${SAMPLE_COLUMNS} FROM (${relation}) WHERE series_id IN (${idList}) ORDER BY series_id, t`,
        );
        for (const r of rows) add(r.id, r);
      }
      const out: StoredSeries[] = [];
      for (const [id, list] of pieces) {
        const labels = this.deps.registry.labels(this.org, id);
        if (!labels) continue;
        const merged = list.length === 1 ? list[0]! : mergePieces(id, list);
        this.stats.samples += merged.t.length;
        out.push({ labels, t: merged.t, v: merged.v, stale: merged.stale });
      }
      this.stats.series += out.length;
      return out;
    } finally {
      conn?.closeSync();
      await s.mem.unpin(tables);
    }
  }
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
