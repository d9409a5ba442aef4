/**
 * SQL views of metrics, so SQL can join metrics with logs and traces (metrics issue):
 * - `metrics._samples`: the raw store (series_id, _timestamp, value, stale);
 * - `metrics._series`: one row per series (series_id, metric_name, labels as JSON text);
 * - `metrics."<metric_name>"`: `_timestamp`, `value` and one VARCHAR column per label of that
 *   metric's series (staleness markers left out).
 * Series come from the in-memory registry and are written into connection-local temp tables.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteIdent } from '../memtable/memtable.ts';
import { METRIC_NAME } from '../promql/labels.ts';
import type { OrgId } from '../tenancy/org-id.ts';
import { SAMPLES_STREAM } from '../write/fixed-columns.ts';
import type { SeriesRegistry } from '../write/series-registry.ts';

export const SERIES_VIEW = '_series';

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
const ROWS_PER_INSERT = 500;

export function isMetricRelation(
  registry: SeriesRegistry,
  org: OrgId,
  name: string,
  hasSamples: boolean,
): boolean {
  if (name === SERIES_VIEW) return true;
  if (name === SAMPLES_STREAM) return hasSamples;
  return hasSamples && registry.select(org, [{ name: METRIC_NAME, type: '=', value: name }]).length > 0;
}

async function insertRows(conn: DuckDBConnection, table: string, rows: string[]): Promise<void> {
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    await conn.run(
      `INSERT INTO ${quoteIdent(table)} VALUES ${rows.slice(i, i + ROWS_PER_INSERT).join(', ')}`,
    );
  }
}

/** `metrics._series` as a temp table named `relation`. */
export async function createSeriesTable(
  conn: DuckDBConnection,
  registry: SeriesRegistry,
  org: OrgId,
  relation: string,
): Promise<void> {
  await conn.run(
    `CREATE TEMP TABLE ${quoteIdent(relation)} (series_id BIGINT, metric_name VARCHAR, labels VARCHAR)`,
  );
  const ids = registry.select(org, [{ name: METRIC_NAME, type: '=~', value: '.+' }]);
  const rows = ids.map((id) => {
    const l = registry.labels(org, id)!;
    return `(${id}, ${lit(l.get(METRIC_NAME))}, ${lit(JSON.stringify(l.withoutName().toRecord()))})`;
  });
  await insertRows(conn, relation, rows);
}

/** `metrics."<metric>"` as a temp view named `relation` over `samplesRelation` (SQL of the samples stream). */
export async function createMetricView(
  conn: DuckDBConnection,
  registry: SeriesRegistry,
  org: OrgId,
  metric: string,
  relation: string,
  samplesRelation: string,
): Promise<void> {
  const ids = registry.select(org, [{ name: METRIC_NAME, type: '=', value: metric }]);
  const names = registry
    .labelNames(org, ids)
    .filter((n) => n !== METRIC_NAME && n !== '_timestamp' && n !== 'value');
  const labelsTable = `${relation}__labels`;
  await conn.run(
    `CREATE TEMP TABLE ${quoteIdent(labelsTable)} (series_id BIGINT${names.map((n) => `, ${quoteIdent(n)} VARCHAR`).join('')})`,
  );
  const rows = ids.map((id) => {
    const l = registry.labels(org, id)!;
    return `(${id}${names.map((n) => `, ${l.has(n) ? lit(l.get(n)) : 'NULL'}`).join('')})`;
  });
  await insertRows(conn, labelsTable, rows);
  const cols = names.map((n) => `l.${quoteIdent(n)}`).join(', ');
  await conn.run(
    `CREATE TEMP VIEW ${quoteIdent(relation)} AS SELECT s._timestamp, s.value${cols ? `, ${cols}` : ''} ` +
      `FROM (${samplesRelation}) s JOIN ${quoteIdent(labelsTable)} l ON s.series_id = l.series_id WHERE NOT s.stale`,
  );
}
