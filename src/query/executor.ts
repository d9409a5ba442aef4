/**
 * Runs a user's SQL for one org. The planner: validate and rewrite (sql-validator.ts), then for
 * each stream the query reads, a connection-local view over (a) the Parquet files the catalog
 * lists for the time range and (b) the stream's memtables — pinned so a concurrent flush cannot
 * drop them mid-query, and with files a flush has written from a pinned memtable left out, so no
 * row is counted twice.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Catalog, StreamType } from '../catalog/catalog.ts';
import { MoleError, badRequest } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { ServerMetrics } from '../lib/metrics.ts';
import { Semaphore } from '../lib/semaphore.ts';
import { quoteIdent, type MemTable } from '../memtable/memtable.ts';
import type { EnginePool } from '../memtable/org-engine.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { OrgId } from '../tenancy/org-id.ts';
import type { StreamRegistry, StreamState } from '../write/streams.ts';
import { validateAndRewrite } from './sql-validator.ts';
import { facets, histogram, type AggregationRequest, type FacetsResult, type HistogramResult } from './search-aggregations.ts';
import { tokenPruner } from '../storage/token-filter.ts';
import { streamRelation } from './stream-relation.ts';
import { createMetricView, createSeriesTable, isMetricRelation, SERIES_VIEW } from './metric-views.ts';
import { SAMPLES_STREAM } from '../write/fixed-columns.ts';
import type { SeriesRegistry } from '../write/series-registry.ts';

export interface SearchRequest {
  sql: string;
  /** inclusive lower bound, exclusive upper bound, ns since the epoch; null = unbounded */
  startNs: bigint | null;
  endNs: bigint | null;
  from: number;
  size: number;
  /**
   * Full-text restriction of every logs stream the SQL reads: only rows whose `body` contains each
   * of these strings (case-sensitive substrings); Parquet files whose token filters rule a string
   * out are not read (storage/token-filter.ts).
   */
  contains?: string[];
  /** computed over the whole result of the SQL (search-aggregations.ts) */
  aggregations?: AggregationRequest;
}

export interface SearchStats {
  files_scanned: number;
  bytes_read: number;
  memtable_rows: number;
  rows: number;
  took_ms: number;
}

export interface SearchResult {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  total: number;
  tookMs: number;
  stats: SearchStats;
  histogram?: HistogramResult;
  facets?: FacetsResult;
}

export interface QueryConfig {
  timeoutMs: number;
  maxSqlBytes: number;
  maxConcurrent: number;
  maxQueueMs: number;
  disableValidator: boolean;
}

export const relationName = (type: StreamType, stream: string) => `q_${type}__${stream}`;

export class QueryExecutor {
  private readonly slots: Semaphore;

  constructor(
    private readonly deps: {
      catalog: Catalog;
      engines: EnginePool;
      streams: StreamRegistry;
      store: ObjectStore;
      metrics: ServerMetrics;
      log: Logger;
      config: QueryConfig;
      registry: SeriesRegistry;
    },
  ) {
    this.slots = new Semaphore(deps.config.maxConcurrent);
  }

  /**
   * A slot of `query.maxConcurrent`, shared by every query language (SQL here, LogQL in
   * src/logql/api): waits up to `query.maxQueueMs`, then throws a retryable 503. Call the
   * returned function exactly once when the query ends.
   */
  acquireSlot(): Promise<() => void> {
    return this.slots.acquire(
      this.deps.config.maxQueueMs,
      () =>
        new MoleError(
          `too many queries are running; waited query.maxQueueMs=${this.deps.config.maxQueueMs} ms for a slot`,
          {
            code: 'MS_ERR_QUERY_QUEUE_FULL',
            status: 503,
            reason: 'query_queue_full',
            retryable: true,
          },
        ),
    );
  }

  async search(org: OrgId, req: SearchRequest): Promise<SearchResult> {
    const started = performance.now();
    const release = await this.acquireSlot();
    const engine = await this.deps.engines.get(org);
    const conn = await engine.connect();
    const pinned: { s: StreamState; tables: MemTable[] }[] = [];
    const timer = setTimeout(() => conn.interrupt(), this.deps.config.timeoutMs);
    try {
      const stats: SearchStats = { files_scanned: 0, bytes_read: 0, memtable_rows: 0, rows: 0, took_ms: 0 };
      let sql = req.sql;
      if (!this.deps.config.disableValidator) {
        const samples = this.deps.streams.get(org, 'metrics', SAMPLES_STREAM);
        const view = {
          has: (type: StreamType, name: string) =>
            type === 'metrics'
              ? isMetricRelation(this.deps.registry, org, name, samples !== undefined)
              : this.deps.streams.get(org, type, name) !== undefined,
        };
        const validated = await validateAndRewrite(conn, req.sql, view, relationName, {
          maxSqlBytes: this.deps.config.maxSqlBytes,
        });
        sql = validated.rewrittenSql;
        for (const t of validated.tables) {
          const relation = relationName(t.streamType, t.stream);
          if (t.streamType === 'metrics' && t.stream === SERIES_VIEW) {
            await createSeriesTable(conn, this.deps.registry, org, relation);
            continue;
          }
          const isMetric = t.streamType === 'metrics' && t.stream !== SAMPLES_STREAM;
          const s = isMetric ? samples : this.deps.streams.get(org, t.streamType, t.stream);
          if (!s) continue;
          const tables = s.mem.pin();
          pinned.push({ s, tables });
          if (isMetric) {
            const samplesSql = await streamRelation(this.deps, s, tables, req.startNs, req.endNs, stats);
            await createMetricView(conn, this.deps.registry, org, t.stream, relation, samplesSql);
          } else await this.createView(conn, s, tables, req, stats);
        }
      }
      if (this.deps.config.disableValidator) return await this.runUnvalidated(conn, req, stats, started);
      const paged = `SELECT * FROM (${sql}) AS __page LIMIT ${req.size} OFFSET ${req.from}`;
      const reader = await conn.runAndReadAll(paged);
      const rows = reader.getRowsJS() as unknown[][];
      let total = req.from + rows.length;
      if (rows.length === req.size || (req.from > 0 && rows.length === 0)) {
        const c = await conn.runAndReadAll(`SELECT count(*) FROM (${sql}) AS __count`);
        total = Number(c.getRows()[0]![0]);
      }
      const names = reader.columnNames();
      const agg = req.aggregations;
      const hist = agg?.histogram && (await histogram(conn, sql, names, agg.histogram, req.startNs, req.endNs));
      const top = agg?.facets && (await facets(conn, sql, names, agg.facets));
      const tookMs = Math.round(performance.now() - started);
      stats.rows = rows.length;
      stats.took_ms = tookMs;
      this.deps.metrics.queries.inc({ outcome: 'ok' });
      return {
        columns: names.map((name, i) => ({ name, type: reader.columnTypes()[i]!.toString() })),
        rows,
        total,
        tookMs,
        stats,
        ...(hist ? { histogram: hist } : {}),
        ...(top ? { facets: top } : {}),
      };
    } catch (e) {
      this.deps.metrics.queries.inc({ outcome: 'error' });
      if (e instanceof MoleError && e.reason === 'sql_rejected') {
        // audit trail of refused SQL: who and why, never the SQL text (it may hold values)
        this.deps.log.warn({ org, code: e.code, reason: e.reason }, 'SQL rejected');
      }
      if (e instanceof MoleError) throw e;
      const message = (e as Error).message ?? String(e);
      if (/interrupt/i.test(message)) {
        throw new MoleError(
          `query ran longer than query.timeoutMs=${this.deps.config.timeoutMs} ms and was stopped; narrow the time range or add filters`,
          {
            code: 'MS_ERR_QUERY_TIMEOUT',
            status: 503,
            reason: 'query_timeout',
          },
        );
      }
      throw badRequest(`query failed: ${message}`, 'MS_ERR_QUERY_FAILED', 'query_failed');
    } finally {
      clearTimeout(timer);
      conn.closeSync();
      for (const p of pinned) await p.s.mem.unpin(p.tables);
      release();
    }
  }

  /**
   * Test-only (`testing.disableSqlValidator`): the raw SQL runs on the org's sandboxed DuckDB, to
   * prove the sandbox alone holds. Still exactly one statement, run as a prepared statement, so
   * no text can close a wrapper and smuggle a second statement in.
   */
  private async runUnvalidated(
    conn: DuckDBConnection,
    req: SearchRequest,
    stats: SearchStats,
    started: number,
  ): Promise<SearchResult> {
    if (req.aggregations?.histogram || req.aggregations?.facets || req.contains?.length)
      throw badRequest('histogram, facets and contains need the SQL validator (testing.disableSqlValidator is on)');
    const extracted = await conn.extractStatements(req.sql);
    if (extracted.count !== 1)
      throw badRequest(
        `exactly one SQL statement is allowed, got ${extracted.count}`,
        'MS_ERR_SQL_FORBIDDEN',
        'sql_rejected',
      );
    const prepared = await extracted.prepare(0);
    const reader = await prepared.runAndReadUntil(req.from + req.size);
    const all = reader.getRowsJS() as unknown[][];
    const rows = all.slice(req.from, req.from + req.size);
    const tookMs = Math.round(performance.now() - started);
    stats.rows = rows.length;
    stats.took_ms = tookMs;
    return {
      columns: reader.columnNames().map((name, i) => ({ name, type: reader.columnTypes()[i]!.toString() })),
      rows,
      total: all.length,
      tookMs,
      stats,
    };
  }

  private async createView(
    conn: DuckDBConnection,
    s: StreamState,
    tables: MemTable[],
    req: SearchRequest,
    stats: SearchStats,
  ): Promise<void> {
    const needles = s.type === 'logs' && req.contains?.length ? req.contains : null;
    const prune = needles ? tokenPruner(this.deps.store, needles) : undefined;
    // each part tests the needles (a JSON line stored as columns is not rebuilt for them)
    const relation = await streamRelation(
      this.deps,
      s,
      tables,
      req.startNs,
      req.endNs,
      stats,
      prune,
      needles ?? [],
    );
    await conn.run(`CREATE TEMP VIEW ${quoteIdent(relationName(s.type, s.name))} AS ${relation}`);
  }
}
