/**
 * TraceQL evaluation over one trace held in memory (its Span[]), with Tempo 2.7's semantics:
 * spanset expressions map the trace's spansets to spansets; a comparison of an attribute with a
 * literal needs the same type (no int/float coercion: `span.payment.amount > 900` matches nothing
 * on a double attribute) while computed values compare as numbers; `.x` reads the span attribute,
 * else the resource one; regexes are fully anchored; structural operators follow parent ids and
 * return the right-hand spans (`&` forms: both sides).
 */
import { compileRe2 } from '../../logql/regex.ts';
import type { Attr, Span } from '../span.ts';
import type { Aggregate, FieldExpr, SpansetExpr, Stage, Static, StructuralOp } from './ast.ts';

/** a value at run time: a Static without nil (nil is `undefined`) */
export type Val = Exclude<Static, { t: 'nil' }>;

export interface SpansetAttr {
  key: string;
  value: Val;
}

export interface Spanset {
  spans: Span[];
  attrs: SpansetAttr[];
}

/** per-trace facts the intrinsics need */
export class TraceCtx {
  readonly byId = new Map<string, Span>();
  readonly root: Span | undefined;
  readonly startNs: bigint;
  readonly endNs: bigint;
  /** trace id as Tempo's search prints it: leading zeros removed */
  readonly shortId: string;
  constructor(readonly spans: readonly Span[]) {
    let start = spans[0]?.startNs ?? 0n;
    let end = spans[0]?.endNs ?? 0n;
    for (const s of spans) {
      this.byId.set(s.spanId, s);
      if (s.startNs < start) start = s.startNs;
      if (s.endNs > end) end = s.endNs;
    }
    this.root = spans.find((s) => s.parentSpanId === '');
    this.startNs = start;
    this.endNs = end;
    this.shortId = (spans[0]?.traceId ?? '').replace(/^0+(?=.)/, '');
  }
  parent(s: Span): Span | undefined {
    return s.parentSpanId === '' ? undefined : this.byId.get(s.parentSpanId);
  }
  /** ancestors nearest first (a cycle ends the walk) */
  *ancestors(s: Span): Generator<Span> {
    const seen = new Set<Span>([s]);
    for (let p = this.parent(s); p && !seen.has(p); p = this.parent(p)) {
      seen.add(p);
      yield p;
    }
  }
}

export function attrVal(a: Attr): Val | undefined {
  switch (a.type) {
    case 'string':
    case 'bytes':
      return { t: 'string', v: String(a.value) };
    case 'int':
      return { t: 'int', v: Number(a.value) };
    case 'double':
      return { t: 'float', v: Number(a.value) };
    case 'bool':
      return { t: 'bool', v: a.value === true };
    case 'array':
    case 'kvlist':
      // not comparable in Tempo 2.7 search
      return undefined;
  }
}

const find = (list: readonly Attr[] | undefined, key: string): Val | undefined => {
  if (!list) return undefined;
  for (const a of list) if (a.key === key) return attrVal(a);
  return undefined;
};

/** which event/link of the span a condition looks at (-1: none) */
export interface Cursor {
  ev: number;
  lk: number;
}

export function fieldValue(
  e: FieldExpr & { k: 'attr' | 'intrinsic' },
  s: Span,
  ctx: TraceCtx,
  c: Cursor,
): Val | undefined {
  if (e.k === 'attr') {
    switch (e.scope) {
      case 'span':
        return find(s.attributes, e.name);
      case 'resource':
        return find(s.resource, e.name);
      case 'none':
        return find(s.attributes, e.name) ?? find(s.resource, e.name);
      case 'event':
        return find(s.events[c.ev]?.attributes, e.name);
      case 'link':
        return find(s.links[c.lk]?.attributes, e.name);
      case 'instrumentation':
        return undefined;
    }
  }
  switch (e.name) {
    case 'name':
      return { t: 'string', v: s.name };
    case 'status':
      return { t: 'status', v: s.statusCode };
    case 'statusMessage':
      return { t: 'string', v: s.statusMessage };
    case 'duration':
      return { t: 'duration', v: Number(s.durationNs) };
    case 'kind':
      return { t: 'kind', v: s.kind };
    case 'rootName':
      return { t: 'string', v: ctx.root?.name ?? '' };
    case 'rootServiceName': {
      const v = ctx.root ? find(ctx.root.resource, 'service.name') : undefined;
      return { t: 'string', v: v?.t === 'string' ? v.v : '' };
    }
    case 'traceDuration':
      return { t: 'duration', v: Number(ctx.endNs - ctx.startNs) };
    case 'traceID':
      return { t: 'string', v: ctx.shortId };
    case 'spanID':
      return { t: 'string', v: s.spanId };
    case 'parentID':
      return { t: 'string', v: s.parentSpanId };
    case 'nestedSetParent':
      // roots are -1; other spans get a positive number (Tempo's nested-set numbering is not kept)
      return { t: 'int', v: s.parentSpanId === '' ? -1 : 1 };
    case 'event:name':
      return { t: 'string', v: s.events[c.ev]?.name ?? '' };
    case 'link:traceID':
      return c.lk < 0 ? undefined : { t: 'string', v: s.links[c.lk]!.traceId };
    case 'link:spanID':
      return c.lk < 0 ? undefined : { t: 'string', v: s.links[c.lk]!.spanId };
    case 'instrumentation:name':
      return { t: 'string', v: s.scope.name };
    case 'instrumentation:version':
      return { t: 'string', v: s.scope.version };
  }
}

type NumVal = Extract<Val, { t: 'int' | 'float' | 'duration' }>;
const isNum = (v: Val): v is NumVal => v.t === 'int' || v.t === 'float' || v.t === 'duration';
const direct = (e: FieldExpr): boolean => e.k === 'static' || e.k === 'attr' || e.k === 'intrinsic';

function cmp<T extends number | string>(op: string, a: T, b: T): boolean {
  switch (op) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    default:
      return false;
  }
}

/** `loose`: int and float compare as numbers (true for computed values, never attribute vs literal) */
export function compareVals(op: string, l: Val | undefined, r: Val | undefined, loose: boolean): boolean {
  if (!l || !r) return false;
  if (op === '=~' || op === '!~') {
    if (l.t !== 'string' || r.t !== 'string') return false;
    return compileRe2(r.v, true).test(l.v) === (op === '=~');
  }
  if (l.t === r.t) {
    if (l.t === 'bool') return op === '=' ? l.v === r.v : op === '!=' ? l.v !== r.v : false;
    return cmp(op, l.v, r.v as typeof l.v);
  }
  if (isNum(l) && isNum(r) && (loose || l.t === 'duration' || r.t === 'duration')) return cmp(op, l.v, r.v);
  return false;
}

function arith(op: string, l: Val | undefined, r: Val | undefined): Val | undefined {
  if (!l || !r || !isNum(l) || !isNum(r)) return undefined;
  const t =
    l.t === 'float' || r.t === 'float' || op === '^'
      ? 'float'
      : l.t === 'duration' || r.t === 'duration'
        ? 'duration'
        : 'int';
  let v: number;
  switch (op) {
    case '+':
      v = l.v + r.v;
      break;
    case '-':
      v = l.v - r.v;
      break;
    case '*':
      v = l.v * r.v;
      break;
    case '/':
      if (r.v === 0) return undefined;
      v = t === 'float' ? l.v / r.v : Math.trunc(l.v / r.v);
      break;
    case '%':
      if (r.v === 0) return undefined;
      v = l.v % r.v;
      break;
    default:
      v = l.v ** r.v;
  }
  return { t, v };
}

export function evalField(e: FieldExpr, s: Span, ctx: TraceCtx, c: Cursor): Val | undefined {
  switch (e.k) {
    case 'static':
      return e.v.t === 'nil' ? undefined : e.v;
    case 'attr':
    case 'intrinsic':
      return fieldValue(e, s, ctx, c);
    case 'unary': {
      const v = evalField(e.e, s, ctx, c);
      if (e.op === '!') return v?.t === 'bool' ? { t: 'bool', v: !v.v } : undefined;
      return v && isNum(v) ? { ...v, v: -v.v } : undefined;
    }
    case 'binary': {
      if (e.op === '&&' || e.op === '||') {
        const l = evalField(e.l, s, ctx, c);
        const r = evalField(e.r, s, ctx, c);
        const lt = l?.t === 'bool' && l.v;
        const rt = r?.t === 'bool' && r.v;
        return { t: 'bool', v: e.op === '&&' ? lt && rt : lt || rt };
      }
      const l = evalField(e.l, s, ctx, c);
      if (e.op === '!=' && e.r.k === 'static' && e.r.v.t === 'nil') return { t: 'bool', v: l !== undefined };
      const r = evalField(e.r, s, ctx, c);
      if (e.op === '+' || e.op === '-' || e.op === '*' || e.op === '/' || e.op === '%' || e.op === '^')
        return arith(e.op, l, r);
      return { t: 'bool', v: compareVals(e.op, l, r, !(direct(e.l) && direct(e.r))) };
    }
  }
}

function mentions(e: FieldExpr, scope: 'event' | 'link'): boolean {
  switch (e.k) {
    case 'attr':
      return e.scope === scope;
    case 'intrinsic':
      return e.name.startsWith(`${scope}:`);
    case 'unary':
      return mentions(e.e, scope);
    case 'binary':
      return mentions(e.l, scope) || mentions(e.r, scope);
    case 'static':
      return false;
  }
}

/** the span's first event and first link */
export const firstCursor = (s: Span): Cursor => ({
  ev: s.events.length > 0 ? 0 : -1,
  lk: s.links.length > 0 ? 0 : -1,
});

/** the cursor under which the condition holds for the span, or null */
export function matchSpan(cond: FieldExpr | null, s: Span, ctx: TraceCtx): Cursor | null {
  const c0 = firstCursor(s);
  if (!cond) return c0;
  const evs = mentions(cond, 'event') && s.events.length > 1 ? s.events.map((_, i) => i) : [c0.ev];
  const lks = mentions(cond, 'link') && s.links.length > 1 ? s.links.map((_, i) => i) : [c0.lk];
  for (const ev of evs)
    for (const lk of lks) {
      const c = { ev, lk };
      const v = evalField(cond, s, ctx, c);
      if (v?.t === 'bool' && v.v) return c;
    }
  return null;
}

function unique(lists: Span[][]): Span[] {
  const seen = new Set<Span>();
  const out: Span[] = [];
  for (const l of lists)
    for (const s of l)
      if (!seen.has(s)) {
        seen.add(s);
        out.push(s);
      }
  return out;
}

function structural(op: StructuralOp, L: Span[], R: Span[], ctx: TraceCtx): Span[] {
  const lset = new Set(L);
  const base = op.replace(/^[!&]/, '');
  const neg = op.startsWith('!');
  const both = op.startsWith('&');
  /** the left-hand spans that r relates to by the base operator */
  const related = (r: Span): Span[] => {
    switch (base) {
      case '>': {
        const p = ctx.parent(r);
        return p && lset.has(p) ? [p] : [];
      }
      case '>>':
        return [...ctx.ancestors(r)].filter((a) => lset.has(a));
      case '<':
        return L.filter((l) => ctx.parent(l) === r);
      case '<<':
        return L.filter((l) => [...ctx.ancestors(l)].includes(r));
      default:
        // '~' siblings: the same parent, not the span itself
        return r.parentSpanId === '' ? [] : L.filter((l) => l !== r && l.parentSpanId === r.parentSpanId);
    }
  };
  // a negated operator still needs a left-hand match in the trace
  if (neg && L.length === 0) return [];
  const out = new Set<Span>();
  for (const r of R) {
    const rel = related(r);
    if (neg ? rel.length === 0 : rel.length > 0) {
      out.add(r);
      if (both) for (const l of rel) out.add(l);
    }
  }
  return [...out];
}

function aggregate(agg: Aggregate, ss: Spanset, ctx: TraceCtx): Val | undefined {
  if (agg.op === 'count') return { t: 'int', v: ss.spans.length };
  const vals: NumVal[] = [];
  for (const s of ss.spans) {
    const v = evalField(agg.e!, s, ctx, firstCursor(s));
    if (v && isNum(v)) vals.push(v);
  }
  if (vals.length === 0) return undefined;
  const t: NumVal['t'] = vals.some((v) => v.t === 'float') ? 'float' : vals[0]!.t;
  const nums = vals.map((v) => v.v);
  switch (agg.op) {
    case 'min':
      return { t, v: Math.min(...nums) };
    case 'max':
      return { t, v: Math.max(...nums) };
    case 'sum':
      return { t, v: nums.reduce((a, b) => a + b, 0) };
    case 'avg': {
      const avg = nums.reduce((a, b) => a + b, 0) / nums.length;
      return t === 'duration' ? { t, v: Math.trunc(avg) } : { t: 'float', v: avg };
    }
  }
}

const valKey = (v: Val | undefined): string => (v ? `${v.t}:${String(v.v)}` : 'nil');

function applyStage(st: Stage, input: Spanset[], ctx: TraceCtx): Spanset[] {
  switch (st.k) {
    case 'filter':
      return filterSets(st.cond, input, ctx);
    case 'scalar': {
      const out: Spanset[] = [];
      for (const ss of input) {
        const v = aggregate(st.agg, ss, ctx);
        if (compareVals(st.op, v, st.v.t === 'nil' ? undefined : st.v, true))
          out.push({ spans: ss.spans, attrs: [...ss.attrs, { key: st.agg.text, value: v! }] });
      }
      return out;
    }
    case 'by': {
      const out: Spanset[] = [];
      for (const ss of input) {
        const groups = new Map<string, Spanset>();
        for (const s of ss.spans) {
          const v = evalField(st.e, s, ctx, firstCursor(s));
          const k = valKey(v);
          let g = groups.get(k);
          if (!g) {
            g = { spans: [], attrs: v ? [...ss.attrs, { key: st.text, value: v }] : [...ss.attrs] };
            groups.set(k, g);
          }
          g.spans.push(s);
        }
        out.push(...groups.values());
      }
      return out;
    }
    case 'select':
      return input;
    case 'coalesce':
      return input.length === 0 ? [] : [{ spans: unique(input.map((s) => s.spans)), attrs: [] }];
  }
}

function filterSets(cond: FieldExpr | null, input: Spanset[], ctx: TraceCtx): Spanset[] {
  const out: Spanset[] = [];
  for (const ss of input) {
    const spans = cond ? ss.spans.filter((s) => matchSpan(cond, s, ctx) !== null) : ss.spans;
    if (spans.length > 0) out.push({ spans, attrs: ss.attrs });
  }
  return out;
}

export function evalSpansets(e: SpansetExpr, input: Spanset[], ctx: TraceCtx): Spanset[] {
  switch (e.k) {
    case 'filter':
      return filterSets(e.cond, input, ctx);
    case 'pipeline': {
      let cur = evalSpansets(e.head, input, ctx);
      for (const st of e.stages) {
        if (cur.length === 0) break;
        cur = applyStage(st, cur, ctx);
      }
      return cur;
    }
    case 'op': {
      const out: Spanset[] = [];
      for (const ss of input) {
        const L = evalSpansets(e.l, [ss], ctx);
        const R = evalSpansets(e.r, [ss], ctx);
        let spans: Span[];
        if (e.op === '&&')
          spans = L.length > 0 && R.length > 0 ? unique([...L, ...R].map((x) => x.spans)) : [];
        else if (e.op === '||') spans = unique([...L, ...R].map((x) => x.spans));
        else spans = structural(e.op, unique(L.map((x) => x.spans)), unique(R.map((x) => x.spans)), ctx);
        if (spans.length > 0) out.push({ spans, attrs: ss.attrs });
      }
      return out;
    }
  }
}

/** the spansets of one trace that the query selects (empty: the trace does not match) */
export function evalTrace(root: SpansetExpr, spans: readonly Span[], ctx = new TraceCtx(spans)): Spanset[] {
  return evalSpansets(root, [{ spans: [...spans], attrs: [] }], ctx).filter((s) => s.spans.length > 0);
}
