/**
 * Type checks of the parser (Prometheus' checkAST), applied as each node is built, and exprType.
 * Messages match Prometheus'.
 */
import type { AggregateExpr, BinaryExpr, BinaryOp, Call, Expr, PosRange, ValueType } from '../ast.ts';
import { FUNCTION_SIGNATURES, type FunctionSignature } from '../functions/signatures.ts';

export type Fail = (pos: PosRange, msg: string) => never;

/**
 * Prometheus' experimental duration-expression functions, accepted (as Call nodes of scalar type)
 * when experimental functions are enabled: `step()`, `range()`, `start()`, `end()` are the query's
 * step, range (end - start), start and end in seconds; `min_of(a, b)`, `max_of(a, b)`.
 */
export const DURATION_FUNCTIONS: ReadonlyMap<string, FunctionSignature> = new Map(
  (
    [
      ['step', []],
      ['range', []],
      ['start', []],
      ['end', []],
      ['min_of', ['scalar', 'scalar']],
      ['max_of', ['scalar', 'scalar']],
    ] as const
  ).map(([name, argTypes]): [string, FunctionSignature] => [
    name,
    { name, argTypes: [...argTypes], variadic: 0, returnType: 'scalar', experimental: true },
  ]),
);

export function exprType(e: Expr): ValueType {
  switch (e.type) {
    case 'NumberLiteral':
      return 'scalar';
    case 'StringLiteral':
      return 'string';
    case 'VectorSelector':
      return 'vector';
    case 'MatrixSelector':
    case 'SubqueryExpr':
      return 'matrix';
    case 'ParenExpr':
    case 'UnaryExpr':
      return exprType(e.expr);
    case 'BinaryExpr':
      return exprType(e.lhs) === 'scalar' && exprType(e.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'AggregateExpr':
      return 'vector';
    case 'Call':
      return (FUNCTION_SIGNATURES.get(e.func) ?? DURATION_FUNCTIONS.get(e.func))?.returnType ?? 'vector';
  }
}

/** Prometheus' DocumentedType. */
export function documentedType(t: ValueType): string {
  switch (t) {
    case 'vector':
      return 'instant vector';
    case 'matrix':
      return 'range vector';
    case 'scalar':
      return 'scalar';
    case 'string':
      return 'string';
  }
}

export function expectType(e: Expr, want: ValueType, context: string, fail: Fail): void {
  const got = exprType(e);
  if (got !== want) {
    fail(e.pos, `expected type ${documentedType(want)} in ${context}, got ${documentedType(got)}`);
  }
}

export function checkCall(call: Call, sig: FunctionSignature, fail: Fail): void {
  const nargs = sig.argTypes.length;
  const got = call.args.length;
  if (sig.variadic === 0) {
    if (nargs !== got) fail(call.pos, `expected ${nargs} argument(s) in call to "${sig.name}", got ${got}`);
  } else {
    const min = sig.variadic > 0 ? nargs - sig.variadic : nargs - 1;
    if (got < min) {
      fail(call.pos, `expected at least ${min} argument(s) in call to "${sig.name}", got ${got}`);
    } else if (sig.variadic > 0 && got > nargs) {
      fail(call.pos, `expected at most ${nargs} argument(s) in call to "${sig.name}", got ${got}`);
    }
  }
  call.args.forEach((arg, i) => {
    const t = sig.argTypes[Math.min(i, nargs - 1)];
    if (t === undefined || (i >= nargs && sig.variadic !== -1)) return;
    expectType(arg, t, `call to function "${sig.name}"`, fail);
  });
}

const PARAM_AGGS = new Set(['topk', 'bottomk', 'quantile', 'count_values', 'limitk', 'limit_ratio']);
export const aggregateHasParam = (op: string): boolean => PARAM_AGGS.has(op);

export function checkAggregate(a: AggregateExpr, fail: Fail): void {
  expectType(a.expr, 'vector', 'aggregation expression', fail);
  if (a.param !== null) {
    expectType(a.param, a.op === 'count_values' ? 'string' : 'scalar', 'aggregation parameter', fail);
  }
}

const COMPARISON = new Set<BinaryOp>(['==', '!=', '>', '<', '>=', '<=']);
const SET_OPS = new Set<BinaryOp>(['and', 'or', 'unless']);
export const isComparison = (op: BinaryOp): boolean => COMPARISON.has(op);
export const isSetOp = (op: BinaryOp): boolean => SET_OPS.has(op);

/** Checks a BinaryExpr whose `matching` holds the parsed modifiers; fixes up `matching`. */
export function checkBinary(b: BinaryExpr, opPos: PosRange, fail: Fail): void {
  const lt = exprType(b.lhs);
  const rt = exprType(b.rhs);
  const m = b.matching;
  if (b.returnBool && !isComparison(b.op)) fail(opPos, 'bool modifier can only be used on comparison operators');
  if (isComparison(b.op) && !b.returnBool && lt === 'scalar' && rt === 'scalar') {
    fail(opPos, 'comparisons between scalars must use BOOL modifier');
  }
  if (m !== null && isSetOp(b.op) && m.card === 'one-to-one') m.card = 'many-to-many';
  if (m?.on) {
    for (const l of m.labels) {
      if (m.include.includes(l)) fail(opPos, `label "${l}" must not occur in ON and GROUP clause at once`);
    }
  }
  if (lt !== 'scalar' && lt !== 'vector') {
    fail(b.lhs.pos, 'binary expression must contain only scalar and instant vector types');
  }
  if (rt !== 'scalar' && rt !== 'vector') {
    fail(b.rhs.pos, 'binary expression must contain only scalar and instant vector types');
  }
  if (lt !== 'vector' || rt !== 'vector') {
    if (m !== null && m.labels.length > 0) fail(b.pos, 'vector matching only allowed between instant vectors');
    b.matching = null;
  } else if (m !== null && isSetOp(b.op)) {
    if (m.card === 'one-to-many' || m.card === 'many-to-one') {
      fail(b.pos, `no grouping allowed for "${b.op}" operation`);
    }
    if (m.card !== 'many-to-many') fail(b.pos, 'set operations must always be many-to-many');
  }
  if ((lt === 'scalar' || rt === 'scalar') && isSetOp(b.op)) {
    fail(b.pos, `set operator "${b.op}" not allowed in binary scalar expression`);
  }
}
