/**
 * A stream's schema and its evolution rules (DESIGN.md decision 6), documented in docs/streams.md:
 * - fixed columns first, then `_attributes`, then one column per attribute in order of first arrival;
 * - an attribute is identified by its scoped key and wire type; its first type names the column
 *   after the key (`attr.code`), a later second type gets `attr.code::str` — nothing is coerced and
 *   no batch is rejected for a type change;
 * - past the stream's field limit, further fields go into the `_attributes` JSON column as
 *   `{"<key>": {"type": "<type>", "value": …}}`.
 */
import type { DynamicColumn, SignalType, ValueType } from './column-batch.ts';
import { fixedColumnsOf, type FixedColumnType } from './fixed-columns.ts';
import type { StreamFieldRow } from '../catalog/catalog.ts';

export const OVERFLOW_COLUMN = '_attributes';

export const SQL_TYPE_OF: Record<ValueType, string> = {
  str: 'VARCHAR',
  int: 'BIGINT',
  float: 'DOUBLE',
  bool: 'BOOLEAN',
  bytes: 'BLOB',
  json: 'VARCHAR',
};

const EVENTS_SQL =
  'STRUCT(time_unix_nano BIGINT, name VARCHAR, attributes VARCHAR, dropped_attributes_count INTEGER)[]';
const LINKS_SQL =
  'STRUCT(trace_id VARCHAR, span_id VARCHAR, trace_state VARCHAR, attributes VARCHAR, flags BIGINT, dropped_attributes_count INTEGER)[]';

export const fixedSqlType = (t: FixedColumnType): string =>
  t === 'EVENTS' ? EVENTS_SQL : t === 'LINKS' ? LINKS_SQL : t;

export interface ColumnDef {
  name: string;
  sqlType: string;
  /** set for attribute columns */
  valueType?: ValueType;
  fixedType?: FixedColumnType;
}

/** Where one (key, type) of a batch goes. */
export type Placement = { column: string } | 'overflow';

const fieldId = (key: string, type: ValueType) => `${key}\u0000${type}`;

export class StreamSchema {
  readonly columns: ColumnDef[] = [];
  private readonly placements = new Map<string, Placement>();
  private readonly columnNames = new Set<string>();
  private attributeColumns = 0;
  private nextPosition = 0;

  constructor(readonly signal: SignalType) {
    for (const f of fixedColumnsOf(signal))
      this.pushColumn({ name: f.name, sqlType: fixedSqlType(f.type), fixedType: f.type });
    this.pushColumn({ name: OVERFLOW_COLUMN, sqlType: 'VARCHAR' });
  }

  private pushColumn(c: ColumnDef): void {
    this.columns.push(c);
    this.columnNames.add(c.name);
  }

  placementOf(key: string, type: ValueType): Placement | undefined {
    return this.placements.get(fieldId(key, type));
  }

  /** Restores a field recorded in the catalog. */
  restore(f: StreamFieldRow): void {
    this.nextPosition = Math.max(this.nextPosition, f.position + 1);
    const type = f.valueType as ValueType;
    if (f.placement === 'overflow') {
      this.placements.set(fieldId(f.key, type), 'overflow');
      return;
    }
    this.placements.set(fieldId(f.key, type), { column: f.column });
    if (!this.columnNames.has(f.column)) {
      this.columns.push({ name: f.column, sqlType: f.sqlType, valueType: type });
      this.columnNames.add(f.column);
      this.attributeColumns++;
    }
  }

  /** Decides placements for fields not seen before; returns them (to persist) without applying. */
  plan(dynamic: readonly DynamicColumn[], maxFields: number): StreamFieldRow[] {
    const out: StreamFieldRow[] = [];
    const planned = new Map<string, StreamFieldRow>();
    let attributeColumns = this.attributeColumns;
    const names = new Set(this.columnNames);
    for (const d of dynamic) {
      const id = fieldId(d.name, d.type);
      if (this.placements.has(id) || planned.has(id)) continue;
      let row: StreamFieldRow;
      if (attributeColumns >= maxFields) {
        row = {
          column: OVERFLOW_COLUMN,
          key: d.name,
          valueType: d.type,
          sqlType: 'VARCHAR',
          placement: 'overflow',
          position: 0,
        };
      } else {
        const column = names.has(d.name) ? `${d.name}::${d.type}` : d.name;
        names.add(column);
        attributeColumns++;
        row = {
          column,
          key: d.name,
          valueType: d.type,
          sqlType: SQL_TYPE_OF[d.type],
          placement: 'column',
          position: 0,
        };
      }
      row.position = this.nextPosition + out.length;
      planned.set(id, row);
      out.push(row);
    }
    return out;
  }

  apply(rows: readonly StreamFieldRow[]): ColumnDef[] {
    const added: ColumnDef[] = [];
    for (const r of rows) {
      this.restore(r);
      if (r.placement === 'column') added.push(this.columns[this.columns.length - 1]!);
    }
    return added;
  }

  describe(): { columns: ColumnDef[]; overflow: { key: string; valueType: ValueType }[] } {
    const overflow: { key: string; valueType: ValueType }[] = [];
    for (const [id, p] of this.placements) {
      if (p !== 'overflow') continue;
      const [key = '', valueType] = id.split('\u0000');
      overflow.push({ key, valueType: valueType as ValueType });
    }
    return { columns: this.columns, overflow };
  }
}
