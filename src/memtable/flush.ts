/**
 * Flush: memtable → Parquet → catalog. Order of effects (each a crash point in the tests):
 *   1. freeze the active table (a new one takes appends),
 *   2. per hour bucket: COPY to a staging file, fsync, rename into its key, fsync the directory,
 *   3. one catalog transaction: file rows + the stream's flushed WAL seq + idempotency keys,
 *   4. drop the frozen table when no query reads it; truncate the WAL below the lowest unflushed seq.
 * A crash before 3 leaves an orphan file (deleted at start, never visible); after 3, replay skips
 * the flushed records. Frozen tables are flushed oldest first, so the flushed seq never jumps over
 * rows that are not yet in a committed file.
 */
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Catalog, FileRow } from '../catalog/catalog.ts';
import { crashpoint } from '../lib/crashpoint.ts';
import type { Logger } from '../lib/logger.ts';
import type { ServerMetrics } from '../lib/metrics.ts';
import { HOUR_NS, parquetKey, timeOrderedId } from '../storage/key-layout.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { tokenFilterKey } from '../storage/token-filter.ts';
import { writeSamplesParquet } from '../storage/sample-parquet.ts';
import type { StreamRegistry, StreamState } from '../write/streams.ts';
import type { FlushBacklog } from '../write/write-path.ts';
import { quoteIdent, type MemTable } from './memtable.ts';
import type { EnginePool } from './org-engine.ts';
import { Mutex } from '../lib/mutex.ts';
import { jsonColumnsEnabled, splitJsonBodies, splitRowsSql, type JsonSplit } from './json-split.ts';

export interface FlushPolicy {
  maxRows: number;
  maxBytes: number;
  maxAgeMs: number;
  maxTotalBytes: number;
  checkIntervalMs: number;
}

let parquetBloomColumns: readonly string[] = ['trace_id'];

/** The columns that get Parquet bloom filters now. */
export const parquetBloomColumnsNow = (): readonly string[] => parquetBloomColumns;

/** Columns whose Parquet files get Parquet bloom filters (`streams.parquetBloomColumns`). */
export function configureParquetBloomColumns(columns: readonly string[]): void {
  parquetBloomColumns = [...columns];
}

/**
 * DuckDB writes a Parquet bloom filter for each dictionary-encoded column chunk; a column of
 * unique ids is only dictionary-encoded when the dictionary limit allows a whole row group. The
 * limit is per COPY, so it is raised only for files where one of the configured id columns holds
 * a value (its min statistic is not null).
 */
export function parquetBloomOption(columnStats: FileRow['columnStats'], rowGroupSize: number): string {
  return parquetBloomColumns.some((c) => columnStats[c]?.[0] != null)
    ? `, DICTIONARY_SIZE_LIMIT ${rowGroupSize}`
    : '';
}

/** Resource columns a logs file is sorted by, at most (a sort key only shapes the layout). */
const MAX_SORT_COLUMNS = 16;

/**
 * How a flush lays out the rows of a logs or traces file (ORDER BY, COPY options). Logs: sorted by
 * their resource columns (Loki's stream labels) and then by time, in row groups of 4,096 rows, so
 * that a stream selector skips the row groups of other streams (and their line bodies) by the
 * columns' statistics, as Loki reads only the chunks of matching streams, while a time slice of a
 * search still reads about one row group per stream; Parquet V2 (timestamps DELTA_BINARY_PACKED)
 * and zstd level 1. With JSON lines stored as columns (json-columns.ts) the levels hardly differ
 * in size: on a flushed file of `npm run bench -- logs` level 6 gave 40.5 bytes per line, level
 * 1 41.4 (+2 %), level 3 42.7, level 9 40.3, while level 6 took ~1.8× the CPU of level 1 for the
 * whole COPY (~1 µs more per line: an eighth of the ingest CPU). Traces: by time, in large row
 * groups.
 */
export function rowLayout(
  type: StreamState['type'],
  columns: readonly { name: string }[],
): { order: string; options: string; rowGroupSize: number } {
  if (type !== 'logs')
    return {
      order: '_timestamp, rowid',
      options: 'COMPRESSION zstd, ROW_GROUP_SIZE 122880',
      rowGroupSize: 122880,
    };
  const resource = columns
    .map((c) => c.name)
    .filter((n) => n.startsWith('resource.'))
    .sort()
    .slice(0, MAX_SORT_COLUMNS);
  return {
    order: [...resource.map(quoteIdent), '_timestamp', 'rowid'].join(', '),
    options: 'COMPRESSION zstd, COMPRESSION_LEVEL 1, PARQUET_VERSION V2, ROW_GROUP_SIZE 4096',
    rowGroupSize: 4096,
  };
}

export const STATS_TYPES = new Set(['BIGINT', 'INTEGER', 'DOUBLE', 'VARCHAR', 'BOOLEAN']);
export const MAX_STATS_COLUMNS = 64;
const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Retry-After bounds (seconds): a refused client waits at least 1 s and at most this. */
const MAX_RETRY_AFTER_S = 30;
/** The flush rate assumed before the first flush has been measured (bytes of ingested data per s). */
const INITIAL_FLUSH_RATE = 8 * 1024 * 1024;

/** Ingested bytes a stream's memtables hold: the active one and frozen ones not yet dropped. */
function heldBytes(s: StreamState): number {
  let n = s.mem.active.bytes;
  for (const f of s.mem.frozen) if (!f.dropWhenUnused) n += f.bytes;
  return n;
}

export class Flusher implements FlushBacklog {
  private readonly locks = new Map<StreamState, Mutex>();
  private timer: NodeJS.Timeout | null = null;
  private checking = false;
  /** a check was asked for while one ran: run another right after */
  private recheck = false;
  /** ingested bytes flushed per second, a moving average over recent flushes */
  private flushRate = INITIAL_FLUSH_RATE;
  private lastPressureCheckMs = 0;

  constructor(
    private readonly deps: {
      catalog: Catalog;
      store: ObjectStore;
      engines: EnginePool;
      streams: StreamRegistry;
      metrics: ServerMetrics;
      log: Logger;
      policy: FlushPolicy;
      /**
       * Called after each commit with a WAL seq below which every record is in a committed file
       * (always finite). The WAL may drop whole segments below it.
       */
      onCommitted: (flushedBelowSeq: number) => Promise<void>;
    },
  ) {}

  private lockOf(s: StreamState): Mutex {
    let m = this.locks.get(s);
    if (!m) this.locks.set(s, (m = new Mutex()));
    return m;
  }

  /** Flushes everything the stream holds now. Resolves when its rows are in committed files. */
  flushStream(s: StreamState): Promise<{ files: number; rows: number }> {
    return this.lockOf(s).run(async () => {
      if (s.mem.active.rows > 0) await s.lock.run(() => s.mem.rotate(s.schema));
      let files = 0;
      let rows = 0;
      for (const t of [...s.mem.frozen]) {
        if (t.dropWhenUnused) continue;
        const r = await this.flushTable(s, t);
        files += r.files;
        rows += r.rows;
      }
      return { files, rows };
    });
  }

  private async flushTable(s: StreamState, t: MemTable): Promise<{ files: number; rows: number }> {
    const { catalog, store, engines, log } = this.deps;
    const started = performance.now();
    // An earlier attempt whose commit was reported failed may have committed after all (with
    // PostgreSQL, the connection can break during COMMIT). Its files are then catalogued, and
    // writing new ones would double the rows: finish as the committed flush it was.
    if (t.pendingFileIds.size > 0) {
      const listed = await catalog.listFiles(s.org, s.type, s.name, null, null);
      const landed = listed.filter((f) => t.pendingFileIds.has(f.id));
      if (landed.length > 0) {
        log.warn(
          { stream: s.name, type: s.type, files: landed.length },
          'a flush commit reported as failed had committed; not writing its rows again',
        );
        return this.committed(s, t, landed, started);
      }
    }
    const engine = await engines.get(s.org);
    const files: FileRow[] = [];
    if (t.rows > 0) {
      const conn = await engine.connect();
      let split: JsonSplit | null = null;
      const splitTable = s.type === 'logs' && jsonColumnsEnabled() ? `${t.name}_jsplit` : null;
      try {
        // JSON lines as columns (storage/json-columns.ts): one pass over the bodies for every file
        if (splitTable !== null) {
          const appendConn = await engine.connect();
          try {
            split = await splitJsonBodies(conn, appendConn, t.name, splitTable);
          } finally {
            appendConn.closeSync();
          }
        }
        const hours = await conn.runAndReadAll(
          `SELECT DISTINCT _timestamp // ${HOUR_NS} AS h FROM ${quoteIdent(t.name)} ORDER BY h`,
        );
        const stagingDir = store.stagingDir(s.org);
        await mkdir(stagingDir, { recursive: true });
        for (const [h] of hours.getRows()) {
          const lo = BigInt(h as bigint) * HOUR_NS;
          const hi = lo + HOUR_NS;
          const id = timeOrderedId();
          const key = parquetKey(s.org, s.type, s.name, lo, id);
          const staging = join(stagingDir, `${id}.parquet.tmp`);
          const where = `_timestamp >= ${lo} AND _timestamp < ${hi}`;
          const statCols = t.columns.filter((c) => STATS_TYPES.has(c.sqlType)).slice(0, MAX_STATS_COLUMNS);
          const statSql = statCols
            .map(
              (c) =>
                `left(min(${quoteIdent(c.name)})::VARCHAR, 64), left(max(${quoteIdent(c.name)})::VARCHAR, 64)`,
            )
            .join(', ');
          const st = await conn.runAndReadAll(
            `SELECT count(*), min(_timestamp), max(_timestamp), ${statSql} FROM ${quoteIdent(t.name)} WHERE ${where}`,
          );
          const row = st.getRows()[0]!;
          const columnStats: FileRow['columnStats'] = {};
          statCols.forEach((c, i) => {
            columnStats[c.name] = [row[3 + 2 * i] as string | null, row[4 + 2 * i] as string | null];
          });
          if (s.type === 'metrics') {
            // samples: sorted by (series, time), values encoded (docs/format/samples.md)
            await writeSamplesParquet(
              conn,
              `SELECT _timestamp, series_id, value, stale FROM ${quoteIdent(t.name)} WHERE ${where}`,
              staging,
              `encode_${id}`,
            );
          } else {
            // rowid breaks ties: rows with one timestamp keep their arrival order (LogQL answers
            // equal-timestamp lines in push order, and DuckDB's sort is not stable)
            const layout = rowLayout(s.type, t.columns);
            const rows = split
              ? `SELECT * EXCLUDE (__mrid) FROM (${splitRowsSql(t.name, split)}) WHERE ${where} ORDER BY ${layout.order.replace(/\browid$/, '__mrid')}`
              : `SELECT * FROM ${quoteIdent(t.name)} WHERE ${where} ORDER BY ${layout.order}`;
            const copy = (extra: string) =>
              conn.run(`COPY (${rows}) TO ${sqlString(staging)} (FORMAT parquet, ${layout.options}${extra})`);
            const bloomOption = parquetBloomOption(columnStats, layout.rowGroupSize);
            try {
              await copy(bloomOption);
            } catch (e) {
              if (!bloomOption) throw e;
              // the dictionaries take ~6 MiB per string column: under a small DuckDB memory
              // limit the file is written without Parquet bloom filters rather than not at all
              log.warn({ err: e, stream: s.name, type: s.type }, 'Parquet bloom filters not written');
              await copy('');
            }
          }
          // the token filter goes in before the catalog names the file (docs/format/token-filter.md)
          const sidecar = t.tokens?.sidecar(lo);
          if (sidecar) {
            const sidecarStaging = join(stagingDir, `${id}.bloom.tmp`);
            await writeFile(sidecarStaging, sidecar);
            await store.putFile(tokenFilterKey(key), sidecarStaging);
          }
          t.pendingFileIds.add(id);
          const bytes = (await stat(staging)).size;
          await store.putFile(key, staging);
          files.push({
            id,
            org: s.org,
            type: s.type,
            stream: s.name,
            key,
            minTs: BigInt(row[1] as bigint),
            maxTs: BigInt(row[2] as bigint),
            rows: Number(row[0]),
            bytes,
            columnStats,
            createdAtMs: Date.now(),
            ...(split ? { jsonShapes: split.shapes } : {}),
          });
        }
      } finally {
        if (splitTable !== null) await conn.run(`DROP TABLE IF EXISTS ${quoteIdent(splitTable)}`);
        conn.closeSync();
      }
    }
    crashpoint('flush.after-parquet-before-catalog');
    const idem = t.idempotency.map((k) => ({ org: s.org, ...k }));
    await catalog.commitFlush(s.org, s.type, s.name, files, t.lastSeq, idem);
    return this.committed(s, t, files, started);
  }

  /** After the commit of a table's files: the stream's flushed seq, the memtable, the WAL. */
  private async committed(
    s: StreamState,
    t: MemTable,
    files: FileRow[],
    started: number,
  ): Promise<{ files: number; rows: number }> {
    const { log, metrics } = this.deps;
    s.flushedSeq = Math.max(s.flushedSeq, t.lastSeq);
    crashpoint('flush.after-catalog-before-wal-truncate');
    await s.mem.release(t);
    const seconds = (performance.now() - started) / 1000;
    metrics.flushes.inc({ signal: s.type });
    metrics.flushedRows.inc({ signal: s.type }, t.rows);
    metrics.flushedBytes.inc(
      { signal: s.type },
      files.reduce((n, f) => n + f.bytes, 0),
    );
    metrics.flushedFiles.inc({ signal: s.type }, files.length);
    metrics.flushDuration.observe(seconds, { signal: s.type });
    if (t.bytes > 0 && seconds > 0) this.flushRate = 0.7 * this.flushRate + 0.3 * (t.bytes / seconds);
    log.debug({ stream: s.name, type: s.type, files: files.length, rows: t.rows }, 'flushed memtable');
    await this.deps.onCommitted(this.flushedBelow());
    return { files: files.length, rows: t.rows };
  }

  /**
   * The lowest seq that may not be in a committed file. With rows in some memtable, the lowest
   * seq they hold. With every memtable empty, one past the highest flushed seq — never "all of
   * the WAL": a group of records can be written and fsynced but not yet applied to a memtable
   * right now, and it is acknowledged as soon as it is; a bound read later from the WAL (its next
   * seq) would cover those records while only a memtable holds them.
   */
  private flushedBelow(): number {
    const min = this.deps.streams.minUnflushedSeq();
    if (Number.isFinite(min)) return min;
    let maxFlushed = 0;
    for (const s of this.deps.streams.list(null)) maxFlushed = Math.max(maxFlushed, s.flushedSeq);
    return maxFlushed + 1;
  }

  async flushAll(): Promise<void> {
    for (const s of this.deps.streams.list(null)) await this.flushStream(s);
  }

  /** FlushBacklog: seconds to flush `heldBytes` at the measured rate, 1 … 30. */
  drainSeconds(heldBytes: number): number {
    return Math.min(MAX_RETRY_AFTER_S, Math.max(1, Math.ceil(heldBytes / this.flushRate)));
  }

  /**
   * FlushBacklog: a refusal runs the policy now (memory pressure), not at the next tick — at most
   * four times per check interval, so that a flush failing over and over (disk full) under a flood
   * of refusals is not retried in a busy loop.
   */
  onRefused(): void {
    const now = Date.now();
    if (now - this.lastPressureCheckMs < this.deps.policy.checkIntervalMs / 4) return;
    this.lastPressureCheckMs = now;
    void this.check();
  }

  /**
   * The policy. A stream is flushed when its active memtable reaches `maxRows` or `maxBytes`, when
   * its oldest row is `maxAgeMs` old, when it has frozen tables left by a failed flush, and, under
   * memory pressure (all memtables, frozen ones included, above `maxTotalBytes`), largest first
   * (the oldest first among equals) until the total is back under the limit.
   */
  async check(): Promise<void> {
    if (this.checking) {
      this.recheck = true;
      return;
    }
    this.checking = true;
    try {
      do {
        this.recheck = false;
        await this.checkOnce();
      } while (this.recheck);
    } catch (e) {
      this.deps.log.error({ err: e }, 'flush failed; will retry');
    } finally {
      this.checking = false;
    }
  }

  private async checkOnce(): Promise<void> {
    const { policy } = this.deps;
    const now = Date.now();
    const all = this.deps.streams.list(null);
    let total = 0;
    for (const s of all) total += heldBytes(s);
    const order = [...all].sort(
      (a, b) =>
        b.mem.active.bytes - a.mem.active.bytes ||
        (a.mem.active.firstAppendMs || Infinity) - (b.mem.active.firstAppendMs || Infinity),
    );
    for (const s of order) {
      const a = s.mem.active;
      const due =
        a.rows >= policy.maxRows ||
        a.bytes >= policy.maxBytes ||
        (a.firstAppendMs > 0 && now - a.firstAppendMs >= policy.maxAgeMs) ||
        (total > policy.maxTotalBytes && a.bytes > 0) ||
        s.mem.frozen.some((f) => !f.dropWhenUnused);
      if (!due) continue;
      total -= a.bytes;
      await this.flushStream(s);
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.check(), this.deps.policy.checkIntervalMs);
    this.timer.unref();
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** Removes a directory and what it holds; returns how many files it held. */
async function removeTree(dir: string): Promise<number> {
  let files: number;
  try {
    const entries = await readdir(dir, { withFileTypes: true, recursive: true });
    files = entries.filter((e) => !e.isDirectory()).length;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
  await rm(dir, { recursive: true, force: true });
  return files;
}

/** At start: remove staging leftovers and Parquet files that no catalog row names. */
export async function removeOrphans(
  store: ObjectStore,
  catalog: Catalog,
  orgs: string[],
  log: Logger,
): Promise<number> {
  const known = await catalog.listAllFileKeys();
  let removed = 0;
  for (const org of orgs) {
    // scratch files are local with every store (under the store, or the S3 store's cache dir)
    removed += await removeTree(store.stagingDir(org));
    for (const key of await store.list(org)) {
      if (key.split('/')[1] === '_staging') continue; // removed above
      if (key.endsWith('.parquet') && !known.has(key)) {
        log.warn(
          { key },
          'removing a Parquet file that no catalog row names (left by a crash before commit)',
        );
        await store.delete(key);
        removed++;
      } else if (key.endsWith('.parquet.bloom') && !known.has(key.slice(0, -'.bloom'.length))) {
        await store.delete(key); // the token filter of a file that was never committed
        removed++;
      }
    }
  }
  return removed;
}
