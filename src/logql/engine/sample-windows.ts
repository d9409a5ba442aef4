/**
 * `aggregateSamples` of the storage source (engine/metric/pushdown-types.ts): the samples of
 * every logs stream's pushdown rows, aggregated per (label set, bucket) in one DuckDB query and
 * combined into step windows here, or per (label set, step window) for quantiles
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
import { bucketCount, bucketWidthNs, windowAggregateSql, windowsPerSample } from './sample-windows-sql.ts';

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

/**
 * Buckets per window up to which windows are combined from buckets in JS (every aggregate but
 * quantile): one row per sample in DuckDB however many windows hold it.
 */
export const MAX_BUCKETS_PER_WINDOW = 64;
const MAX_BUCKETS = 100_000;

/** One row of the SQL answer: a (labels, window or bucket) with its aggregates. */
export interface UnitRow {
  labels: Record<string, string>;
  key: string;
  unit: number;
  firstNs: bigint;
  n: number;
  /** samples whose first unit this is */
  lines: number;
  a: number;
  b: number;
  /** first/last: the least and greatest stream at the first/last timestamp */
  tie: boolean;
}

export async function sampleWindows(
  plans: readonly SamplePlan[],
  req: SampleAggregationRequest,
): Promise<WindowAggregation | typeof READ_LINES | null> {
  const width = bucketWidthNs(req);
  const byBuckets =
    req.aggregate !== 'quantile' &&
    bucketCount(req) <= MAX_BUCKETS &&
    req.rangeNs / width <= BigInt(MAX_BUCKETS_PER_WINDOW);
  const maxWindows = req.aggregate === 'quantile' ? MAX_WINDOWS_PER_QUANTILE_SAMPLE : MAX_WINDOWS_PER_SAMPLE;
  if (!byBuckets && windowsPerSample(req) > maxWindows) return null;
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
  const sql = windowAggregateSql(
    parts.join(' UNION ALL '),
    names.length,
    req,
    req.aggregate,
    req.quantile,
    byBuckets ? 'buckets' : 'windows',
  );
  const result = await plans[0]!.conn.runAndReadAll(sql);
  const units = unitsOf(result.getRows(), names);
  if (units === READ_LINES) return READ_LINES;
  const samples = units.reduce((sum, u) => sum + u.lines, 0);
  const rows = byBuckets ? windowsOfBuckets(units, req, width) : windowsOfUnits(units, req);
  return rows === null ? null : { rows, samples };
}

/** The rows of windowAggregateSql's answer; READ_LINES when a row SQL cannot answer exactly. */
export function unitsOf(
  rows: readonly (readonly unknown[])[],
  names: readonly string[],
): UnitRow[] | typeof READ_LINES {
  const units: UnitRow[] = [];
  const n = names.length;
  for (const r of rows) {
    // a row SQL cannot answer exactly: the whole request goes to the line path
    if (r[n + 1] !== true) return READ_LINES;
    const labels: Record<string, string> = {};
    for (let k = 0; k < n; k++) {
      const v = r[k];
      if (typeof v === 'string') labels[names[k]!] = v;
    }
    units.push({
      labels,
      key: JSON.stringify(r.slice(0, n)),
      unit: Number(r[n]),
      firstNs: r[n + 2] as bigint,
      n: Number(r[n + 3]),
      lines: Number(r[n + 4]),
      a: r[n + 5] as number,
      b: r[n + 6] as number,
      tie: r[n + 7] !== r[n + 8],
    });
  }
  return units;
}

/** Rows of windows as they are; null when one cannot be answered exactly. */
function windowsOfUnits(units: UnitRow[], req: SampleAggregationRequest): WindowRow[] | null {
  const rows: WindowRow[] = [];
  for (const u of units) {
    if ((req.aggregate === 'first' || req.aggregate === 'last') && u.tie) return null;
    if (INTERPOLATED.has(req.aggregate) && !Number.isFinite(u.a)) return null;
    rows.push({ labels: u.labels, window: u.unit, value: u.a, firstNs: u.firstNs });
  }
  return rows;
}

/**
 * Each window of each label set from its buckets `[i*step/width, (i*step + range)/width)`: sums
 * added, extremes compared, the first (last) sample of the first (last) bucket with samples, the
 * variance merged with Chan's formula. Null when one cannot be answered exactly.
 */
export function windowsOfBuckets(
  units: UnitRow[],
  req: SampleAggregationRequest,
  width: bigint,
): WindowRow[] | null {
  const series = new Map<
    string,
    { labels: Record<string, string>; firstNs: bigint; byBucket: Map<number, UnitRow> }
  >();
  for (const u of units) {
    let s = series.get(u.key);
    if (s === undefined)
      series.set(u.key, (s = { labels: u.labels, firstNs: u.firstNs, byBucket: new Map() }));
    if (u.firstNs < s.firstNs) s.firstNs = u.firstNs;
    s.byBucket.set(u.unit, u);
  }
  const perStep = Number(req.stepNs / width);
  const perRange = Number(req.rangeNs / width);
  const rows: WindowRow[] = [];
  for (const s of series.values()) {
    for (let i = 0; i < req.windowCount; i++) {
      const from = i * perStep;
      let count = 0;
      let value = 0;
      let mean = 0;
      for (let k = from; k < from + perRange; k++) {
        const u = s.byBucket.get(k);
        if (u === undefined || u.n === 0) continue;
        if (req.aggregate === 'first' && count > 0) break;
        if (req.aggregate === 'last' || (req.aggregate === 'first' && count === 0)) {
          if (u.tie) return null;
          value = u.a;
        } else if (req.aggregate === 'sum' || req.aggregate === 'avg') value += u.a;
        else if (req.aggregate === 'min') value = count === 0 || u.a < value ? u.a : value;
        else if (req.aggregate === 'max') value = count === 0 || u.a > value ? u.a : value;
        else if (req.aggregate === 'stdvar') {
          // Chan et al.: value holds M2, the sum of squared deviations from the mean
          const total = count + u.n;
          const delta = u.a - mean;
          value += u.b * u.n + (delta * delta * count * u.n) / total;
          mean += (delta * u.n) / total;
        }
        count += u.n;
      }
      if (count === 0) continue;
      if (req.aggregate === 'avg') value /= count;
      else if (req.aggregate === 'stdvar') value /= count;
      if (INTERPOLATED.has(req.aggregate) && !Number.isFinite(value)) return null;
      rows.push({ labels: s.labels, window: i, value, firstNs: s.firstNs });
    }
    // the series' first sample may be in no window (range < step): it still orders the series
    rows.push({ labels: s.labels, window: -1, value: 0, firstNs: s.firstNs });
  }
  return rows;
}
