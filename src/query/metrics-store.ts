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
import { streamRelation, type RelationStats } from './stream-relation.ts';
import { SAMPLES_STREAM } from '../write/fixed-columns.ts';

export interface MetricsStoreDeps {
  catalog: Catalog;
  store: ObjectStore;
  engines: EnginePool;
  streams: StreamRegistry;
  registry: SeriesRegistry;
}

export class MetricsQueryable implements Queryable {
  readonly stats: RelationStats & { series: number; samples: number } = {
    files_scanned: 0,
    bytes_read: 0,
    memtable_rows: 0,
    series: 0,
    samples: 0,
  };

  constructor(
    private readonly deps: MetricsStoreDeps,
    private readonly org: OrgId,
  ) {}

  async select(matchers: readonly LabelMatcher[], minT: number, maxT: number): Promise<StoredSeries[]> {
    const ids = this.deps.registry.select(this.org, matchers);
    const s = this.deps.streams.get(this.org, 'metrics', SAMPLES_STREAM);
    if (ids.length === 0 || !s) return [];
    const engine = await this.deps.engines.get(this.org);
    const conn = await engine.connect();
    const tables = s.mem.pin();
    try {
      const relation = await streamRelation(
        this.deps,
        s,
        tables,
        BigInt(Math.floor(minT)) * 1_000_000n,
        BigInt(Math.floor(maxT) + 1) * 1_000_000n,
        this.stats,
      );
      const idList = ids.join(',');
      const reader = await conn.runAndReadAll(
        `SELECT series_id, _timestamp // 1000000 AS t, value, stale FROM (${relation}) WHERE series_id IN (${idList}) ORDER BY series_id, t`,
      );
      const [sid, ts, vs, st] = reader.getColumnsJS() as [bigint[], bigint[], number[], boolean[]];
      const out: StoredSeries[] = [];
      let i = 0;
      const n = sid.length;
      this.stats.samples += n;
      while (i < n) {
        const id = sid[i]!;
        let j = i;
        while (j < n && sid[j] === id) j++;
        // duplicates of one timestamp (a retried write) keep the last value written
        const t: number[] = [];
        const v: number[] = [];
        const stale: number[] = [];
        let anyStale = false;
        for (let k = i; k < j; k++) {
          const tk = Number(ts[k]!);
          if (t.length > 0 && t[t.length - 1] === tk) {
            v[v.length - 1] = vs[k]!;
            stale[stale.length - 1] = st[k] ? 1 : 0;
            continue;
          }
          t.push(tk);
          v.push(vs[k] ?? Number.NaN);
          stale.push(st[k] ? 1 : 0);
          anyStale ||= st[k] === true;
        }
        const labels = this.deps.registry.labels(this.org, Number(id));
        if (labels) {
          out.push({
            labels,
            t: Float64Array.from(t),
            v: Float64Array.from(v),
            stale: anyStale ? Uint8Array.from(stale) : null,
          });
        }
        i = j;
      }
      this.stats.series += out.length;
      return out;
    } finally {
      conn.closeSync();
      await s.mem.unpin(tables);
    }
  }
}
