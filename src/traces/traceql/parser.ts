/**
 * TraceQL parser (Tempo 2.7 grammar, precedence as in Tempo's expr.y): spanset expressions joined
 * by `&&`/`||` (equal precedence, left) over structural operators (`>`, `>>`, `<`, `<<`, `~`, their
 * `!` and `&` forms), `|` pipelines of filters, scalar filters, `by`, `select` and `coalesce`, and
 * `with(...)` hints at the very end. Errors carry Tempo's texts (`parse error at line 1, col 10:
 * syntax error: unexpected }`) and its validation messages; the HTTP layer adds the
 * `invalid TraceQL query: ` prefix.
 */
import { compileRe2, Re2Error } from '../../logql/regex.ts';
import type {
  Aggregate,
  AggregateOp,
  CompareOp,
  FieldExpr,
  Intrinsic,
  Query,
  SpansetExpr,
  Stage,
  Static,
  StructuralOp,
} from './ast.ts';
import { durationNs, lex, parseError, tokenName, TraceQLError, type Token } from './lexer.ts';
import { exprString, staticType } from './print.ts';

/** the structural operators between spansets */
export const STRUCTURAL: ReadonlySet<string> = new Set<string>([
  '>',
  '>>',
  '<',
  '<<',
  '~',
  '!>',
  '!>>',
  '!<',
  '!<<',
  '!~',
  '&>',
  '&>>',
  '&<',
  '&<<',
  '&~',
]);
const COMPARE = new Set<string>(['=', '!=', '>', '>=', '<', '<=', '=~', '!~']);

export const STATUS_CODES: Record<string, number> = { unset: 0, ok: 1, error: 2 };
export const KIND_CODES: Record<string, number> = {
  unspecified: 0,
  internal: 1,
  server: 2,
  client: 3,
  producer: 4,
  consumer: 5,
};

const INTRINSICS: Record<string, Intrinsic> = {
  name: 'name',
  status: 'status',
  statusMessage: 'statusMessage',
  duration: 'duration',
  kind: 'kind',
  rootName: 'rootName',
  rootServiceName: 'rootServiceName',
  traceDuration: 'traceDuration',
  nestedSetParent: 'nestedSetParent',
};
const SCOPED: Record<string, Intrinsic> = {
  'span:name': 'name',
  'span:status': 'status',
  'span:statusMessage': 'statusMessage',
  'span:duration': 'duration',
  'span:kind': 'kind',
  'span:id': 'spanID',
  'span:parentID': 'parentID',
  'trace:rootName': 'rootName',
  'trace:rootService': 'rootServiceName',
  'trace:duration': 'traceDuration',
  'trace:id': 'traceID',
  'event:name': 'event:name',
  'link:traceID': 'link:traceID',
  'link:spanID': 'link:spanID',
  'instrumentation:name': 'instrumentation:name',
  'instrumentation:version': 'instrumentation:version',
};
/** intrinsics Tempo 2.7 parses but refuses */
const UNSUPPORTED_INTRINSICS = new Set(['childCount', 'parent', 'nestedSetLeft', 'nestedSetRight']);
const UNSUPPORTED_SCOPED = new Set([
  'span:childCount',
  'span:parent',
  'event:timeSinceStart',
  'span:nestedSetLeft',
  'span:nestedSetRight',
  'span:nestedSetParent',
]);

class Parser {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly toks: Token[],
  ) {}

  private get t(): Token {
    return this.toks[this.i]!;
  }
  private isP(text: string): boolean {
    return this.t.type === 'punct' && this.t.text === text;
  }
  private isWord(text: string): boolean {
    return this.t.type === 'ident' && this.t.text === text;
  }
  private fail(expecting?: string): never {
    throw parseError(
      this.src,
      this.t.pos,
      `syntax error: unexpected ${tokenName(this.t)}${expecting ? `, expecting ${expecting}` : ''}`,
    );
  }
  private expectP(text: string): void {
    if (!this.isP(text)) this.fail();
    this.i++;
  }

  query(): Query {
    const root = this.pipeline();
    const hints: string[] = [];
    if (this.isWord('with')) {
      this.i++;
      this.expectP('(');
      for (;;) {
        if (this.t.type !== 'ident') this.fail();
        const k = this.t.text;
        this.i++;
        this.expectP('=');
        const v = this.t;
        if (!['ident', 'string', 'int', 'float', 'duration'].includes(v.type)) this.fail();
        this.i++;
        hints.push(`${k}=${v.text}`);
        if (this.isP(',')) {
          this.i++;
          continue;
        }
        this.expectP(')');
        break;
      }
    }
    if (this.t.type !== 'eof') this.fail('with');
    return { root, hints };
  }

  private pipeline(): SpansetExpr {
    const head = this.boolExpr();
    const stages: Stage[] = [];
    while (this.isP('|')) {
      this.i++;
      stages.push(this.stage());
    }
    return stages.length === 0 ? head : { k: 'pipeline', head, stages };
  }

  private boolExpr(): SpansetExpr {
    let l = this.structExpr();
    while (this.isP('&&') || this.isP('||')) {
      const op = this.t.text as '&&' | '||';
      this.i++;
      l = { k: 'op', op, l, r: this.structExpr() };
    }
    return l;
  }

  private structExpr(): SpansetExpr {
    let l = this.primary();
    while (this.t.type === 'punct' && STRUCTURAL.has(this.t.text)) {
      const op = this.t.text as StructuralOp;
      this.i++;
      l = { k: 'op', op, l, r: this.primary() };
    }
    return l;
  }

  private primary(): SpansetExpr {
    if (this.isP('{')) return { k: 'filter', cond: this.braces() };
    if (this.isP('(')) {
      this.i++;
      const e = this.pipeline();
      this.expectP(')');
      return e;
    }
    return this.fail('{ or (');
  }

  /** `{ cond? }` → the condition (null for `{ }`) */
  private braces(): FieldExpr | null {
    this.expectP('{');
    if (this.isP('}')) {
      this.i++;
      return null;
    }
    const e = this.field();
    this.expectP('}');
    const t = impliedType(e);
    if (t !== 'bool' && t !== 'attribute')
      throw new TraceQLError(`span filter field expressions must resolve to a boolean: { ${exprString(e)} }`);
    return e;
  }

  private stage(): Stage {
    if (this.isP('{')) return { k: 'filter', cond: this.braces() };
    const w = this.t.type === 'ident' ? this.t.text : '';
    if (w === 'by') {
      this.i++;
      this.expectP('(');
      const e = this.field();
      this.expectP(')');
      return { k: 'by', e, text: `by(${exprString(e)})` };
    }
    if (w === 'select') {
      this.i++;
      this.expectP('(');
      const es = [this.field()];
      while (this.isP(',')) {
        this.i++;
        es.push(this.field());
      }
      this.expectP(')');
      return { k: 'select', es };
    }
    if (w === 'coalesce') {
      this.i++;
      this.expectP('(');
      this.expectP(')');
      return { k: 'coalesce' };
    }
    if (w === 'count' || w === 'avg' || w === 'min' || w === 'max' || w === 'sum') {
      const agg = this.aggregate(w);
      if (!(
        this.t.type === 'punct' &&
        COMPARE.has(this.t.text) &&
        this.t.text !== '=~' &&
        this.t.text !== '!~'
      ))
        this.fail();
      const op = this.t.text as CompareOp;
      this.i++;
      let neg = false;
      if (this.isP('-')) {
        neg = true;
        this.i++;
      }
      const v = this.staticValue();
      if (!v) this.fail();
      this.i++;
      const value = neg && (v.t === 'int' || v.t === 'float' || v.t === 'duration') ? { ...v, v: -v.v } : v;
      const at = staticType(value);
      const numeric = at === 'int' || at === 'float' || at === 'duration';
      if (!numeric)
        throw new TraceQLError(
          `binary operations must operate on the same type: ${agg.text} ${op} ${exprString({ k: 'static', v: value })}`,
        );
      return { k: 'scalar', agg, op, v: value };
    }
    if (w === 'rate' || w === 'count_over_time') {
      // a metrics function on /api/search: Tempo accepts it and answers as if it were absent
      this.i++;
      this.expectP('(');
      this.expectP(')');
      return { k: 'filter', cond: null };
    }
    return this.fail();
  }

  private aggregate(op: AggregateOp): Aggregate {
    this.i++;
    this.expectP('(');
    if (op === 'count') {
      this.expectP(')');
      return { op, text: 'count()' };
    }
    const e = this.field();
    this.expectP(')');
    const text = `${op}(${exprString(e)})`;
    const t = impliedType(e);
    if (!(t === 'attribute' || t === 'int' || t === 'float' || t === 'duration'))
      throw new TraceQLError(`aggregate field expressions must resolve to a number type: ${text}`);
    return { op, e, text };
  }

  // field expressions: && || (lowest, left) < comparisons < ! < + - < * / % < ^ (right)
  private field(): FieldExpr {
    let l = this.compare();
    while (this.isP('&&') || this.isP('||')) {
      const op = this.t.text as '&&' | '||';
      this.i++;
      l = { k: 'binary', op, l, r: this.compare() };
    }
    return l;
  }

  private compare(): FieldExpr {
    let l = this.unary();
    while (this.t.type === 'punct' && COMPARE.has(this.t.text)) {
      const op = this.t.text as CompareOp;
      const at = this.t.pos;
      this.i++;
      const r = this.unary();
      if (r.k === 'static' && r.v.t === 'nil' && op !== '!=')
        throw new TraceQLError('{.a = nil} not yet supported');
      l = { k: 'binary', op, l, r };
      validateCompare(this.src, at, l);
    }
    return l;
  }

  private unary(): FieldExpr {
    if (this.isP('!')) {
      this.i++;
      return { k: 'unary', op: '!', e: this.unary() };
    }
    return this.additive();
  }

  private additive(): FieldExpr {
    let l = this.multiplicative();
    while (this.isP('+') || this.isP('-')) {
      const op = this.t.text as '+' | '-';
      this.i++;
      l = { k: 'binary', op, l, r: this.multiplicative() };
    }
    return l;
  }

  private multiplicative(): FieldExpr {
    let l = this.power();
    while (this.isP('*') || this.isP('/') || this.isP('%')) {
      const op = this.t.text as '*' | '/' | '%';
      this.i++;
      l = { k: 'binary', op, l, r: this.power() };
    }
    return l;
  }

  private power(): FieldExpr {
    const l = this.operand();
    if (this.isP('^')) {
      this.i++;
      return { k: 'binary', op: '^', l, r: this.power() };
    }
    return l;
  }

  private operand(): FieldExpr {
    const t = this.t;
    if (this.isP('(')) {
      this.i++;
      const e = this.field();
      this.expectP(')');
      return e;
    }
    if (this.isP('-')) {
      this.i++;
      const e = this.operand();
      if (e.k === 'static' && (e.v.t === 'int' || e.v.t === 'float' || e.v.t === 'duration'))
        return { k: 'static', v: { ...e.v, v: -e.v.v } };
      return { k: 'unary', op: '-', e };
    }
    const v = this.staticValue();
    if (v) {
      this.i++;
      return { k: 'static', v };
    }
    if (t.type === 'attr') {
      if (t.scope === 'parent') throw new TraceQLError('parent not yet supported');
      if (t.scope === 'trace') this.fail();
      this.i++;
      const scope = t.scope === '' ? 'none' : (t.scope as 'span');
      const prefix = scope === 'none' ? '.' : `${scope}.`;
      const name = /^[^\s"]*$/.test(t.text) ? t.text : JSON.stringify(t.text);
      return { k: 'attr', scope, name: t.text, text: prefix + name };
    }
    if (t.type === 'scoped') {
      if (UNSUPPORTED_SCOPED.has(t.text))
        throw new TraceQLError(`intrinsic (${t.text.split(':')[1]}) not yet supported`);
      const name = SCOPED[t.text];
      if (!name) this.fail();
      this.i++;
      return { k: 'intrinsic', name, text: t.text };
    }
    if (t.type === 'ident') {
      if (UNSUPPORTED_INTRINSICS.has(t.text))
        throw new TraceQLError(`intrinsic (${t.text}) not yet supported`);
      const name = INTRINSICS[t.text];
      if (name) {
        this.i++;
        return { k: 'intrinsic', name, text: t.text };
      }
    }
    return this.fail();
  }

  /** the static value at the current token, or null (the token is not consumed) */
  private staticValue(): Static | null {
    const t = this.t;
    switch (t.type) {
      case 'string':
        return { t: 'string', v: t.text };
      case 'int':
        return { t: 'int', v: Number(t.text) };
      case 'float':
        return { t: 'float', v: Number(t.text) };
      case 'duration':
        return { t: 'duration', v: durationNs(t.text) };
      case 'ident':
        if (t.text === 'true' || t.text === 'false') return { t: 'bool', v: t.text === 'true' };
        if (t.text === 'nil') return { t: 'nil' };
        if (t.text in STATUS_CODES) return { t: 'status', v: STATUS_CODES[t.text]! };
        if (t.text in KIND_CODES) return { t: 'kind', v: KIND_CODES[t.text]! };
        return null;
      case 'attr':
      case 'scoped':
      case 'punct':
      case 'eof':
        return null;
    }
  }
}

type Implied = 'attribute' | 'string' | 'int' | 'float' | 'duration' | 'bool' | 'status' | 'kind' | 'nil';

const INTRINSIC_TYPES: Record<Intrinsic, Implied> = {
  name: 'string',
  status: 'status',
  statusMessage: 'string',
  duration: 'duration',
  kind: 'kind',
  rootName: 'string',
  rootServiceName: 'string',
  traceDuration: 'duration',
  traceID: 'string',
  spanID: 'string',
  parentID: 'string',
  nestedSetParent: 'int',
  'event:name': 'string',
  'link:traceID': 'string',
  'link:spanID': 'string',
  'instrumentation:name': 'string',
  'instrumentation:version': 'string',
};

export function impliedType(e: FieldExpr): Implied {
  switch (e.k) {
    case 'static':
      return staticType(e.v);
    case 'attr':
      return 'attribute';
    case 'intrinsic':
      return INTRINSIC_TYPES[e.name];
    case 'unary':
      return e.op === '!' ? 'bool' : impliedType(e.e);
    case 'binary': {
      if (COMPARE.has(e.op) || e.op === '&&' || e.op === '||') return 'bool';
      const l = impliedType(e.l);
      const r = impliedType(e.r);
      if (l === 'attribute') return r;
      if (r === 'attribute') return l;
      if (l === 'float' || r === 'float') return 'float';
      return l;
    }
  }
}

const numericLike = (t: Implied): boolean => t === 'int' || t === 'float' || t === 'duration';

/** Tempo's type check of a comparison whose operand types are known */
function validateCompare(src: string, pos: number, e: FieldExpr & { k: 'binary' }): void {
  const l = impliedType(e.l);
  const r = impliedType(e.r);
  const ok =
    l === 'attribute' || r === 'attribute' || l === r || r === 'nil' || (numericLike(l) && numericLike(r));
  if (!ok) throw new TraceQLError(`binary operations must operate on the same type: ${exprString(e)}`);
  if (e.op === '=~' || e.op === '!~') {
    if (e.r.k !== 'static' || e.r.v.t !== 'string')
      throw new TraceQLError(`illegal operation for the given types: ${exprString(e)}`);
    try {
      compileRe2(e.r.v.v, true);
    } catch (err) {
      if (err instanceof Re2Error) throw parseError(src, pos, err.message);
      throw err;
    }
  }
}

export function parseTraceQL(src: string): Query {
  return new Parser(src, lex(src)).query();
}
