/**
 * A hand-written PromQL parser (precedence climbing) producing the nodes of ../ast.ts, with the
 * grammar, precedence and type checks of Prometheus' promql/parser (generated_parser.y, parse.go).
 */
import type {
  AggregateExpr,
  AggregateOp,
  AtModifier,
  BinaryExpr,
  BinaryOp,
  Call,
  Expr,
  PosRange,
  VectorMatching,
  VectorSelector,
} from '../ast.ts';
import { FUNCTION_SIGNATURES } from '../functions/signatures.ts';
import { METRIC_NAME, type LabelMatcher, type MatchType } from '../labels.ts';
import {
  DURATION_FUNCTIONS,
  aggregateHasParam,
  checkAggregate,
  checkBinary,
  checkCall,
  documentedType,
  exprType,
} from './check.ts';
import { parseDurationMs } from './durations.ts';
import { PromQLParseError } from './errors.ts';
import { tokenize, type Token } from './lexer.ts';
import { AGGREGATORS, MATCH_OPS, NOT_METRIC, POW_PREC, PREC, WORD_OPS, describe, parseNumber } from './tokens.ts';
import { newMatrix, newSelector, newSubquery, setAt, setOffset } from './nodes.ts';

export interface ParseOptions {
  /** accept functions marked experimental in FUNCTION_SIGNATURES (default true) */
  enableExperimentalFunctions?: boolean;
}

/** Parses a PromQL expression; throws PromQLParseError. */
export function parseExpr(query: string, opts: ParseOptions = {}): Expr {
  return new Parser(query, opts).parseTop();
}

class Parser {
  private readonly toks: Token[];
  private i = 0;
  constructor(
    private readonly query: string,
    private readonly opts: ParseOptions,
  ) {
    this.toks = tokenize(query);
  }

  private readonly fail = (pos: PosRange, msg: string): never => {
    throw new PromQLParseError(this.query, pos, msg);
  };

  private peek(k = 0): Token {
    const t = this.toks[Math.min(this.i + k, this.toks.length - 1)] as Token;
    if (k === 0 && t.kind === 'error') this.fail({ start: t.start, end: t.end }, t.text);
    return t;
  }
  private next(): Token {
    const t = this.peek();
    if (this.i < this.toks.length - 1) this.i++;
    return t;
  }
  private isOp(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === 'op' && t.text === text;
  }
  private isWord(word: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === 'ident' && t.text.toLowerCase() === word;
  }
  private unexpected(context: string, expected: string, t: Token = this.peek()): never {
    let msg = `unexpected ${describe(t)}`;
    if (context !== '') msg += ` in ${context}`;
    if (expected !== '') msg += `, expected ${expected}`;
    return this.fail({ start: t.start, end: t.end }, msg);
  }
  private expectOp(text: string, context: string, expected: string): Token {
    if (!this.isOp(text)) this.unexpected(context, expected);
    return this.next();
  }

  parseTop(): Expr {
    if (this.peek().kind === 'eof') this.fail({ start: 0, end: 0 }, 'no expression found in input');
    const e = this.parseBinary(0);
    if (this.peek().kind !== 'eof') this.unexpected('', '');
    return e;
  }

  private binaryOp(): BinaryOp | null {
    const t = this.peek();
    const text = t.kind === 'ident' ? t.text.toLowerCase() : t.kind === 'op' ? t.text : '';
    if (t.kind === 'ident' && !WORD_OPS.has(text)) return null;
    return PREC[text] !== undefined ? (text as BinaryOp) : null;
  }

  private parseBinary(minPrec: number): Expr {
    let lhs = this.parseUnary();
    for (;;) {
      const op = this.binaryOp();
      if (op === null) break;
      const prec = PREC[op] ?? 0;
      if (prec < minPrec) break;
      const opTok = this.next();
      const { returnBool, matching } = this.parseBinModifiers();
      const rhs = this.parseBinary(op === '^' ? prec : prec + 1);
      const b: BinaryExpr = {
        type: 'BinaryExpr',
        op,
        lhs,
        rhs,
        returnBool,
        matching,
        pos: { start: lhs.pos.start, end: rhs.pos.end },
      };
      checkBinary(b, { start: opTok.start, end: opTok.end }, this.fail);
      lhs = b;
    }
    return lhs;
  }

  private parseBinModifiers(): { returnBool: boolean; matching: VectorMatching } {
    const matching: VectorMatching = { card: 'one-to-one', on: false, labels: [], include: [] };
    let returnBool = false;
    if (this.isWord('bool')) {
      this.next();
      returnBool = true;
    }
    if (this.isWord('on') || this.isWord('ignoring')) {
      matching.on = this.next().text.toLowerCase() === 'on';
      matching.labels = this.parseGrouping();
      if (this.isWord('group_left') || this.isWord('group_right')) {
        matching.card = this.next().text.toLowerCase() === 'group_left' ? 'many-to-one' : 'one-to-many';
        if (this.isOp('(')) matching.include = this.parseGrouping();
      }
    }
    return { returnBool, matching };
  }

  private parseUnary(): Expr {
    const t = this.peek();
    if (t.kind === 'op' && (t.text === '+' || t.text === '-')) {
      this.next();
      const operand = this.parseBinary(POW_PREC);
      const pos = { start: t.start, end: operand.pos.end };
      if (operand.type === 'NumberLiteral') {
        return { ...operand, val: t.text === '-' ? -operand.val : operand.val, pos };
      }
      const ty = exprType(operand);
      if (ty !== 'scalar' && ty !== 'vector') {
        this.fail(pos, `unary expression only allowed on expressions of type scalar or instant vector, got "${documentedType(ty)}"`);
      }
      return { type: 'UnaryExpr', op: t.text, expr: operand, pos };
    }
    return this.parsePostfix(this.parsePrimary());
  }

  private parsePostfix(start: Expr): Expr {
    let e = start;
    for (;;) {
      if (this.isOp('[')) e = this.parseRangeOrSubquery(e);
      else if (this.isWord('offset')) e = this.parseOffset(e);
      else if (this.isOp('@')) e = this.parseAt(e);
      else return e;
    }
  }

  /** A range, step or offset: a number (seconds) or a duration; returns ms. */
  private parseDuration(context: string, expected: string, allowSign: boolean): number {
    let sign = 1;
    if (allowSign && (this.isOp('-') || this.isOp('+'))) sign = this.next().text === '-' ? -1 : 1;
    const t = this.peek();
    if (t.kind === 'duration') {
      this.next();
      try {
        return sign * parseDurationMs(t.text);
      } catch (err) {
        return this.fail({ start: t.start, end: t.end }, (err as Error).message);
      }
    }
    if (t.kind === 'number') {
      this.next();
      const v = parseNumber(t.text);
      if (!Number.isFinite(v)) this.fail({ start: t.start, end: t.end }, `invalid duration ${JSON.stringify(t.text)}`);
      return sign * Math.round(v * 1000);
    }
    return this.unexpected(context, expected);
  }

  private positiveDuration(context: string, expected: string): number {
    const t = this.peek();
    const ms = this.parseDuration(context, expected, false);
    if (ms <= 0) this.fail({ start: t.start, end: t.end }, 'duration must be greater than 0');
    return ms;
  }

  private parseRangeOrSubquery(e: Expr): Expr {
    const open = this.next();
    const rangeMs = this.positiveDuration('subquery or range selector', 'number, duration, step(), or range()');
    if (this.isOp(']')) return newMatrix(e, rangeMs, { start: open.start, end: this.next().end }, this.fail);
    if (!this.isOp(':')) this.unexpected('subquery or range', '":" or "]"');
    this.next();
    let stepMs = 0;
    if (!this.isOp(']')) {
      stepMs = this.positiveDuration('subquery selector', 'number, duration, step(), range(), or "]"');
    }
    const close = this.expectOp(']', 'subquery selector', '"]"');
    return newSubquery(e, rangeMs, stepMs, close.end, this.fail);
  }

  private parseOffset(e: Expr): Expr {
    const kw = this.next();
    const ms = this.parseDuration('offset', 'number, duration, step(), or range()', true);
    return setOffset(e, ms, this.toks[this.i - 1]?.end ?? kw.end, this.fail);
  }

  private parseAt(e: Expr): Expr {
    const at = this.next();
    let mod: AtModifier;
    if ((this.isWord('start') || this.isWord('end')) && this.isOp('(', 1)) {
      const kind = this.next().text.toLowerCase() === 'start' ? 'start' : 'end';
      this.next();
      this.expectOp(')', '@', '")"');
      mod = { kind };
    } else {
      let sign = 1;
      if (this.isOp('-') || this.isOp('+')) sign = this.next().text === '-' ? -1 : 1;
      const t = this.peek();
      let secs: number;
      if (t.kind === 'number') secs = parseNumber(t.text);
      else if (t.kind === 'duration') secs = this.parseDuration('@', 'timestamp', false) / 1000;
      else return this.unexpected('@', 'timestamp');
      if (t.kind === 'number') this.next();
      secs *= sign;
      if (!Number.isFinite(secs) || Math.abs(secs) >= 9.2e15) {
        this.fail({ start: at.start, end: t.end }, `timestamp out of bounds for @ modifier: ${secs}`);
      }
      mod = { kind: 'time', timeMs: Math.round(secs * 1000) };
    }
    return setAt(e, mod, this.toks[this.i - 1]?.end ?? at.end, this.fail);
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    switch (t.kind) {
      case 'number':
        this.next();
        return { type: 'NumberLiteral', val: parseNumber(t.text), pos: { start: t.start, end: t.end } };
      case 'duration':
        return {
          type: 'NumberLiteral',
          val: this.parseDuration('', '', false) / 1000,
          pos: { start: t.start, end: t.end },
        };
      case 'string':
        this.next();
        return { type: 'StringLiteral', val: t.text, pos: { start: t.start, end: t.end } };
      case 'op':
        if (t.text === '(') {
          this.next();
          const inner = this.parseBinary(0);
          const close = this.expectOp(')', 'paren expression', '")"');
          return { type: 'ParenExpr', expr: inner, pos: { start: t.start, end: close.end } };
        }
        if (t.text === '{') return this.parseSelector(null);
        return this.unexpected('', '');
      case 'ident':
      case 'metric_ident': {
        const lower = t.text.toLowerCase();
        if (t.kind === 'ident' && AGGREGATORS.has(lower)) {
          if (this.isOp('(', 1) || this.isWord('by', 1) || this.isWord('without', 1)) return this.parseAggregate();
        }
        if (t.kind === 'ident' && NOT_METRIC.has(lower)) return this.unexpected('', '');
        if (t.kind === 'ident' && this.isOp('(', 1)) return this.parseCall();
        this.next();
        return this.parseSelector(t);
      }
      case 'eof':
      case 'error':
        return this.unexpected('', '');
    }
  }

  private parseSelector(nameTok: Token | null): VectorSelector {
    const name = nameTok?.text ?? '';
    const matchers: LabelMatcher[] = [];
    const start = nameTok?.start ?? this.peek().start;
    let end = nameTok?.end ?? start;
    if (this.isOp('{')) {
      this.next();
      while (!this.isOp('}')) {
        const lt = this.next();
        const isName = lt.kind === 'ident' || (lt.kind === 'number' && /^[a-z]+$/i.test(lt.text));
        if (!isName && lt.kind !== 'string') this.unexpected('label matching', 'identifier or "}"', lt);
        if (lt.kind === 'string' && (this.isOp(',') || this.isOp('}'))) {
          matchers.push({ name: METRIC_NAME, type: '=', value: lt.text });
        } else {
          const op = this.peek();
          if (op.kind !== 'op' || !MATCH_OPS.has(op.text)) this.unexpected('label matching', 'label matching operator');
          this.next();
          const v = this.peek();
          if (v.kind !== 'string') this.unexpected('label matching', 'string');
          this.next();
          matchers.push({ name: lt.text, type: op.text as MatchType, value: v.text });
        }
        if (this.isOp(',')) this.next();
        else if (!this.isOp('}')) this.unexpected('label matching', '"," or "}"');
      }
      end = this.next().end;
    }
    return newSelector(name, matchers, { start, end }, this.fail);
  }

  /** `(a, b, "c")`: label names of by/without/on/ignoring/group_x. */
  private parseGrouping(): string[] {
    this.expectOp('(', 'grouping opts', '"("');
    const out: string[] = [];
    while (!this.isOp(')')) {
      const t = this.next();
      const ok = t.kind === 'ident' || t.kind === 'metric_ident' || t.kind === 'string';
      if (!ok || (t.kind === 'ident' && t.text.toLowerCase() === 'without')) this.unexpected('grouping opts', 'label', t);
      if (t.kind === 'string' && t.text === '') this.fail({ start: t.start, end: t.end }, 'invalid label name for grouping: ""');
      out.push(t.text);
      if (this.isOp(',')) this.next();
      else if (!this.isOp(')')) this.unexpected('grouping opts', '"," or ")"');
    }
    this.next();
    return out;
  }

  /** `(expr, expr, ...)`; returns the args and the position after `)`. */
  private parseArgs(context: string): { args: Expr[]; end: number } {
    this.expectOp('(', context, '"("');
    const args: Expr[] = [];
    while (!this.isOp(')')) {
      args.push(this.parseBinary(0));
      if (this.isOp(',')) {
        const comma = this.next();
        if (this.isOp(')')) this.fail({ start: comma.start, end: comma.end }, 'trailing commas not allowed in function call args');
      } else if (!this.isOp(')')) {
        this.unexpected(context, '"," or ")"');
      }
    }
    return { args, end: this.next().end };
  }

  private parseCall(): Call {
    const t = this.next();
    const pos0 = { start: t.start, end: t.end };
    const experimental = this.opts.enableExperimentalFunctions !== false;
    const sig = FUNCTION_SIGNATURES.get(t.text) ?? (experimental ? DURATION_FUNCTIONS.get(t.text) : undefined);
    if (sig === undefined) return this.fail(pos0, `unknown function with name ${JSON.stringify(t.text)}`);
    if (sig.experimental === true && !experimental) {
      this.fail(pos0, `function ${JSON.stringify(t.text)} is not enabled`);
    }
    const { args, end } = this.parseArgs('function call');
    const call: Call = { type: 'Call', func: t.text, args, pos: { start: t.start, end } };
    checkCall(call, sig, this.fail);
    return call;
  }

  private parseAggregate(): AggregateExpr {
    const t = this.next();
    const op = t.text.toLowerCase() as AggregateOp;
    let grouping: string[] = [];
    let without = false;
    let modified = false;
    const modifier = () => {
      without = this.next().text.toLowerCase() === 'without';
      grouping = this.parseGrouping();
      modified = true;
    };
    if (this.isWord('by') || this.isWord('without')) modifier();
    if (!this.isOp('(')) this.unexpected('aggregation', '');
    const { args, end: argsEnd } = this.parseArgs('aggregation');
    let end = argsEnd;
    if (!modified && (this.isWord('by') || this.isWord('without'))) {
      modifier();
      end = this.toks[this.i - 1]?.end ?? end;
    }
    const pos = { start: t.start, end };
    if ((op === 'limitk' || op === 'limit_ratio') && this.opts.enableExperimentalFunctions === false) {
      this.fail(pos, 'limitk() and limit_ratio() are experimental and must be enabled with --enable-feature=promql-experimental-functions');
    }
    const want = aggregateHasParam(op) ? 2 : 1;
    if (args.length !== want) {
      this.fail(pos, `wrong number of arguments for aggregate expression provided, expected ${want}, got ${args.length}`);
    }
    const expr = args[want - 1] as Expr;
    const param = want === 2 ? (args[0] as Expr) : null;
    const agg: AggregateExpr = { type: 'AggregateExpr', op, expr, param, grouping, without, pos };
    checkAggregate(agg, this.fail);
    return agg;
  }
}
