/**
 * Binary operators at one step, as Loki's binOpStepEvaluator: vector matching by the full label
 * set unless `on`/`ignoring` is given, `group_left`/`group_right` for many-to-one, set operators
 * `and`/`or`/`unless`; comparisons filter (keeping the vector side's value) unless `bool`. Loki
 * differs from Prometheus in two places reproduced here: division and modulo by zero give NaN,
 * and labels are never dropped for arithmetic (there is no metric name).
 */
import type { BinaryOp, BinaryOpExpr, VectorMatching } from '../../ast.ts';
import { queryError } from './errors.ts';
import type { LabelSet } from './labels.ts';
import type { Sample } from './values.ts';

const COMPARISONS = new Set<BinaryOp>(['==', '!=', '>', '>=', '<', '<=']);

export const isComparison = (op: BinaryOp): boolean => COMPARISONS.has(op);

/** The operator on two numbers; null when a comparison is false (the caller filters or uses 0). */
export function applyOp(op: BinaryOp, l: number, r: number): number | null {
  switch (op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      return r === 0 ? Number.NaN : l / r;
    case '%':
      return r === 0 ? Number.NaN : l % r;
    case '^':
      return Math.pow(l, r);
    case '==':
      return l === r ? 1 : null;
    case '!=':
      return l !== r ? 1 : null;
    case '>':
      return l > r ? 1 : null;
    case '>=':
      return l >= r ? 1 : null;
    case '<':
      return l < r ? 1 : null;
    case '<=':
      return l <= r ? 1 : null;
    case 'and':
    case 'or':
    case 'unless':
      throw queryError(`unexpected operation ${op} between numbers`);
  }
}

/** scalar op scalar: comparisons give 0/1 (the parser requires `bool`). */
export function scalarScalar(op: BinaryOp, l: number, r: number): number {
  return applyOp(op, l, r) ?? 0;
}

/** vector op scalar (or scalar op vector when `scalarLeft`): the sample keeps its labels. */
export function vectorScalar(
  e: BinaryOpExpr,
  vec: readonly Sample[],
  scalar: number,
  scalarLeft: boolean,
): Sample[] {
  const out: Sample[] = [];
  const cmp = isComparison(e.op);
  for (const s of vec) {
    const res = scalarLeft ? applyOp(e.op, scalar, s.value) : applyOp(e.op, s.value, scalar);
    if (!cmp) out.push({ labels: s.labels, value: res as number });
    else if (e.returnBool) out.push({ labels: s.labels, value: res === null ? 0 : 1 });
    else if (res !== null) out.push(s);
  }
  return out;
}

function signature(labels: LabelSet, m: VectorMatching | null): string {
  if (m === null) return labels.key;
  const names = new Set(m.labels);
  return (m.on ? labels.keep(names) : labels.drop(names)).key;
}

export function vectorVector(e: BinaryOpExpr, lhs: readonly Sample[], rhs: readonly Sample[]): Sample[] {
  const m = e.matching;
  const lsigs = lhs.map((s) => signature(s.labels, m));
  const rsigs = rhs.map((s) => signature(s.labels, m));
  switch (e.op) {
    case 'and': {
      if (lhs.length === 0 || rhs.length === 0) return [];
      const right = new Set(rsigs);
      return lhs.filter((_, i) => right.has(lsigs[i] as string));
    }
    case 'or': {
      if (lhs.length === 0) return [...rhs];
      if (rhs.length === 0) return [...lhs];
      const left = new Set(lsigs);
      return [...lhs, ...rhs.filter((_, i) => !left.has(rsigs[i] as string))];
    }
    case 'unless': {
      if (lhs.length === 0 || rhs.length === 0) return [...lhs];
      const right = new Set(rsigs);
      return lhs.filter((_, i) => !right.has(lsigs[i] as string));
    }
    case '+':
    case '-':
    case '*':
    case '/':
    case '%':
    case '^':
    case '==':
    case '!=':
    case '>':
    case '>=':
    case '<':
    case '<=':
      return arithmetic(e, lhs, rhs, lsigs, rsigs);
  }
}

function arithmetic(
  e: BinaryOpExpr,
  lhsIn: readonly Sample[],
  rhsIn: readonly Sample[],
  lsigsIn: string[],
  rsigsIn: string[],
): Sample[] {
  const m = e.matching;
  const card = m?.card ?? 'one-to-one';
  // one-to-many is many-to-one with the sides swapped (swapped back to apply the operator)
  const swap = card === 'one-to-many';
  const [lhs, rhs, lsigs, rsigs] = swap ? [rhsIn, lhsIn, rsigsIn, lsigsIn] : [lhsIn, rhsIn, lsigsIn, rsigsIn];
  const right = new Map<string, Sample>();
  rhs.forEach((s, i) => {
    const sig = rsigs[i] as string;
    if (right.has(sig)) {
      throw queryError(
        `found duplicate series on the ${swap ? 'left' : 'right'} hand-side;many-to-many matching not allowed: matching labels must be unique on one side`,
      );
    }
    right.set(sig, s);
  });
  const matched = new Map<string, Set<string> | null>();
  const cmp = isComparison(e.op);
  const out: Sample[] = [];
  lhs.forEach((ls, i) => {
    const sig = lsigs[i] as string;
    const rs = right.get(sig);
    if (rs === undefined) return;
    const labels = resultLabels(ls.labels, rs.labels, m);
    if (card === 'one-to-one') {
      if (matched.has(sig)) {
        throw queryError(
          'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)',
        );
      }
      matched.set(sig, null);
    } else {
      let inserted = matched.get(sig);
      if (!inserted) {
        inserted = new Set();
        matched.set(sig, inserted);
      } else if (inserted.has(labels.key)) {
        throw queryError('multiple matches for labels: grouping labels must ensure unique matches');
      }
      inserted.add(labels.key);
    }
    const [l, r] = swap ? [rs, ls] : [ls, rs];
    const res = applyOp(e.op, l.value, r.value);
    if (!cmp) out.push({ labels, value: res as number });
    else if (e.returnBool) out.push({ labels, value: res === null ? 0 : 1 });
    else if (res !== null) out.push({ labels, value: l.value });
  });
  return out;
}

/** Loki's resultMetric: `on` keeps only the matching labels, `ignoring` drops them (one-to-one); group_* copies its labels from the "one" side. */
function resultLabels(lhs: LabelSet, rhs: LabelSet, m: VectorMatching | null): LabelSet {
  if (m === null) return lhs;
  let out = lhs;
  if (m.card === 'one-to-one') {
    const names = new Set(m.labels);
    out = m.on ? out.keep(names) : out.drop(names);
  }
  for (const n of m.include) {
    const v = rhs.get(n);
    out = out.with(n, v === undefined || v === '' ? undefined : v);
  }
  return out;
}
