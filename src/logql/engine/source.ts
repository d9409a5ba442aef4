/**
 * The storage LogSource: log entries of every logs stream of one org, read through the org's
 * DuckDB in batches and merged in timestamp order.
 *
 * Invariants:
 * - memtables are pinned for the whole read and the file list is taken once, after pinning (as the
 *   SQL executor does), so a flush running meanwhile neither hides nor doubles a row;
 * - every row has a stable position `(ts, part, row)`: part = the file's place in the catalog's
 *   list (by time) or, after every file, the memtable's; row = its row in that file or table.
 *   A read continues after the last position read (keyset), and DuckDB streams its result, so
 *   memory holds one batch per stream;
 * - entries with equal timestamps come in Loki's order: by stream label set (ascending for
 *   forward, descending for backward), and within one label set in push order (reversed for
 *   backward), as Loki's chunk iterators and their merge heap give them.
 */
import bindings from '@duckdb/node-bindings';
import type { DuckDBConnection, DuckDBDataChunk, DuckDBResult } from '@duckdb/node-api';
import type { Catalog } from '../../catalog/catalog.ts';
import { MoleError } from '../../lib/errors.ts';
import { quoteIdent, type MemTable } from '../../memtable/memtable.ts';
import type { EnginePool } from '../../memtable/org-engine.ts';
import { relationFiles, timeWhere } from '../../query/stream-relation.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { lineFilterRequirements, pruneByTokens } from '../../storage/token-filter.ts';
import type { OrgId } from '../../tenancy/org-id.ts';
import type { StreamRegistry, StreamState } from '../../write/streams.ts';
import type { LineFilterStage, Matcher } from '../ast.ts';
import type { LogEntry } from '../pipeline/types.ts';
import { mapLabelColumns } from './labels-mapping.ts';
import type { LogReadRequest, LogSource } from './source-types.ts';

export interface LogSourceDeps {
  catalog: Catalog;
  store: ObjectStore;
  engines: EnginePool;
  streams: StreamRegistry;
}

export interface LogSourceStats {
  /** logs streams whose rows were read */
  streams: number;
  files_scanned: number;
  bytes_read: number;
  memtable_rows: number;
  /** entries handed out, and the bytes of their lines */
  entries: number;
  line_bytes: number;
  /** SQL batches run */
  batches: number;
}

export interface LogSourceOptions {
  /** rows one batch of one stream holds (what a streamed read fetches at a time) */
  batchRows?: number;
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The part number of the first memtable: after every file's index. */
const MEMTABLE_PART = 1_000_000_000;
const DEFAULT_BATCH_ROWS = 8192;
/** entries per batch handed to the caller */
const OUT_BATCH = 4096;

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

/** The error a read ends with once its signal is aborted: the signal's reason when it is ours. */
export const abortError = (signal: AbortSignal): MoleError =>
  signal.reason instanceof MoleError
    ? signal.reason
    : new MoleError('the query was cancelled', {
        code: 'MS_ERR_QUERY_CANCELLED',
        status: 499,
        reason: 'query_timeout',
      });

/** A stream label's value as SQL: the first non-empty of its columns, '' when none. */
function labelValueSql(columns: readonly string[] | undefined): string {
  if (!columns || columns.length === 0) return "''";
  return `COALESCE(${columns.map((c) => `NULLIF(${quoteIdent(c)}::VARCHAR, '')`).join(', ')}, '')`;
}

/** A stream selector matcher as SQL (Prometheus semantics: regexps fully anchored, `.` matches \n). */
export function matcherSql(m: Matcher, valueSql: string): string {
  switch (m.type) {
    case '=':
      return `${valueSql} = ${sqlString(m.value)}`;
    case '!=':
      return `${valueSql} <> ${sqlString(m.value)}`;
    case '=~':
      return `regexp_full_match(${valueSql}, ${sqlString(`(?s:${m.value})`)})`;
    case '!~':
      return `NOT regexp_full_match(${valueSql}, ${sqlString(`(?s:${m.value})`)})`;
  }
}

/**
 * The line filters SQL can apply exactly as the pipeline does (string operands; DuckDB's regexps
 * are RE2, as Go's), as WHERE terms; the others are left to the pipeline.
 */
export function lineFilterSql(f: LineFilterStage): string | null {
  if (f.values.length === 0 || f.values.some((v) => v.kind !== 'string' || v.value === '')) return null;
  const values = f.values.map((v) => v.value);
  const any = (term: (v: string) => string) => `(${values.map(term).join(' OR ')})`;
  switch (f.op) {
    case '|=':
      return any((v) => `contains(body, ${sqlString(v)})`);
    case '!=':
      return `(body IS NULL OR NOT ${any((v) => `contains(body, ${sqlString(v)})`)})`;
    case '|~':
      return any((v) => `regexp_matches(COALESCE(body, ''), ${sqlString(v)})`);
    case '!~':
      return `NOT ${any((v) => `regexp_matches(COALESCE(body, ''), ${sqlString(v)})`)}`;
    case '|>':
    case '!>':
      return null;
  }
}

interface RawChunk {
  chunk: bindings.DataChunk;
}

/** The BIGINT column `j` of a chunk (no NULLs) as a typed array view. */
function bigintColumn(chunk: DuckDBDataChunk, j: number): BigInt64Array {
  const n = chunk.rowCount;
  const raw = (chunk as unknown as RawChunk).chunk;
  const bytes = bindings.vector_get_data(bindings.data_chunk_get_vector(raw, j), n * 8);
  return new BigInt64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + n * 8));
}

/** Loki's label-set string `{a="1", b="2"}` (names sorted): the tie-break order of streams. */
export function labelsString(labels: Readonly<Record<string, string>>): string {
  const names = Object.keys(labels).sort();
  return `{${names.map((n) => `${n}=${JSON.stringify(labels[n])}`).join(', ')}}`;
}

/**
 * One logs stream read in order: a first top-N query when the caller gave a limit (most log
 * queries stop there), then one streamed query for the rest, continuing after the last position
 * read, fetched a few DuckDB chunks at a time.
 */
class StreamCursor {
  buf: LogEntry[] = [];
  keys: string[] = [];
  pos = 0;
  done = false;
  private last: { ts: bigint; part: bigint; row: bigint } | null = null;
  private streamed: DuckDBResult | null = null;
  /** label sets by the hash of their values (53 of its 64 bits) */
  private readonly streamsByHash = new Map<
    number,
    { labels: Readonly<Record<string, string>>; key: string }
  >();

  constructor(
    readonly conn: DuckDBConnection,
    private readonly relation: string,
    private readonly streamLabels: readonly string[],
    private readonly metadataLabels: readonly string[],
    private readonly selectList: string,
    private readonly where: string,
    private readonly backward: boolean,
    private firstLimit: number | undefined,
    private readonly batchRows: number,
    private readonly stats: LogSourceStats,
  ) {}

  head(): LogEntry | undefined {
    return this.buf[this.pos];
  }

  /** Reads the next batch when the buffer is used up; false when the stream has no more rows. */
  async ensure(): Promise<boolean> {
    if (this.pos < this.buf.length) return true;
    if (this.done) return false;
    await this.fetch();
    return this.pos < this.buf.length;
  }

  /**
   * When the buffer is used up: reads the rows at `ts` after the last position (a cheap query on
   * one timestamp), so the merge can complete a group of equal timestamps without starting the
   * read of everything after it; true when there are such rows.
   */
  async fetchTies(ts: bigint): Promise<boolean> {
    if (this.done) return false;
    if (this.streamed) return (await this.ensure()) && this.buf[this.pos]!.ts === ts;
    this.buf = [];
    this.keys = [];
    this.pos = 0;
    await this.readAll(`${this.sql(`_timestamp = ${ts}`)}`);
    return this.buf.length > 0;
  }

  private async readAll(sql: string): Promise<void> {
    const result = await this.conn.run(sql);
    this.stats.batches++;
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      this.append(chunk);
    }
  }

  private sql(extra = ''): string {
    const dir = this.backward ? 'DESC' : 'ASC';
    const conds = [this.where, extra];
    if (this.last) {
      const { ts, part, row } = this.last;
      const [lt, le] = this.backward ? ['<', '<='] : ['>', '>='];
      conds.push(
        `_timestamp ${le} ${ts} AND (_timestamp ${lt} ${ts} OR __part ${lt} ${part} OR (__part = ${part} AND __row ${lt} ${row}))`,
      );
    }
    const where = conds.filter((c) => c !== '').join(' AND ') || 'true';
    return `SELECT ${this.selectList} FROM (${this.relation}) WHERE ${where} ORDER BY _timestamp ${dir}, __part ${dir}, __row ${dir}`;
  }

  private async fetch(): Promise<void> {
    this.buf = [];
    this.keys = [];
    this.pos = 0;
    if (this.firstLimit !== undefined) {
      const limit = this.firstLimit;
      this.firstLimit = undefined;
      await this.readAll(`${this.sql()} LIMIT ${limit}`);
      if (this.buf.length < limit) this.done = true;
      return;
    }
    if (!this.streamed) {
      this.streamed = await this.conn.stream(this.sql());
      this.stats.batches++;
    }
    while (this.buf.length < this.batchRows) {
      const chunk = await this.streamed.fetchChunk();
      if (!chunk || chunk.rowCount === 0) {
        this.done = true;
        break;
      }
      this.append(chunk);
    }
  }

  private append(chunk: DuckDBDataChunk): void {
    const n = chunk.rowCount;
    const nLabels = this.streamLabels.length;
    const nMeta = this.metadataLabels.length;
    const ts = bigintColumn(chunk, 0);
    const parts = bigintColumn(chunk, 2);
    const rows = bigintColumn(chunk, 3);
    // the label set's hash: label strings are decoded only for a label set not seen before
    const hashes = new Uint32Array(bigintColumn(chunk, 4).buffer);
    const bodies = chunk.getColumnValues(1) as (string | null)[];
    const labelVectors = Array.from({ length: nLabels }, (_, j) => chunk.getColumnVector(5 + j));
    const metaCols: (string | null)[][] = [];
    for (let j = 0; j < nMeta; j++)
      metaCols.push(chunk.getColumnValues(5 + nLabels + j) as (string | null)[]);
    const { buf, keys } = this;
    for (let r = 0; r < n; r++) {
      const hash = hashes[2 * r]! + hashes[2 * r + 1]! * 4294967296;
      let s = this.streamsByHash.get(hash);
      if (!s) {
        const labels: Record<string, string> = {};
        for (let j = 0; j < nLabels; j++) {
          const v = labelVectors[j]!.getItem(r) as string | null;
          if (v) labels[this.streamLabels[j]!] = v;
        }
        Object.freeze(labels);
        s = { labels, key: labelsString(labels) };
        this.streamsByHash.set(hash, s);
      }
      let metadata = EMPTY;
      for (let j = 0; j < nMeta; j++) {
        const v = metaCols[j]![r];
        if (v === null || v === undefined) continue;
        if (metadata === EMPTY) metadata = {};
        (metadata as Record<string, string>)[this.metadataLabels[j]!] = v;
      }
      const line = bodies[r] ?? '';
      buf.push({ ts: ts[r]!, line, stream: s.labels, metadata });
      keys.push(s.key);
      this.stats.line_bytes += line.length;
    }
    this.stats.entries += n;
    this.last = { ts: ts[n - 1]!, part: parts[n - 1]!, row: rows[n - 1]! };
  }
}

export class StorageLogSource implements LogSource {
  readonly stats: LogSourceStats = {
    streams: 0,
    files_scanned: 0,
    bytes_read: 0,
    memtable_rows: 0,
    entries: 0,
    line_bytes: 0,
    batches: 0,
  };
  private readonly batchRows: number;

  constructor(
    private readonly deps: LogSourceDeps,
    private readonly org: OrgId,
    opts: LogSourceOptions = {},
  ) {
    this.batchRows = opts.batchRows ?? DEFAULT_BATCH_ROWS;
  }

  async *read(req: LogReadRequest): AsyncGenerator<readonly LogEntry[]> {
    const signal = req.signal;
    if (signal?.aborted) throw abortError(signal);
    const targets = this.deps.streams.list(this.org).filter((s) => s.type === 'logs');
    if (targets.length === 0) return;
    const pinned: { s: StreamState; tables: MemTable[] }[] = targets.map((s) => ({
      s,
      tables: s.mem.pin(),
    }));
    // one connection per stream: each holds a streamed result while the others are read
    const conns: DuckDBConnection[] = [];
    const onAbort = () => {
      for (const c of conns) c.interrupt();
    };
    signal?.addEventListener('abort', onAbort);
    try {
      const engine = await this.deps.engines.get(this.org);
      const cursors: StreamCursor[] = [];
      for (const p of pinned) {
        const conn = await engine.connect();
        conns.push(conn);
        cursors.push(await this.openCursor(conn, p.s, p.tables, req));
      }
      yield* mergeCursors(cursors, req.direction === 'backward', signal);
    } catch (e) {
      if (signal?.aborted) throw abortError(signal);
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      for (const c of conns) c.closeSync();
      for (const p of pinned) await p.s.mem.unpin(p.tables);
    }
  }

  private async openCursor(
    conn: DuckDBConnection,
    s: StreamState,
    tables: readonly MemTable[],
    req: LogReadRequest,
  ): Promise<StreamCursor> {
    const listed = await relationFiles(this.deps, s, tables, req.startNs, req.endNs);
    // full-text pruning (docs/format/token-filter.md): files whose token filters rule out a `|=`
    // string are not read, others only in the time ranges that may match
    const pruned = await pruneByTokens(this.deps.store, listed, lineFilterRequirements(req.lineFilters));
    const files = pruned.map((p) => p.file);
    const time = timeWhere(req.startNs, req.endNs);
    const parts = tables.map(
      (t, i) =>
        `SELECT *, ${MEMTABLE_PART + i}::BIGINT AS __part, rowid::BIGINT AS __row FROM ${quoteIdent(t.name)}${time}`,
    );
    // __part of a file row: the file's place in the catalog's order, whichever read it comes from
    const whole = pruned.map((p, i) => ({ ...p, i })).filter((p) => p.ranges === null);
    if (whole.length > 0) {
      const paths = whole.map((p) => sqlString(this.deps.store.localPath(p.file.key))).join(', ');
      const part = whole.length === listed.length ? 'file_index' : `[${whole.map((p) => p.i).join(', ')}][file_index + 1]`;
      parts.push(
        `SELECT *, ${part}::BIGINT AS __part, file_row_number::BIGINT AS __row FROM read_parquet([${paths}], union_by_name = true)${time}`,
      );
    }
    pruned.forEach((p, i) => {
      for (const [a, b] of p.ranges ?? []) {
        const lo = req.startNs > a ? req.startNs : a;
        const hi = req.endNs < b ? req.endNs : b;
        if (lo >= hi) continue;
        parts.push(
          `SELECT *, ${i}::BIGINT AS __part, file_row_number::BIGINT AS __row FROM read_parquet([${sqlString(this.deps.store.localPath(p.file.key))}], union_by_name = true)${timeWhere(lo, hi)}`,
        );
      }
    });
    const relation = parts.join(' UNION ALL BY NAME ');
    // the columns the relation really has (a column of the schema may be in no part yet)
    const described = await conn.runAndReadAll(`SELECT * FROM (${relation}) LIMIT 0`);
    const columns = described.columnNames();
    const mapping = mapLabelColumns(columns);
    const where: string[] = [];
    for (const m of req.matchers) where.push(matcherSql(m, labelValueSql(mapping.stream.get(m.name))));
    for (const f of req.lineFilters) {
      const sql = lineFilterSql(f);
      if (sql) where.push(sql);
    }
    const streamLabels = [...mapping.stream.keys()];
    const metadataLabels = [...mapping.metadata.keys()];
    const select = [
      '_timestamp',
      'body',
      '__part',
      '__row',
      `hash(${['NULL', ...streamLabels.map((l) => labelValueSql(mapping.stream.get(l)))].join(', ')})::UBIGINT`,
      ...streamLabels.map((l) => labelValueSql(mapping.stream.get(l))),
      ...metadataLabels.map(
        (l) =>
          `COALESCE(${mapping.metadata
            .get(l)!
            .map((c) => `NULLIF(NULLIF(${quoteIdent(c.column)}::VARCHAR, ''), ${sqlString(c.unset || '')})`)
            .join(', ')})`,
      ),
    ].join(', ');
    this.stats.streams++;
    this.stats.files_scanned += files.length;
    this.stats.bytes_read += files.reduce((n, f) => n + f.bytes, 0);
    for (const t of tables) this.stats.memtable_rows += t.rows;
    return new StreamCursor(
      conn,
      relation,
      streamLabels,
      metadataLabels,
      select,
      where.join(' AND '),
      req.direction === 'backward',
      req.limit,
      this.batchRows,
      this.stats,
    );
  }
}

/**
 * Merges the cursors in timestamp order; the entries of one timestamp are gathered from every
 * cursor and ordered by label set (stable, so each label set keeps its push order).
 */
async function* mergeCursors(
  cursors: StreamCursor[],
  backward: boolean,
  signal: AbortSignal | undefined,
): AsyncGenerator<LogEntry[]> {
  let out: LogEntry[] = [];
  let live = cursors;
  for (;;) {
    if (signal?.aborted) throw abortError(signal);
    // hand out what is ready before reading more: the caller may stop here (a limit reached)
    if (out.length > 0 && live.some((c) => c.pos >= c.buf.length && !c.done)) {
      yield out;
      out = [];
    }
    const next: StreamCursor[] = [];
    for (const c of live) if (c.pos < c.buf.length || (await c.ensure())) next.push(c);
    live = next;
    if (live.length === 0) break;
    let t = live[0]!.head()!.ts;
    for (const c of live) {
      const ts = c.head()!.ts;
      if (backward ? ts > t : ts < t) t = ts;
    }
    const group: { e: LogEntry; key: string }[] = [];
    for (const c of live) {
      for (;;) {
        if (c.pos >= c.buf.length && !(await c.fetchTies(t))) break;
        if (c.buf[c.pos]!.ts !== t) break;
        group.push({ e: c.buf[c.pos]!, key: c.keys[c.pos]! });
        c.pos++;
      }
    }
    if (group.length > 1) {
      group.sort((a, b) => (a.key === b.key ? 0 : a.key < b.key !== backward ? -1 : 1));
    }
    for (const g of group) out.push(g.e);
    if (out.length >= OUT_BATCH) {
      yield out;
      out = [];
    }
  }
  if (out.length > 0) yield out;
}
