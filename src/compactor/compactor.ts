/**
 * The compactor: per stream, retention (rows older than the stream's retention leave the files),
 * then merges of the small files of each hour bucket into large ones; replaced objects are deleted
 * after `compactor.deleteGraceMs`. Order of effects of every change (each a crash point):
 *   1. new objects are written and put into the store (not named by the catalog: an orphan if we
 *      stop here, removed at the next start),
 *   2. one catalog transaction (`replaceFiles`): the old rows go, the new ones come, the old
 *      objects are recorded in `pending_deletes` — readers list the old files or the new, never
 *      both or neither,
 *   3. after the grace period the old objects are deleted, then their pending rows (a restart
 *      resumes the rows left).
 * Files written from a memtable that a running query still pins are not touched: that query reads
 * the memtable's rows and leaves those file ids out (stream-relation.ts); a merged file carries
 * new ids, so it would be read twice.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Catalog, FileRow, PendingDeleteRow, StreamType } from '../catalog/catalog.ts';
import { crashpoint, type CrashpointName } from '../lib/crashpoint.ts';
import { MoleError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { ServerMetrics } from '../lib/metrics.ts';
import { Mutex } from '../lib/mutex.ts';
import type { Flusher } from '../memtable/flush.ts';
import { quoteIdent } from '../memtable/memtable.ts';
import type { EnginePool } from '../memtable/org-engine.ts';
import { HOUR_NS } from '../storage/key-layout.ts';
import { withReadLease, type ObjectStore } from '../storage/object-store.ts';
import { tokenFilterKey } from '../storage/token-filter.ts';
import type { OrgId } from '../tenancy/org-id.ts';
import type { StreamRegistry, StreamState } from '../write/streams.ts';
import { filesRelation, idTimeMs, rewriteFiles, samplesRelation } from './rewrite.ts';

export interface CompactorConfig {
  enabled: boolean;
  intervalMs: number;
  minFileAgeSeconds: number;
  targetFileBytes: number;
  deleteGraceMs: number;
}

export interface StreamFilter {
  org?: OrgId;
  type?: StreamType;
  stream?: string;
}

export interface MergeReport {
  type: StreamType;
  stream: string;
  /** hour bucket start, RFC 3339 */
  bucket: string;
  input_files: number;
  rows: number;
  bytes: number;
  output_files: number;
  output_bytes: number;
}

export interface RemovalReport {
  type: StreamType;
  stream: string;
  /** files whose every row goes */
  files_dropped: number;
  /** files rewritten without the removed rows */
  files_rewritten: number;
  rows: number;
  /** stored bytes of the dropped files plus the removed rows' share of each rewritten file */
  bytes: number;
}

export interface CycleReport {
  dry_run: boolean;
  merged: MergeReport[];
  retention: (RemovalReport & { retention_days: number; cutoff: string })[];
  /** objects deleted from the store in this cycle (their grace period was over) */
  deleted_objects: number;
  /** objects replaced or dropped that wait for their grace period */
  pending_deletes: number;
  /** streams whose retention or merges failed in this cycle (the others went on) */
  errors: { type: StreamType; stream: string; step: string; error: string }[];
}

/** What a delete removes: rows of `[startNs, endNs)` that also match `where` (SQL over a file relation). */
export interface RowSelection {
  startNs: bigint | null;
  endNs: bigint | null;
  /** SQL condition over the rows of one file (see `DeleteWhere`); null: every row in the range */
  where: DeleteWhere | null;
}

/**
 * A row condition of a delete request, as SQL over the rows of one file's `relation` (with `__fi`,
 * `__frn`); it may read the file's columns (label mapping) or set up a view on `conn`.
 */
export interface DeleteWhere {
  sqlFor(conn: DuckDBConnection, relation: string): Promise<string>;
}

type Kind = 'compact' | 'retention' | 'delete';
const cp = (kind: Kind, step: 'after-rename' | 'after-commit' | 'mid-delete') =>
  crashpoint(`${kind}.${step}` as CrashpointName);

const DAY_MS = 86_400_000;
/** merged files of at least this share of the target are not merged again */
const LARGE_SHARE = 0.8;
const MAX_FILES_PER_MERGE = 2000;
const hourIso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString().replace('.000Z', 'Z');
const floorHour = (ns: bigint) => ns - (((ns % HOUR_NS) + HOUR_NS) % HOUR_NS);

export class Compactor {
  private readonly locks = new Map<StreamState, Mutex>();
  private readonly cycleLock = new Mutex();
  private timer: NodeJS.Timeout | null = null;
  private current: Promise<unknown> | null = null;
  private stopped = false;

  constructor(
    private readonly deps: {
      catalog: Catalog;
      store: ObjectStore;
      engines: EnginePool;
      streams: StreamRegistry;
      flusher: Flusher;
      metrics: ServerMetrics;
      log: Logger;
      config: CompactorConfig;
      /** called with keys of objects that are no longer catalogued (caches drop them) */
      onFilesGone?: (keys: readonly string[]) => void;
    },
  ) {}

  private lockOf(s: StreamState): Mutex {
    let m = this.locks.get(s);
    if (!m) this.locks.set(s, (m = new Mutex()));
    return m;
  }

  /** One cycle: retention, pending deletes, merges. `force`: every bucket with 2+ small files. */
  runCycle(filter: StreamFilter, opts: { force: boolean; dryRun?: boolean }): Promise<CycleReport> {
    const run = this.cycleLock.run(() => this.cycle(filter, opts.force, opts.dryRun ?? false));
    this.current = run.catch(() => undefined);
    return run;
  }

  private streamsOf(filter: StreamFilter): StreamState[] {
    return this.deps.streams
      .list(filter.org ?? null)
      .filter(
        (s) => (!filter.type || s.type === filter.type) && (!filter.stream || s.name === filter.stream),
      );
  }

  private async cycle(filter: StreamFilter, force: boolean, dryRun: boolean): Promise<CycleReport> {
    const { metrics } = this.deps;
    const started = performance.now();
    const report: CycleReport = {
      dry_run: dryRun,
      merged: [],
      retention: [],
      deleted_objects: 0,
      pending_deletes: 0,
      errors: [],
    };
    // one stream's failure (a damaged file, a full disk) does not stop the others
    const each = async (list: StreamState[], step: string, f: (s: StreamState) => Promise<void>) => {
      for (const s of list) {
        try {
          await this.lockOf(s).run(() => f(s));
        } catch (e) {
          this.deps.log.error(
            { err: e, stream: s.name, type: s.type },
            `compactor ${step} failed; will retry`,
          );
          report.errors.push({ type: s.type, stream: s.name, step, error: (e as Error).message });
        }
      }
    };
    try {
      const list = this.streamsOf(filter);
      await each(list, 'retention', async (s) => {
        const r = await this.retention(s, dryRun);
        if (r) report.retention.push(r);
      });
      if (!dryRun) report.deleted_objects += await this.deletePending('retention');
      await each(list, 'merge', async (s) => {
        report.merged.push(...(await this.merge(s, force, dryRun)));
      });
      if (!dryRun) report.deleted_objects += await this.deletePending('compact');
      report.pending_deletes = (await this.deps.catalog.listPendingDeletes(null)).length;
      metrics.compactorCycles.inc({ outcome: report.errors.length === 0 ? 'ok' : 'error' });
      return report;
    } catch (e) {
      metrics.compactorCycles.inc({ outcome: 'error' });
      throw e;
    } finally {
      metrics.compactorSeconds.inc({}, (performance.now() - started) / 1000);
    }
  }

  /** Ids of files a running query reads from a pinned memtable instead (see the file comment). */
  private busyIds(s: StreamState): Set<string> {
    const ids = new Set<string>();
    for (const t of s.mem.frozen) for (const id of t.pendingFileIds) ids.add(id);
    return ids;
  }

  // ---- merges

  private async merge(s: StreamState, force: boolean, dryRun: boolean): Promise<MergeReport[]> {
    const { catalog, config, log, metrics } = this.deps;
    const files = await catalog.listFiles(s.org, s.type, s.name, null, null);
    const busy = this.busyIds(s);
    const buckets = new Map<string, FileRow[]>();
    for (const f of files) {
      const dir = f.key.slice(0, f.key.lastIndexOf('/'));
      let list = buckets.get(dir);
      if (!list) buckets.set(dir, (list = []));
      list.push(f);
    }
    const out: MergeReport[] = [];
    const now = Date.now();
    for (const all of buckets.values()) {
      if (!force && now - Math.max(...all.map((f) => f.createdAtMs)) < config.minFileAgeSeconds * 1000)
        continue;
      const inputs = all
        .filter((f) => f.bytes < config.targetFileBytes * LARGE_SHARE && !busy.has(f.id))
        .sort((a, b) => (a.key < b.key ? -1 : 1))
        .slice(0, MAX_FILES_PER_MERGE);
      if (inputs.length < 2) continue;
      const hourStartNs = floorHour(inputs[0]!.minTs);
      const report: MergeReport = {
        type: s.type,
        stream: s.name,
        bucket: hourIso(hourStartNs),
        input_files: inputs.length,
        rows: inputs.reduce((n, f) => n + f.rows, 0),
        bytes: inputs.reduce((n, f) => n + f.bytes, 0),
        output_files: 0,
        output_bytes: 0,
      };
      if (dryRun) {
        out.push(report);
        continue;
      }
      const written = await this.withConn(s.org, (conn) =>
        rewriteFiles(
          { store: this.deps.store, conn },
          {
            stream: s,
            files: inputs,
            hourStartNs,
            keep: '',
            targetFileBytes: config.targetFileBytes,
            idTimeMs: Math.max(...inputs.map((f) => idTimeMs(f.id))),
          },
        ),
      );
      const rows = written.reduce((n, f) => n + f.rows, 0);
      if (rows !== report.rows) {
        await this.discard(s, written);
        throw new Error(
          `compaction of ${s.type} stream ${s.name} bucket ${report.bucket} wrote ${rows} rows from ${report.rows}; nothing was replaced`,
        );
      }
      if (!(await this.swap(s, 'compact', inputs, written))) continue;
      report.output_files = written.length;
      report.output_bytes = written.reduce((n, f) => n + f.bytes, 0);
      metrics.compactions.inc({ signal: s.type });
      metrics.compactedFiles.inc({ signal: s.type }, inputs.length);
      metrics.compactedBytes.inc({ signal: s.type }, report.bytes);
      metrics.compactionOutputFiles.inc({ signal: s.type }, written.length);
      log.info(
        {
          stream: s.name,
          type: s.type,
          bucket: report.bucket,
          inputs: inputs.length,
          outputs: written.length,
        },
        'compacted bucket',
      );
      out.push(report);
    }
    return out;
  }

  /** Steps 2 of the file comment; false (and the new objects removed) when another swap won. */
  private async swap(
    s: StreamState,
    kind: Kind,
    old: readonly FileRow[],
    written: FileRow[],
  ): Promise<boolean> {
    const { catalog, config } = this.deps;
    cp(kind, 'after-rename');
    const dueAtMs = Date.now() + config.deleteGraceMs;
    const pending: PendingDeleteRow[] = old.flatMap((f) => [
      { key: f.key, org: s.org, dueAtMs },
      ...(s.type === 'logs' ? [{ key: tokenFilterKey(f.key), org: s.org, dueAtMs }] : []),
    ]);
    const ok = await catalog.replaceFiles(
      s.org,
      s.type,
      s.name,
      old.map((f) => f.key),
      written,
      pending,
    );
    if (!ok) {
      this.deps.log.warn(
        { stream: s.name, type: s.type },
        'files changed during a rewrite; dropped its output',
      );
      await this.discard(s, written);
      return false;
    }
    cp(kind, 'after-commit');
    this.deps.onFilesGone?.(old.map((f) => f.key));
    return true;
  }

  private async discard(s: StreamState, written: readonly FileRow[]): Promise<void> {
    for (const f of written) {
      await this.deps.store.delete(f.key);
      if (s.type === 'logs') await this.deps.store.delete(tokenFilterKey(f.key));
    }
  }

  private async withConn<T>(org: OrgId, f: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    const conn = await (await this.deps.engines.get(org)).connect();
    try {
      return await f(conn);
    } finally {
      conn.closeSync();
    }
  }

  // ---- pending deletes

  /**
   * Deletes the objects whose grace period is over (all when `deleteGraceMs` is 0). An object the
   * catalog names (or the token filter of one) is never deleted: its pending row is dropped.
   */
  async deletePending(kind: Kind): Promise<number> {
    const { catalog, store, metrics, onFilesGone, log } = this.deps;
    const due = await catalog.listPendingDeletes(Date.now());
    const live = due.length > 0 ? await catalog.listAllFileKeys() : new Set<string>();
    const deleted: string[] = [];
    for (const p of due) {
      if (live.has(p.key) || live.has(p.key.replace(/\.bloom$/, ''))) {
        log.error({ key: p.key }, 'a pending delete names a catalogued file; the file is kept');
        await catalog.removePendingDeletes([p.key]);
        continue;
      }
      await store.delete(p.key);
      cp(kind, 'mid-delete');
      await catalog.removePendingDeletes([p.key]);
      metrics.compactorDeletedObjects.inc();
      deleted.push(p.key);
    }
    // a query that listed a file before the swap may have cached its samples after it
    if (deleted.length > 0) onFilesGone?.(deleted);
    return deleted.length;
  }

  // ---- retention and deletes

  /** The retention of a stream in days: its own, else its org's default; 0 = keep forever. */
  async retentionDays(s: StreamState): Promise<number> {
    if (s.settings.retentionDays > 0) return s.settings.retentionDays;
    return (await this.deps.catalog.getOrgSettings(s.org)).defaultRetentionDays ?? 0;
  }

  private async retention(
    s: StreamState,
    dryRun: boolean,
  ): Promise<(RemovalReport & { retention_days: number; cutoff: string }) | null> {
    const days = await this.retentionDays(s);
    if (days <= 0) return null;
    const cutoffNs = BigInt(Date.now() - days * DAY_MS) * 1_000_000n;
    // rows older than the cutoff still in memtables go with the files: flushed first (in a dry
    // run too, so that it counts what the real run removes)
    if ((await this.memtableRowsBefore(s, cutoffNs)) > 0) {
      await this.deps.flusher.flushStream(s);
      await this.waitUnpinned(s);
    }
    const r = await this.removeRows(s, { startNs: null, endNs: cutoffNs, where: null }, dryRun, 'retention');
    if (!dryRun) this.deps.metrics.retentionDeletedRows.inc({ signal: s.type }, r.rows);
    if (r.rows === 0 && r.files_dropped === 0) return null;
    return { ...r, retention_days: days, cutoff: new Date(Number(cutoffNs / 1_000_000n)).toISOString() };
  }

  private async memtableRowsBefore(s: StreamState, ns: bigint): Promise<number> {
    const tables = s.mem.pin();
    try {
      return await this.withConn(s.org, async (conn) => {
        let n = 0;
        for (const t of tables) {
          if (t.rows === 0 || t.dropWhenUnused) continue;
          const r = await conn.runAndReadAll(
            `SELECT count(*) FROM ${quoteIdent(t.name)} WHERE _timestamp < ${ns}`,
          );
          n += Number(r.getRows()[0]![0]);
        }
        return n;
      });
    } finally {
      await s.mem.unpin(tables);
    }
  }

  /**
   * A delete request on one stream: its memtables are flushed, then the selected rows leave the
   * files (or, with `dryRun`, are only counted: the same count a real run removes when nothing is
   * ingested in between).
   */
  deleteRows(s: StreamState, sel: RowSelection, dryRun: boolean): Promise<RemovalReport> {
    return this.lockOf(s).run(async () => {
      await this.deps.flusher.flushStream(s);
      await this.waitUnpinned(s);
      const r = await this.removeRows(s, sel, dryRun, 'delete');
      if (dryRun) return r;
      this.deps.metrics.deleteRequestRows.inc({ signal: s.type }, r.rows);
      await this.deletePending('delete');
      return r;
    });
  }

  /** Waits (up to 30 s) until no running query pins a flushed memtable of the stream. */
  private async waitUnpinned(s: StreamState): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (this.busyIds(s).size > 0) {
      if (Date.now() > deadline)
        throw new MoleError('queries on this stream keep running; retry the delete when they are done', {
          code: 'MS_ERR_BUSY',
          status: 503,
          reason: 'unavailable',
          retryable: true,
        });
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async removeRows(
    s: StreamState,
    sel: RowSelection,
    dryRun: boolean,
    kind: Kind,
  ): Promise<RemovalReport> {
    const { catalog, store, config } = this.deps;
    const report: RemovalReport = {
      type: s.type,
      stream: s.name,
      files_dropped: 0,
      files_rewritten: 0,
      rows: 0,
      bytes: 0,
    };
    const busy = this.busyIds(s);
    const files = (
      await catalog.listFiles(s.org, s.type, s.name, sel.startNs, sel.endNs === null ? null : sel.endNs - 1n)
    ).filter((f) => !busy.has(f.id));
    const range: string[] = [];
    if (sel.startNs !== null) range.push(`_timestamp >= ${sel.startNs}`);
    if (sel.endNs !== null) range.push(`_timestamp < ${sel.endNs}`);
    const dropped: FileRow[] = [];
    const rewritten: FileRow[] = [];
    const written: FileRow[] = [];
    try {
      // one read lease: a file's disk-cache copy (S3) stays while it is counted and rewritten
      await this.withConn(s.org, (conn) =>
        withReadLease(async () => {
          for (const f of files) {
            const inRange =
              (sel.startNs === null || f.minTs >= sel.startNs) && (sel.endNs === null || f.maxTs < sel.endNs);
            if (inRange && sel.where === null) {
              dropped.push(f);
              report.rows += f.rows;
              report.bytes += f.bytes;
              continue;
            }
            const path = await store.readablePath(f.key);
            const relation = s.type === 'metrics' ? samplesRelation([path]) : filesRelation([path], [f]);
            const whereSql = sel.where ? await sel.where.sqlFor(conn, relation) : null;
            const cond = `COALESCE((${[...range, ...(whereSql ? [`(${whereSql})`] : [])].join(' AND ') || 'true'}), false)`;
            const n = Number(
              (await conn.runAndReadAll(`SELECT count(*) FROM (${relation}) WHERE ${cond}`)).getRows()[0]![0],
            );
            if (n === 0) continue;
            report.rows += n;
            if (n >= f.rows) {
              dropped.push(f);
              report.bytes += f.bytes;
              continue;
            }
            report.bytes += Math.round((f.bytes * n) / f.rows);
            rewritten.push(f);
            if (dryRun) continue;
            const out = await rewriteFiles(
              { store, conn },
              {
                stream: s,
                files: [f],
                hourStartNs: floorHour(f.minTs),
                keep: `NOT ${cond}`,
                targetFileBytes: config.targetFileBytes,
                idTimeMs: idTimeMs(f.id),
              },
            );
            const kept = out.reduce((k, o) => k + o.rows, 0);
            if (kept !== f.rows - n) {
              await this.discard(s, out);
              throw new Error(
                `rewrite of ${f.key} kept ${kept} of ${f.rows} rows, expected ${f.rows - n}; nothing changed`,
              );
            }
            written.push(...out);
          }
        }),
      );
    } catch (e) {
      await this.discard(s, written); // uploaded, never committed
      throw e;
    }
    report.files_dropped = dropped.length;
    report.files_rewritten = rewritten.length;
    if (dryRun || dropped.length + rewritten.length === 0) return report;
    if (!(await this.swap(s, kind, [...dropped, ...rewritten], written)))
      throw new MoleError('the files of this stream changed meanwhile; nothing was removed, retry', {
        code: 'MS_ERR_CONFLICT',
        status: 409,
        reason: 'conflict',
        retryable: true,
      });
    return report;
  }

  // ---- background loop

  start(): void {
    if (!this.deps.config.enabled) return;
    const tick = () => {
      if (this.stopped) return;
      this.runCycle({}, { force: false })
        .catch((e: unknown) => this.deps.log.error({ err: e }, 'compactor cycle failed; will retry'))
        .finally(() => {
          if (this.stopped) return;
          this.timer = setTimeout(tick, this.deps.config.intervalMs);
          this.timer.unref();
        });
    };
    // the first cycle also resumes deletes left by a previous run
    this.timer = setTimeout(tick, Math.min(this.deps.config.intervalMs, 1000));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.current;
  }
}
