/**
 * Read access to an org's logs for the Loki metadata endpoints: every logs stream of the org (Loki
 * has no stream names), each seen through its label columns (labels-mapping.ts), its rows for a
 * time range as SQL (memtables pinned + Parquet files, stream-relation.ts), filtered by stream
 * selectors. A stream that cannot match a selector (a label it lacks must equal a non-empty
 * value) is not read at all.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Catalog } from '../../catalog/catalog.ts';
import { MoleError } from '../../lib/errors.ts';
import { quoteIdent } from '../../memtable/memtable.ts';
import type { EnginePool } from '../../memtable/org-engine.ts';
import { matchesEmpty } from '../../promql/parser/regex.ts';
import { streamRelation, type RelationStats } from '../../query/stream-relation.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import type { OrgId } from '../../tenancy/org-id.ts';
import type { StreamRegistry, StreamState } from '../../write/streams.ts';
import type { Matcher } from '../ast.ts';
import type { LogEntry } from '../pipeline/types.ts';
import { mapLabelColumns, type LabelColumn } from '../engine/labels-mapping.ts';
import type { TimeRange } from './params.ts';

export interface LogStoreDeps {
  catalog: Catalog;
  store: ObjectStore;
  engines: EnginePool;
  streams: StreamRegistry;
  /** a read running longer is interrupted */
  timeoutMs: number;
}

/** One logs stream as LogQL sees it. */
export interface StreamView {
  stream: StreamState;
  /** stream label → SQL expression of its value (VARCHAR, NULL when absent) */
  labels: Map<string, string>;
  /** structured metadata name → SQL expression */
  metadata: Map<string, string>;
  /** `SELECT * ... WHERE <selectors>`: the stream's rows in the range that the selectors match */
  rows: string;
}

export const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** A column's value as a label: VARCHAR, NULL when absent, empty or the field's "unset" value. */
function columnExpr(c: LabelColumn, sqlType: string): string {
  const q = quoteIdent(c.column);
  const v = sqlType === 'VARCHAR' ? q : `CAST(${q} AS VARCHAR)`;
  return c.unset === '' ? `NULLIF(${v}, '')` : `NULLIF(NULLIF(${v}, ''), ${sqlString(c.unset)})`;
}

/** Label and metadata expressions of a logs stream, from its schema (the first non-empty column wins). */
export function streamColumns(s: StreamState): Pick<StreamView, 'labels' | 'metadata'> {
  const types = new Map(s.schema.columns.map((c) => [c.name, c.sqlType]));
  const mapped = mapLabelColumns(s.schema.columns.map((c) => c.name));
  const expr = (cols: LabelColumn[]) =>
    cols.length === 1
      ? columnExpr(cols[0]!, types.get(cols[0]!.column)!)
      : `coalesce(${cols.map((c) => columnExpr(c, types.get(c.column)!)).join(', ')})`;
  const labels = new Map<string, string>();
  for (const [name, cols] of mapped.stream)
    labels.set(name, expr(cols.map((column) => ({ column, label: name, kind: 'stream', unset: '' }))));
  const metadata = new Map<string, string>();
  for (const [name, cols] of mapped.metadata) metadata.set(name, expr(cols));
  return { labels, metadata };
}

/** SQL of one matcher; null when the stream lacks the label and the matcher needs a value. */
function matcherSql(labels: Map<string, string>, m: Matcher): string | null {
  const e = labels.get(m.name);
  if (e === undefined) return matchesEmpty(m) ? 'TRUE' : null;
  const v = `coalesce(${e}, '')`;
  switch (m.type) {
    case '=':
      return `${v} = ${sqlString(m.value)}`;
    case '!=':
      return `${v} <> ${sqlString(m.value)}`;
    case '=~':
      return `regexp_full_match(${v}, ${sqlString(`(?s:${m.value})`)})`;
    case '!~':
      return `NOT regexp_full_match(${v}, ${sqlString(`(?s:${m.value})`)})`;
  }
}

/** The WHERE condition of selectors (OR of ANDs) for a stream; null when none can match. */
export function selectorsSql(
  labels: Map<string, string>,
  selectors: readonly (readonly Matcher[])[] | null,
): string | null {
  if (selectors === null) return 'TRUE';
  const alternatives: string[] = [];
  for (const sel of selectors) {
    const parts: string[] = [];
    let possible = true;
    for (const m of sel) {
      const sql = matcherSql(labels, m);
      if (sql === null) {
        possible = false;
        break;
      }
      if (sql !== 'TRUE') parts.push(sql);
    }
    if (possible) alternatives.push(parts.length ? `(${parts.join(' AND ')})` : 'TRUE');
  }
  return alternatives.length === 0 ? null : alternatives.join(' OR ');
}

export type SqlRunner = (sql: string) => Promise<Record<string, unknown>[]>;

export class LogStore {
  constructor(private readonly deps: LogStoreDeps) {}

  /**
   * Calls `fn` for every logs stream of the org that the selectors (null: all streams) may match,
   * with its view over [startNs, endNs) and a runner for SQL on the org's DuckDB.
   */
  async eachStream<T>(
    org: OrgId,
    range: TimeRange,
    selectors: readonly (readonly Matcher[])[] | null,
    fn: (view: StreamView, run: SqlRunner) => Promise<T>,
  ): Promise<T[]> {
    const candidates: { s: StreamState; cols: Pick<StreamView, 'labels' | 'metadata'>; where: string }[] = [];
    for (const s of this.deps.streams.list(org)) {
      if (s.type !== 'logs') continue;
      const cols = streamColumns(s);
      const where = selectorsSql(cols.labels, selectors);
      if (where !== null) candidates.push({ s, cols, where });
    }
    if (candidates.length === 0) return [];
    const conn = await (await this.deps.engines.get(org)).connect();
    const timer = setTimeout(() => conn.interrupt(), this.deps.timeoutMs);
    const out: T[] = [];
    try {
      for (const c of candidates) {
        const tables = c.s.mem.pin();
        try {
          const stats: RelationStats = { files_scanned: 0, bytes_read: 0, memtable_rows: 0 };
          const relation = await streamRelation(this.deps, c.s, tables, range.startNs, range.endNs, stats);
          const view: StreamView = {
            stream: c.s,
            ...c.cols,
            rows: `SELECT * FROM (${relation}) AS __rows WHERE ${c.where}`,
          };
          out.push(await fn(view, (sql) => runSql(conn, sql, this.deps.timeoutMs)));
        } finally {
          await c.s.mem.unpin(tables);
        }
      }
    } finally {
      clearTimeout(timer);
      conn.closeSync();
    }
    return out;
  }
}

async function runSql(
  conn: DuckDBConnection,
  sql: string,
  timeoutMs: number,
): Promise<Record<string, unknown>[]> {
  try {
    const reader = await conn.runAndReadAll(sql);
    return reader.getRowObjectsJS();
  } catch (e) {
    const message = (e as Error).message ?? String(e);
    if (/interrupt/i.test(message))
      throw new MoleError(
        `query ran longer than query.timeoutMs=${timeoutMs} ms and was stopped; narrow the time range`,
        {
          code: 'MS_ERR_QUERY_TIMEOUT',
          status: 503,
          reason: 'query_timeout',
        },
      );
    throw new MoleError(`query failed: ${message}`, {
      code: 'MS_ERR_QUERY_FAILED',
      status: 400,
      reason: 'query_failed',
    });
  }
}

export interface ReadLinesOptions {
  /** newest first (`backward`, the default) or oldest first */
  direction?: 'forward' | 'backward';
  /** at most this many lines per logs stream read (the caller merges and cuts) */
  limit: number;
  /** only `ts` and `line` are needed: labels are left empty */
  linesOnly?: boolean;
}

/**
 * Log lines of the streams the matchers select, in [startNs, endNs), as pipeline entries
 * (stream labels and structured metadata as in LogQL), merged over the org's logs streams in
 * `direction` order and cut at `limit`.
 */
export async function readLines(
  store: LogStore,
  org: OrgId,
  range: TimeRange,
  matchers: readonly Matcher[],
  opts: ReadLinesOptions,
): Promise<LogEntry[]> {
  const backward = (opts.direction ?? 'backward') === 'backward';
  const parts = await store.eachStream(org, range, [matchers], async (view, run) => {
    const labelNames = opts.linesOnly ? [] : [...view.labels.keys()];
    const metaNames = opts.linesOnly ? [] : [...view.metadata.keys()];
    const cols = [
      '_timestamp AS __ts',
      "coalesce(body, '') AS __line",
      ...labelNames.map((n, i) => `${view.labels.get(n)!} AS ${quoteIdent(`l${i}`)}`),
      ...metaNames.map((n, i) => `${view.metadata.get(n)!} AS ${quoteIdent(`m${i}`)}`),
    ];
    const rows = await run(
      `SELECT ${cols.join(', ')} FROM (${view.rows}) ORDER BY _timestamp ${backward ? 'DESC' : 'ASC'} LIMIT ${opts.limit}`,
    );
    const streams = new Map<string, Record<string, string>>();
    const out: LogEntry[] = [];
    for (const r of rows) {
      const stream: Record<string, string> = {};
      labelNames.forEach((n, i) => {
        const v = r[`l${i}`];
        if (typeof v === 'string') stream[n] = v;
      });
      const key = JSON.stringify(stream);
      let shared = streams.get(key);
      if (!shared) streams.set(key, (shared = stream));
      const metadata: Record<string, string> = {};
      metaNames.forEach((n, i) => {
        const v = r[`m${i}`];
        if (typeof v === 'string') metadata[n] = v;
      });
      out.push({ ts: BigInt(r.__ts as bigint), line: r.__line as string, stream: shared, metadata });
    }
    return out;
  });
  const all = parts.length === 1 ? parts[0]! : parts.flat();
  if (parts.length > 1) all.sort((a, b) => (a.ts === b.ts ? 0 : a.ts < b.ts === backward ? 1 : -1));
  return all.length > opts.limit ? all.slice(0, opts.limit) : all;
}
