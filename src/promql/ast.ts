/**
 * The PromQL syntax tree: the contract between the parser (src/promql/parser/) and the engine
 * (src/promql/engine/). It mirrors Prometheus' `promql/parser/ast.go` so the Prometheus test suite
 * and error messages map one to one. Times and durations are milliseconds.
 */
import type { LabelMatcher } from './labels.ts';

/** Character offsets into the query text, for error messages. */
export interface PosRange {
  start: number;
  end: number;
}

export type ValueType = 'scalar' | 'string' | 'vector' | 'matrix';

/** `@ <time>`, `@ start()`, `@ end()`; null when absent. Times in ms. */
export type AtModifier = null | { kind: 'time'; timeMs: number } | { kind: 'start' } | { kind: 'end' };

export interface NumberLiteral {
  type: 'NumberLiteral';
  val: number;
  pos: PosRange;
}

export interface StringLiteral {
  type: 'StringLiteral';
  val: string;
  pos: PosRange;
}

export interface VectorSelector {
  type: 'VectorSelector';
  /** the metric name as written before the braces ('' when only `{...}` was written) */
  name: string;
  /** all matchers, including `__name__="<name>"` when a name was written */
  matchers: LabelMatcher[];
  offsetMs: number;
  at: AtModifier;
  pos: PosRange;
}

export interface MatrixSelector {
  type: 'MatrixSelector';
  vector: VectorSelector;
  rangeMs: number;
  pos: PosRange;
}

export interface SubqueryExpr {
  type: 'SubqueryExpr';
  expr: Expr;
  rangeMs: number;
  /** 0 = the default (the query's step, or the global evaluation interval for instant queries) */
  stepMs: number;
  offsetMs: number;
  at: AtModifier;
  pos: PosRange;
}

export interface ParenExpr {
  type: 'ParenExpr';
  expr: Expr;
  pos: PosRange;
}

export interface UnaryExpr {
  type: 'UnaryExpr';
  op: '-' | '+';
  expr: Expr;
  pos: PosRange;
}

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2';
export type ComparisonOp = '==' | '!=' | '>' | '<' | '>=' | '<=';
export type SetOp = 'and' | 'or' | 'unless';
export type BinaryOp = ArithmeticOp | ComparisonOp | SetOp;

export interface VectorMatching {
  card: 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';
  /** true for `on(...)`, false for `ignoring(...)` (or no modifier) */
  on: boolean;
  labels: string[];
  /** labels named in group_left(...)/group_right(...) */
  include: string[];
}

export interface BinaryExpr {
  type: 'BinaryExpr';
  op: BinaryOp;
  lhs: Expr;
  rhs: Expr;
  /** the `bool` modifier of comparisons */
  returnBool: boolean;
  /** set when both sides are vectors (Prometheus sets it for vector-vector operations) */
  matching: VectorMatching | null;
  pos: PosRange;
}

export type AggregateOp =
  | 'sum'
  | 'avg'
  | 'count'
  | 'min'
  | 'max'
  | 'group'
  | 'stddev'
  | 'stdvar'
  | 'topk'
  | 'bottomk'
  | 'count_values'
  | 'quantile'
  | 'limitk'
  | 'limit_ratio';

export interface AggregateExpr {
  type: 'AggregateExpr';
  op: AggregateOp;
  expr: Expr;
  /** the first argument of topk, bottomk, quantile, count_values, limitk, limit_ratio */
  param: Expr | null;
  grouping: string[];
  /** true for `without (...)`, false for `by (...)` or no clause */
  without: boolean;
  pos: PosRange;
}

export interface Call {
  type: 'Call';
  func: string;
  args: Expr[];
  pos: PosRange;
}

export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | SubqueryExpr
  | ParenExpr
  | UnaryExpr
  | BinaryExpr
  | AggregateExpr
  | Call;
