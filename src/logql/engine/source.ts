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
import type { Catalog, FileRow } from '../../catalog/catalog.ts';
import { MoleError } from '../../lib/errors.ts';
import { quoteIdent, type MemTable } from '../../memtable/memtable.ts';
import type { EnginePool } from '../../memtable/org-engine.ts';
import { relationFiles, timeWhere } from '../../query/stream-relation.ts';
import { lineFilterRequirements, pruneByTokens } from '../../storage/token-filter.ts';
import { ShapeSet } from '../../storage/json-columns.ts';
import { readablePaths, type ObjectStore } from '../../storage/object-store.ts';
import type { OrgId } from '../../tenancy/org-id.ts';
import type { StreamRegistry, StreamState } from '../../write/streams.ts';
import type { LineFilterStage } from '../ast.ts';
import type { LogEntry } from '../pipeline/types.ts';
import { mapLabelColumns, type StreamLabelColumns } from './labels-mapping.ts';
import { compilePipeline } from '../pipeline/index.ts';
import type {
  BucketAggregationRequest,
  BucketRow,
  MetricPushdown,
  READ_LINES,
  SampleAggregationRequest,
  SampleReadRequest,
  SampleSeries,
  WindowAggregation,
} from './metric/pushdown-types.ts';
import { reduceLabels } from './metric/range-common.ts';
import { notSimpleRowsSql, pushdownRowsSql, pushdownSql } from './pushdown-sql.ts';
import { sampleWindows } from './sample-windows.ts';
import { lineFilterSql, lineSqlOf, metadataLabelSql, selectorSql, sqlString, streamLabelSql } from './sql.ts';
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
  /** answer the metric pushdown (default true); false: every request is declined */
  pushdown?: boolean;
}

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

/** The DOUBLE column `j` of a chunk (no NULLs) as a typed array view. */
function doubleColumn(chunk: DuckDBDataChunk, j: number): Float64Array {
  return new Float64Array(bigintColumn(chunk, j).buffer);
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

export class StorageLogSource implements LogSource, MetricPushdown {
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
  private readonly pushdown: boolean;
  /** streams, files (by id) and memtables already in the stats */
  private readonly counted = new Set<unknown>();

  constructor(
    private readonly deps: LogSourceDeps,
    private readonly org: OrgId,
    opts: LogSourceOptions = {},
  ) {
    this.batchRows = opts.batchRows ?? DEFAULT_BATCH_ROWS;
    this.pushdown = opts.pushdown ?? true;
  }

  read(req: LogReadRequest): AsyncGenerator<readonly LogEntry[]> {
    return this.readRows(req, null);
  }

  /** `read`, each stream's rows narrowed by `narrow` (a relation over the stream's rows) when given. */
  private async *readRows(req: LogReadRequest, narrow: Narrow | null): AsyncGenerator<readonly LogEntry[]> {
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
      // the file list is taken once, after pinning; each slice reads the files it overlaps
      const listed: FileRow[][] = [];
      for (const p of pinned) {
        conns.push(await engine.connect());
        listed.push(await relationFiles(this.deps, p.s, p.tables, req.startNs, req.endNs));
      }
      const backward = req.direction === 'backward';
      const span = req.endNs - req.startNs;
      // a read with a limit (a search) goes slice by slice from the end it starts at, so that
      // the newest (oldest) lines are found without scanning the whole range
      const sliced = req.limit !== undefined && narrow === null;
      const first = sliced ? firstSliceNs(listed.flat(), req) : span;
      let covered = 0n;
      let found = 0;
      while (covered < span) {
        const next = sliced ? nextCover(span, covered, req.limit!, found, first) : span;
        const [lo, hi] = backward
          ? [req.endNs - next, req.endNs - covered]
          : [req.startNs + covered, req.startNs + next];
        covered = next;
        const cursors: StreamCursor[] = [];
        for (const [i, p] of pinned.entries()) {
          const slice = { ...req, startNs: lo, endNs: hi };
          const cursor = await this.openCursor(conns[i]!, p.s, p.tables, listed[i]!, slice, narrow);
          if (cursor) cursors.push(cursor);
        }
        for await (const batch of mergeCursors(cursors, backward, signal)) {
          found += batch.length;
          yield batch;
        }
      }
    } catch (e) {
      if (signal?.aborted) throw abortError(signal);
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      for (const c of conns) c.closeSync();
      for (const p of pinned) await p.s.mem.unpin(p.tables);
    }
  }

  /**
   * One stream's rows of `[startNs, endNs)` as SQL, with `__part`/`__row`, and its label columns;
   * null when nothing holds rows of the range. `listed`: the stream's files (relationFiles) for a
   * range that covers this one, in the catalog's order.
   */
  private async relationOf(
    conn: DuckDBConnection,
    s: StreamState,
    tables: readonly MemTable[],
    listed: readonly FileRow[],
    startNs: bigint,
    endNs: bigint,
    lineFilters: readonly LineFilterStage[],
  ): Promise<{ relation: string; mapping: StreamLabelColumns; shapes: ShapeSet } | null> {
    const inRange = listed.filter((f) => f.minTs < endNs && f.maxTs >= startNs);
    // full-text pruning (docs/format/token-filter.md): files whose token filters rule out a `|=`
    // string are not read, others only in the time ranges that may match
    const pruned = await pruneByTokens(this.deps.store, inRange, lineFilterRequirements(lineFilters));
    const files = pruned.map((p) => p.file);
    const time = timeWhere(startNs, endNs);
    const parts = tables.map(
      (t, i) =>
        `SELECT *, ${MEMTABLE_PART + i}::BIGINT AS __part, rowid::BIGINT AS __row FROM ${quoteIdent(t.name)}${time}`,
    );
    // __part of a file row: the file's place in the catalog's order, whichever read it comes from
    const local = await readablePaths(
      this.deps.store,
      pruned.map((p) => p.file.key),
    );
    const whole = pruned.map((p, i) => ({ ...p, i })).filter((p) => p.ranges === null);
    /** the files some part reads (a narrowed file may have no range in this one) */
    const read: FileRow[] = whole.map((p) => p.file);
    if (whole.length > 0) {
      const paths = whole.map((p) => sqlString(local[p.i]!)).join(', ');
      const part =
        whole.length === pruned.length
          ? 'file_index'
          : `[${whole.map((p) => p.i).join(', ')}][file_index + 1]`;
      parts.push(
        `SELECT *, ${part}::BIGINT AS __part, file_row_number::BIGINT AS __row FROM read_parquet([${paths}], union_by_name = true)${time}`,
      );
    }
    pruned.forEach((p, i) => {
      for (const [a, b] of p.ranges ?? []) {
        const lo = startNs > a ? startNs : a;
        const hi = endNs < b ? endNs : b;
        if (lo >= hi) continue;
        if (read[read.length - 1] !== p.file) read.push(p.file);
        parts.push(
          `SELECT *, ${i}::BIGINT AS __part, file_row_number::BIGINT AS __row FROM read_parquet([${sqlString(local[i]!)}], union_by_name = true)${timeWhere(lo, hi)}`,
        );
      }
    });
    if (parts.length === 0) return null;
    const relation = parts.join(' UNION ALL BY NAME ');
    // the columns the relation really has (a column of the schema may be in no part yet)
    const described = await conn.runAndReadAll(`SELECT * FROM (${relation}) LIMIT 0`);
    // counted once per read, however many slices read them
    if (!this.counted.has(s)) {
      this.counted.add(s);
      this.stats.streams++;
    }
    for (const f of files) {
      if (this.counted.has(f.id)) continue;
      this.counted.add(f.id);
      this.stats.files_scanned++;
      this.stats.bytes_read += f.bytes;
    }
    for (const t of tables) {
      if (this.counted.has(t)) continue;
      this.counted.add(t);
      this.stats.memtable_rows += t.rows;
    }
    // JSON lines stored as columns (storage/json-columns.ts): the relation has their body NULL and
    // their columns; every line a caller reads is `shapes.bodySql()`
    const shapes = ShapeSet.of(read.map((f) => f.jsonShapes));
    return { relation, mapping: mapLabelColumns(described.columnNames()), shapes };
  }

  private async openCursor(
    conn: DuckDBConnection,
    s: StreamState,
    tables: readonly MemTable[],
    listed: readonly FileRow[],
    req: LogReadRequest,
    narrow: Narrow | null,
  ): Promise<StreamCursor | null> {
    const rel = await this.relationOf(conn, s, tables, listed, req.startNs, req.endNs, req.lineFilters);
    if (rel === null) return null;
    const { mapping, shapes } = rel;
    const relation = narrow ? narrow(rel.relation, mapping, shapes) : rel.relation;
    if (relation === null) return null;
    const body = shapes.bodySql();
    const where: string[] = [];
    for (const m of req.matchers) where.push(selectorSql(m, mapping.stream.get(m.name)));
    for (const f of req.lineFilters) {
      const sql = lineFilterSql(f, lineSqlOf(shapes));
      if (sql) where.push(sql);
    }
    const streamLabels = [...mapping.stream.keys()];
    const metadataLabels = [...mapping.metadata.keys()];
    const select = [
      '_timestamp',
      body === 'body' ? body : `${body} AS body`,
      '__part',
      '__row',
      streamHashSql(mapping),
      ...streamLabels.map((l) => streamLabelSql(mapping.stream.get(l))),
      ...metadataLabels.map((l) => metadataLabelSql(mapping, l)),
    ].join(', ');
    return new StreamCursor(
      conn,
      relation,
      streamLabels,
      metadataLabels,
      select,
      where.join(' AND '),
      req.direction === 'backward',
      // one row past the limit: when it has another timestamp than the last one answered, the
      // merge knows that timestamp's group is complete without a query for its ties
      req.limit === undefined ? undefined : req.limit + 1,
      this.batchRows,
      this.stats,
    );
  }

  /**
   * Runs `fn` with every logs stream of the org pinned and a connection each (interrupted when
   * the signal aborts); answers what `fn` answers.
   */
  private async withStreams<T>(
    signal: AbortSignal | undefined,
    fn: (streams: { s: StreamState; tables: MemTable[]; conn: DuckDBConnection }[]) => Promise<T>,
  ): Promise<T> {
    if (signal?.aborted) throw abortError(signal);
    const targets = this.deps.streams.list(this.org).filter((s) => s.type === 'logs');
    const pinned = targets.map((s) => ({ s, tables: s.mem.pin(), conn: null as DuckDBConnection | null }));
    const onAbort = () => {
      for (const p of pinned) p.conn?.interrupt();
    };
    signal?.addEventListener('abort', onAbort);
    try {
      const engine = await this.deps.engines.get(this.org);
      for (const p of pinned) p.conn = await engine.connect();
      return await fn(pinned as { s: StreamState; tables: MemTable[]; conn: DuckDBConnection }[]);
    } catch (e) {
      if (signal?.aborted) throw abortError(signal);
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      for (const p of pinned) p.conn?.closeSync();
      for (const p of pinned) await p.s.mem.unpin(p.tables);
    }
  }

  /** The pushdown SQL of every logs stream, or null when one stream's cannot be built. */
  private async plans(
    streams: { s: StreamState; tables: MemTable[]; conn: DuckDBConnection }[],
    req: PushdownRequest,
    startNs: bigint,
    endNs: bigint,
  ) {
    const out = [];
    for (const p of streams) {
      const listed = await relationFiles(this.deps, p.s, p.tables, startNs, endNs);
      const rel = await this.relationOf(p.conn, p.s, p.tables, listed, startNs, endNs, []);
      if (rel === null) continue;
      const { relation, mapping, shapes } = rel;
      const sql = pushdownSql(req, mapping, shapes);
      if (sql === null) return null;
      out.push({ ...p, relation, mapping, shapes, sql, rows: pushdownRowsSql(relation, sql) });
    }
    return out;
  }

  async aggregateBuckets(req: BucketAggregationRequest): Promise<readonly BucketRow[] | null> {
    if (!this.pushdown) return null;
    const startNs = req.originNs + 1n;
    const endNs = req.originNs + BigInt(req.bucketCount) * req.bucketNs + 1n;
    const out: BucketRow[] = [];
    /** per row of `out`: its first line's timestamp */
    const firsts: bigint[] = [];
    const plans = await this.withStreams(req.signal, async (streams) => {
      const plans = await this.plans(streams, req, startNs, endNs);
      if (plans === null) return null;
      for (const p of plans) {
        const labels = p.sql.labels;
        const sql =
          `SELECT ${[
            '__s',
            ...labels.map((l, k) => `CASE WHEN __s THEN ${l.sql} END AS __l${k}`),
            `((_timestamp - ${req.originNs} - 1) // ${req.bucketNs})::BIGINT AS __b`,
            'count(*)::BIGINT AS __n',
            `${req.withBytes ? `COALESCE(sum(strlen(${p.shapes.bodySql()})), 0)` : '0'}::BIGINT AS __bytes`,
            'min(_timestamp) AS __first',
          ].join(', ')} FROM (${p.rows})` +
          `${p.sql.keep.length > 0 ? ` WHERE NOT __s OR (${p.sql.keep.join(' AND ')})` : ''} GROUP BY ALL`;
        const result = await p.conn.runAndReadAll(sql);
        for (const r of result.getRows()) {
          if (r[0] !== true) {
            out.push({ labels: FALLBACK, bucket: -1, count: 0, bytes: 0 });
            firsts.push(0n);
            continue;
          }
          const set: Record<string, string> = {};
          for (let k = 0; k < labels.length; k++) {
            const v = r[1 + k];
            if (typeof v === 'string') set[labels[k]!.name] = v;
          }
          const n = labels.length;
          out.push({
            labels: set,
            bucket: Number(r[1 + n]),
            count: Number(r[2 + n]),
            bytes: Number(r[3 + n]),
          });
          firsts.push(r[4 + n] as bigint);
        }
      }
      return plans;
    });
    if (plans === null) return null;
    const rows: BucketRow[] = [];
    const rowFirsts: bigint[] = [];
    for (const [k, r] of out.entries()) {
      if (r.labels === FALLBACK) continue;
      rows.push(r);
      rowFirsts.push(firsts[k]!);
    }
    if (rows.length < out.length) await this.fallbackBuckets(req, startNs, endNs, rows, rowFirsts);
    return inFirstSeenOrder(rows, rowFirsts);
  }

  /** The lines SQL cannot prove simple, through the JS pipeline, as bucket rows. */
  private async fallbackBuckets(
    req: BucketAggregationRequest,
    startNs: bigint,
    endNs: bigint,
    rows: BucketRow[],
    firsts: bigint[],
  ): Promise<void> {
    const pipeline = compilePipeline(req.pipeline);
    const leading = [];
    for (const st of req.pipeline) {
      if (st.type !== 'LineFilter') break;
      leading.push(st);
    }
    const narrow: Narrow = (relation, mapping, shapes) => {
      const sql = pushdownSql(req, mapping, shapes);
      return sql === null ? null : notSimpleRowsSql(relation, sql);
    };
    const read = this.readRows(
      {
        matchers: req.matchers,
        lineFilters: leading,
        startNs,
        endNs,
        direction: 'forward',
        ...(req.signal ? { signal: req.signal } : {}),
      },
      narrow,
    );
    for await (const batch of read) {
      for (const e of batch) {
        const o = pipeline.process(e);
        if (o === null) continue;
        const labels = req.grouping ? reduceLabels(o.labels, req.grouping) : o.labels;
        rows.push({
          labels: Object.fromEntries(labels),
          bucket: Number((e.ts - req.originNs - 1n) / req.bucketNs),
          count: 1,
          bytes: req.withBytes ? Buffer.byteLength(o.line, 'utf8') : 0,
        });
        firsts.push(e.ts);
      }
    }
  }

  async aggregateSamples(
    req: SampleAggregationRequest,
  ): Promise<WindowAggregation | typeof READ_LINES | null> {
    if (!this.pushdown) return null;
    const startNs = req.originNs + 1n;
    const endNs = req.originNs + BigInt(req.windowCount - 1) * req.stepNs + req.rangeNs + 1n;
    return this.withStreams(req.signal, async (streams) => {
      const plans = await this.plans(streams, req, startNs, endNs);
      if (plans === null) return null;
      return sampleWindows(
        plans.map((p) => ({ ...p, stream: streamValuesSql(p.mapping) })),
        req,
      );
    });
  }

  async readSamples(req: SampleReadRequest): Promise<readonly SampleSeries[] | null> {
    if (!this.pushdown) return null;
    return this.withStreams(req.signal, async (streams) => {
      const plans = await this.plans(streams, req, req.startNs, req.endNs);
      if (plans === null) return null;
      const series = new Map<
        number,
        { labels: Record<string, string>; ts: bigint[]; values: number[]; src: number[] }
      >();
      for (const [i, p] of plans.entries()) {
        const labels = p.sql.labels;
        const keep = [...p.sql.keep, '__v IS NOT NULL'];
        const sql =
          `SELECT ${[
            '_timestamp',
            '__v',
            `${streamHashSql(p.mapping)} AS __h`,
            `hash(${['NULL', ...labels.map((l) => l.sql)].join(', ')})::UBIGINT AS __g`,
            '__s',
            ...labels.map((l) => l.sql),
          ].join(', ')} FROM (SELECT *, ${p.sql.value} AS __v FROM (${p.rows}))` +
          ` WHERE NOT __s OR (${keep.join(' AND ')}) ORDER BY __s, _timestamp, __part, __row`;
        const result = await p.conn.stream(sql);
        for (;;) {
          const chunk = await result.fetchChunk();
          if (!chunk || chunk.rowCount === 0) break;
          const n = chunk.rowCount;
          if (chunk.getColumnVector(4).getItem(0) !== true) return null;
          const ts = bigintColumn(chunk, 0);
          const values = doubleColumn(chunk, 1);
          const hs = new Uint32Array(bigintColumn(chunk, 2).buffer);
          const gs = new Uint32Array(bigintColumn(chunk, 3).buffer);
          for (let r = 0; r < n; r++) {
            const g = gs[2 * r]! + gs[2 * r + 1]! * 4294967296;
            let s = series.get(g);
            if (s === undefined) {
              const set: Record<string, string> = {};
              for (let k = 0; k < labels.length; k++) {
                const v = chunk.getColumnVector(5 + k).getItem(r);
                if (typeof v === 'string') set[labels[k]!.name] = v;
              }
              series.set(g, (s = { labels: set, ts: [], values: [], src: [] }));
            }
            s.ts.push(ts[r]!);
            s.values.push(values[r]!);
            // the line's stream (logs stream and label set): ties between streams are ordered by
            // label set strings, which this path leaves to the line path
            s.src.push(hs[2 * r]! + (hs[2 * r + 1]! & 0xfffff) * 4294967296 + i * 2 ** 52);
          }
        }
      }
      const out: SampleSeries[] = [];
      for (const s of series.values()) {
        const order = s.ts.map((_, k) => k);
        if (plans.length > 1)
          order.sort((a, b) => (s.ts[a]! < s.ts[b]! ? -1 : s.ts[a]! > s.ts[b]! ? 1 : a - b));
        for (let k = 1; k < order.length; k++) {
          const a = order[k - 1]!;
          const b = order[k]!;
          if (s.ts[a] === s.ts[b] && s.src[a] !== s.src[b]) return null;
        }
        out.push({
          labels: s.labels,
          timestampsNs: BigInt64Array.from(order, (k) => s.ts[k]!),
          values: Float64Array.from(order, (k) => s.values[k]!),
        });
      }
      return out;
    });
  }
}

/** The first slice of a read with a limit when the files say nothing: this part of the range. */
const FIRST_SLICE_PART = 128n;
const FIRST_SLICE_MIN_NS = 1_000_000_000n;
/**
 * Rows the first slice should hold per line asked for: with a line filter, enough when one line in
 * 160 matches (one pass for the logs bench's "error", 1.6 %); without one, most lines are answers.
 */
const FIRST_SLICE_ROWS_PER_LINE = { filtered: 160, unfiltered: 4 };

/**
 * The first slice of a read with a limit (ns): about the rows the limit needs at the range's mean
 * density of stored rows (the files' rows, prorated to the range), at least FIRST_SLICE_MIN_NS;
 * 1/128 of the range when no file holds rows of it (memtables only: their slices are cheap).
 *
 * Why rows and not time: a slice is a pass over every row group of the files it overlaps (each
 * holds one stream over the file's whole time span, so a few seconds of a file cost nearly what a
 * minute does); a first slice sized for the limit usually makes the search one pass, where a
 * slice too thin needs a second (the logs bench: 7 s then 49 s before, about 60 s now), and a
 * fixed part of a long range would read hours of files.
 */
export function firstSliceNs(
  files: readonly Pick<FileRow, 'minTs' | 'maxTs' | 'rows'>[],
  req: Pick<LogReadRequest, 'startNs' | 'endNs' | 'limit' | 'lineFilters'>,
): bigint {
  const span = req.endNs - req.startNs;
  let rows = 0;
  for (const f of files) {
    const lo = f.minTs > req.startNs ? f.minTs : req.startNs;
    const hi = f.maxTs + 1n < req.endNs ? f.maxTs + 1n : req.endNs;
    if (hi > lo) rows += (f.rows * Number(hi - lo)) / Number(f.maxTs + 1n - f.minTs);
  }
  if (!(rows >= 1) || span <= 0n) return span / FIRST_SLICE_PART;
  const perLine =
    req.lineFilters.length > 0 ? FIRST_SLICE_ROWS_PER_LINE.filtered : FIRST_SLICE_ROWS_PER_LINE.unfiltered;
  const wanted = (req.limit ?? 1) * perLine;
  const ns = BigInt(Math.ceil((Number(span) * wanted) / rows));
  return ns < span ? ns : span;
}

/**
 * How much of a range of `span` ns a read with a limit covers after its next slice, having covered
 * `covered` ns (0: none yet) and found `found` entries there: the first slice is `firstNs`
 * (firstSliceNs; at least FIRST_SLICE_MIN_NS), each next one wide enough, at the rate seen so
 * far, for twice the missing lines (×2 to ×16).
 */
export function nextCover(
  span: bigint,
  covered: bigint,
  limit: number,
  found: number,
  firstNs: bigint = span / FIRST_SLICE_PART,
): bigint {
  let next: bigint;
  if (covered === 0n) {
    next = firstNs;
    if (next < FIRST_SLICE_MIN_NS) next = FIRST_SLICE_MIN_NS;
  } else {
    const factor = found === 0 ? 16 : Math.min(16, Math.max(2, Math.ceil((2 * limit) / found)));
    next = covered * BigInt(factor);
  }
  return next > span ? span : next;
}

/**
 * The rows with the series in the order the line path meets them (by each series' first line),
 * so that later steps (an avg's float sums) add them up in the same order.
 */
function inFirstSeenOrder(rows: BucketRow[], firsts: bigint[]): BucketRow[] {
  const first = new Map<string, bigint>();
  const keys = rows.map((r, k) => {
    const key = labelsString(r.labels);
    const f = first.get(key);
    if (f === undefined || firsts[k]! < f) first.set(key, firsts[k]!);
    return key;
  });
  const order = rows.map((_, k) => k);
  order.sort((a, b) => {
    const fa = first.get(keys[a]!)!;
    const fb = first.get(keys[b]!)!;
    if (fa !== fb) return fa < fb ? -1 : 1;
    return keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0;
  });
  return order.map((k) => rows[k]!);
}

/** A stream's rows narrowed (SQL over its relation), or null to read none of them. */
type Narrow = (relation: string, mapping: StreamLabelColumns, shapes: ShapeSet) => string | null;

type PushdownRequest = Parameters<typeof pushdownSql>[0];

/** Marks a bucket row that stands for lines SQL left to the pipeline. */
const FALLBACK: Readonly<Record<string, string>> = Object.freeze({});

/** A row's stream label values as SQL, `NULL` first (so that a stream without labels has one). */
function streamValuesSql(mapping: StreamLabelColumns): string {
  const values = [...mapping.stream.keys()].map((l) => streamLabelSql(mapping.stream.get(l)));
  return ['NULL', ...values].join(', ');
}

/** The hash of a row's stream label values (the label set's identity within one logs stream). */
function streamHashSql(mapping: StreamLabelColumns): string {
  return `hash(${streamValuesSql(mapping)})::UBIGINT`;
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
        if (c.pos >= c.buf.length) {
          // the groups before this one are complete: hand them out before a query for the
          // ties of this one, which a caller that has its limit does not need
          if (out.length > 0) {
            yield out;
            out = [];
          }
          if (!(await c.fetchTies(t))) break;
        }
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
