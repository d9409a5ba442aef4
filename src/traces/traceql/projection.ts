/**
 * The columns a trace search reads of each span: what its query and its answer use, not every
 * attribute column, event and link (decoding the columns of the row groups a chunk of traces
 * touches is most of a search's cost). A span read this way lacks every other attribute, event and
 * link: it is for matching and the search answer only (trace metadata, spans shown, the attributes
 * the query mentions, service stats), never for a trace view.
 */
import { quoteIdent } from '../../memtable/memtable.ts';
import { OVERFLOW_COLUMN } from '../../write/stream-schema.ts';
import { levelKey, type SpanStreamView } from '../span-reader.ts';
import type { FieldExpr, SpansetExpr, Stage } from './ast.ts';
import type { SearchRequest } from './search-request.ts';

/** what every search reads: ids, times, name, kind, status, and service.name (root service, stats) */
const BASE = [
  '_timestamp',
  'end_timestamp',
  'duration_ns',
  'trace_id',
  'span_id',
  'parent_span_id',
  'name',
  'kind',
  'status_code',
];
const SERVICE = levelKey('resource', 'service.name');

export interface SpanNeeds {
  /** attribute keys by `levelKey` */
  attrs: Set<string>;
  /** fixed columns beyond BASE */
  columns: Set<string>;
}

function fieldNeeds(e: FieldExpr | null | undefined, n: SpanNeeds): void {
  if (!e) return;
  switch (e.k) {
    case 'static':
      return;
    case 'unary':
      return fieldNeeds(e.e, n);
    case 'binary':
      fieldNeeds(e.l, n);
      return fieldNeeds(e.r, n);
    case 'attr':
      switch (e.scope) {
        case 'span':
          n.attrs.add(levelKey('span', e.name));
          return;
        case 'resource':
          n.attrs.add(levelKey('resource', e.name));
          return;
        case 'none':
          n.attrs.add(levelKey('span', e.name));
          n.attrs.add(levelKey('resource', e.name));
          return;
        case 'event':
          n.columns.add('events');
          return;
        case 'link':
          n.columns.add('links');
          return;
        case 'instrumentation':
          return;
      }
      return;
    case 'intrinsic':
      if (e.name === 'statusMessage') n.columns.add('status_message');
      else if (e.name === 'event:name') n.columns.add('events');
      else if (e.name.startsWith('link:')) n.columns.add('links');
      else if (e.name.startsWith('instrumentation:')) n.columns.add('scope.name').add('scope.version');
      return;
  }
}

function stageNeeds(st: Stage, n: SpanNeeds): void {
  if (st.k === 'filter') fieldNeeds(st.cond, n);
  else if (st.k === 'scalar') fieldNeeds(st.agg.e, n);
  else if (st.k === 'by') fieldNeeds(st.e, n);
  else if (st.k === 'select') for (const e of st.es) fieldNeeds(e, n);
}

function spansetNeeds(e: SpansetExpr, n: SpanNeeds): void {
  if (e.k === 'filter') fieldNeeds(e.cond, n);
  else if (e.k === 'op') {
    spansetNeeds(e.l, n);
    spansetNeeds(e.r, n);
  } else {
    spansetNeeds(e.head, n);
    for (const st of e.stages) stageNeeds(st, n);
  }
}

/** legacy tag keys that read fixed columns only */
const LEGACY_FIXED = new Set(['root.service.name', 'root.name', 'name', 'status.code']);

/** The fields a search request reads. */
export function searchNeeds(req: SearchRequest): SpanNeeds {
  const n: SpanNeeds = { attrs: new Set([SERVICE]), columns: new Set() };
  if (req.kind === 'traceql') spansetNeeds(req.query!.root, n);
  else
    for (const [k] of req.tags) {
      if (LEGACY_FIXED.has(k)) continue;
      n.attrs.add(levelKey('span', k));
      n.attrs.add(levelKey('resource', k));
    }
  return n;
}

/** The columns of a stream that hold what `needs` names, quoted for a SELECT list. */
export function needColumns(needs: SpanNeeds, view: SpanStreamView): string[] {
  const cols = [...BASE, ...needs.columns];
  let overflow = false;
  for (const k of needs.attrs) {
    for (const a of view.byKey.get(k) ?? []) cols.push(a.column);
    if (view.overflow.has(k)) overflow = true;
  }
  if (overflow) cols.push(OVERFLOW_COLUMN);
  return cols.map(quoteIdent);
}
