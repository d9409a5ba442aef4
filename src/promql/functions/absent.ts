/** absent(): the labels of the result come from the argument selector's equality matchers. */
import type { Expr } from '../ast.ts';
import { type Label, Labels, METRIC_NAME } from '../labels.ts';
import { define, vectorArg } from './common.ts';
import type { FunctionImpl } from './types.ts';

/**
 * Prometheus' createLabelsForAbsentFunction: equality matchers give labels, except that a label
 * matched more than once (or by a non-equality matcher) is removed; `__name__` is never included.
 */
export function absentLabels(expr: Expr | undefined): Labels {
  // like Prometheus, only a bare selector counts (parentheses and other expressions give {})
  const e = expr;
  const matchers =
    e?.type === 'VectorSelector' ? e.matchers : e?.type === 'MatrixSelector' ? e.vector.matchers : null;
  if (matchers === null) return Labels.EMPTY;
  const set = new Map<string, string>();
  const has = new Set<string>();
  for (const m of matchers) {
    if (m.name === METRIC_NAME) continue;
    if (m.type === '=' && !has.has(m.name)) {
      set.set(m.name, m.value);
      has.add(m.name);
    } else {
      set.delete(m.name);
    }
  }
  const list: Label[] = [...set].map(([name, value]) => ({ name, value }));
  return Labels.from(list);
}

export const ABSENT_FUNCTIONS: FunctionImpl[] = [
  define('absent', (args, ctx) => {
    if (vectorArg(args, 0).length > 0) return [];
    return [{ metric: absentLabels(ctx.argExprs[0]), t: ctx.t, v: 1 }];
  }),
];
