/**
 * Fills a DuckDB data chunk straight from column arrays, through the C-API bindings: numbers are
 * copied as one typed array per column, validity as one bitmask per column, and each string is
 * one call (raw UTF-8 bytes pass through without a JS string). The generic node-api path spends
 * most of its time on per-item bookkeeping (a BigInt bitmask operation per value), which was a
 * third of the ingest hot path (`npm run bench -- otlp-logs`). Nested types (events, links) still
 * use node-api's converter.
 */
import bindings from '@duckdb/node-bindings';
import type { DuckDBDataChunk, DuckDBValue } from '@duckdb/node-api';
import type { TypedColumn } from '../write/column-batch.ts';

export type ChunkColumnKind = 'BIGINT' | 'INTEGER' | 'DOUBLE' | 'BOOLEAN' | 'VARCHAR' | 'BLOB' | 'NESTED';

/** A BIGINT nanosecond column given as milliseconds (see ColumnBatch.nanosFromMillis). */
export class MillisAsNanos {
  constructor(readonly ms: Float64Array) {}
}

/** A column's values for rows [start, end): null/undefined = NULL; typed arrays have no NULLs. */
export type ColumnSource = readonly unknown[] | MillisAsNanos | TypedColumn;

const TWO_32 = 4294967296;

/** ms × 10^6 into int64 words without BigInt: exact for 0 ≤ ms < 9.2e12 (until the year 2262). */
function writeNanos(words: Uint32Array, i: number, ms: number): boolean {
  if (!(ms >= 0 && ms < 9.2e12) || !Number.isInteger(ms)) return false;
  const mh = Math.floor(ms / TWO_32);
  const low = (ms - mh * TWO_32) * 1e6; // < 2^52: exact
  const carry = Math.floor(low / TWO_32);
  words[2 * i] = low - carry * TWO_32;
  words[2 * i + 1] = mh * 1e6 + carry;
  return true;
}

interface RawChunk {
  chunk: bindings.DataChunk;
}

export function fillChunk(
  chunk: DuckDBDataChunk,
  kinds: readonly ChunkColumnKind[],
  columns: readonly ColumnSource[],
  start: number,
  end: number,
  nested: (columnIndex: number, values: DuckDBValue[]) => void,
): void {
  const n = end - start;
  const raw = (chunk as unknown as RawChunk).chunk;
  const words = Math.ceil(n / 64);
  for (let j = 0; j < kinds.length; j++) {
    const kind = kinds[j]!;
    const col = columns[j]!;
    if (col instanceof MillisAsNanos) {
      const a = new BigInt64Array(n);
      const words = new Uint32Array(a.buffer);
      for (let i = 0; i < n; i++) {
        const ms = col.ms[start + i]!;
        if (!writeNanos(words, i, ms)) a[i] = BigInt(Math.round(ms)) * 1_000_000n;
      }
      bindings.copy_data_to_vector(bindings.data_chunk_get_vector(raw, j), 0, a.buffer, 0, a.byteLength);
      continue;
    }
    if (ArrayBuffer.isView(col)) {
      copyTyped(raw, j, kind, col, start, end);
      continue;
    }
    const src = col;
    if (kind === 'NESTED') {
      nested(j, src.slice(start, end) as DuckDBValue[]);
      continue;
    }
    const vec = bindings.data_chunk_get_vector(raw, j);
    const constant = constantOf(src, start, end, kind);
    if (constant !== undefined) {
      bindings.vector_reference_value(vec, constant);
      continue;
    }
    let validity: Uint8Array<ArrayBuffer> | null = null;
    const setNull = (i: number) => {
      if (validity === null) validity = new Uint8Array(words * 8).fill(0xff);
      validity[i >> 3]! &= ~(1 << (i & 7));
    };
    switch (kind) {
      case 'BIGINT': {
        const a = new BigInt64Array(n);
        for (let i = 0; i < n; i++) {
          const v = src[start + i];
          if (v === null || v === undefined) setNull(i);
          else a[i] = typeof v === 'bigint' ? v : BigInt(v as number);
        }
        bindings.copy_data_to_vector(vec, 0, a.buffer, 0, a.byteLength);
        break;
      }
      case 'INTEGER':
        copyNumbers(new Int32Array(n), src, start, setNull, vec);
        break;
      case 'DOUBLE':
        copyNumbers(new Float64Array(n), src, start, setNull, vec);
        break;
      case 'BOOLEAN':
        copyNumbers(new Uint8Array(n), src, start, setNull, vec);
        break;
      case 'VARCHAR':
      case 'BLOB': {
        for (let i = 0; i < n; i++) {
          const v = src[start + i];
          if (v === null || v === undefined) setNull(i);
          else if (typeof v === 'string') bindings.vector_assign_string_element(vec, i, v);
          else bindings.vector_assign_string_element_len(vec, i, v as Uint8Array);
        }
        break;
      }
    }
    if (validity !== null) {
      bindings.vector_ensure_validity_writable(vec);
      bindings.copy_data_to_vector_validity(
        vec,
        0,
        (validity as Uint8Array<ArrayBuffer>).buffer,
        0,
        words * 8,
      );
    }
  }
}

/**
 * The one value of rows [start, end) as a DuckDB value when they all hold it: a column the batch
 * does not have (NULL) or a string shared by a run of rows (a stream's labels). A constant vector
 * is one call where filling costs one call per row, the most expensive part of a chunk of log
 * lines (four label columns beside the line). Else undefined.
 */
function constantOf(
  src: readonly unknown[],
  start: number,
  end: number,
  kind: ChunkColumnKind,
): bindings.Value | undefined {
  const first = src[start];
  if (first === null || first === undefined) {
    for (let i = start + 1; i < end; i++) if (src[i] !== null && src[i] !== undefined) return undefined;
    return bindings.create_null_value();
  }
  if (kind !== 'VARCHAR' || typeof first !== 'string' || end - start < MIN_CONSTANT_ROWS) return undefined;
  for (let i = start + 1; i < end; i++) if (src[i] !== first) return undefined;
  return bindings.create_varchar(first);
}

/** Below this many rows a shared string is written row by row (a value costs about as much). */
const MIN_CONSTANT_ROWS = 8;

/**
 * A typed column straight into vector j: the same element type is one copy of its bytes; a
 * Uint32Array into BIGINT is widened through the int64's two 32-bit words (no BigInt per value).
 */
function copyTyped(
  raw: bindings.DataChunk,
  j: number,
  kind: ChunkColumnKind,
  col: TypedColumn,
  start: number,
  end: number,
): void {
  const vec = bindings.data_chunk_get_vector(raw, j);
  const n = end - start;
  const direct =
    (kind === 'DOUBLE' && col instanceof Float64Array) || (kind === 'BOOLEAN' && col instanceof Uint8Array);
  if (direct) {
    const bytes = col.BYTES_PER_ELEMENT;
    bindings.copy_data_to_vector(
      vec,
      0,
      col.buffer as ArrayBuffer,
      col.byteOffset + start * bytes,
      n * bytes,
    );
    return;
  }
  if (kind === 'BIGINT' && col instanceof Uint32Array) {
    const words = new Uint32Array(2 * n);
    for (let i = 0; i < n; i++) words[2 * i] = col[start + i]!;
    bindings.copy_data_to_vector(vec, 0, words.buffer, 0, words.byteLength);
    return;
  }
  throw new Error(`a ${col.constructor.name} column cannot fill a ${kind} vector`);
}

/** Copies one number column into a typed array (booleans as 0/1) and that into the vector. */
function copyNumbers(
  a: Int32Array<ArrayBuffer> | Float64Array<ArrayBuffer> | Uint8Array<ArrayBuffer>,
  src: readonly unknown[],
  start: number,
  setNull: (i: number) => void,
  vec: bindings.Vector,
): void {
  for (let i = 0; i < a.length; i++) {
    const v = src[start + i];
    if (v === null || v === undefined) setNull(i);
    else a[i] = typeof v === 'boolean' ? (v ? 1 : 0) : (v as number);
  }
  bindings.copy_data_to_vector(vec, 0, a.buffer, 0, a.byteLength);
}
