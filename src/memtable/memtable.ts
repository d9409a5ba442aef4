/**
 * Recent rows of one stream, held in DuckDB tables of the org's instance (DESIGN.md decision 2).
 * Rows are appended synchronously, in WAL seq order, right after their record is durable, so a
 * row is queryable the moment its request is acknowledged.
 *
 * A flush freezes the active table (a new, empty one takes its place) and writes the frozen one
 * to Parquet; the frozen table stays visible to queries until the catalog commit has made the
 * files visible, and is dropped once no running query uses it.
 */
import { TokenFilterBuilder } from '../storage/token-filter.ts';
import {
  BIGINT,
  BLOB,
  BOOLEAN,
  DOUBLE,
  DuckDBDataChunk,
  INTEGER,
  LIST,
  STRUCT,
  VARCHAR,
  listValue,
  structValue,
  type DuckDBAppender,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { ColumnBatch, SpanEvent, SpanLink } from '../write/column-batch.ts';
import { OVERFLOW_COLUMN, type ColumnDef, type StreamSchema } from '../write/stream-schema.ts';
import type { OrgEngine } from './org-engine.ts';
import { fillChunk, MillisAsNanos, type ChunkColumnKind, type ColumnSource } from './chunk-writer.ts';

export const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

const EVENT_TYPE = STRUCT({
  time_unix_nano: BIGINT,
  name: VARCHAR,
  attributes: VARCHAR,
  dropped_attributes_count: INTEGER,
});
const LINK_TYPE = STRUCT({
  trace_id: VARCHAR,
  span_id: VARCHAR,
  trace_state: VARCHAR,
  attributes: VARCHAR,
  flags: BIGINT,
  dropped_attributes_count: INTEGER,
});

function duckType(c: ColumnDef): DuckDBType {
  if (c.fixedType === 'EVENTS') return LIST(EVENT_TYPE);
  if (c.fixedType === 'LINKS') return LIST(LINK_TYPE);
  switch (c.sqlType) {
    case 'BIGINT':
      return BIGINT;
    case 'INTEGER':
      return INTEGER;
    case 'DOUBLE':
      return DOUBLE;
    case 'BOOLEAN':
      return BOOLEAN;
    case 'BLOB':
      return BLOB;
    default:
      return VARCHAR;
  }
}

const CHUNK_ROWS = 2048;

export interface MemTable {
  name: string;
  columns: ColumnDef[];
  /** the names of `columns` */
  columnNames: Set<string>;
  types: DuckDBType[];
  appender: DuckDBAppender;
  rows: number;
  bytes: number;
  /** lowest and highest WAL seq applied to this table (0 = none yet) */
  firstSeq: number;
  lastSeq: number;
  firstAppendMs: number;
  /** file ids a flush of this table has written but maybe not yet committed */
  pendingFileIds: Set<string>;
  readers: number;
  dropWhenUnused: boolean;
  /** idempotency keys of the requests whose rows live here: kept by the flush commit */
  idempotency: { key: string; expiresAtMs: number; response: string }[];
  /** token filters of the rows, per file a flush will write (logs only; storage/token-filter.ts) */
  tokens?: TokenFilterBuilder | null;
}

const NO_VALUES: readonly unknown[] = [];

/** A run of equal label values at least this long starts a chunk of its own. */
const MIN_RUN_ROWS = 256;

/**
 * Where to cut a batch into chunks so that long runs of equal values in its string columns (the
 * rows of one stream: Loki push and OTLP send a stream's or resource's records together) fill a
 * chunk of their own, written as constant vectors (chunk-writer.ts). Columns that change more
 * often than every 16 rows on average (bodies, ids) are ignored; runs shorter than MIN_RUN_ROWS
 * are not cut out, so interleaved streams keep full chunks. Sorted row indexes.
 */
export function runCuts(
  sources: readonly ColumnSource[],
  kinds: readonly ChunkColumnKind[],
  n: number,
): number[] {
  if (n < 2 * MIN_RUN_ROWS) return [];
  const changes = new Set<number>();
  for (let j = 0; j < sources.length; j++) {
    const src = sources[j];
    if (kinds[j] !== 'VARCHAR' || !Array.isArray(src) || src.length < n) continue;
    const mine: number[] = [];
    for (let i = 1; i < n && mine.length * 16 <= n; i++) if (src[i] !== src[i - 1]) mine.push(i);
    if (mine.length * 16 > n) continue;
    for (const i of mine) changes.add(i);
  }
  if (changes.size === 0) return [];
  const starts = [0, ...[...changes].sort((a, b) => a - b), n];
  const cuts: number[] = [];
  for (let k = 0; k + 1 < starts.length; k++) {
    const [a, b] = [starts[k]!, starts[k + 1]!];
    if (b - a < MIN_RUN_ROWS) continue;
    if (a > 0 && cuts[cuts.length - 1] !== a) cuts.push(a);
    if (b < n) cuts.push(b);
  }
  return cuts;
}

/** The source array of each table column (no per-value copy except nested and overflow columns). */
function columnSources(batch: ColumnBatch, table: MemTable, schema: StreamSchema): ColumnSource[] {
  const n = batch.rowCount;
  const byColumn = new Map<string, readonly unknown[]>();
  let overflow: Record<string, { type: string; value: unknown }>[] | null = null;
  for (const d of batch.dynamic) {
    const p = schema.placementOf(d.name, d.type);
    if (p === undefined)
      throw new Error(`field ${d.name} (${d.type}) has no placement; prepare() must run first`);
    if (p === 'overflow') {
      overflow ??= new Array(n);
      for (let i = 0; i < n; i++) {
        const v = d.values[i];
        if (v === undefined) continue;
        const row = (overflow[i] ??= Object.create(null) as Record<string, { type: string; value: unknown }>);
        row[d.name] = { type: d.type, value: v };
      }
    } else byColumn.set(p.column, d.values);
  }
  return table.columns.map((c) => {
    if (c.name === OVERFLOW_COLUMN) {
      if (!overflow) return NO_VALUES;
      const out = new Array<string | null>(n);
      for (let i = 0; i < n; i++) out[i] = overflow[i] ? overflowJson(overflow[i]!) : null;
      return out;
    }
    if (c.fixedType === 'EVENTS' || c.fixedType === 'LINKS') {
      const src = batch.fixed[c.name];
      const out = new Array<DuckDBValue>(n);
      for (let i = 0; i < n; i++) {
        const list = src?.[i] as SpanEvent[] | SpanLink[] | null | undefined;
        out[i] = listValue(
          list ? (list as unknown as Record<string, DuckDBValue>[]).map((e) => structValue(e)) : [],
        );
      }
      return out;
    }
    const asMillis = batch.nanosFromMillis?.[c.name];
    if (asMillis) return new MillisAsNanos(asMillis);
    const typed = batch.typed?.[c.name];
    if (typed) return typed;
    return (c.fixedType ? batch.fixed[c.name] : byColumn.get(c.name)) ?? NO_VALUES;
  });
}

function chunkKind(c: ColumnDef): ChunkColumnKind {
  if (c.fixedType === 'EVENTS' || c.fixedType === 'LINKS') return 'NESTED';
  switch (c.sqlType) {
    case 'BIGINT':
    case 'INTEGER':
    case 'DOUBLE':
    case 'BOOLEAN':
    case 'BLOB':
      return c.sqlType;
    default:
      return 'VARCHAR';
  }
}

/** `{"<key>": {"type": "<type>", "value": …}}` with int64 kept exact (JSON numbers, never doubles). */
function overflowJson(fields: Record<string, { type: string; value: unknown }>): string {
  const parts: string[] = [];
  for (const key in fields) {
    const { type, value } = fields[key]!;
    let v: string;
    if (typeof value === 'bigint') v = value.toString();
    else if (value instanceof Uint8Array) v = JSON.stringify(Buffer.from(value).toString('base64'));
    else if (type === 'json') v = value as string;
    else v = JSON.stringify(value);
    parts.push(`${JSON.stringify(key)}:{"type":${JSON.stringify(type)},"value":${v}}`);
  }
  return `{${parts.join(',')}}`;
}

/**
 * Appended rows reach the table when the appender flushes. Flushing after every request costs a
 * DuckDB commit each, and DuckDB's cost per row falls steeply with the flush size (measured: ~2 µs
 * per row at 10k rows per flush, ~0.4 µs at 200k). So tables with unflushed rows are flushed
 * before any query pins them (an acknowledged row is always visible to the next query), when they
 * rotate, and once a second.
 */
const dirty = new Set<MemTable>();
function markDirty(t: MemTable): void {
  dirty.add(t);
}
/**
 * What to do when DuckDB refuses rows that are already acknowledged: the memtable lost rows only
 * the WAL still has, and a later flush could let the WAL drop them. The server exits (as for a
 * failed fsync) so that replay restores them; set by the composition root.
 */
let onAppendFailure: (table: string, err: unknown) => void = (_table, err) => {
  throw err;
};
export function setAppendFailureHandler(handler: (table: string, err: unknown) => void): void {
  onAppendFailure = handler;
}
function guarded(t: MemTable, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    onAppendFailure(t.name, e);
  }
}
function flushAppender(t: MemTable): void {
  if (dirty.delete(t)) guarded(t, () => t.appender.flushSync());
}
export function flushDirtyAppenders(): void {
  for (const t of [...dirty]) flushAppender(t);
}

export class StreamMemtables {
  active: MemTable;
  readonly frozen: MemTable[] = [];
  private generation = 0;
  /** entries per token-filter slice in this stream's last flush (storage/token-filter.ts) */
  private readonly tokenSetSizes = new Map<string, number>();

  private constructor(
    private readonly engine: OrgEngine,
    private readonly prefix: string,
    first: MemTable,
  ) {
    this.active = first;
  }

  static async create(engine: OrgEngine, prefix: string, schema: StreamSchema): Promise<StreamMemtables> {
    const first = await createTable(engine, `${prefix}_g0`, schema.columns);
    return new StreamMemtables(engine, prefix, first);
  }

  /** Synchronous: called inside the WAL's durable callback, in seq order. */
  append(batch: ColumnBatch, schema: StreamSchema, seq: number, bytes: number): void {
    const t = this.active;
    if (batch.rowCount > 0) {
      const sources = columnSources(batch, t, schema);
      const kinds = t.columns.map(chunkKind);
      const cuts = runCuts(sources, kinds, batch.rowCount);
      for (let start = 0, c = 0; start < batch.rowCount;) {
        while (c < cuts.length && cuts[c]! <= start) c++;
        const end = Math.min(batch.rowCount, start + CHUNK_ROWS, cuts[c] ?? Infinity);
        const chunk = DuckDBDataChunk.create(t.types, end - start);
        fillChunk(chunk, kinds, sources, start, end, (j, values) => chunk.setColumnValues(j, values));
        guarded(t, () => t.appender.appendDataChunk(chunk));
        start = end;
      }
      markDirty(t);
      const tokens = (t.tokens ??= TokenFilterBuilder.forBatch(batch, this.tokenSetSizes));
      if (tokens) {
        tokens.add(batch, (name) => {
          const src = sources[t.columns.findIndex((c) => c.name === name)];
          return Array.isArray(src) ? src : undefined;
        });
      }
    }
    t.rows += batch.rowCount;
    t.bytes += bytes;
    if (t.firstSeq === 0 || seq < t.firstSeq) t.firstSeq = seq;
    if (t.firstAppendMs === 0) t.firstAppendMs = Date.now();
    t.lastSeq = Math.max(t.lastSeq, seq);
  }

  /**
   * Adds columns (under the stream lock). Appends never take that lock, so the active table must
   * stay appendable the whole time: no ALTER TABLE under an appender that may hold rows (the rows
   * appended while the ALTER runs would not fit the wider table, and a deferred appender flush
   * would throw). Instead a table with the wider column list is created first and swapped in
   * synchronously; the old one is frozen like a rotation (flushed next) or, if nothing was ever
   * applied to it, dropped.
   */
  async addColumns(cols: ColumnDef[]): Promise<void> {
    if (cols.length === 0) return;
    const old = this.active;
    const next = await createTable(this.engine, `${this.prefix}_g${++this.generation}`, [
      ...old.columns,
      ...cols,
    ]);
    dirty.delete(old);
    guarded(old, () => old.appender.closeSync());
    this.frozen.push(old);
    this.active = next;
    // firstSeq 0: no record was applied (a record with no rows still carries a seq and maybe an
    // idempotency key, and then the table must be committed by a flush like any other)
    if (old.firstSeq === 0) await this.release(old);
  }

  /** True when the active table has a column for every field of the batch (placed by `schema`). */
  hasColumnsFor(batch: ColumnBatch, schema: StreamSchema): boolean {
    const names = this.active.columnNames;
    for (const d of batch.dynamic) {
      const p = schema.placementOf(d.name, d.type);
      if (p === undefined || !names.has(p === 'overflow' ? OVERFLOW_COLUMN : p.column)) return false;
    }
    return true;
  }

  /** Freezes the active table and starts a new one (under the stream lock). */
  async rotate(schema: StreamSchema): Promise<MemTable> {
    const next = await createTable(this.engine, `${this.prefix}_g${++this.generation}`, schema.columns);
    const old = this.active;
    dirty.delete(old);
    guarded(old, () => old.appender.closeSync());
    this.frozen.push(old);
    this.active = next;
    return old;
  }

  /** Drops a frozen table once its rows are in committed files and no query reads it. */
  async release(t: MemTable): Promise<void> {
    t.dropWhenUnused = true;
    if (t.readers > 0) return;
    const i = this.frozen.indexOf(t);
    if (i >= 0) this.frozen.splice(i, 1);
    await this.engine.ddl.run(`DROP TABLE IF EXISTS ${quoteIdent(t.name)}`);
  }

  /** The tables a query must read, pinned until `unpin`. */
  pin(): MemTable[] {
    flushAppender(this.active);
    const tables = [...this.frozen, this.active];
    for (const t of tables) t.readers++;
    return tables;
  }
  async unpin(tables: MemTable[]): Promise<void> {
    for (const t of tables) {
      t.readers--;
      if (t.readers === 0 && t.dropWhenUnused) await this.release(t);
    }
  }

  /** Lowest WAL seq not yet in a committed file (Infinity when everything is flushed). */
  minUnflushedSeq(): number {
    let min = Infinity;
    for (const t of [...this.frozen, this.active])
      if (t.firstSeq > 0 && !t.dropWhenUnused) min = Math.min(min, t.firstSeq);
    return min;
  }
}

async function createTable(engine: OrgEngine, name: string, columns: ColumnDef[]): Promise<MemTable> {
  const ddl = columns.map((c) => `${quoteIdent(c.name)} ${c.sqlType}`).join(', ');
  await engine.ddl.run(`CREATE TABLE ${quoteIdent(name)} (${ddl})`);
  return {
    name,
    columns: [...columns],
    columnNames: new Set(columns.map((c) => c.name)),
    types: columns.map(duckType),
    appender: await engine.writer.createAppender(name),
    rows: 0,
    bytes: 0,
    firstSeq: 0,
    lastSeq: 0,
    firstAppendMs: 0,
    pendingFileIds: new Set(),
    readers: 0,
    dropWhenUnused: false,
    idempotency: [],
  };
}
