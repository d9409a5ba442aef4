/**
 * The rows of one stream for a time range, as SQL: the Parquet files the catalog lists for the
 * range plus the stream's memtables (pinned by the caller). Files a flush has written from a
 * pinned memtable are left out, so no row is counted twice. Used by the SQL executor (as a view)
 * and by the PromQL store.
 */
import type { Catalog, FileRow } from '../catalog/catalog.ts';
import { quoteIdent, type MemTable } from '../memtable/memtable.ts';
import { readablePaths, type ObjectStore } from '../storage/object-store.ts';
import type { StreamState } from '../write/streams.ts';
import { CHAIN_WINDOW_NS, sqlDecodedSamples } from '../storage/sample-codec.ts';
import { SHAPE_COLUMN, ShapeSet } from '../storage/json-columns.ts';

export interface RelationDeps {
  catalog: Catalog;
  store: ObjectStore;
}

export interface RelationStats {
  files_scanned: number;
  bytes_read: number;
  memtable_rows: number;
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** `_timestamp` bounds as a WHERE clause ('' when unbounded); `startNs` inclusive, `endNs` exclusive. */
export const timeWhere = (startNs: bigint | null, endNs: bigint | null): string => {
  const conds: string[] = [];
  if (startNs !== null) conds.push(`_timestamp >= ${startNs}`);
  if (endNs !== null) conds.push(`_timestamp < ${endNs}`);
  return conds.length ? ` WHERE ${conds.join(' AND ')}` : '';
};

/**
 * Sample files are read from the start of the chain window that holds `startNs` on: a chain
 * (docs/format/samples.md) cut at its head would not decode.
 */
const chainStart = (startNs: bigint | null): bigint | null =>
  startNs === null ? null : startNs - (((startNs % CHAIN_WINDOW_NS) + CHAIN_WINDOW_NS) % CHAIN_WINDOW_NS);

/** The format-2 columns, typed, for a read whose files may all be format 1 (no such columns). */
const NULL_CHAIN_COLUMNS =
  'NULL::DOUBLE AS value_z0, NULL::DOUBLE AS value_z1, NULL::TINYINT AS value_scale, NULL::BOOLEAN AS value_start';
const ENCODED_COLUMNS = `SELECT ${NULL_CHAIN_COLUMNS} WHERE false`;

/** `src` of memtable rows: after every file's index */
const MEMTABLE_SRC = 2147483647;

interface StreamParts {
  tables: readonly MemTable[];
  /** local paths of the Parquet files, in the catalog's order (by min time) */
  paths: string[];
  /** the catalog rows of `paths` */
  files: FileRow[];
  /** files of which only some `_timestamp` ranges may hold wanted rows (a pruner said so) */
  ranged: { path: string; file: FileRow; ranges: [bigint, bigint][] }[];
}

/**
 * Reads of a stream's rows for a time range (every SQL view, PromQL select and LogQL read lists
 * the files first, so this counts them all); exported on /metrics.
 */
export const storageReads = { count: 0 };

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
  storageReads.count++;
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

/**
 * Drops files that cannot hold a wanted row (e.g. by their token filters) and may narrow a file to
 * `_timestamp` ranges `[start, end)` (null: the whole file); keeps the order.
 */
export type FilePruner = (
  files: FileRow[],
) => Promise<{ file: FileRow; ranges: [bigint, bigint][] | null }[]>;

async function streamParts(
  deps: RelationDeps,
  s: StreamState,
  tables: readonly MemTable[],
  startNs: bigint | null,
  endNs: bigint | null,
  stats: RelationStats,
  prune?: FilePruner,
): Promise<StreamParts> {
  const listed = await relationFiles(deps, s, tables, startNs, endNs);
  const pruned = prune ? await prune(listed) : listed.map((file) => ({ file, ranges: null }));
  for (const t of tables) stats.memtable_rows += t.rows;
  stats.files_scanned += pruned.length;
  stats.bytes_read += pruned.reduce((n, p) => n + p.file.bytes, 0);
  const local = await readablePaths(
    deps.store,
    pruned.map((p) => p.file.key),
  );
  return {
    tables,
    paths: local.filter((_, i) => pruned[i]!.ranges === null),
    files: pruned.filter((p) => p.ranges === null).map((p) => p.file),
    ranged: pruned.flatMap((p, i) =>
      p.ranges === null ? [] : [{ path: local[i]!, file: p.file, ranges: p.ranges }],
    ),
  };
}

/** The rows of Parquet files as they are stored, by their local paths. */
export function parquetRelation(paths: readonly string[], where: string): string {
  return `SELECT * FROM read_parquet([${paths.map(sqlString).join(', ')}], union_by_name = true)${where}`;
}

/** `where` (a WHERE clause or '') with more conditions ANDed. */
const andWhere = (where: string, conds: readonly string[]): string =>
  conds.length === 0 ? where : `${where ? `${where} AND` : ' WHERE'} ${conds.join(' AND ')}`;

/**
 * The rows of logs files as every reader sees them: a JSON line stored as columns has its body
 * rebuilt (storage/json-columns.ts) and its `_json_shape`/`json.*` columns are not shown.
 * `contains`: strings every line holds (tested on the stored columns, without rebuilding lines).
 */
export function logsParquetRelation(
  paths: readonly string[],
  files: readonly FileRow[],
  where: string,
  contains: readonly string[] = [],
): string {
  const shapes = ShapeSet.of(files.map((f) => f.jsonShapes));
  const filtered = andWhere(
    where,
    contains.map((n) => shapes.containsSql(n)),
  );
  if (shapes.size === 0) return parquetRelation(paths, filtered);
  const hidden = [SHAPE_COLUMN, ...shapes.columns()].map(quoteIdent).join(', ');
  return `SELECT * EXCLUDE (${hidden}) REPLACE (${shapes.bodySql()} AS body) FROM read_parquet([${paths.map(sqlString).join(', ')}], union_by_name = true)${filtered}`;
}

/** The rows of the sample files with their chain columns and file position, from the chain start. */
export function sampleFilesSql(paths: string[], startNs: bigint | null, endNs: bigint | null): string {
  const list = paths.map(sqlString).join(', ');
  return (
    `SELECT * FROM (SELECT *, file_index::BIGINT AS file_index, file_row_number FROM read_parquet([${list}], union_by_name = true)` +
    ` UNION ALL BY NAME ${ENCODED_COLUMNS})${timeWhere(chainStart(startNs), endNs)}`
  );
}

/**
 * `startNs` inclusive, `endNs` exclusive; null = unbounded. `prune` may drop files (not memtables).
 * `contains` (logs): strings every line of the relation holds.
 */
export async function streamRelation(
  deps: RelationDeps,
  s: StreamState,
  tables: readonly MemTable[],
  startNs: bigint | null,
  endNs: bigint | null,
  stats: RelationStats,
  prune?: FilePruner,
  contains: readonly string[] = [],
): Promise<string> {
  const where = timeWhere(startNs, endNs);
  const p = await streamParts(deps, s, tables, startNs, endNs, stats, prune);
  const inTables = andWhere(
    where,
    contains.map((n) => `contains(body, ${sqlString(n)})`),
  );
  // the active memtable first: it carries the stream's full, current column list
  const parts = [...p.tables].reverse().map((t) => `SELECT * FROM ${quoteIdent(t.name)}${inTables}`);
  if (p.paths.length > 0 && s.type === 'metrics') {
    parts.push(`SELECT * FROM (${sqlDecodedSamples(sampleFilesSql(p.paths, startNs, endNs))})${where}`);
  } else if (p.paths.length > 0) {
    parts.push(logsParquetRelation(p.paths, p.files, where, contains));
  }
  // one read per range: DuckDB prunes row groups on a range, not on an OR of ranges
  for (const { path, file, ranges } of s.type === 'metrics' ? [] : p.ranged) {
    for (const [a, b] of ranges) {
      const lo = startNs !== null && startNs > a ? startNs : a;
      const hi = endNs !== null && endNs < b ? endNs : b;
      if (lo < hi) parts.push(logsParquetRelation([path], [file], timeWhere(lo, hi), contains));
    }
  }
  if (parts.length === 0) return `SELECT * FROM ${quoteIdent(p.tables[0]!.name)} WHERE false`;
  return parts.join(' UNION ALL BY NAME ');
}

/**
 * The samples stream with values still encoded, for the PromQL store's reader (which decodes
 * them in JS, far faster than the SQL window): `_timestamp, series_id, value, value_z0, value_z1,
 * value_scale, value_start, stale, src, pos`. Sorting by `(series_id, src, pos)` puts each chain's
 * rows together in file order. File rows start at the chain window of `startNs`: the reader drops
 * what is before `startNs` after decoding.
 */
export async function encodedSamplesRelation(
  deps: RelationDeps,
  s: StreamState,
  tables: readonly MemTable[],
  startNs: bigint,
  endNs: bigint,
  stats: RelationStats,
): Promise<string> {
  const p = await streamParts(deps, s, tables, startNs, endNs, stats);
  const parts = p.tables.length > 0 ? [memtableSamplesRelation(p.tables, timeWhere(startNs, endNs))] : [];
  if (p.paths.length > 0) parts.push(encodedFilesRelation(p.paths, startNs, endNs));
  return parts.join(' UNION ALL BY NAME ');
}

/** Memtable samples in the shape of `encodedSamplesRelation` (values plain, no chain columns). */
export function memtableSamplesRelation(tables: readonly MemTable[], where: string): string {
  return tables
    .map(
      (t) =>
        `SELECT _timestamp, series_id, value, ${NULL_CHAIN_COLUMNS}, stale, ${MEMTABLE_SRC} AS src, _timestamp AS pos FROM ${quoteIdent(t.name)}${where}`,
    )
    .join(' UNION ALL BY NAME ');
}

/** Sample files in the shape of `encodedSamplesRelation`; whole files when the bounds are null. */
export function encodedFilesRelation(paths: string[], startNs: bigint | null, endNs: bigint | null): string {
  return `SELECT * EXCLUDE (file_index, file_row_number), file_index AS src, file_row_number AS pos FROM (${sampleFilesSql(paths, startNs, endNs)})`;
}
