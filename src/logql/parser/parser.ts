/**
 * LogQL text → the syntax tree of ../ast.ts. A recursive-descent parser with precedence climbing
 * for binary operators (PromQL's precedence; `^` right-associative), one token of look-ahead
 * (two for `topk(5, ...)`), no backtracking: linear in the query length.
 *
 * Loki reports errors in two rounds, and so do we: syntax errors while parsing, then the
 * semantic ones (`invalid aggregation sum_over_time without unwrap`, the non-empty matcher rule,
 * invalid regexps in line filters) walking the finished tree — see validate.ts.
 */
import type {
  BinaryOp,
  BinaryOpExpr,
  Expr,
  Grouping,
  LabelReplaceExpr,
  LogSelectorExpr,
  RangeAggregationExpr,
  RangeOp,
  SampleExpr,
  UnwrapStage,
  VectorAggregationExpr,
  VectorMatching,
  VectorOp,
} from '../ast.ts';
import { Cursor } from './cursor.ts';
import { errorNoPos } from './errors.ts';
import { parsePromDurationMs } from './durations.ts';
import { parseDurationLiteralNs, tokenize } from './lexer.ts';
import { numberValue, parseSelector, parseSignedNumber, parseStages, parseUnwrap } from './pipeline.ts';
import { foldLiterals, Problems, validateTree } from './validate.ts';

/** Loki rejects longer queries before parsing. */
const MAX_QUERY_BYTES = 5120;

export function parseLogQL(text: string): Expr {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes >= MAX_QUERY_BYTES) throw errorNoPos(`input size too long (${bytes} > ${MAX_QUERY_BYTES})`, null);
  const p = new Parser(text);
  const expr = p.parseRoot();
  validateTree(expr, p.problems);
  return expr;
}

const RANGE_OPS: Record<string, RangeOp> = {
  COUNT_OVER_TIME: 'count_over_time',
  RATE: 'rate',
  RATE_COUNTER: 'rate_counter',
  BYTES_OVER_TIME: 'bytes_over_time',
  BYTES_RATE: 'bytes_rate',
  AVG_OVER_TIME: 'avg_over_time',
  SUM_OVER_TIME: 'sum_over_time',
  MIN_OVER_TIME: 'min_over_time',
  MAX_OVER_TIME: 'max_over_time',
  STDVAR_OVER_TIME: 'stdvar_over_time',
  STDDEV_OVER_TIME: 'stddev_over_time',
  QUANTILE_OVER_TIME: 'quantile_over_time',
  FIRST_OVER_TIME: 'first_over_time',
  LAST_OVER_TIME: 'last_over_time',
  ABSENT_OVER_TIME: 'absent_over_time',
};

const VECTOR_OPS: Record<string, VectorOp> = {
  SUM: 'sum',
  AVG: 'avg',
  MIN: 'min',
  MAX: 'max',
  COUNT: 'count',
  STDDEV: 'stddev',
  STDVAR: 'stdvar',
  TOPK: 'topk',
  BOTTOMK: 'bottomk',
  SORT: 'sort',
  SORT_DESC: 'sort_desc',
};

const PRECEDENCE: Record<string, number> = {
  or: 1,
  and: 2,
  unless: 2,
  '==': 3,
  '!=': 3,
  '>': 3,
  '>=': 3,
  '<': 3,
  '<=': 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '%': 5,
  '^': 6,
};

class Parser {
  readonly problems = new Problems();
  private readonly c: Cursor;

  constructor(text: string) {
    this.c = new Cursor(text, tokenize(text));
  }

  parseRoot(): Expr {
    const e = this.expr(0);
    if (!this.c.is('$end')) throw this.c.error([]);
    return e;
  }

  private expr(minPrec: number): Expr {
    let lhs = this.unary();
    for (;;) {
      const t = this.c.peek();
      const prec = PRECEDENCE[t.kind];
      if (prec === undefined || prec < minPrec) return lhs;
      this.c.next();
      const { returnBool, matching } = this.binModifiers();
      const rhs = this.expr(t.kind === '^' ? prec : prec + 1);
      lhs = this.binOp(t.kind as BinaryOp, lhs, rhs, returnBool, matching);
    }
  }

  private binOp(
    op: BinaryOp,
    lhs: Expr,
    rhs: Expr,
    returnBool: boolean,
    matching: VectorMatching | null,
  ): SampleExpr {
    const pos = { start: lhs.pos.start, end: rhs.pos.end };
    const node: BinaryOpExpr = {
      type: 'BinaryOp',
      op,
      lhs: lhs as SampleExpr,
      rhs: rhs as SampleExpr,
      returnBool,
      matching,
      pos,
    };
    const goType = (e: LogSelectorExpr) =>
      e.pipeline.length > 0 ? '*syntax.PipelineExpr' : '*syntax.MatchersExpr';
    if (lhs.type === 'LogSelector') {
      this.problems.add(node, `unexpected type for left leg of binary operation (${op}): ${goType(lhs)}`);
      return node;
    }
    if (rhs.type === 'LogSelector') {
      this.problems.add(node, `unexpected type for right leg of binary operation (${op}): ${goType(rhs)}`);
      return node;
    }
    const logical = op === 'and' || op === 'or' || op === 'unless';
    if (logical && (lhs.type === 'Literal' || rhs.type === 'Literal')) {
      const [side, lit] =
        lhs.type === 'Literal' ? ['left', lhs.value] : ['right', (rhs as { value: number }).value];
      this.problems.add(
        node,
        `unexpected literal for ${side} leg of logical/set binary operation (${op}): ${lit.toFixed(6)}`,
      );
      return node;
    }
    // Loki computes operations on two literals while parsing (`1 + 1` is the literal 2)
    if (lhs.type === 'Literal' && rhs.type === 'Literal') {
      return { type: 'Literal', value: foldLiterals(op, lhs.value, rhs.value), pos };
    }
    return node;
  }

  /** `bool`, `on(...)` / `ignoring(...)`, `group_left(...)` / `group_right(...)` after an operator. */
  private binModifiers(): { returnBool: boolean; matching: VectorMatching | null } {
    const c = this.c;
    const returnBool = c.accept('bool') !== null;
    if (!c.is('on', 'ignoring')) return { returnBool, matching: null };
    const on = c.next().kind === 'on';
    const labels = this.labelList();
    let card: VectorMatching['card'] = 'one-to-one';
    let include: string[] = [];
    if (c.is('group_left', 'group_right')) {
      card = c.next().kind === 'group_left' ? 'many-to-one' : 'one-to-many';
      if (c.is('(')) include = this.labelList();
    }
    return { returnBool, matching: { on, labels, card, include } };
  }

  /** `(a, b)` or `()` */
  private labelList(): string[] {
    const c = this.c;
    c.expect('(');
    const labels: string[] = [];
    if (c.accept(')')) return labels;
    labels.push(c.expect('IDENTIFIER', ['IDENTIFIER', ')']).text);
    while (c.accept(',')) labels.push(c.expect('IDENTIFIER').text);
    c.expect(')', [',', ')']);
    return labels;
  }

  private grouping(): Grouping {
    const without = this.c.next().kind === 'without';
    return { without, labels: this.labelList() };
  }

  private unary(): Expr {
    const c = this.c;
    const t = c.peek();
    if (t.kind === '{') {
      const matchers = parseSelector(c);
      const pipeline = parseStages(c, false);
      return { type: 'LogSelector', matchers, pipeline, pos: { start: t.start, end: c.lastEnd } };
    }
    if (t.kind === '(') {
      c.next();
      const inner = this.expr(0);
      if (!c.is(')')) throw c.error([]);
      c.next();
      return inner;
    }
    if (t.kind === 'NUMBER' || t.kind === '+' || t.kind === '-') {
      const value = parseSignedNumber(c);
      return { type: 'Literal', value, pos: { start: t.start, end: c.lastEnd } };
    }
    const rangeOp = RANGE_OPS[t.kind];
    if (rangeOp !== undefined) return this.rangeAggregation(rangeOp);
    const vectorOp = VECTOR_OPS[t.kind];
    if (vectorOp !== undefined) return this.vectorAggregation(vectorOp);
    if (t.kind === 'label_replace') return this.labelReplace();
    if (t.kind === 'VECTOR') {
      c.next();
      c.expect('(');
      const value = numberValue(c.expect('NUMBER').text);
      c.expect(')');
      return { type: 'Vector', value, pos: { start: t.start, end: c.lastEnd } };
    }
    throw c.error([]);
  }

  /** A metric expression where Loki's grammar wants one: a bare log selector fails at the next token. */
  private sampleExpr(): SampleExpr {
    const e = this.expr(0);
    if (e.type === 'LogSelector') throw this.c.error([]);
    return e;
  }

  private vectorAggregation(op: VectorOp): VectorAggregationExpr {
    const c = this.c;
    const start = c.next().start;
    let grouping: Grouping | null = c.is('by', 'without') ? this.grouping() : null;
    c.expect('(', grouping === null ? ['(', 'by', 'without'] : ['(']);
    let paramText: string | null = null;
    if (c.is('NUMBER') && c.peek(1).kind === ',') {
      paramText = c.next().text;
      c.next();
    }
    const expr = this.sampleExpr();
    if (!c.is(')')) throw c.error([]);
    c.next();
    if (grouping === null && c.is('by', 'without')) grouping = this.grouping();
    // `sum by () (x)` is `sum(x)`
    if (grouping !== null && !grouping.without && grouping.labels.length === 0) grouping = null;
    const node: VectorAggregationExpr = {
      type: 'VectorAggregation',
      op,
      expr,
      grouping,
      param: paramText === null ? null : numberValue(paramText),
      pos: { start, end: c.lastEnd },
    };
    if (op === 'topk' || op === 'bottomk') {
      if (paramText === null) this.problems.add(node, `parameter required for operation ${op}`);
      else if (!/^[+-]?\d+$/.test(paramText))
        this.problems.add(node, `invalid parameter ${op}(${paramText},`);
      else if (numberValue(paramText) <= 0)
        this.problems.add(node, `invalid parameter (must be greater than 0) ${op}(${paramText}`);
    } else if (paramText !== null) {
      this.problems.add(node, `unsupported parameter for operation ${op}(${paramText},`);
    }
    return node;
  }

  private labelReplace(): LabelReplaceExpr {
    const c = this.c;
    const start = c.next().start;
    c.expect('(');
    const expr = this.sampleExpr();
    if (!c.is(',')) throw c.error([]);
    const args: string[] = [];
    for (let i = 0; i < 4; i++) {
      c.expect(',');
      args.push(c.expect('STRING').text);
    }
    c.expect(')');
    const [dst, replacement, src, regex] = args as [string, string, string, string];
    return { type: 'LabelReplace', expr, dst, replacement, src, regex, pos: { start, end: c.lastEnd } };
  }

  private rangeAggregation(op: RangeOp): RangeAggregationExpr {
    const c = this.c;
    const start = c.next().start;
    c.expect('(');
    let param: number | null = null;
    let paramText: string | null = null;
    if (c.is('NUMBER')) {
      paramText = c.next().text;
      param = numberValue(paramText);
      c.expect(',');
    }
    const range = this.logRange();
    c.expect(')');
    const grouping = c.is('by', 'without') ? this.grouping() : null;
    const node: RangeAggregationExpr = {
      type: 'RangeAggregation',
      op,
      selector: range.selector,
      unwrap: range.unwrap,
      rangeMs: range.rangeMs,
      offsetMs: range.offsetMs,
      param,
      grouping,
      pos: { start, end: c.lastEnd },
    };
    this.problems.checkRangeAggregation(node, paramText);
    return node;
  }

  /**
   * What goes inside `rate(...)`: Loki accepts the pipeline and `unwrap` before the range or
   * (without anything before it) after the range and offset, and parentheses around the selector.
   */
  private logRange(): {
    selector: LogSelectorExpr;
    unwrap: UnwrapStage | null;
    rangeMs: number;
    offsetMs: number;
  } {
    const c = this.c;
    const start = c.peek().start;
    if (c.is('(')) {
      c.next();
      if (c.is('(')) {
        const inner = this.logRange();
        c.expect(')', [')']);
        return inner;
      }
      const inner = this.selectorWithStages();
      if (c.is('RANGE')) {
        // `( {..} [5m] ... )`: a whole range expression in parentheses
        const rest = this.rangeAndAfter(inner.selector, inner.unwrap, start);
        c.expect(')', [')']);
        return rest;
      }
      if (!c.is(')')) throw c.error(inner.unwrap === null ? [] : [')', '|']);
      c.next();
      const rangeMs = this.range();
      const offsetMs = this.offset();
      return { selector: inner.selector, unwrap: inner.unwrap, rangeMs, offsetMs };
    }
    const inner = this.selectorWithStages();
    if (!c.is('RANGE')) throw c.error(inner.unwrap === null ? [] : ['RANGE', '|']);
    return this.rangeAndAfter(inner.selector, inner.unwrap, start);
  }

  private selectorWithStages(): { selector: LogSelectorExpr; unwrap: UnwrapStage | null } {
    const c = this.c;
    const start = c.peek().start;
    if (!c.is('{')) throw c.error(['{', '(']);
    const matchers = parseSelector(c);
    const pipeline = parseStages(c, true);
    const selector: LogSelectorExpr = {
      type: 'LogSelector',
      matchers,
      pipeline,
      pos: { start, end: c.lastEnd },
    };
    const unwrap = c.is('|') ? parseUnwrap(c) : null;
    return { selector, unwrap };
  }

  /** `[5m] [offset 1h]`, then, when nothing came before the range, `| stages [| unwrap ...]`. */
  private rangeAndAfter(selector: LogSelectorExpr, unwrap: UnwrapStage | null, start: number) {
    const c = this.c;
    const rangeMs = this.range();
    const offsetMs = this.offset();
    if (selector.pipeline.length === 0 && unwrap === null) {
      const pipeline = parseStages(c, true);
      if (c.is('|')) unwrap = parseUnwrap(c);
      selector = { ...selector, pipeline, pos: { start, end: c.lastEnd } };
    }
    return { selector, unwrap, rangeMs, offsetMs };
  }

  private range(): number {
    return parsePromDurationMs(this.c.expect('RANGE').text);
  }

  private offset(): number {
    if (!this.c.accept('offset')) return 0;
    const t = this.c.expect('DURATION');
    // Loki's lexer reads the DURATION the same way as label filter durations; keep milliseconds
    return Math.round((parseDurationLiteralNs(t.text) ?? 0) / 1e6);
  }
}
