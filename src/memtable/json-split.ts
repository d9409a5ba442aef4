/**
 * The flush's half of JSON lines stored as columns (storage/json-columns.ts): the bodies of a
 * logs memtable are read once, each flat JSON object line is split into its shape and values, and
 * the values go into a side table keyed by the memtable's rowid. The flush then writes each file
 * from the memtable joined with that table: split rows with body NULL, `_json_shape` and their
 * `"json.<key>"` columns; every other row as it is.
 */
import { BIGINT, DuckDBDataChunk, VARCHAR, type DuckDBConnection } from '@duckdb/node-api';
import { jsonColumn, SHAPE_COLUMN, shapeId, shapeText, splitFlatJson } from '../storage/json-columns.ts';
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
  /** the side table: `__rid`, `_json_shape`, `"json.<key>"`… */
  table: string;
  shapes: string[];
  rows: number;
}

/**
 * Splits the JSON lines of memtable `memtable` into side table `table`; null when no line splits
 * (nothing is created then). The caller drops the table.
 */
export async function splitJsonBodies(
  conn: DuckDBConnection,
  memtable: string,
  table: string,
): Promise<JsonSplit | null> {
  const rids: bigint[] = [];
  const shapes: number[] = [];
  const texts = new Map<string, number>();
  const keyIndex = new Map<string, number>();
  /** per split row: value per key index (sparse) */
  const rowValues: (string | undefined)[][] = [];
  const result = await conn.stream(`SELECT rowid, body FROM ${quoteIdent(memtable)}`);
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const ids = chunk.getColumnValues(0) as bigint[];
    const bodies = chunk.getColumnValues(1) as (string | null)[];
    for (let i = 0; i < chunk.rowCount; i++) {
      const body = bodies[i];
      if (typeof body !== 'string') continue;
      const s = splitFlatJson(body);
      if (s === null) continue;
      const text = shapeText(s.pieces);
      let id = texts.get(text);
      if (id === undefined) {
        if (texts.size >= MAX_JSON_SHAPES) continue;
        const fresh = s.keys.filter((k) => !keyIndex.has(k)).length;
        if (keyIndex.size + fresh > MAX_JSON_COLUMNS) continue;
        for (const k of s.keys) if (!keyIndex.has(k)) keyIndex.set(k, keyIndex.size);
        id = shapeId(text);
        texts.set(text, id);
      }
      const vals = new Array<string | undefined>(keyIndex.size);
      for (let k = 0; k < s.keys.length; k++) vals[keyIndex.get(s.keys[k]!)!] = s.values[k];
      rids.push(ids[i]!);
      shapes.push(id);
      rowValues.push(vals);
    }
  }
  if (rids.length === 0) return null;
  const keys = [...keyIndex.keys()];
  const columns = [
    `__rid BIGINT`,
    `${quoteIdent(SHAPE_COLUMN)} BIGINT`,
    ...keys.map((k) => `${quoteIdent(jsonColumn(k))} VARCHAR`),
  ];
  await conn.run(`DROP TABLE IF EXISTS ${quoteIdent(table)}`); // left by a failed flush
  await conn.run(`CREATE TABLE ${quoteIdent(table)} (${columns.join(', ')})`);
  const types = [BIGINT, BIGINT, ...keys.map(() => VARCHAR)];
  const kinds: ChunkColumnKind[] = ['BIGINT', 'BIGINT', ...keys.map((): ChunkColumnKind => 'VARCHAR')];
  const sources: unknown[][] = [rids, shapes, ...keys.map((_, k) => rowValues.map((v) => v[k]))];
  const appender = await conn.createAppender(table);
  try {
    for (let start = 0; start < rids.length; start += CHUNK_ROWS) {
      const end = Math.min(rids.length, start + CHUNK_ROWS);
      const chunk = DuckDBDataChunk.create(types, end - start);
      fillChunk(chunk, kinds, sources, start, end, () => {
        throw new Error('unreachable: no nested column');
      });
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  return { table, shapes: [...texts.keys()], rows: rids.length };
}

/**
 * The memtable's rows with the split applied, for a flush's COPY: `__mrid` (the memtable rowid,
 * for the layout's order) in place of `rowid`.
 */
export function splitRowsSql(memtable: string, split: JsonSplit): string {
  return (
    `SELECT m.* REPLACE (CASE WHEN j.${quoteIdent(SHAPE_COLUMN)} IS NULL THEN m.body END AS body), m.rowid AS __mrid, j.* EXCLUDE (__rid)` +
    ` FROM ${quoteIdent(memtable)} m LEFT JOIN ${quoteIdent(split.table)} j ON m.rowid = j.__rid`
  );
}
