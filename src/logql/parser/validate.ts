/**
 * The checks Loki runs after the grammar accepted a query, in Loki's order: first the errors
 * found while building nodes (`parameter required for operation topk`, `invalid aggregation ...`)
 * and the non-empty matcher rule, walking the tree; then the pipeline stages are built, which
 * rejects invalid regular expressions (`stage '|~ "(a"' : error parsing regexp: ...`) and
 * templates (`stage '| line_format "{{"' : invalid line template: template: line:1: ...`).
 * All of them read `parse error : <detail>` (no position), as in Loki.
 */
import type {
  Expr,
  LineFilterStage,
  LogSelectorExpr,
  Matcher,
  PipelineStage,
  RangeAggregationExpr,
  RangeOp,
} from '../ast.ts';
import { formatStageError } from '../pipeline/format.ts';
import { errorNoPos } from './errors.ts';
import { formatLineFilter, formatStage } from './format.ts';
import { re2Error } from '../regex.ts';
import { hasNamedCapture, matchesEmpty } from './regex.ts';

const EMPTY_MATCHER_RULE =
  'queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will';

const GROUPING_OPS = new Set<RangeOp>([
  'avg_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'quantile_over_time',
  'max_over_time',
  'min_over_time',
  'first_over_time',
  'last_over_time',
]);
const UNWRAP_OPS = new Set<RangeOp>([
  'avg_over_time',
  'sum_over_time',
  'max_over_time',
  'min_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'quantile_over_time',
  'rate',
  'rate_counter',
  'absent_over_time',
  'first_over_time',
  'last_over_time',
]);
const NO_UNWRAP_OPS = new Set<RangeOp>([
  'bytes_over_time',
  'bytes_rate',
  'count_over_time',
  'rate',
  'absent_over_time',
]);

/** Errors Loki attaches to a node while parsing and reports after the parse succeeded. */
export class Problems {
  private readonly byNode = new Map<object, string>();

  add(node: object, detail: string): void {
    if (!this.byNode.has(node)) this.byNode.set(node, detail);
  }

  get(node: object): string | undefined {
    return this.byNode.get(node);
  }

  checkRangeAggregation(node: RangeAggregationExpr, paramText: string | null): void {
    const { op } = node;
    if (paramText !== null && op !== 'quantile_over_time') {
      this.add(node, `parameter ${paramText} not supported for operation ${op}`);
    } else if (paramText === null && op === 'quantile_over_time') {
      this.add(node, `parameter required for operation ${op}`);
    } else if (node.grouping !== null && !GROUPING_OPS.has(op)) {
      this.add(node, `grouping not allowed for ${op} aggregation`);
    } else if (node.unwrap !== null && !UNWRAP_OPS.has(op)) {
      this.add(node, `invalid aggregation ${op} with unwrap`);
    } else if (node.unwrap === null && !NO_UNWRAP_OPS.has(op)) {
      this.add(node, `invalid aggregation ${op} without unwrap`);
    }
  }
}

export function validateTree(expr: Expr, problems: Problems): void {
  const selectors: LogSelectorExpr[] = [];
  const walk = (e: Expr): void => {
    const own = problems.get(e);
    if (own !== undefined) throw errorNoPos(own, e.pos.start);
    switch (e.type) {
      case 'LogSelector':
        checkMatchers(e);
        selectors.push(e);
        return;
      case 'RangeAggregation':
        checkMatchers(e.selector);
        selectors.push(e.selector);
        return;
      case 'BinaryOp':
        walk(e.lhs);
        walk(e.rhs);
        return;
      case 'VectorAggregation':
        if ((e.op === 'sort' || e.op === 'sort_desc') && e.grouping !== null && e.grouping.labels.length > 0)
          throw errorNoPos("sort and sort_desc doesn't allow grouping by ", e.pos.start);
        walk(e.expr);
        return;
      case 'LabelReplace':
        walk(e.expr);
        return;
      case 'Literal':
      case 'Vector':
        return;
    }
  };
  walk(expr);
  for (const s of selectors) checkStages(s.pipeline);
}

function isSelective(m: Matcher): boolean {
  switch (m.type) {
    case '=':
      return m.value !== '';
    case '!=':
      return m.value === '';
    case '=~':
      return !matchesEmpty(m.value);
    case '!~':
      return matchesEmpty(m.value);
  }
}

function checkMatchers(s: LogSelectorExpr): void {
  if (!s.matchers.some(isSelective)) throw errorNoPos(EMPTY_MATCHER_RULE, s.pos.start);
}

/**
 * Loki builds consecutive line filters (up to a label filter, line_format or unpack, which
 * change what later filters see) into one stage, and names that whole stage in the error.
 */
function checkStages(stages: PipelineStage[]): void {
  let group: LineFilterStage[] = [];
  const flush = () => {
    for (const f of group) {
      if (f.op !== '|~' && f.op !== '!~') continue;
      for (const v of f.values) {
        const err = v.kind === 'string' ? re2Error(v.value) : null;
        if (err !== null)
          throw errorNoPos(`stage '${group.map(formatLineFilter).join(' ')}' : ${err}`, f.pos.start);
      }
    }
    group = [];
  };
  for (const s of stages) {
    if (s.type === 'LineFilter') {
      group.push(s);
      continue;
    }
    if (s.type === 'LabelFilter' || s.type === 'LineFormat' || s.type === 'Unpack') flush();
    if (s.type === 'Regexp') {
      const err =
        re2Error(s.pattern) ??
        (hasNamedCapture(s.pattern) ? null : 'at least one named capture must be supplied');
      if (err !== null) throw errorNoPos(`stage '${formatStage(s)}' : ${err}`, s.pos.start);
    }
    if (s.type === 'LineFormat' || s.type === 'LabelFormat') {
      const err = formatStageError(s);
      if (err !== null) throw errorNoPos(`stage '${formatStage(s)}' : ${err}`, s.pos.start);
    }
  }
  flush();
}

/** Loki's arithmetic on two literals (comparisons give 1 or 0; division by zero gives NaN). */
export function foldLiterals(op: string, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return b === 0 ? NaN : a / b;
    case '%':
      return b === 0 ? NaN : a % b;
    case '^':
      return Math.pow(a, b);
    case '==':
      return a === b ? 1 : 0;
    case '!=':
      return a !== b ? 1 : 0;
    case '>':
      return a > b ? 1 : 0;
    case '>=':
      return a >= b ? 1 : 0;
    case '<':
      return a < b ? 1 : 0;
    case '<=':
      return a <= b ? 1 : 0;
    default:
      return NaN;
  }
}
