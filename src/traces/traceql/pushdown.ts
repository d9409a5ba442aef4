/**
 * TraceQL → SQL pushdown for `/api/search`: a condition over a traces stream's columns that at
 * least one span of every trace the query can match satisfies (a necessary condition, never an
 * exact one: the evaluator in eval.ts still checks every trace read).
 *
 * Within a spanset `{ … }`, pushed: a condition built of `&&`/`||` over comparisons `field op literal` where field is an intrinsic
 * (`name`, `statusMessage`, `status`, `kind`, `duration`) or a `span.`/`resource.`/`.` attribute,
 * op one of = != < <= > >= =~. Mirrors eval.ts' typing: an attribute compares only with a literal
 * of its own type (no int/float coercion), a missing attribute matches nothing. Whatever is not
 * understood, or could be read differently (a duration against an attribute, `!~`, nil, an
 * attribute in the overflow JSON or stored as bytes, an unsafe integer), becomes TRUE.
 *
 * Across spansets (traceCondition): a trace matches `{a} && {b}` and every structural operator
 * (`>`, `>>`, `!<`, `&~`, …) only with a span for each side, `{a} || {b}` with a span for either,
 * a pipeline only with spans its head yields that pass its `{ … }` stages, `{ }` with any span.
 */
import { quoteIdent } from '../../memtable/memtable.ts';
import { levelKey, type AttrLevel, type SpanStreamView } from '../span-reader.ts';
import type { FieldExpr, Query, SpansetExpr, Static } from './ast.ts';

/** a piece of the condition: SQL, or a constant */
type Cond = string | boolean;

/** a SQL string literal ('' doubles a quote; DuckDB does not treat backslashes specially) */
export const sqlLiteral = (s: string): string => `'${s.replace(/'/g, "''")}'`;

const and = (a: Cond, b: Cond): Cond =>
  a === false || b === false ? false : a === true ? b : b === true ? a : `(${a}) AND (${b})`;
const or = (a: Cond, b: Cond): Cond =>
  a === true || b === true ? true : a === false ? b : b === false ? a : `(${a}) OR (${b})`;

const ORDERED = new Set(['=', '!=', '<', '<=', '>', '>=']);

/** a number literal DuckDB reads back exactly, or undefined */
function numberSql(v: number, int: boolean): string | undefined {
  if (!Number.isFinite(v)) return undefined;
  if (int) return Number.isSafeInteger(v) ? String(v) : undefined;
  return `CAST(${sqlLiteral(String(v))} AS DOUBLE)`;
}

/**
 * `=`/`!=` of a string column; an ordering is left out (JavaScript orders UTF-16 code units,
 * DuckDB UTF-8 bytes), and so is a literal holding NUL
 */
const stringCompare = (c: string, op: string, v: string): Cond =>
  (op === '=' || op === '!=') && !v.includes('\u0000') ? `${c} ${op} ${sqlLiteral(v)}` : true;

/** `col op literal` when a value of the column type compares with `lit` as eval.ts does */
function columnCompare(col: string, valueType: string, op: string, lit: Static): Cond {
  const c = quoteIdent(col);
  if (op === '=~') {
    if (valueType === 'bytes') return true; // read back as base64 text
    if (valueType !== 'str' || lit.t !== 'string') return false;
    if (lit.v.includes('\u0000')) return true;
    return `regexp_full_match(${c}, ${sqlLiteral(lit.v)})`;
  }
  if (!ORDERED.has(op)) return true;
  switch (lit.t) {
    case 'string':
      if (valueType === 'bytes') return true; // read back as base64 text
      if (valueType !== 'str') return false;
      return stringCompare(c, op, lit.v);
    case 'int':
    case 'float': {
      if (valueType !== (lit.t === 'int' ? 'int' : 'float')) return false;
      const n = numberSql(lit.v, lit.t === 'int');
      return n === undefined ? true : `${c} ${op} ${n}`;
    }
    case 'bool':
      if (valueType !== 'bool') return false;
      return op === '=' || op === '!=' ? `${c} ${op} ${lit.v ? 'TRUE' : 'FALSE'}` : false;
    case 'duration':
      // compares with int and float attributes as numbers
      return true;
    case 'status':
    case 'kind':
    case 'nil':
      return false;
  }
}

function attrCompare(view: SpanStreamView, level: AttrLevel, key: string, op: string, lit: Static): Cond {
  // a key that also went to the overflow JSON is not pushed
  if (view.overflow.has(levelKey(level, key))) return true;
  let out: Cond = false;
  for (const col of view.byKey.get(levelKey(level, key)) ?? [])
    out = or(out, columnCompare(col.column, col.valueType, op, lit));
  // no column of the key: no span of the stream has the attribute, the comparison is false; a
  // negated one is left to the evaluator
  if (out === false && (op === '!=' || op === '!~')) return true;
  return out;
}

const INTRINSIC_COLUMNS: Record<string, [string, Static['t'][]]> = {
  name: ['name', ['string']],
  statusMessage: ['status_message', ['string']],
  status: ['status_code', ['status']],
  kind: ['kind', ['kind']],
  duration: ['duration_ns', ['duration', 'int', 'float']],
};

function intrinsicCompare(name: string, op: string, lit: Static): Cond {
  const ic = INTRINSIC_COLUMNS[name];
  if (!ic) return true;
  const [col, types] = ic;
  const c = quoteIdent(col);
  if (op === '=~') {
    if (lit.t !== 'string' || types[0] !== 'string' || lit.v.includes('\u0000')) return true;
    return `regexp_full_match(${c}, ${sqlLiteral(lit.v)})`;
  }
  if (!ORDERED.has(op) || !types.includes(lit.t) || lit.t === 'nil' || lit.t === 'bool') return true;
  if (lit.t === 'string') return stringCompare(c, op, lit.v);
  const n = numberSql(lit.v, lit.t !== 'float');
  return n === undefined ? true : `${c} ${op} ${n}`;
}

/** The necessary condition of a field expression over one stream (true: nothing known). */
export function fieldCond(e: FieldExpr, view: SpanStreamView): Cond {
  if (e.k !== 'binary') return true;
  if (e.op === '&&') return and(fieldCond(e.l, view), fieldCond(e.r, view));
  if (e.op === '||') return or(fieldCond(e.l, view), fieldCond(e.r, view));
  if (e.r.k !== 'static' || e.r.v.t === 'nil') return true;
  const lit = e.r.v;
  const f = e.l;
  if (f.k === 'intrinsic') return intrinsicCompare(f.name, e.op, lit);
  if (f.k !== 'attr') return true;
  switch (f.scope) {
    case 'span':
      return attrCompare(view, 'span', f.name, e.op, lit);
    case 'resource':
      return attrCompare(view, 'resource', f.name, e.op, lit);
    case 'none':
      return or(
        attrCompare(view, 'span', f.name, e.op, lit),
        attrCompare(view, 'resource', f.name, e.op, lit),
      );
    case 'event':
    case 'link':
    case 'instrumentation':
      return true;
  }
}

/**
 * A necessary condition on a trace for the query to select it: some span satisfies `cond` (null:
 * any span), combined with and/or.
 */
export type TraceCond =
  { k: 'any'; cond: FieldExpr | null } | { k: 'and' | 'or'; l: TraceCond; r: TraceCond };

const both = (k: 'and' | 'or', l: TraceCond, r: TraceCond): TraceCond => ({ k, l, r });

/** The trace-level necessary condition of a spanset expression. */
export function traceCond(e: SpansetExpr): TraceCond {
  switch (e.k) {
    case 'filter':
      return { k: 'any', cond: e.cond };
    case 'op':
      // && and every structural operator (negated ones too) need spans on both sides
      return both(e.op === '||' ? 'or' : 'and', traceCond(e.l), traceCond(e.r));
    case 'pipeline': {
      // stages only drop or regroup the head's spans: a span in the answer passed every filter stage
      let out = traceCond(e.head);
      for (const st of e.stages) {
        if (st.k !== 'filter' || st.cond === null) continue;
        out =
          out.k === 'any' && out.cond !== null
            ? { k: 'any', cond: { k: 'binary', op: '&&', l: out.cond, r: st.cond } }
            : both('and', out, { k: 'any', cond: st.cond });
      }
      return out;
    }
  }
}

/**
 * The trace condition as SQL over `trace_id`: `anySpan(where)` renders "some span of the trace
 * satisfies where(view)"; a span condition nothing narrows is left out (TRUE).
 */
export function traceCondSql(
  tc: TraceCond,
  anySpan: (where: (view: SpanStreamView) => string | null) => string,
): string {
  const render = (t: TraceCond): Cond => {
    if (t.k !== 'any') return (t.k === 'and' ? and : or)(render(t.l), render(t.r));
    const cond = t.cond;
    if (cond === null) return true;
    const sql = anySpan((view) => {
      const c = fieldCond(cond, view);
      return c === false ? null : c === true ? 'TRUE' : c;
    });
    return sql === 'TRUE' ? true : sql === 'FALSE' ? false : sql;
  };
  const c = render(tc);
  return c === true ? 'TRUE' : c === false ? 'FALSE' : c;
}

/** The trace condition of a query, or undefined when it narrows nothing (`{ }`, `{ true }`). */
export function traceCondition(q: Query): TraceCond | undefined {
  const tc = traceCond(q.root);
  const narrows = (t: TraceCond): boolean => (t.k === 'any' ? t.cond !== null : narrows(t.l) || narrows(t.r));
  return narrows(tc) ? tc : undefined;
}
