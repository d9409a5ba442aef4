/**
 * Reads `(series_id, t_ms, value, stale)` rows of a DuckDB result straight from its vectors into
 * typed arrays (C-API bindings), then groups them by series with a counting sort: no JS object
 * or BigInt per sample. Rows of one series may arrive in any order (several Parquet files plus
 * memtables); each series is sorted by time afterwards only when needed, and duplicate
 * timestamps (a retried write) keep the value written last.
 */
import bindings from '@duckdb/node-bindings';
import type { DuckDBConnection, DuckDBDataChunk } from '@duckdb/node-api';

export interface SeriesSamples {
  id: number;
  t: Float64Array;
  v: Float64Array;
  stale: Uint8Array | null;
}

interface RawChunk {
  chunk: bindings.DataChunk;
}

class Column<T extends Int32Array | Float64Array | Uint8Array> {
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

/** `sql` must select exactly: series_id INTEGER, t DOUBLE (ms), value DOUBLE, stale BOOLEAN. */
export async function readSeriesSamples(conn: DuckDBConnection, sql: string): Promise<SeriesSamples[]> {
  const result = await conn.run(sql);
  const ids = new Column((n) => new Int32Array(n));
  const ts = new Column((n) => new Float64Array(n));
  const vs = new Column((n) => new Float64Array(n));
  const st = new Column((n) => new Uint8Array(n));
  let total = 0;
  for (;;) {
    const chunk: DuckDBDataChunk | null = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const n = chunk.rowCount;
    const raw = (chunk as unknown as RawChunk).chunk;
    const col = (j: number, bytes: number) =>
      bindings.vector_get_data(bindings.data_chunk_get_vector(raw, j), n * bytes);
    ids.ensure(total + n);
    ts.ensure(total + n);
    vs.ensure(total + n);
    st.ensure(total + n);
    const a = col(0, 4);
    ids.data.set(new Int32Array(a.buffer, a.byteOffset, n), total);
    const b = col(1, 8);
    ts.data.set(new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + n * 8)), total);
    const c = col(2, 8);
    vs.data.set(new Float64Array(c.buffer.slice(c.byteOffset, c.byteOffset + n * 8)), total);
    st.data.set(col(3, 1), total);
    total += n;
  }
  return groupBySeries(ids.data, ts.data, vs.data, st.data, total);
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
