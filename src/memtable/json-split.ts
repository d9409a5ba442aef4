/**
 * The flush's half of JSON lines stored as columns (storage/json-columns.ts): the bodies of a
 * logs memtable are read once, each flat JSON object line is split into its shape and values, and
 * the values go into a side table keyed by the memtable's rowid. The flush then writes each file
 * from the memtable joined with that table: split rows with body NULL, `_json_shape` and their
 * `"json.<key>"` columns; every other row as it is.
 */
import {
  BIGINT,
  DuckDBDataChunk,
  VARCHAR,
  type DuckDBConnection,
  type DuckDBListValue,
} from '@duckdb/node-api';
import { FlatJsonSplitter, jsonColumn, parseShape, SHAPE_COLUMN } from '../storage/json-columns.ts';
import { fillChunk, type ChunkColumnKind } from './chunk-writer.ts';
import { quoteIdent } from './memtable.ts';

/** Per flushed table, at most this many `json.*` columns and shapes (further lines keep their body). */
export const MAX_JSON_COLUMNS = 64;
export const MAX_JSON_SHAPES = 128;
const CHUNK_ROWS = 2048;

let enabled = true;

/** `logs.jsonColumns`: whether flushes split JSON lines into columns. */
export function configureJsonColumns(on: boolean): void {
  enabled = on;
}
export const jsonColumnsEnabled = (): boolean => enabled;

export interface JsonSplit {
  /** the side table: `__rid` (memtable rowid), `__si` (index into `shapes`), `__vals` (values joined by \x01) */
  table: string;
  shapes: string[];
  rows: number;
}

/** Joins a row's values in `__vals`: no value holds a control character (json-columns.ts). */
const SEP = '\u0001';

/** Rows read per group: one string of their bodies and their lengths (one decode, not one per row). */
const READ_GROUP_ROWS = 2048;

/**
 * Calls `fn(rowid, body)` for every row of the memtable with a body. The bodies come in groups of
 * consecutive rowids as one string and their UTF-8 lengths: decoding one long string costs far
 * less than one per row. A group whose rowids are not consecutive (not expected: memtables are
 * only appended to) is left out, so its rows keep their bodies.
 */
async function forEachBody(
  conn: DuckDBConnection,
  memtable: string,
  fn: (rowid: number, body: string) => void,
): Promise<void> {
  const result = await conn.stream(
    `SELECT min(rowid)::DOUBLE, (max(rowid) - min(rowid) + 1 = count(*))::BOOLEAN, string_agg(body, '' ORDER BY rowid), list(strlen(body)::INTEGER ORDER BY rowid)` +
      ` FROM ${quoteIdent(memtable)} GROUP BY rowid // ${READ_GROUP_ROWS}`,
  );
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const firsts = chunk.getColumnValues(0) as number[];
    const dense = chunk.getColumnValues(1) as boolean[];
    const texts = chunk.getColumnValues(2) as (string | null)[];
    const lengths = chunk.getColumnValues(3) as DuckDBListValue[];
    for (let g = 0; g < chunk.rowCount; g++) {
      if (!dense[g]) continue;
      const text = texts[g] ?? '';
      const lens = lengths[g]!.items as (number | null)[];
      let bytes = 0;
      for (const n of lens) bytes += n ?? 0;
      // ASCII: UTF-8 lengths are string lengths; else cut the UTF-8 bytes
      const utf8 = bytes === text.length ? null : Buffer.from(text, 'utf8');
      let at = 0;
      for (let k = 0; k < lens.length; k++) {
        const n = lens[k];
        if (n === null || n === undefined) continue;
        fn(firsts[g]! + k, utf8 ? utf8.toString('utf8', at, at + n) : text.slice(at, at + n));
        at += n;
      }
    }
  }
}

/**
 * Splits the JSON lines of memtable `memtable` into side table `table`; null when no line splits
 * (the table is dropped then; else the caller drops it). A row's values go into one string (one
 * append per row, not per value); the flush's SQL splits it (`splitRowsSql`). Rows are appended
 * through `appendConn` (another connection: `conn` streams the bodies meanwhile) a chunk at a
 * time, so memory holds one chunk of values, not the table's.
 */
export async function splitJsonBodies(
  conn: DuckDBConnection,
  appendConn: DuckDBConnection,
  memtable: string,
  table: string,
): Promise<JsonSplit | null> {
  const rids = new Uint32Array(CHUNK_ROWS);
  const sis = new Uint32Array(CHUNK_ROWS);
  const vals: string[] = [];
  let rows = 0;
  const splitter = new FlatJsonSplitter(MAX_JSON_SHAPES, MAX_JSON_COLUMNS);
  const values: string[] = [];
  await conn.run(`DROP TABLE IF EXISTS ${quoteIdent(table)}`); // left by a failed flush
  await conn.run(`CREATE TABLE ${quoteIdent(table)} (__rid BIGINT, __si BIGINT, __vals VARCHAR)`);
  const appender = await appendConn.createAppender(table);
  const types = [BIGINT, BIGINT, VARCHAR];
  const kinds: ChunkColumnKind[] = ['BIGINT', 'BIGINT', 'VARCHAR'];
  const sources = [rids, sis, vals];
  const appendHeld = () => {
    if (vals.length === 0) return;
    const chunk = DuckDBDataChunk.create(types, vals.length);
    fillChunk(chunk, kinds, sources, 0, vals.length, () => {
      throw new Error('unreachable: no nested column');
    });
    appender.appendDataChunk(chunk);
    rows += vals.length;
    vals.length = 0;
  };
  try {
    await forEachBody(conn, memtable, (rowid, body) => {
      const si = splitter.split(body, values);
      if (si < 0) return;
      rids[vals.length] = rowid;
      sis[vals.length] = si;
      vals.push(values.join(SEP));
      if (vals.length === CHUNK_ROWS) appendHeld();
    });
    appendHeld();
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  if (rows === 0) {
    await conn.run(`DROP TABLE ${quoteIdent(table)}`);
    return null;
  }
  return { table, shapes: splitter.shapes, rows };
}

/**
 * The memtable's rows with the split applied, for a flush's COPY: split rows with body NULL, their
 * shape id and `"json.<key>"` columns (from the row's values by the key's place in its shape);
 * `__mrid` (the memtable rowid, for the layout's order) in place of `rowid`.
 */
export function splitRowsSql(memtable: string, split: JsonSplit): string {
  const shapes = split.shapes.map(parseShape);
  const keys = [...new Set(shapes.flatMap((s) => s.keys))];
  const columns = keys.map((k) => {
    const whens = shapes.flatMap((s, si) => {
      const at = s.keys.indexOf(k);
      return at < 0 ? [] : [`WHEN ${si} THEN __l[${at + 1}]`];
    });
    return `CASE __si ${whens.join(' ')} END AS ${quoteIdent(jsonColumn(k))}`;
  });
  const joined =
    `SELECT m.* REPLACE (CASE WHEN j.__si IS NULL THEN m.body END AS body), m.rowid AS __mrid, j.__si, string_split(j.__vals, chr(1)) AS __l` +
    ` FROM ${quoteIdent(memtable)} m LEFT JOIN ${quoteIdent(split.table)} j ON m.rowid = j.__rid`;
  return `SELECT * EXCLUDE (__si, __l), ([${shapes.map((s) => s.id).join(', ')}])[__si + 1] AS ${quoteIdent(SHAPE_COLUMN)}, ${columns.join(', ')} FROM (${joined})`;
}
