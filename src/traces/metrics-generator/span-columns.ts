/**
 * The span fields the metrics generator reads, taken from a traces ColumnBatch (the columns every
 * trace ingest adapter fills: fixed columns plus `resource.*` / `attr.*` attribute columns).
 */
import type { ColumnBatch, FieldValue, FixedValue } from '../../write/column-batch.ts';

export interface SpanColumns {
  rowCount: number;
  traceId: (i: number) => string;
  spanId: (i: number) => string;
  parentSpanId: (i: number) => string;
  name: (i: number) => string;
  kind: (i: number) => number;
  statusCode: (i: number) => number;
  durationNs: (i: number) => number;
  endMs: (i: number) => number;
  service: (i: number) => string;
  /** a span attribute, else a resource attribute, as text ('' when absent) */
  attribute: (key: string) => (i: number) => string;
}

const text = (v: FieldValue | FixedValue | undefined): string => {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return '';
};

export function spanColumns(batch: ColumnBatch): SpanColumns {
  const fixed = (name: string) => batch.fixed[name] ?? [];
  const str = (name: string) => {
    const col = fixed(name);
    return (i: number) => text(col[i]);
  };
  const num = (name: string) => {
    const col = fixed(name);
    return (i: number) => {
      const v = col[i];
      return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : 0;
    };
  };
  /** every column of an attribute key (one per type), first non-empty value wins */
  const dynamic = (column: string) => {
    const cols = batch.dynamic.filter((c) => c.name === column || c.name.startsWith(`${column}::`));
    return (i: number) => {
      for (const c of cols) {
        const v = text(c.values[i]);
        if (v !== '') return v;
      }
      return '';
    };
  };
  const end = fixed('end_timestamp');
  return {
    rowCount: batch.rowCount,
    traceId: str('trace_id'),
    spanId: str('span_id'),
    parentSpanId: str('parent_span_id'),
    name: str('name'),
    kind: num('kind'),
    statusCode: num('status_code'),
    durationNs: num('duration_ns'),
    endMs: (i) => {
      const v = end[i];
      return typeof v === 'bigint' ? Number(v / 1_000_000n) : 0;
    },
    service: dynamic('resource.service.name'),
    attribute: (key) => {
      const span = dynamic(`attr.${key}`);
      const resource = dynamic(`resource.${key}`);
      return (i) => span(i) || resource(i);
    },
  };
}
