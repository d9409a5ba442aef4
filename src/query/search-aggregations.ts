/**
 * What one `_search` request can ask besides its page of rows, computed over the whole result of
 * its SQL in the same DuckDB session (the same views, so the same rows): a histogram of the rows
 * per time interval (`_timestamp` buckets) and the top values of fields (facets). docs/sql.md.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { badRequest } from '../lib/errors.ts';
import { toJsonSafe } from '../lib/json.ts';
import { quoteIdent } from '../memtable/memtable.ts';

export interface AggregationRequest {
  histogram?: { interval: string; intervalMs: number };
  facets?: { fields: string[]; size: number };
}

export interface HistogramResult {
  interval: string;
  buckets: { start: string; count: number }[];
}

export type FacetsResult = Record<string, { value: unknown; count: number }[]>;

export const MAX_BUCKETS = 10_000;
const MS_NS = 1_000_000n;

const need = (columns: readonly string[], name: string, what: string) => {
  if (!columns.includes(name))
    throw badRequest(
      `${what} needs the column ${JSON.stringify(name)} in the result of the SQL; the result has ${columns.map((c) => JSON.stringify(c)).join(', ')}`,
    );
};

/**
 * Rows of `sql` per `_timestamp` bucket of `intervalMs`, buckets aligned to multiples of the
 * interval since the epoch. With both bounds given, empty buckets inside them are included.
 */
export async function histogram(
  conn: DuckDBConnection,
  sql: string,
  columns: readonly string[],
  h: NonNullable<AggregationRequest['histogram']>,
  startNs: bigint | null,
  endNs: bigint | null,
): Promise<HistogramResult> {
  need(columns, '_timestamp', 'histogram');
  const iv = BigInt(h.intervalMs) * MS_NS;
  const first = startNs === null ? null : startNs - (((startNs % iv) + iv) % iv);
  if (first !== null && endNs !== null && (endNs - first + iv - 1n) / iv > BigInt(MAX_BUCKETS))
    throw badRequest(
      `histogram interval ${h.interval} makes more than ${MAX_BUCKETS} buckets over the time range; use a larger interval`,
    );
  const reader = await conn.runAndReadAll(
    `SELECT (_timestamp // ${iv}) * ${iv} AS b, count(*) AS c FROM (${sql}) AS __hist WHERE _timestamp IS NOT NULL GROUP BY 1 ORDER BY 1 LIMIT ${MAX_BUCKETS + 1}`,
  );
  const rows = reader.getRows() as [bigint, bigint][];
  if (rows.length > MAX_BUCKETS)
    throw badRequest(
      `histogram interval ${h.interval} makes more than ${MAX_BUCKETS} buckets; give start_time and end_time or use a larger interval`,
    );
  const counts = new Map(rows.map(([b, c]) => [BigInt(b), Number(c)]));
  const starts: bigint[] = [];
  if (first !== null && endNs !== null) {
    for (let b = first; b < endNs; b += iv) starts.push(b);
    // rows outside the bounds can only come from SQL that ignores them (a view reads only the range)
    for (const b of counts.keys()) if (b < first || b >= endNs) starts.push(b);
    starts.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  } else starts.push(...counts.keys());
  return {
    interval: h.interval,
    buckets: starts.map((b) => ({
      start: new Date(Number(b / MS_NS)).toISOString(),
      count: counts.get(b) ?? 0,
    })),
  };
}

/** The `size` most frequent values of each field in the result of `sql` (ties by value). */
export async function facets(
  conn: DuckDBConnection,
  sql: string,
  columns: readonly string[],
  f: NonNullable<AggregationRequest['facets']>,
): Promise<FacetsResult> {
  const out: FacetsResult = {};
  for (const field of f.fields) {
    need(columns, field, 'facets');
    const col = quoteIdent(field);
    const reader = await conn.runAndReadAll(
      `SELECT ${col} AS v, count(*) AS c FROM (${sql}) AS __facet GROUP BY 1 ORDER BY 2 DESC, 1 NULLS LAST LIMIT ${f.size}`,
    );
    out[field] = (reader.getRowsJS() as [unknown, bigint][]).map(([v, c]) => ({
      value: toJsonSafe(v),
      count: Number(c),
    }));
  }
  return out;
}
