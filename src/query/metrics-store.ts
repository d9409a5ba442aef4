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
import { encodedSamplesRelation, type RelationStats } from './stream-relation.ts';
import { encodedSamplesSql, readSeriesSamples } from './sample-reader.ts';
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
      const minNs = BigInt(Math.floor(minT)) * 1_000_000n;
      const relation = await encodedSamplesRelation(
        this.deps,
        s,
        tables,
        minNs,
        BigInt(Math.floor(maxT) + 1) * 1_000_000n,
        this.stats,
      );
      const rows = await readSeriesSamples(
        conn,
        encodedSamplesSql(relation, ` WHERE series_id IN (${ids.join(',')})`),
        Math.floor(minT),
      );
      const out: StoredSeries[] = [];
      for (const r of rows) {
        this.stats.samples += r.t.length;
        const labels = this.deps.registry.labels(this.org, r.id);
        if (labels) out.push({ labels, t: r.t, v: r.v, stale: r.stale });
      }
      this.stats.series += out.length;
      return out;
    } finally {
      conn.closeSync();
      await s.mem.unpin(tables);
    }
  }
}
