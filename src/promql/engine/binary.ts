/** Binary operators (Prometheus' VectorBinop, VectorscalarBinop, VectorAnd/Or/Unless). */
import type { BinaryOp, VectorMatching } from '../ast.ts';
import { type Labels, METRIC_NAME } from '../labels.ts';
import type { Sample } from '../value.ts';
import { execError } from './errors.ts';
import { goQuote } from './format.ts';

const COMPARISON = new Set<BinaryOp>(['==', '!=', '>', '<', '>=', '<=']);
const SET_OPS = new Set<BinaryOp>(['and', 'or', 'unless']);

export const isComparison = (op: BinaryOp): boolean => COMPARISON.has(op);
export const isSetOp = (op: BinaryOp): boolean => SET_OPS.has(op);
/** Arithmetic drops the metric name; comparisons and set operators keep it. */
export const dropsName = (op: BinaryOp): boolean => !COMPARISON.has(op) && !SET_OPS.has(op);

/** Go's math.Pow special cases where JavaScript's `**` differs. */
export function goPow(x: number, y: number): number {
  if (y === 0) return 1;
  if (x === 1) return 1;
  if ((x === -1 || x === 1) && !Number.isFinite(y) && !Number.isNaN(y)) return 1;
  return x ** y;
}

/** Result value and whether the element is kept (false for failed comparisons). */
export function scalarBinop(op: BinaryOp, l: number, r: number): { v: number; keep: boolean } {
  switch (op) {
    case '+':
      return { v: l + r, keep: true };
    case '-':
      return { v: l - r, keep: true };
    case '*':
      return { v: l * r, keep: true };
    case '/':
      return { v: l / r, keep: true };
    case '%':
      return { v: l % r, keep: true };
    case '^':
      return { v: goPow(l, r), keep: true };
    case 'atan2':
      return { v: Math.atan2(l, r), keep: true };
    case '==':
      return { v: l, keep: l === r };
    case '!=':
      return { v: l, keep: l !== r };
    case '>':
      return { v: l, keep: l > r };
    case '<':
      return { v: l, keep: l < r };
    case '>=':
      return { v: l, keep: l >= r };
    case '<=':
      return { v: l, keep: l <= r };
    case 'and':
    case 'or':
    case 'unless':
      throw execError(`operator "${op}" not allowed for scalar operations`);
  }
}

/** scalar op scalar (comparisons need `bool`, which the parser enforces). */
export function scalarScalar(op: BinaryOp, l: number, r: number, returnBool: boolean): number {
  const { v, keep } = scalarBinop(op, l, r);
  if (isComparison(op)) return returnBool ? (keep ? 1 : 0) : keep ? v : Number.NaN;
  return v;
}

/** vector op scalar, or scalar op vector when `swap`. */
export function vectorScalar(
  op: BinaryOp,
  vec: readonly Sample[],
  scalar: number,
  swap: boolean,
  returnBool: boolean,
): Sample[] {
  const out: Sample[] = [];
  const cmp = isComparison(op);
  for (const s of vec) {
    const l = swap ? scalar : s.v;
    const r = swap ? s.v : scalar;
    let { v, keep } = scalarBinop(op, l, r);
    if (cmp && swap) v = s.v;
    if (returnBool) {
      v = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    const drop = dropsName(op) || returnBool || s.dropName === true;
    out.push({ metric: s.metric, t: s.t, v, ...(drop ? { dropName: true } : {}) });
  }
  return out;
}

/** The matching signature of a label set. */
export function signature(m: Labels, matching: VectorMatching): string {
  return m.grouping(matching.labels, !matching.on).key;
}

/** Go's labels.Labels.String(): `{a="1", b="2"}` with every label, the name included. */
export function goLabelsString(m: Labels): string {
  return `{${m.list.map((l) => `${l.name}=${goQuote(l.value)}`).join(', ')}}`;
}

function matchLabelsString(m: Labels, matching: VectorMatching): string {
  return goLabelsString(m.grouping(matching.labels, !matching.on));
}

export function vectorAnd(lhs: readonly Sample[], rhs: readonly Sample[], matching: VectorMatching): Sample[] {
  if (lhs.length === 0 || rhs.length === 0) return [];
  const right = new Set(rhs.map((s) => signature(s.metric, matching)));
  return lhs.filter((s) => right.has(signature(s.metric, matching)));
}

export function vectorOr(lhs: readonly Sample[], rhs: readonly Sample[], matching: VectorMatching): Sample[] {
  if (lhs.length === 0) return [...rhs];
  if (rhs.length === 0) return [...lhs];
  const left = new Set(lhs.map((s) => signature(s.metric, matching)));
  return [...lhs, ...rhs.filter((s) => !left.has(signature(s.metric, matching)))];
}

export function vectorUnless(lhs: readonly Sample[], rhs: readonly Sample[], matching: VectorMatching): Sample[] {
  if (lhs.length === 0 || rhs.length === 0) return [...lhs];
  const right = new Set(rhs.map((s) => signature(s.metric, matching)));
  return lhs.filter((s) => !right.has(signature(s.metric, matching)));
}

function resultMetric(ls: Labels, rs: Labels, matching: VectorMatching): Labels {
  let m = ls;
  if (matching.card === 'one-to-one') {
    m = matching.on ? m.only(matching.labels) : m.without(matching.labels);
  }
  // labels named in group_x(...) come from the "one" side (`with` removes a label for '')
  for (const name of matching.include) m = m.with(name, rs.get(name));
  return m;
}

/** vector op vector for arithmetic and comparison operators. */
export function vectorBinop(
  op: BinaryOp,
  lhsIn: readonly Sample[],
  rhsIn: readonly Sample[],
  matching: VectorMatching,
  returnBool: boolean,
): Sample[] {
  if (matching.card === 'many-to-many') throw execError('many-to-many only allowed for set operators');
  if (lhsIn.length === 0 || rhsIn.length === 0) return [];
  const swapped = matching.card === 'one-to-many';
  const lhs = swapped ? rhsIn : lhsIn;
  const rhs = swapped ? lhsIn : rhsIn;
  const rightSigs = new Map<string, Sample>();
  for (const rs of rhs) {
    const sig = signature(rs.metric, matching);
    const dup = rightSigs.get(sig);
    if (dup) {
      const side = swapped ? 'left' : 'right';
      const [a, b] = rs.metric.key < dup.metric.key ? [rs.metric, dup.metric] : [dup.metric, rs.metric];
      throw execError(
        `found duplicate series for the match group ${matchLabelsString(rs.metric, matching)} on the ${side} hand-side of the operation: [${goLabelsString(a)}, ${goLabelsString(b)}];many-to-many matching not allowed: matching labels must be unique on one side`,
      );
    }
    rightSigs.set(sig, rs);
  }
  const matched = new Map<string, Set<string> | null>();
  const out: Sample[] = [];
  const cmp = isComparison(op);
  for (const ls of lhs) {
    const sig = signature(ls.metric, matching);
    const rs = rightSigs.get(sig);
    if (!rs) continue;
    if (matching.card === 'one-to-one') {
      // checked before filtering, so a comparison cannot hide the ambiguity
      if (matched.has(sig)) {
        throw execError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
      }
      matched.set(sig, null);
    }
    const fl = swapped ? rs.v : ls.v;
    const fr = swapped ? ls.v : rs.v;
    let { v, keep } = scalarBinop(op, fl, fr);
    if (returnBool) {
      v = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    const metric = resultMetric(ls.metric, rs.metric, matching);
    if (matching.card !== 'one-to-one') {
      let set = matched.get(sig);
      if (!set) {
        set = new Set<string>();
        matched.set(sig, set);
      } else if (set.has(metric.key)) {
        throw execError('multiple matches for labels: grouping labels must ensure unique matches');
      }
      set.add(metric.key);
    }
    const drop = (!cmp || returnBool || ls.dropName === true) && metric.has(METRIC_NAME);
    out.push({ metric, t: ls.t, v, ...(drop ? { dropName: true } : {}) });
  }
  return out;
}
