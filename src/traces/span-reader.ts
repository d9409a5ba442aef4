/**
 * Reads an org's spans from storage as `Span`s (span.ts): every traces stream, its pinned
 * memtables plus its Parquet files (as stream-relation.ts lists them), rows mapped back to typed
 * attributes.
 *
 * Column model (docs/streams.md): fixed columns (SPAN_FIXED_COLUMNS), then one column per
 * (scoped key, type) — `resource.<key>`, `scope.attr.<key>`, `attr.<key>`, a second type as
 * `<name>::<type>` — and the overflow JSON `_attributes` (`{"<scoped key>": {"type", "value"}}`).
 * Event and link attributes are JSON objects of plain values (`{"k": 1, "s": "x"}`).
 *
 * Invariants:
 * - memtables are pinned before the file list is taken, so a flush running meanwhile neither
 *   hides nor doubles a row (as every other reader does);
 * - trace by id skips files whose catalogued `trace_id` min/max cannot hold the id; in the files it
 *   reads, DuckDB's `trace_id = '…'` pushdown skips row groups by their statistics and Parquet
 *   bloom filters (written for `trace_id` by the flush);
 * - 64-bit integers are exact: an int attribute outside ±2^53 is its decimal string (decision 14).
 *
 * Lossy corners, because of how ingest stores them (not of this reader): event and link attribute
 * values are plain JSON (a double keeps its fraction, `100.0`, so it reads back as a double; data
 * stored before that rule reads a whole double as an int), and bytes there read back as their
 * base64 string; array and kvlist values are their plain JSON text (`[1,2]`, `{"a":1}`), not
 * OTLP's `arrayValue`/`kvlistValue` form.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Catalog, FileRow } from '../catalog/catalog.ts';
import { MoleError } from '../lib/errors.ts';
import { quoteIdent, type MemTable } from '../memtable/memtable.ts';
import type { EnginePool } from '../memtable/org-engine.ts';
import { parquetRelation, relationFiles, timeWhere } from '../query/stream-relation.ts';
import { readablePaths, type ObjectStore } from '../storage/object-store.ts';
import type { OrgId } from '../tenancy/org-id.ts';
import type { ValueType } from '../write/column-batch.ts';
import { OVERFLOW_COLUMN } from '../write/stream-schema.ts';
import type { StreamRegistry, StreamState } from '../write/streams.ts';
import { splitObject } from './json-split.ts';
import type { Attr, AttrType, Span, SpanEvent, SpanLink } from './span.ts';

export interface SpanReaderDeps {
  catalog: Catalog;
  store: ObjectStore;
  engines: EnginePool;
  streams: StreamRegistry;
  /** a read running longer is interrupted (0: no limit) */
  timeoutMs: number;
}

export type AttrLevel = 'resource' | 'scope' | 'span';

/** One attribute column of a traces stream. */
export interface AttrColumn {
  /** the column name, as stored (`attr.code::str`) */
  column: string;
  level: AttrLevel;
  /** the attribute key without its level prefix (`http.status_code`) */
  key: string;
  valueType: ValueType;
}

/** A traces stream as the reader (and a caller's WHERE builder) sees it. */
export interface SpanStreamView {
  stream: StreamState;
  attrs: AttrColumn[];
  /** attribute columns by `<level>\u0000<key>` (one per stored type) */
  byKey: Map<string, AttrColumn[]>;
  /** keys that went to `_attributes`, by `<level>\u0000<key>`, with their types */
  overflow: Map<string, ValueType[]>;
}

export interface TimeBounds {
  /** inclusive; null/undefined = unbounded */
  startNs?: bigint | null;
  /** exclusive; null/undefined = unbounded */
  endNs?: bigint | null;
}

export interface ReadSpansOptions {
  /** span start (`_timestamp`) in [startNs, endNs) */
  startNs: bigint;
  endNs: bigint;
  /**
   * A SQL condition over a stream's columns that the spans of every wanted trace's matching span
   * satisfy (a pushdown hint: a trace is read whole when at least one of its spans matches);
   * null when no span of the stream can match (the stream is not read).
   */
  where?: (view: SpanStreamView) => string | null;
  /**
   * At most this many traces, the lowest trace ids first (Tempo's block order, which decides
   * which traces a truncated Tempo search returns).
   */
  limit?: number;
  /**
   * The whole-trace read after the candidate traces are known widens [startNs, endNs) by this
   * much on both sides, so spans of a matching trace just outside the range come too (default 0).
   */
  traceWindowNs?: bigint;
}

export interface TraceSpans {
  traceId: string;
  /** by start time */
  spans: Span[];
}

/**
 * The columns to read of a stream (quoted SQL names; they must exist in it); a span read so lacks
 * the other attributes, events and links.
 */
export type ColumnPicker = (view: SpanStreamView) => string[];

/** A trace that may match a search, with its span count in the search window. */
export interface Candidate {
  traceId: string;
  /** spans of the trace starting in the window */
  spans: number;
  /** the start of its first span in the window (with order `newest`) */
  startNs?: bigint;
}

export interface CandidateOptions {
  /** the window: traces with a span starting in [startNs, endNs) */
  startNs: bigint;
  endNs: bigint;
  /** the range the condition's spans are looked for in (contains the window) */
  condRange: { startNs: bigint; endNs: bigint };
  /**
   * SQL over a row's `trace_id` that a candidate must satisfy, built with `anySpan(where)`: "some
   * span of the trace in `condRange` satisfies `where(view)`" (where null: no span of that stream
   * can; `TRUE`/`FALSE` when that holds for every/no trace); undefined: every trace of the window.
   */
  traceCond?: (anySpan: (where: (view: SpanStreamView) => string | null) => string) => string;
  /** only trace ids after this one (with the default order) */
  after?: string;
  /**
   * `traceId` (default): the lowest trace ids first; `newest`: the latest first span (in the
   * window) first, then by trace id (Jaeger's and Zipkin's order)
   */
  order?: 'traceId' | 'newest';
  /** at most this many */
  limit: number;
}

export interface ReadStats {
  streams: number;
  files_listed: number;
  /** files skipped by their catalogued trace_id min/max */
  files_skipped: number;
  files_scanned: number;
  bytes_read: number;
  memtable_rows: number;
}

export const emptyReadStats = (): ReadStats => ({
  streams: 0,
  files_listed: 0,
  files_skipped: 0,
  files_scanned: 0,
  bytes_read: 0,
  memtable_rows: 0,
});

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;
const LEVEL_PREFIXES: readonly [string, AttrLevel][] = [
  ['resource.', 'resource'],
  ['scope.attr.', 'scope'],
  ['attr.', 'span'],
];
const TRACE_ID_RE = /^[0-9a-f]{32}$/;
/** trace ids per `IN (...)` list */
const IDS_PER_QUERY = 1000;

export const levelKey = (level: AttrLevel, key: string): string => `${level}\u0000${key}`;

/** `resource.k` → [resource, k]; undefined for a name with no level prefix. */
export function splitScopedKey(name: string): [AttrLevel, string] | undefined {
  for (const [prefix, level] of LEVEL_PREFIXES)
    if (name.startsWith(prefix)) return [level, name.slice(prefix.length)];
  return undefined;
}

/** The attribute columns of a traces stream, from its schema. */
export function spanStreamView(s: StreamState): SpanStreamView {
  const names = new Set(s.schema.columns.map((c) => c.name));
  const attrs: AttrColumn[] = [];
  const byKey = new Map<string, AttrColumn[]>();
  for (const c of s.schema.columns) {
    if (c.valueType === undefined) continue;
    // a second type's column is `<first column>::<type>` (stream-schema.ts)
    const suffix = `::${c.valueType}`;
    const base =
      c.name.endsWith(suffix) && names.has(c.name.slice(0, -suffix.length))
        ? c.name.slice(0, -suffix.length)
        : c.name;
    const split = splitScopedKey(base);
    if (!split) continue;
    const a: AttrColumn = { column: c.name, level: split[0], key: split[1], valueType: c.valueType };
    attrs.push(a);
    const k = levelKey(a.level, a.key);
    const list = byKey.get(k);
    if (list) list.push(a);
    else byKey.set(k, [a]);
  }
  const overflow = new Map<string, ValueType[]>();
  for (const o of s.schema.describe().overflow) {
    const split = splitScopedKey(o.key);
    if (!split) continue;
    const k = levelKey(split[0], split[1]);
    overflow.set(k, [...(overflow.get(k) ?? []), o.valueType]);
  }
  return { stream: s, attrs, byKey, overflow };
}

const ATTR_TYPES: Record<ValueType, AttrType> = {
  str: 'string',
  int: 'int',
  float: 'double',
  bool: 'bool',
  bytes: 'bytes',
  json: 'array',
};

/** A 64-bit integer as Attr value: a number when safe, else its decimal string. */
export function intValue(v: bigint | number | string): number | string {
  const b = typeof v === 'bigint' ? v : BigInt(v);
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(b)
    : b.toString();
}

const jsonType = (text: string): AttrType => (text.trimStart().startsWith('{') ? 'kvlist' : 'array');

/** A column value as an Attr; undefined for NULL. */
function columnAttr(key: string, type: ValueType, v: unknown): Attr | undefined {
  if (v === null || v === undefined) return undefined;
  switch (type) {
    case 'str':
      return { key, type: 'string', value: v as string };
    case 'int':
      return { key, type: 'int', value: intValue(v as bigint) };
    case 'float':
      return { key, type: 'double', value: Number(v) };
    case 'bool':
      return { key, type: 'bool', value: Boolean(v) };
    case 'bytes':
      return { key, type: 'bytes', value: Buffer.from(v as Uint8Array).toString('base64') };
    case 'json':
      return { key, type: jsonType(v as string), value: v as string };
  }
}

/** A plain JSON value's text (event/link attributes) as an Attr; undefined for null. */
export function plainJsonAttr(key: string, raw: string): Attr | undefined {
  const c = raw[0];
  if (c === '"') return { key, type: 'string', value: JSON.parse(raw) as string };
  if (c === 't' || c === 'f') return { key, type: 'bool', value: c === 't' };
  if (c === 'n') return undefined;
  if (c === '[') return { key, type: 'array', value: raw };
  if (c === '{') return { key, type: 'kvlist', value: raw };
  if (/[.eE]/.test(raw)) return { key, type: 'double', value: Number(raw) };
  return { key, type: 'int', value: intValue(raw) };
}

/** A JSON object of plain values (event and link attributes) as Attrs. */
export function plainJsonAttrs(text: string | null | undefined): Attr[] {
  if (!text || text === '{}') return [];
  const out: Attr[] = [];
  for (const [k, raw] of splitObject(text)) {
    const a = plainJsonAttr(k, raw);
    if (a) out.push(a);
  }
  return out;
}

/** One `_attributes` entry's `{"type", "value"}` text as an Attr. */
function overflowAttr(key: string, raw: string): Attr | undefined {
  let type: ValueType | undefined;
  let value: string | undefined;
  for (const [k, v] of splitObject(raw)) {
    if (k === 'type') type = JSON.parse(v) as ValueType;
    else if (k === 'value') value = v;
  }
  if (type === undefined || value === undefined || value === 'null') return undefined;
  switch (type) {
    case 'str':
    case 'bytes':
      return { key, type: ATTR_TYPES[type], value: JSON.parse(value) as string };
    case 'int':
      return { key, type: 'int', value: intValue(value) };
    case 'float':
      return {
        key,
        type: 'double',
        value: value.startsWith('"') ? (JSON.parse(value) as string) : Number(value),
      };
    case 'bool':
      return { key, type: 'bool', value: value === 'true' };
    case 'json':
      return { key, type: jsonType(value), value };
  }
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const big = (v: unknown): bigint => (v === null || v === undefined ? 0n : BigInt(v as bigint));
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** A row of a traces stream (DuckDB `getRowObjectsJS`) as a Span. */
export function rowToSpan(row: Record<string, unknown>, view: SpanStreamView): Span {
  const resource: Attr[] = [];
  const scopeAttrs: Attr[] = [];
  const attributes: Attr[] = [];
  const into = (level: AttrLevel) =>
    level === 'resource' ? resource : level === 'scope' ? scopeAttrs : attributes;
  for (const c of view.attrs) {
    const a = columnAttr(c.key, c.valueType, row[c.column]);
    if (a) into(c.level).push(a);
  }
  const overflow = row[OVERFLOW_COLUMN];
  if (typeof overflow === 'string' && overflow !== '') {
    for (const [name, raw] of splitObject(overflow)) {
      const split = splitScopedKey(name);
      if (!split) continue;
      const a = overflowAttr(split[1], raw);
      if (a) into(split[0]).push(a);
    }
  }
  const events = ((row.events as Record<string, unknown>[] | null) ?? []).map((e): SpanEvent => ({
    timeNs: big(e.time_unix_nano),
    name: str(e.name),
    attributes: plainJsonAttrs(e.attributes as string),
    droppedAttributesCount: num(e.dropped_attributes_count),
  }));
  const links = ((row.links as Record<string, unknown>[] | null) ?? []).map((l): SpanLink => ({
    traceId: str(l.trace_id),
    spanId: str(l.span_id),
    traceState: str(l.trace_state),
    attributes: plainJsonAttrs(l.attributes as string),
    flags: num(l.flags),
    droppedAttributesCount: num(l.dropped_attributes_count),
  }));
  const scope: Span['scope'] = { name: str(row['scope.name']), version: str(row['scope.version']) };
  if (scopeAttrs.length > 0) scope.attributes = scopeAttrs;
  return {
    traceId: str(row.trace_id),
    spanId: str(row.span_id),
    parentSpanId: str(row.parent_span_id),
    traceState: str(row.trace_state),
    name: str(row.name),
    kind: num(row.kind),
    startNs: big(row._timestamp),
    endNs: big(row.end_timestamp),
    durationNs: big(row.duration_ns),
    statusCode: num(row.status_code),
    statusMessage: str(row.status_message),
    flags: num(row.flags),
    resource,
    scope,
    attributes,
    events,
    links,
    droppedAttributesCount: num(row.dropped_attributes_count),
    droppedEventsCount: num(row.dropped_events_count),
    droppedLinksCount: num(row.dropped_links_count),
  };
}

/** False when the file's catalogued trace_id range cannot hold `traceId`. */
export function fileMayHoldTrace(f: FileRow, traceId: string): boolean {
  const st = f.columnStats.trace_id;
  if (!st) return true;
  const [min, max] = st;
  if (min === null || max === null) return min === null && max === null ? false : true;
  return traceId >= min && traceId <= max;
}

const byStart = (a: Span, b: Span) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0);

/** A stream's rows in range that satisfy `cond`, as SQL over its pinned tables and `files`. */
function rowsSql(
  tables: readonly MemTable[],
  files: readonly string[],
  range: TimeBounds,
  cond: string,
): string {
  const time = timeWhere(range.startNs ?? null, range.endNs ?? null);
  const where = time === '' ? ` WHERE ${cond}` : `${time} AND ${cond}`;
  // the active memtable first: it carries the stream's full, current column list
  const parts = [...tables].reverse().map((t) => `SELECT * FROM ${quoteIdent(t.name)}${where}`);
  if (files.length > 0) parts.push(parquetRelation(files, where));
  return parts.join(' UNION ALL BY NAME ');
}

export class SpanReader {
  /** spans read into memory as Span objects since start (`molesignal_trace_spans_read_total`) */
  spansRead = 0;

  constructor(private readonly deps: SpanReaderDeps) {}

  private toSpan(row: Record<string, unknown>, view: SpanStreamView): Span {
    this.spansRead++;
    return rowToSpan(row, view);
  }

  /** a read running longer is interrupted (0: no limit) */
  get timeoutMs(): number {
    return this.deps.timeoutMs;
  }

  /** Traces streams of the org, as views. */
  views(org: OrgId): SpanStreamView[] {
    return this.deps.streams
      .list(org)
      .filter((s) => s.type === 'traces')
      .map(spanStreamView);
  }

  /**
   * Runs `fn` with a connection to the org's DuckDB, interrupted after the timeout; `sql` runs one
   * statement and maps a failure to a MoleError.
   */
  private async withConnection<T>(
    org: OrgId,
    fn: (sql: (q: string) => Promise<Record<string, unknown>[]>) => Promise<T>,
  ): Promise<T> {
    const conn = await (await this.deps.engines.get(org)).connect();
    const timeoutMs = this.deps.timeoutMs;
    const timer = timeoutMs > 0 ? setTimeout(() => conn.interrupt(), timeoutMs) : null;
    try {
      return await fn((q) => runSql(conn, q, timeoutMs));
    } finally {
      if (timer) clearTimeout(timer);
      conn.closeSync();
    }
  }

  /** Pins a stream's memtables, lists its files for the range and runs `fn`; unpins after. */
  private async withStream<T>(
    s: StreamState,
    range: TimeBounds,
    stats: ReadStats,
    fileFilter: ((f: FileRow) => boolean) | null,
    fn: (tables: readonly MemTable[], paths: string[]) => Promise<T>,
  ): Promise<T> {
    const tables = s.mem.pin();
    try {
      const listed = await relationFiles(this.deps, s, tables, range.startNs ?? null, range.endNs ?? null);
      const files = fileFilter ? listed.filter(fileFilter) : listed;
      stats.streams++;
      stats.files_listed += listed.length;
      stats.files_skipped += listed.length - files.length;
      stats.files_scanned += files.length;
      stats.bytes_read += files.reduce((n, f) => n + f.bytes, 0);
      for (const t of tables) stats.memtable_rows += t.rows;
      return await fn(
        tables,
        await readablePaths(
          this.deps.store,
          files.map((f) => f.key),
        ),
      );
    } finally {
      await s.mem.unpin(tables);
    }
  }

  /** withStream over several streams at once (all pinned and listed for the range). */
  private async withStreams<T>(
    views: readonly SpanStreamView[],
    range: TimeBounds,
    stats: ReadStats,
    fn: (parts: { view: SpanStreamView; tables: readonly MemTable[]; paths: string[] }[]) => Promise<T>,
    parts: { view: SpanStreamView; tables: readonly MemTable[]; paths: string[] }[] = [],
  ): Promise<T> {
    const view = views[parts.length];
    if (view === undefined) return fn(parts);
    return this.withStream(view.stream, range, stats, null, (tables, paths) =>
      this.withStreams(views, range, stats, fn, [...parts, { view, tables, paths }]),
    );
  }

  /**
   * The traces with a span starting in the window that satisfy `traceCond`, across the org's traces
   * streams (a trace may span several), by trace id, with their span counts in the window.
   */
  async candidateTraces(org: OrgId, opts: CandidateOptions, stats = emptyReadStats()): Promise<Candidate[]> {
    const views = this.views(org);
    if (views.length === 0) return [];
    const win: TimeBounds = { startNs: opts.startNs, endNs: opts.endNs };
    return this.withConnection(org, (sql) =>
      this.withStreams(views, opts.condRange, stats, async (parts) => {
        const anySpan = (where: (view: SpanStreamView) => string | null): string => {
          const conds = parts.map((p) => [p, where(p.view)] as const);
          // TRUE in every stream: every candidate (it has a span in the window) satisfies it
          if (conds.every(([, c]) => c === 'TRUE')) return 'TRUE';
          const sets = conds
            .filter(([, c]) => c !== null)
            .map(
              ([p, c]) => `SELECT trace_id FROM (${rowsSql(p.tables, p.paths, opts.condRange, `(${c})`)})`,
            );
          return sets.length === 0 ? 'FALSE' : `trace_id IN (${sets.join(' UNION ALL ')})`;
        };
        const conds = [opts.traceCond ? `(${opts.traceCond(anySpan)})` : 'TRUE'];
        if (opts.after !== undefined) conds.push(`trace_id > ${sqlString(opts.after)}`);
        const newest = opts.order === 'newest';
        const cols = newest ? 'trace_id, _timestamp' : 'trace_id';
        const rows = parts
          .map((p) => `SELECT ${cols} FROM (${rowsSql(p.tables, p.paths, win, 'TRUE')})`)
          .join(' UNION ALL ');
        const out = await sql(
          newest
            ? `SELECT trace_id, count(*) AS n, min(_timestamp) AS first FROM (${rows}) WHERE ${conds.join(' AND ')} GROUP BY trace_id ORDER BY first DESC, trace_id LIMIT ${opts.limit}`
            : `SELECT trace_id, count(*) AS n FROM (${rows}) WHERE ${conds.join(' AND ')} GROUP BY trace_id ORDER BY trace_id LIMIT ${opts.limit}`,
        );
        return out.map((r) => ({
          traceId: r.trace_id as string,
          spans: Number(r.n),
          ...(newest ? { startNs: big(r.first) } : {}),
        }));
      }),
    );
  }

  /**
   * Runs `fn` with `union(select)`: SQL of the rows in `range` of all the org's traces streams
   * (pinned and listed at once), each stream's as `SELECT <select(view)>`, unioned; and `sql` to
   * run a statement on the org's DuckDB. Undefined when the org has no traces stream. For answers
   * computed in SQL, with no span in memory (dependencies).
   */
  async overStreams<T>(
    org: OrgId,
    range: TimeBounds,
    fn: (
      union: (select: (view: SpanStreamView) => string) => string,
      sql: (q: string) => Promise<Record<string, unknown>[]>,
    ) => Promise<T>,
    stats = emptyReadStats(),
  ): Promise<T | undefined> {
    const views = this.views(org);
    if (views.length === 0) return undefined;
    return this.withConnection(org, (sql) =>
      this.withStreams(views, range, stats, (parts) =>
        fn(
          (select) =>
            parts
              .map((p) => `SELECT ${select(p.view)} FROM (${rowsSql(p.tables, p.paths, range, 'TRUE')})`)
              .join(' UNION ALL '),
          sql,
        ),
      ),
    );
  }

  /**
   * Every span of these traces starting in `range` (unbounded sides: no bound), grouped by trace,
   * lowest trace id first, each trace's spans by start time.
   */
  async readTraceIds(
    org: OrgId,
    traceIds: readonly string[],
    range: TimeBounds,
    opts: { columns?: ColumnPicker; stats?: ReadStats } = {},
  ): Promise<TraceSpans[]> {
    const views = this.views(org);
    if (views.length === 0 || traceIds.length === 0) return [];
    return this.withConnection(org, (sql) =>
      this.readIds(sql, views, traceIds, range, opts.stats ?? emptyReadStats(), opts.columns),
    );
  }

  private async readIds(
    sql: (q: string) => Promise<Record<string, unknown>[]>,
    views: readonly SpanStreamView[],
    traceIds: readonly string[],
    range: TimeBounds,
    stats: ReadStats,
    columns?: ColumnPicker,
  ): Promise<TraceSpans[]> {
    const byTrace = new Map<string, Span[]>();
    for (let i = 0; i < traceIds.length; i += IDS_PER_QUERY) {
      const chunk = traceIds.slice(i, i + IDS_PER_QUERY);
      const cond = `trace_id IN (${chunk.map(sqlString).join(', ')})`;
      const set = new Set(chunk);
      for (const v of views) {
        const rows = await this.withStream(
          v.stream,
          range,
          stats,
          (f) => chunk.some((id) => fileMayHoldTrace(f, id)),
          (t, p) =>
            sql(
              columns
                ? `SELECT ${columns(v).join(', ')} FROM (${rowsSql(t, p, range, cond)})`
                : rowsSql(t, p, range, cond),
            ),
        );
        for (const r of rows) {
          if (!set.has(r.trace_id as string)) continue;
          const span = this.toSpan(r, v);
          const list = byTrace.get(span.traceId);
          if (list) list.push(span);
          else byTrace.set(span.traceId, [span]);
        }
      }
    }
    return [...byTrace.keys()]
      .sort()
      .map((traceId) => ({ traceId, spans: byTrace.get(traceId)!.sort(byStart) }));
  }

  /**
   * Runs `fn` on every traces stream of the org with `rows(cond)`: SQL of the stream's rows in
   * range that satisfy `cond` (all columns), and `sql` to run a statement on the org's DuckDB.
   */
  async scan<T>(
    org: OrgId,
    range: TimeBounds,
    fn: (
      view: SpanStreamView,
      rows: (cond: string) => string,
      sql: (q: string) => Promise<Record<string, unknown>[]>,
    ) => Promise<T>,
    stats = emptyReadStats(),
  ): Promise<T[]> {
    const views = this.views(org);
    if (views.length === 0) return [];
    return this.withConnection(org, async (sql) => {
      const out: T[] = [];
      for (const v of views) {
        out.push(
          await this.withStream(v.stream, range, stats, null, (t, p) =>
            fn(v, (cond) => rowsSql(t, p, range, `(${cond})`), sql),
          ),
        );
      }
      return out;
    });
  }

  /**
   * Every span of one trace (32 lowercase hex digits) across the org's traces streams, by start
   * time; [] when there is none. `startNs`/`endNs` bound the spans' start times.
   */
  async readTrace(
    org: OrgId,
    traceId: string,
    range: TimeBounds = {},
    stats = emptyReadStats(),
  ): Promise<Span[]> {
    if (!TRACE_ID_RE.test(traceId)) throw new Error(`readTrace: not a trace id: ${traceId}`);
    const views = this.views(org);
    if (views.length === 0) return [];
    const cond = `trace_id = ${sqlString(traceId)}`;
    const spans = await this.withConnection(org, async (sql) => {
      const out: Span[] = [];
      for (const v of views) {
        const rows = await this.withStream(
          v.stream,
          range,
          stats,
          (f) => fileMayHoldTrace(f, traceId),
          (tables, paths) => sql(rowsSql(tables, paths, range, cond)),
        );
        for (const r of rows) out.push(this.toSpan(r, v));
      }
      return out;
    });
    return spans.sort(byStart);
  }

  /**
   * Spans of the traces that have a span in [startNs, endNs) satisfying `where`, grouped by trace
   * (lowest trace id first, at most `limit` traces), each trace's spans by start time.
   */
  async readSpans(org: OrgId, opts: ReadSpansOptions, stats = emptyReadStats()): Promise<TraceSpans[]> {
    const views = this.views(org);
    if (views.length === 0) return [];
    const range: TimeBounds = { startNs: opts.startNs, endNs: opts.endNs };
    const window = opts.traceWindowNs ?? 0n;
    const wide: TimeBounds = { startNs: opts.startNs - window, endNs: opts.endNs + window };
    const conds = new Map<SpanStreamView, string>();
    for (const v of views) {
      const c = opts.where ? opts.where(v) : 'TRUE';
      if (c !== null) conds.set(v, c);
    }
    if (conds.size === 0) return [];
    const limit = opts.limit;
    return this.withConnection(org, async (sql) => {
      const byTrace = new Map<string, Span[]>();
      const add = (span: Span) => {
        const list = byTrace.get(span.traceId);
        if (list) list.push(span);
        else byTrace.set(span.traceId, [span]);
      };
      if (opts.where === undefined && limit === undefined && window === 0n) {
        // every span in the range: one read per stream
        for (const [v] of conds) {
          const rows = await this.withStream(v.stream, range, stats, null, (t, p) =>
            sql(rowsSql(t, p, range, 'TRUE')),
          );
          for (const r of rows) add(this.toSpan(r, v));
        }
      } else {
        // the candidate traces first, then their spans
        const ids = new Set<string>();
        for (const [v, cond] of conds) {
          const rows = await this.withStream(v.stream, range, stats, null, (t, p) =>
            sql(
              `SELECT DISTINCT trace_id FROM (${rowsSql(t, p, range, `(${cond})`)}) ORDER BY trace_id${limit !== undefined ? ` LIMIT ${limit}` : ''}`,
            ),
          );
          for (const r of rows) ids.add(r.trace_id as string);
        }
        let wanted = [...ids].sort();
        if (limit !== undefined) wanted = wanted.slice(0, limit);
        for (const t of await this.readIds(sql, views, wanted, wide, stats)) byTrace.set(t.traceId, t.spans);
      }
      const out: TraceSpans[] = [];
      for (const traceId of [...byTrace.keys()].sort()) {
        out.push({ traceId, spans: byTrace.get(traceId)!.sort(byStart) });
      }
      return out;
    });
  }
}

async function runSql(
  conn: DuckDBConnection,
  sql: string,
  timeoutMs: number,
): Promise<Record<string, unknown>[]> {
  try {
    return (await conn.runAndReadAll(sql)).getRowObjectsJS();
  } catch (e) {
    const message = (e as Error).message ?? String(e);
    if (/interrupt/i.test(message)) {
      throw new MoleError(`the trace query took longer than ${timeoutMs} ms and was stopped`, {
        code: 'MS_ERR_QUERY_TIMEOUT',
        status: 504,
        reason: 'query_timeout',
      });
    }
    throw new MoleError(`trace query failed: ${message}`, {
      code: 'MS_ERR_QUERY_FAILED',
      status: 400,
      reason: 'query_failed',
    });
  }
}
