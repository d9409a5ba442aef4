/**
 * `aggregateSamples` of the storage source (engine/metric/pushdown-types.ts): the samples of
 * every logs stream's pushdown rows, aggregated per (label set, step window) in one DuckDB query
 * (sample-windows-sql.ts). Declines (null) whenever the answer could differ from the line path's:
 * a row SQL cannot prove simple, first/last samples of two streams at one timestamp, a float
 * aggregate that overflowed (Loki's running mean and interpolation may not), a sample in too many
 * windows.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import {
  READ_LINES,
  type SampleAggregationRequest,
  type WindowAggregation,
  type WindowRow,
} from './metric/pushdown-types.ts';
import type { PushdownSql } from './pushdown-sql.ts';
import { windowAggregateSql, windowsPerSample } from './sample-windows-sql.ts';

/**
 * A sample in more windows than this (range / step) is left to the line path: every copy is a
 * row in DuckDB, where the line path slides over each sample once. Quantiles keep every copy in
 * memory until their window is done (a holistic aggregate), so they get a lower bound.
 */
export const MAX_WINDOWS_PER_SAMPLE = 32;
export const MAX_WINDOWS_PER_QUANTILE_SAMPLE = 8;

export interface SamplePlan {
  conn: DuckDBConnection;
  /** the stream's rows that pass `where`, with `__s` and the pipeline's columns (pushdownRowsSql) */
  rows: string;
  sql: PushdownSql;
  /** the row's stream label values, comma-separated SQL (its label set within the logs stream) */
  stream: string;
}

/** Aggregates whose arithmetic differs from the line path's and may overflow where Loki's does not. */
const INTERPOLATED = new Set(['sum', 'avg', 'stdvar', 'quantile']);

export async function sampleWindows(
  plans: readonly SamplePlan[],
  req: SampleAggregationRequest,
): Promise<WindowAggregation | typeof READ_LINES | null> {
  const maxWindows = req.aggregate === 'quantile' ? MAX_WINDOWS_PER_QUANTILE_SAMPLE : MAX_WINDOWS_PER_SAMPLE;
  if (windowsPerSample(req) > maxWindows) return null;
  if (plans.length === 0) return { rows: [], samples: 0 };
  // one query over every logs stream's rows, its labels in the same columns by name
  const names = [...new Set(plans.flatMap((p) => p.sql.labels.map((l) => l.name)))];
  const parts = plans.map((p, i) => {
    if (p.sql.value === null) return null;
    const byName = new Map(p.sql.labels.map((l) => [l.name, l.sql]));
    const labels = names.map(
      (n, k) => `CASE WHEN __s THEN ${byName.get(n) ?? 'NULL'} END::VARCHAR AS __l${k}`,
    );
    const keep = ['__s', ...p.sql.keep].join(' AND ');
    return (
      `SELECT __s, ${labels.join(', ')}, _timestamp, __part, __row, hash(${i}, ${p.stream})::UBIGINT AS __src, ` +
      `CASE WHEN ${keep} THEN ${p.sql.value} END AS __x FROM (${p.rows})`
    );
  });
  if (parts.includes(null)) return null;
  const sql = windowAggregateSql(parts.join(' UNION ALL '), names.length, req, req.aggregate, req.quantile);
  const result = await plans[0]!.conn.runAndReadAll(sql);
  const rows: WindowRow[] = [];
  let samples = 0;
  const n = names.length;
  for (const r of result.getRows()) {
    // a row SQL cannot answer exactly: the whole request goes to the line path
    if (r[n + 1] !== true) return READ_LINES;
    const [a, , c, d] = r.slice(n + 5, n + 9);
    const value = a as number;
    if ((req.aggregate === 'first' || req.aggregate === 'last') && c !== d) return null;
    if (INTERPOLATED.has(req.aggregate) && !Number.isFinite(value)) return null;
    const labels: Record<string, string> = {};
    for (let k = 0; k < n; k++) {
      const v = r[k];
      if (typeof v === 'string') labels[names[k]!] = v;
    }
    rows.push({ labels, window: Number(r[n]), value, firstNs: r[n + 2] as bigint });
    samples += Number(r[n + 4]);
  }
  return { rows, samples };
}
