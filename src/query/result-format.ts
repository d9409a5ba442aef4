/** Query results as JSON hits, CSV, or an Arrow IPC stream. */
import {
  Bool,
  Field,
  Float64,
  Int32,
  Int64,
  Uint64,
  Schema,
  Utf8,
  makeBuilder,
  Table,
  tableToIPC,
  type DataType,
} from 'apache-arrow';
import { toJsonSafe } from '../lib/json.ts';
import type { SearchResult } from './executor.ts';

export function toHits(r: SearchResult): Record<string, unknown>[] {
  const names = r.columns.map((c) => c.name);
  return r.rows.map((row) => {
    const o: Record<string, unknown> = {};
    names.forEach((n, i) => (o[n] = toJsonSafe(row[i])));
    return o;
  });
}

const csvCell = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  const j = toJsonSafe(v);
  const s = typeof j === 'string' ? j : JSON.stringify(j);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function toCsv(r: SearchResult): string {
  const lines = [r.columns.map((c) => csvCell(c.name)).join(',')];
  for (const row of r.rows) lines.push(row.map(csvCell).join(','));
  return lines.join('\n') + '\n';
}

function arrowType(duckType: string): DataType {
  switch (duckType) {
    case 'BIGINT':
      return new Int64();
    case 'UBIGINT':
      return new Uint64();
    case 'INTEGER':
    case 'SMALLINT':
    case 'TINYINT':
      return new Int32();
    case 'DOUBLE':
    case 'FLOAT':
      return new Float64();
    case 'BOOLEAN':
      return new Bool();
    default:
      return new Utf8();
  }
}

/** Arrow IPC stream: 64-bit ints stay Int64; nested and other types travel as JSON text. */
export function toArrowIpc(r: SearchResult): Uint8Array {
  const fields = r.columns.map((c) => new Field(c.name, arrowType(c.type), true));
  const vectors = r.columns.map((c, i) => {
    const type = fields[i]!.type;
    const b = makeBuilder({ type, nullValues: [null, undefined] });
    for (const row of r.rows) {
      const v = row[i];
      if (v === null || v === undefined) b.append(null);
      else if (type instanceof Int64 || type instanceof Uint64) b.append(BigInt(v as bigint));
      else if (type instanceof Utf8) {
        const j = toJsonSafe(v);
        b.append(typeof j === 'string' ? j : JSON.stringify(j));
      } else b.append(v);
    }
    return b.finish().toVector();
  });
  const table =
    r.columns.length === 0
      ? new Table(new Schema(fields))
      : new Table(Object.fromEntries(r.columns.map((c, i) => [c.name, vectors[i]!])));
  return tableToIPC(table, 'stream');
}
