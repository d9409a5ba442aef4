/**
 * Writes metric samples as a format-2 Parquet file (docs/format/samples.md): rows sorted by
 * (series_id, _timestamp) are read from DuckDB in vectors, their values encoded in JS
 * (sample-codec.ts), appended to a temp table through data chunks, and that table is copied to
 * Parquet in insertion order. Batches end at a series' end, so no chain spans two batches.
 */
import bindings from '@duckdb/node-bindings';
import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  DuckDBDataChunk,
  TINYINT,
  type DuckDBConnection,
  type DuckDBDataChunk as DataChunk,
} from '@duckdb/node-api';
import { CHAIN_WINDOW_NS, encodeValues } from './sample-codec.ts';

/**
 * V2: BYTE_STREAM_SPLIT for the DOUBLE columns, DELTA_BINARY_PACKED for the integers; no
 * dictionaries (they cost more than they save on these columns); zstd 9 (19 saves 1 % more and
 * writes several times slower). Row groups stay at DuckDB's 122,880 rows: the row-group min/max of
 * series_id is what prunes single-series reads.
 */
const SAMPLE_PARQUET_OPTIONS =
  "FORMAT parquet, PARQUET_VERSION V2, COMPRESSION zstd, COMPRESSION_LEVEL 9, ROW_GROUP_SIZE 122880, DICTIONARY_SIZE_LIMIT 1, KV_METADATA {'molesignal.samples_format': '2'}";

const COLUMNS = [
  ['_timestamp', BIGINT],
  ['series_id', BIGINT],
  ['value', DOUBLE],
  ['value_z0', DOUBLE],
  ['value_z1', DOUBLE],
  ['value_scale', TINYINT],
  ['value_start', BOOLEAN],
  ['stale', BOOLEAN],
] as const;
const TYPES = COLUMNS.map(([, t]) => t);

const BATCH_ROWS = 1 << 16;
const VECTOR_ROWS = 2048;
const TWO_32 = 4294967296;

interface RawChunk {
  chunk: bindings.DataChunk;
}

/** Growable input columns: raw int64 words for timestamps and series ids, passed through. */
class Rows {
  n = 0;
  ts = new Uint32Array(2 * BATCH_ROWS);
  sid = new Uint32Array(2 * BATCH_ROWS);
  series = new Float64Array(BATCH_ROWS);
  window = new Float64Array(BATCH_ROWS);
  value = new Float64Array(BATCH_ROWS);
  stale = new Uint8Array(BATCH_ROWS);

  ensure(n: number): void {
    if (n <= this.series.length) return;
    const size = Math.max(n, 2 * this.series.length);
    const grow = <T extends Uint32Array | Float64Array | Uint8Array>(
      a: T,
      per: number,
      make: (n: number) => T,
    ) => {
      const b = make(size * per);
      b.set(a);
      return b;
    };
    this.ts = grow(this.ts, 2, (k) => new Uint32Array(k));
    this.sid = grow(this.sid, 2, (k) => new Uint32Array(k));
    this.series = grow(this.series, 1, (k) => new Float64Array(k));
    this.window = grow(this.window, 1, (k) => new Float64Array(k));
    this.value = grow(this.value, 1, (k) => new Float64Array(k));
    this.stale = grow(this.stale, 1, (k) => new Uint8Array(k));
  }

  /** Drops rows [0, cut). */
  shift(cut: number): void {
    this.ts.copyWithin(0, 2 * cut, 2 * this.n);
    this.sid.copyWithin(0, 2 * cut, 2 * this.n);
    this.series.copyWithin(0, cut, this.n);
    this.window.copyWithin(0, cut, this.n);
    this.value.copyWithin(0, cut, this.n);
    this.stale.copyWithin(0, cut, this.n);
    this.n -= cut;
  }
}

function vectorBytes(raw: bindings.DataChunk, j: number, n: number, width: number): Uint8Array {
  return bindings.vector_get_data(bindings.data_chunk_get_vector(raw, j), n * width);
}

function readChunk(rows: Rows, chunk: DataChunk): void {
  const n = chunk.rowCount;
  const raw = (chunk as unknown as RawChunk).chunk;
  rows.ensure(rows.n + n);
  const words = (j: number) => {
    const b = vectorBytes(raw, j, n, 8);
    return new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + n * 8));
  };
  const doubles = (j: number) => {
    const b = vectorBytes(raw, j, n, 8);
    return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + n * 8));
  };
  const sid = words(1);
  rows.ts.set(words(0), 2 * rows.n);
  rows.sid.set(sid, 2 * rows.n);
  for (let i = 0; i < n; i++) rows.series[rows.n + i] = sid[2 * i]! + sid[2 * i + 1]! * TWO_32;
  rows.window.set(doubles(2), rows.n);
  rows.value.set(doubles(3), rows.n);
  rows.stale.set(vectorBytes(raw, 4, n, 1), rows.n);
  rows.n += n;
}

function setVector(
  raw: bindings.DataChunk,
  j: number,
  data: ArrayBufferView,
  valid: ((i: number) => boolean) | null,
  n: number,
): void {
  const vec = bindings.data_chunk_get_vector(raw, j);
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  bindings.copy_data_to_vector(vec, 0, bytes.buffer, 0, bytes.byteLength);
  if (valid === null) return;
  const mask = new Uint8Array(Math.ceil(n / 64) * 8);
  for (let i = 0; i < n; i++) if (valid(i)) mask[i >> 3]! |= 1 << (i & 7);
  bindings.vector_ensure_validity_writable(vec);
  bindings.copy_data_to_vector_validity(vec, 0, mask.buffer, 0, mask.byteLength);
}

/** Encodes rows [0, n) (whole series) and appends them. */
function appendEncoded(rows: Rows, n: number, append: (chunk: DataChunk) => void): void {
  const enc = encodeValues({ n, series: rows.series, window: rows.window, value: rows.value });
  for (let a = 0; a < n; a += VECTOR_ROWS) {
    const b = Math.min(n, a + VECTOR_ROWS);
    const m = b - a;
    const chunk = DuckDBDataChunk.create([...TYPES], m);
    const raw = (chunk as unknown as RawChunk).chunk;
    const isRaw = (i: number) => enc.raw[a + i] === 1;
    const isEncoded = (i: number) => enc.raw[a + i] === 0;
    setVector(raw, 0, rows.ts.subarray(2 * a, 2 * b), null, m);
    setVector(raw, 1, rows.sid.subarray(2 * a, 2 * b), null, m);
    setVector(raw, 2, rows.value.subarray(a, b), isRaw, m);
    setVector(raw, 3, enc.z0.subarray(2 * a, 2 * b), isEncoded, m);
    setVector(raw, 4, enc.z1.subarray(2 * a, 2 * b), isEncoded, m);
    setVector(raw, 5, enc.scale.subarray(a, b), isEncoded, m);
    setVector(raw, 6, enc.start.subarray(a, b), isEncoded, m);
    setVector(raw, 7, rows.stale.subarray(a, b), null, m);
    append(chunk);
  }
}

/**
 * Writes the samples that `sourceSql` selects (columns `_timestamp, series_id, value, stale`) to
 * `path` as a format-2 Parquet file.
 */
export async function writeSamplesParquet(
  conn: DuckDBConnection,
  sourceSql: string,
  path: string,
  tempName: string,
): Promise<void> {
  const table = `"${tempName.replace(/"/g, '""')}"`;
  await conn.run(
    `CREATE TEMP TABLE ${table} (${COLUMNS.map(([c, t]) => `${c} ${t.toString()}`).join(', ')})`,
  );
  try {
    const appender = await conn.createAppender(tempName, 'main', 'temp');
    const append = (chunk: DataChunk) => appender.appendDataChunk(chunk);
    const result = await conn.run(
      `SELECT _timestamp, series_id, (_timestamp // ${CHAIN_WINDOW_NS})::DOUBLE, value, stale FROM (${sourceSql}) ORDER BY series_id, _timestamp`,
    );
    const rows = new Rows();
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      readChunk(rows, chunk);
      if (rows.n < BATCH_ROWS) continue;
      let cut = rows.n - 1;
      while (cut > 0 && rows.series[cut] === rows.series[cut - 1]) cut--;
      if (cut === 0) continue; // one series so far: keep reading
      appendEncoded(rows, cut, append);
      rows.shift(cut);
    }
    appendEncoded(rows, rows.n, append);
    appender.closeSync();
    await conn.run(`COPY ${table} TO '${path.replace(/'/g, "''")}' (${SAMPLE_PARQUET_OPTIONS})`);
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${table}`);
  }
}
