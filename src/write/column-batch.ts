/**
 * The one shape every ingest adapter produces and the write path consumes: a batch of rows held
 * as columns. Adapters fill it and never touch storage.
 *
 * Fixed columns (see fixed-columns.ts) are dense arrays of length `rowCount`. Attributes are
 * dynamic columns named with their scope and original key (`resource.service.name`,
 * `scope.attr.x`, `attr.http.status_code`) and carry their wire type; a key that appears with two
 * types in one batch is two dynamic columns. Missing values are `undefined`.
 */
export type SignalType = 'logs' | 'traces' | 'metrics';

/** The type of an attribute value as it arrived on the wire. */
export type ValueType = 'str' | 'int' | 'float' | 'bool' | 'bytes' | 'json';

/** str → string, int → bigint, float → number, bool → boolean, bytes → Uint8Array, json → JSON text. */
export type FieldValue = string | bigint | number | boolean | Uint8Array;

export interface DynamicColumn {
  name: string;
  type: ValueType;
  values: (FieldValue | undefined)[];
}

/** Span event / link, kept whole in a LIST(STRUCT) column. `attributes` is JSON text. */
export interface SpanEvent {
  time_unix_nano: bigint;
  name: string;
  attributes: string;
  dropped_attributes_count: number;
}
export interface SpanLink {
  trace_id: string;
  span_id: string;
  trace_state: string;
  attributes: string;
  flags: bigint;
  dropped_attributes_count: number;
}

export type TypedColumn = Float64Array | Uint32Array | Uint8Array;

export type FixedValue = FieldValue | null | SpanEvent[] | SpanLink[];

export interface ColumnBatch {
  signal: SignalType;
  rowCount: number;
  /** Fixed column name → dense values (null where the record had none). */
  fixed: Record<string, FixedValue[]>;
  /**
   * BIGINT nanosecond columns given as millisecond doubles instead (metric samples): the memtable
   * writes ms × 10^6 exactly into the int64 vector, without a BigInt per value. Takes precedence
   * over `fixed` for the same column.
   */
  nanosFromMillis?: Record<string, Float64Array>;
  /**
   * Numeric fixed columns given as typed arrays (metric samples), copied into the memtable without
   * a JS value per row: Float64Array for DOUBLE, Uint8Array of 0/1 for BOOLEAN, Uint32Array for
   * BIGINT. Take precedence over `fixed` for the same column.
   */
  typed?: Record<string, TypedColumn>;
  dynamic: DynamicColumn[];
  /** Records the adapter refused (OTLP partial_success), with the first reason. */
  rejectedCount: number;
  rejectedMessage: string;
}
