/**
 * Writes new Parquet files from committed ones: the merge of a bucket's small files, or one file
 * without the rows retention or a delete request removes. The output has the layout a flush
 * writes (flush.ts `rowLayout`: logs by resource columns then time, Parquet V2, zstd, the same
 * row-group sizes and Parquet bloom columns; traces by time; metric samples in their own codec)
 * plus a rebuilt token-filter sidecar for logs. The objects are put into the store, not
 * catalogued: the caller commits them with `Catalog.replaceFiles` (an object no row names is an
 * orphan, removed at the next start).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileRow } from '../catalog/catalog.ts';
import {
  MAX_STATS_COLUMNS,
  parquetBloomColumnsNow,
  parquetBloomOption,
  rowLayout,
  STATS_TYPES,
} from '../memtable/flush.ts';
import { quoteIdent } from '../memtable/memtable.ts';
import { parquetKey, timeOrderedId } from '../storage/key-layout.ts';
import { readablePaths, withReadLease, type ObjectStore } from '../storage/object-store.ts';
import { sqlDecodedSamples } from '../storage/sample-codec.ts';
import { writeSamplesParquet } from '../storage/sample-parquet.ts';
import { TokenFilterBuilder, tokenFilterFields, tokenFilterKey } from '../storage/token-filter.ts';
import { sampleFilesSql } from '../query/stream-relation.ts';
import { JSON_COLUMN_PREFIX, SHAPE_COLUMN, ShapeSet } from '../storage/json-columns.ts';
import type { StreamState } from '../write/streams.ts';

export const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Row position columns of a file relation: which input file (`__fi`) and which row in it (`__frn`). */
export const POSITION_COLUMNS = '__fi, __frn';

/**
 * The rows of logs or traces files with their positions; the files in arrival order (their ids are
 * time-ordered), so `(__fi, __frn)` orders rows of one timestamp as they arrived. `files`: their
 * catalog rows, for the bodies of JSON lines stored as columns (rebuilt here, so that conditions
 * see every line; storage/json-columns.ts).
 */
export function filesRelation(paths: readonly string[], files: readonly FileRow[]): string {
  const shapes = ShapeSet.of(files.map((f) => f.jsonShapes));
  const star = shapes.size > 0 ? `* REPLACE (${shapes.bodySql()} AS body)` : '*';
  return `SELECT ${star}, file_index::BIGINT AS __fi, file_row_number::BIGINT AS __frn FROM read_parquet([${paths.map(sqlString).join(', ')}], union_by_name = true)`;
}

/** The shape texts of files, each once. */
const shapesOf = (files: readonly FileRow[]): string[] => [
  ...new Set(files.flatMap((f) => f.jsonShapes ?? [])),
];

/** Decoded metric samples (`_timestamp, series_id, value, stale`) of sample files. */
export function samplesRelation(paths: readonly string[]): string {
  return sqlDecodedSamples(sampleFilesSql([...paths], null, null));
}

export interface RewriteInput {
  stream: StreamState;
  /** committed files of one hour bucket, in key order */
  files: readonly FileRow[];
  hourStartNs: bigint;
  /** SQL condition over the input rows (and `__fi`, `__frn` for logs/traces) of the rows to keep; '' = all */
  keep: string;
  targetFileBytes: number;
  /** ms of the newest input id: the new ids sort right after it, not after later flushes */
  idTimeMs: number;
}

interface Deps {
  store: ObjectStore;
  conn: DuckDBConnection;
}

/** Column stats as a flush computes them, from a relation. */
async function statsOf(
  conn: DuckDBConnection,
  relation: string,
): Promise<{ rows: number; minTs: bigint; maxTs: bigint; columnStats: FileRow['columnStats'] }> {
  const described = await conn.runAndReadAll(`DESCRIBE ${relation}`);
  const statCols = described
    .getRows()
    .map((r) => ({ name: String(r[0]), type: String(r[1]) }))
    .filter(
      (c) =>
        STATS_TYPES.has(c.type) &&
        !c.name.startsWith('__') &&
        c.name !== SHAPE_COLUMN &&
        !c.name.startsWith(JSON_COLUMN_PREFIX),
    )
    .slice(0, MAX_STATS_COLUMNS);
  const statSql = statCols
    .map(
      (c) => `, left(min(${quoteIdent(c.name)})::VARCHAR, 64), left(max(${quoteIdent(c.name)})::VARCHAR, 64)`,
    )
    .join('');
  const row = (
    await conn.runAndReadAll(`SELECT count(*), min(_timestamp), max(_timestamp)${statSql} FROM (${relation})`)
  ).getRows()[0]!;
  const columnStats: FileRow['columnStats'] = {};
  statCols.forEach((c, i) => {
    columnStats[c.name] = [row[3 + 2 * i] as string | null, row[4 + 2 * i] as string | null];
  });
  return {
    rows: Number(row[0]),
    minTs: BigInt((row[1] as bigint | null) ?? 0n),
    maxTs: BigInt((row[2] as bigint | null) ?? 0n),
    columnStats,
  };
}

/** The token-filter sidecar of a logs file, rebuilt from its rows; null when nothing is indexed. */
async function sidecarOf(
  conn: DuckDBConnection,
  path: string,
  hourStartNs: bigint,
  shapes: ShapeSet,
): Promise<Uint8Array | null> {
  const described = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(path)})`);
  const have = new Set(described.getRows().map((r) => String(r[0])));
  const fields = tokenFilterFields().filter((f) => have.has(f) && f !== '_timestamp');
  if (fields.length === 0) return null;
  const builder = new TokenFilterBuilder();
  const result = await conn.stream(
    `SELECT _timestamp, ${fields.map((f) => `${f === 'body' ? shapes.bodySql() : quoteIdent(f)}::VARCHAR`).join(', ')} FROM read_parquet(${sqlString(path)})`,
  );
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const ts = chunk.getColumnValues(0) as (bigint | null)[];
    fields.forEach((f, i) => builder.addValues(f, ts, chunk.getColumnValues(i + 1), chunk.rowCount));
  }
  return builder.sidecar(hourStartNs);
}

/**
 * Writes the kept rows of `files` as new objects (none when no row is kept) and answers their
 * catalog rows. Objects are in the store when this returns; nothing is committed.
 */
export function rewriteFiles(deps: Deps, input: RewriteInput): Promise<FileRow[]> {
  // the inputs' disk-cache copies (S3) stay pinned until the outputs are written
  return withReadLease(() => rewriteLeased(deps, input));
}

async function rewriteLeased(deps: Deps, input: RewriteInput): Promise<FileRow[]> {
  const { store, conn } = deps;
  const s = input.stream;
  const paths = await readablePaths(
    store,
    input.files.map((f) => f.key),
  );
  const stagingDir = store.stagingDir(s.org);
  await mkdir(stagingDir, { recursive: true });
  const where = input.keep ? ` WHERE ${input.keep}` : '';
  const outDir = join(stagingDir, `compact_${timeOrderedId()}`);
  const written: string[] = [];
  const shapeTexts = s.type === 'logs' ? shapesOf(input.files) : [];
  const shapes = ShapeSet.of([shapeTexts]);
  try {
    if (s.type === 'metrics') {
      // one file per bucket: the sample codec writes a single file
      const kept = `SELECT * FROM (${samplesRelation(paths)})${where}`;
      const count = Number((await conn.runAndReadAll(`SELECT count(*) FROM (${kept})`)).getRows()[0]![0]);
      if (count > 0) {
        await mkdir(outDir, { recursive: true });
        const path = join(outDir, 'data_0.parquet');
        await writeSamplesParquet(conn, kept, path, `compact_${timeOrderedId()}`);
        written.push(path);
      }
    } else {
      const relation = `SELECT * FROM (${filesRelation(paths, input.files)})${where}`;
      const described = await conn.runAndReadAll(`DESCRIBE ${relation}`);
      const columns = described.getRows().map((r) => ({ name: String(r[0]) }));
      const layout = rowLayout(s.type, columns);
      const order = layout.order.replace(/\browid$/, POSITION_COLUMNS);
      // Parquet bloom filters as a flush writes them: when a bloom column holds a value
      const names = new Set(columns.map((c) => c.name));
      const bloomCols = parquetBloomColumnsNow().filter((c) => names.has(c));
      const present = bloomCols.length
        ? (
            await conn.runAndReadAll(
              `SELECT ${bloomCols.map((c) => `min(${quoteIdent(c)})::VARCHAR`).join(', ')} FROM (${relation})`,
            )
          ).getRows()[0]!
        : [];
      const bloomStats: FileRow['columnStats'] = {};
      bloomCols.forEach((c, i) => (bloomStats[c] = [(present[i] as string | null) ?? null, null]));
      // JSON lines stored as columns stay so: the rebuilt body is stored NULL again
      const restored =
        shapes.size > 0
          ? ` REPLACE (CASE WHEN ${quoteIdent(SHAPE_COLUMN)} IS NULL THEN body END AS body)`
          : '';
      const copy = async (extra: string) => {
        await rm(outDir, { recursive: true, force: true });
        await mkdir(outDir, { recursive: true });
        await conn.run(
          `COPY (SELECT * EXCLUDE (${POSITION_COLUMNS})${restored} FROM (${relation}) ORDER BY ${order}) TO ${sqlString(outDir)} (FORMAT parquet, ${layout.options}${extra}, FILE_SIZE_BYTES ${input.targetFileBytes}, OVERWRITE_OR_IGNORE true)`,
        );
      };
      const bloom = parquetBloomOption(bloomStats, layout.rowGroupSize);
      try {
        await copy(bloom);
      } catch (e) {
        if (!bloom) throw e;
        await copy(''); // as a flush: without Parquet bloom filters rather than not at all
      }
      for (const name of (await readdir(outDir)).sort((a, b) => partNo(a) - partNo(b)))
        if (name.endsWith('.parquet')) written.push(join(outDir, name));
    }
    const out: FileRow[] = [];
    let ms = input.idTimeMs;
    try {
      for (const path of written) {
        const st =
          s.type === 'metrics'
            ? await statsOf(conn, samplesRelation([path]))
            : await statsOf(conn, `SELECT * FROM read_parquet(${sqlString(path)})`);
        if (st.rows === 0) continue;
        const id = timeOrderedId(ms++);
        const key = parquetKey(s.org, s.type, s.name, input.hourStartNs, id);
        if (s.type === 'logs') {
          const sidecar = await sidecarOf(conn, path, input.hourStartNs, shapes);
          if (sidecar) {
            const sidecarStaging = join(stagingDir, `${id}.bloom.tmp`);
            await writeFile(sidecarStaging, sidecar);
            await store.putFile(tokenFilterKey(key), sidecarStaging);
          }
        }
        const bytes = (await stat(path)).size;
        await store.putFile(key, path);
        out.push({
          id,
          org: s.org,
          type: s.type,
          stream: s.name,
          key,
          ...st,
          bytes,
          createdAtMs: Date.now(),
          ...(shapeTexts.length > 0 ? { jsonShapes: shapeTexts } : {}),
        });
      }
    } catch (e) {
      // objects already put are not named by the catalog: removed now rather than at the next start
      for (const f of out) {
        await store.delete(f.key);
        await store.delete(tokenFilterKey(f.key));
      }
      throw e;
    }
    return out;
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

const partNo = (name: string) => Number(/(\d+)\.parquet$/.exec(name)?.[1] ?? 0);

/** The ms part of a time-ordered id (key-layout.ts). */
export const idTimeMs = (id: string): number => parseInt(id.slice(0, 13), 16);
