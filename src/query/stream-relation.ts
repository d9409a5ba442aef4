/**
 * The rows of one stream for a time range, as SQL: the Parquet files the catalog lists for the
 * range plus the stream's memtables (pinned by the caller). Files a flush has written from a
 * pinned memtable are left out, so no row is counted twice. Used by the SQL executor (as a view)
 * and by the PromQL store.
 */
import type { Catalog, FileRow } from '../catalog/catalog.ts';
import { quoteIdent, type MemTable } from '../memtable/memtable.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { StreamState } from '../write/streams.ts';

export interface RelationStats {
  files_scanned: number;
  bytes_read: number;
  memtable_rows: number;
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * The catalogued files of a stream for `[startNs, endNs)` that a query over the pinned `tables`
 * must read: files a flush has written from a pinned memtable are left out, so no row is counted
 * twice. `startNs` inclusive, `endNs` exclusive; null = unbounded.
 */
export async function relationFiles(
  deps: { catalog: Catalog },
  s: StreamState,
  tables: readonly MemTable[],
  startNs: bigint | null,
  endNs: bigint | null,
): Promise<FileRow[]> {
  const listed = await deps.catalog.listFiles(
    s.org,
    s.type,
    s.name,
    startNs,
    endNs === null ? null : endNs - 1n,
  );
  // pending ids are read after the catalog answered: a flush that commits meanwhile has its
  // files either listed and pending (left out here, its rows come from the pinned memtable)
  const pending = new Set<string>();
  for (const t of tables) for (const id of t.pendingFileIds) pending.add(id);
  return listed.filter((f) => !pending.has(f.id));
}

/** `_timestamp` bounds as a WHERE clause ('' when unbounded). */
export function timeWhere(startNs: bigint | null, endNs: bigint | null): string {
  const conds: string[] = [];
  if (startNs !== null) conds.push(`_timestamp >= ${startNs}`);
  if (endNs !== null) conds.push(`_timestamp < ${endNs}`);
  return conds.length ? ` WHERE ${conds.join(' AND ')}` : '';
}

/** The rows of pinned memtables, newest table first (it carries the full, current column list). */
export function memtableRelation(tables: readonly MemTable[], where: string): string[] {
  return [...tables].reverse().map((t) => `SELECT * FROM ${quoteIdent(t.name)}${where}`);
}

/** The rows of Parquet files, by their local paths. */
export function parquetRelation(paths: readonly string[], where: string): string {
  return `SELECT * FROM read_parquet([${paths.map(sqlString).join(', ')}], union_by_name = true)${where}`;
}

/** `startNs` inclusive, `endNs` exclusive; null = unbounded. */
export async function streamRelation(
  deps: { catalog: Catalog; store: ObjectStore },
  s: StreamState,
  tables: readonly MemTable[],
  startNs: bigint | null,
  endNs: bigint | null,
  stats: RelationStats,
): Promise<string> {
  const where = timeWhere(startNs, endNs);
  const files = await relationFiles(deps, s, tables, startNs, endNs);
  const parts = memtableRelation(tables, where);
  for (const t of tables) stats.memtable_rows += t.rows;
  if (files.length > 0) {
    parts.push(parquetRelation(files.map((f) => deps.store.localPath(f.key)), where));
    stats.files_scanned += files.length;
    stats.bytes_read += files.reduce((n, f) => n + f.bytes, 0);
  }
  return parts.join(' UNION ALL BY NAME ');
}
