/**
 * Reads `(series_id, t_ms, value, stale)` rows of a DuckDB result straight from its vectors into
 * typed arrays (C-API bindings), decodes format-2 sample values (docs/format/samples.md) in place,
 * then groups them by series with a counting sort: no JS object or BigInt per sample. Rows of one
 * series may arrive in any order (several Parquet files plus memtables); each series is sorted by
 * time afterwards only when needed, and duplicate timestamps (a retried write) keep the value
 * written last.
 */
import bindings from '@duckdb/node-bindings';
import type { DuckDBConnection, DuckDBDataChunk } from '@duckdb/node-api';
import { decodeValues } from '../storage/sample-codec.ts';

export interface SeriesSamples {
  id: number;
  t: Float64Array;
  v: Float64Array;
  stale: Uint8Array | null;
}

interface RawChunk {
  chunk: bindings.DataChunk;
}

class Column<T extends Int32Array | Float64Array | Uint8Array | Uint32Array | Int8Array> {
  data: T;
  constructor(private readonly make: (n: number) => T) {
    this.data = make(4096);
  }
  ensure(n: number): void {
    if (n <= this.data.length) return;
    const next = this.make(Math.max(n, this.data.length * 2));
    next.set(this.data);
    this.data = next;
  }
}

/**
 * SQL that reads `relation` (an `encodedSamplesRelation`) in the shape `readSeriesSamples` takes:
 * each series' rows together, each chain's rows in file order.
 */
export const encodedSamplesSql = (relation: string, where: string): string =>
  `SELECT series_id::INTEGER, (_timestamp // 1000000)::DOUBLE AS t, coalesce(value, 0), stale, ` +
  `coalesce(value_z0, 0), coalesce(value_z1, 0), coalesce(value_scale, -1)::TINYINT, coalesce(value_start, false) ` +
  `FROM (${relation})${where} ORDER BY series_id, src, pos`;

/**
 * `sql` must select exactly: series_id INTEGER, t DOUBLE (ms), value DOUBLE, stale BOOLEAN, and the
 * chain columns value_z0 DOUBLE, value_z1 DOUBLE, value_scale TINYINT (-1 = `value` as is),
 * value_start BOOLEAN, none NULL, with each chain's rows together in file order. Rows before
 * `minT` (ms) are dropped after decoding: a read starts at a chain's head, not at `minT`.
 */
export async function readSeriesSamples(
  conn: DuckDBConnection,
  sql: string,
  minT = -Infinity,
): Promise<SeriesSamples[]> {
  const result = await conn.run(sql);
  const ids = new Column((n) => new Int32Array(n));
  const ts = new Column((n) => new Float64Array(n));
  const vs = new Column((n) => new Float64Array(n));
  const st = new Column((n) => new Uint8Array(n));
  const z0 = new Column((n) => new Uint32Array(n));
  const z1 = new Column((n) => new Uint32Array(n));
  const scale = new Column((n) => new Int8Array(n));
  const start = new Column((n) => new Uint8Array(n));
  let total = 0;
  for (;;) {
    const chunk: DuckDBDataChunk | null = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const n = chunk.rowCount;
    const raw = (chunk as unknown as RawChunk).chunk;
    const col = (j: number, bytes: number) =>
      bindings.vector_get_data(bindings.data_chunk_get_vector(raw, j), n * bytes);
    for (const c of [ids, ts, vs, st, scale, start]) c.ensure(total + n);
    z0.ensure(2 * (total + n));
    z1.ensure(2 * (total + n));
    const a = col(0, 4);
    ids.data.set(new Int32Array(a.buffer, a.byteOffset, n), total);
    const b = col(1, 8);
    ts.data.set(new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + n * 8)), total);
    const c = col(2, 8);
    vs.data.set(new Float64Array(c.buffer.slice(c.byteOffset, c.byteOffset + n * 8)), total);
    st.data.set(col(3, 1), total);
    const d = col(4, 8);
    z0.data.set(new Uint32Array(d.buffer.slice(d.byteOffset, d.byteOffset + n * 8)), 2 * total);
    const e = col(5, 8);
    z1.data.set(new Uint32Array(e.buffer.slice(e.byteOffset, e.byteOffset + n * 8)), 2 * total);
    const f = col(6, 1);
    scale.data.set(new Int8Array(f.buffer, f.byteOffset, n), total);
    start.data.set(col(7, 1), total);
    total += n;
  }
  decodeValues(total, ids.data, vs.data, z0.data, z1.data, scale.data, start.data);
  if (minT > -Infinity) total = dropBefore(minT, ids.data, ts.data, vs.data, st.data, total);
  return groupBySeries(ids.data, ts.data, vs.data, st.data, total);
}

/** Keeps the rows at or after `minT`, in order; returns their count. */
function dropBefore(
  minT: number,
  ids: Int32Array,
  ts: Float64Array,
  vs: Float64Array,
  st: Uint8Array,
  total: number,
): number {
  let w = 0;
  for (let r = 0; r < total; r++) {
    if (ts[r]! < minT) continue;
    ids[w] = ids[r]!;
    ts[w] = ts[r]!;
    vs[w] = vs[r]!;
    st[w] = st[r]!;
    w++;
  }
  return w;
}

export function groupBySeries(
  ids: Int32Array,
  ts: Float64Array,
  vs: Float64Array,
  st: Uint8Array,
  total: number,
): SeriesSamples[] {
  // counting sort by series id: ids are dense, small integers within an org
  let maxId = 0;
  for (let i = 0; i < total; i++) if (ids[i]! > maxId) maxId = ids[i]!;
  const counts = new Int32Array(maxId + 1);
  for (let i = 0; i < total; i++) counts[ids[i]!]!++;
  const offsets = new Int32Array(maxId + 2);
  for (let id = 0; id <= maxId; id++) offsets[id + 1] = offsets[id]! + counts[id]!;
  const fill = offsets.slice(0, maxId + 1);
  const t = new Float64Array(total);
  const v = new Float64Array(total);
  const s = new Uint8Array(total);
  for (let i = 0; i < total; i++) {
    const k = fill[ids[i]!]!++;
    t[k] = ts[i]!;
    v[k] = vs[i]!;
    s[k] = st[i]!;
  }
  const out: SeriesSamples[] = [];
  for (let id = 0; id <= maxId; id++) {
    const a = offsets[id]!;
    const b = offsets[id + 1]!;
    if (a === b) continue;
    const stale = s.subarray(a, b);
    out.push(
      normalize({ s: { id, t: t.subarray(a, b), v: v.subarray(a, b), stale }, anyStale: stale.includes(1) }),
    );
  }
  return out;
}

export function normalize(e: { s: SeriesSamples; anyStale: boolean }): SeriesSamples {
  let { t, v, stale } = e.s;
  let sorted = true;
  let dupes = false;
  for (let i = 1; i < t.length; i++) {
    if (t[i]! < t[i - 1]!) sorted = false;
    else if (t[i] === t[i - 1]) dupes = true;
  }
  if (!sorted) {
    // stable: among equal timestamps, later rows (written later) stay later
    const idx = Array.from(t.keys()).sort((a, b) => t[a]! - t[b]! || a - b);
    t = Float64Array.from(idx, (i) => e.s.t[i]!);
    v = Float64Array.from(idx, (i) => e.s.v[i]!);
    stale = Uint8Array.from(idx, (i) => e.s.stale![i]!);
    dupes = true;
  }
  if (dupes) {
    let w = 0;
    for (let r = 0; r < t.length; r++) {
      if (w > 0 && t[w - 1] === t[r]) w--;
      t[w] = t[r]!;
      v[w] = v[r]!;
      stale![w] = stale![r]!;
      w++;
    }
    t = t.subarray(0, w);
    v = v.subarray(0, w);
    stale = stale!.subarray(0, w);
  }
  return { id: e.s.id, t, v, stale: e.anyStale ? stale : null };
}
