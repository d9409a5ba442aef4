/** Node constructors with Prometheus' checks: selectors, ranges, subqueries, offset and @. */
import type { AtModifier, Expr, MatrixSelector, PosRange, SubqueryExpr, VectorSelector } from '../ast.ts';
import { METRIC_NAME, type LabelMatcher } from '../labels.ts';
import { exprType, type Fail } from './check.ts';
import { matchesEmpty } from './regex.ts';

/** A selector from a name written before the braces (or '') and the matchers inside them. */
export function newSelector(name: string, matchers: LabelMatcher[], pos: PosRange, fail: Fail): VectorSelector {
  if (name !== '') {
    const other = matchers.find((m) => m.name === METRIC_NAME);
    if (other) fail(pos, `metric name must not be set twice: ${JSON.stringify(name)} or ${JSON.stringify(other.value)}`);
    // Prometheus appends the matcher for a name written before the braces
    matchers.push({ name: METRIC_NAME, type: '=', value: name });
  }
  if (!matchers.some((m) => !matchesEmpty(m))) {
    fail(pos, 'vector selector must contain at least one non-empty matcher');
  }
  return { type: 'VectorSelector', name, matchers, offsetMs: 0, at: null, pos };
}

/** `e[range]`; `brackets` is the position of `[...]`. */
export function newMatrix(e: Expr, rangeMs: number, brackets: PosRange, fail: Fail): MatrixSelector {
  if (e.type !== 'VectorSelector') return fail(brackets, 'ranges only allowed for vector selectors');
  if (e.offsetMs !== 0) fail(brackets, 'no offset modifiers allowed before range');
  if (e.at !== null) fail(brackets, 'no @ modifiers allowed before range');
  return { type: 'MatrixSelector', vector: e, rangeMs, pos: { start: e.pos.start, end: brackets.end } };
}

/** `e[range:step]` (step 0 when omitted). */
export function newSubquery(e: Expr, rangeMs: number, stepMs: number, end: number, fail: Fail): SubqueryExpr {
  const sq: SubqueryExpr = {
    type: 'SubqueryExpr',
    expr: e,
    rangeMs,
    stepMs,
    offsetMs: 0,
    at: null,
    pos: { start: e.pos.start, end },
  };
  const ty = exprType(e);
  if (ty !== 'vector') fail(sq.pos, `subquery is only allowed on instant vector, got ${ty} instead`);
  return sq;
}

/** The node that holds offset and @ for `e`, or a parse error. */
function modifierTarget(e: Expr, what: string, fail: Fail): VectorSelector | SubqueryExpr {
  if (e.type === 'VectorSelector' || e.type === 'SubqueryExpr') return e;
  if (e.type === 'MatrixSelector') return e.vector;
  return fail(e.pos, `${what} modifier must be preceded by an instant vector selector or range vector selector or a subquery`);
}

/** Sets `offset <ms>` on e (which ends at `end` with the modifier). */
export function setOffset(e: Expr, ms: number, end: number, fail: Fail): Expr {
  const target = modifierTarget(e, 'offset', fail);
  if (target.offsetMs !== 0) fail(e.pos, 'offset may not be set multiple times');
  target.offsetMs = ms;
  e.pos = { start: e.pos.start, end };
  return e;
}

/** Sets `@ <time>`, `@ start()` or `@ end()` on e. */
export function setAt(e: Expr, at: AtModifier, end: number, fail: Fail): Expr {
  const target = modifierTarget(e, '@', fail);
  if (target.at !== null) fail(e.pos, '@ <timestamp> may not be set multiple times');
  target.at = at;
  e.pos = { start: e.pos.start, end };
  return e;
}
