/**
 * Selector data: which time range each selector needs (Prometheus' populateSeries /
 * getTimeRangesForSelector), fetching it once per selector, and picking samples at a step.
 */
import type { AtModifier, Expr, VectorSelector } from '../ast.ts';
import type { Queryable, StoredSeries } from '../storage.ts';
import type { Sample } from '../value.ts';
import { infoSelector, referenceTime } from './info.ts';
import type { StepSeries } from './types.ts';

export interface QueryBounds {
  startMs: number;
  endMs: number;
}

/** The evaluation time of a node with an @ modifier, or null when it has none. */
export function atTime(at: AtModifier, b: QueryBounds): number | null {
  if (at === null) return null;
  switch (at.kind) {
    case 'time':
      return at.timeMs;
    case 'start':
      return b.startMs;
    case 'end':
      return b.endMs;
  }
}

interface Need {
  sel: VectorSelector;
  minT: number;
  maxT: number;
}

/** Walks the expression and records, for every vector selector, the sample time range it reads. */
export function selectorRanges(expr: Expr, b: QueryBounds, lookbackMs: number): Map<VectorSelector, Need> {
  const out = new Map<VectorSelector, Need>();
  const add = (sel: VectorSelector, lo: number, hi: number, rangeMs: number): void => {
    const at = atTime(sel.at, b);
    const evLo = at ?? lo;
    const evHi = at ?? hi;
    const minT = evLo - sel.offsetMs - (rangeMs > 0 ? rangeMs : lookbackMs);
    const maxT = evHi - sel.offsetMs;
    const prev = out.get(sel);
    if (prev) {
      prev.minT = Math.min(prev.minT, minT);
      prev.maxT = Math.max(prev.maxT, maxT);
    } else out.set(sel, { sel, minT, maxT });
  };
  const walk = (e: Expr, lo: number, hi: number): void => {
    switch (e.type) {
      case 'NumberLiteral':
      case 'StringLiteral':
        return;
      case 'VectorSelector':
        add(e, lo, hi, 0);
        return;
      case 'MatrixSelector':
        add(e.vector, lo, hi, e.rangeMs);
        return;
      case 'SubqueryExpr': {
        const at = atTime(e.at, b);
        const l = (at ?? lo) - e.offsetMs - e.rangeMs;
        const h = (at ?? hi) - e.offsetMs;
        walk(e.expr, l, h);
        return;
      }
      case 'ParenExpr':
      case 'UnaryExpr':
        walk(e.expr, lo, hi);
        return;
      case 'BinaryExpr':
        walk(e.lhs, lo, hi);
        walk(e.rhs, lo, hi);
        return;
      case 'AggregateExpr':
        if (e.param) walk(e.param, lo, hi);
        walk(e.expr, lo, hi);
        return;
      case 'Call':
        if (e.func === 'info') {
          // the second argument only describes the info series, which the engine selects itself
          if (e.args[0]) walk(e.args[0], lo, hi);
          const r1 = referenceTime(e.args[0], lo, b);
          const r2 = referenceTime(e.args[0], hi, b);
          add(infoSelector(e), Math.min(r1, r2), Math.max(r1, r2), 0);
          return;
        }
        for (const a of e.args) walk(a, lo, hi);
        return;
    }
  };
  walk(expr, b.startMs, b.endMs);
  return out;
}

/** Stored series sorted by labels, as Prometheus' storage returns them. */
export async function fetchSelectors(
  q: Queryable,
  needs: Map<VectorSelector, Need>,
): Promise<Map<VectorSelector, StoredSeries[]>> {
  const out = new Map<VectorSelector, StoredSeries[]>();
  await Promise.all(
    [...needs.values()].map(async (n) => {
      const series = await q.select(n.sel.matchers, n.minT, n.maxT);
      const sorted = [...series].sort((a, b) => (a.labels.key < b.labels.key ? -1 : a.labels.key > b.labels.key ? 1 : 0));
      out.set(n.sel, sorted);
    }),
  );
  return out;
}

/** Index of the first element of `t` greater than `x`. */
export function upperBound(t: Float64Array, x: number): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((t[mid] ?? 0) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * `upperBound(t, x)` starting from `hint`, a previous answer: evaluation steps move forward, so
 * the answer is usually at or just after it (found by galloping forward, O(1) amortized per step);
 * when `x` went backwards (a subquery, an @ modifier), a plain binary search.
 */
export function seekUpper(t: Float64Array, x: number, hint: number): number {
  const n = t.length;
  let i = hint > n ? n : hint;
  if (i > 0 && t[i - 1]! > x) return upperBound(t, x);
  // a step usually moves a few samples: scan them, then gallop
  const stop = i + 16 < n ? i + 16 : n;
  while (i < stop && t[i]! <= x) i++;
  if (i < stop || i === n) return i;
  let lo = i;
  let step = 1;
  while (i < n && t[i]! <= x) {
    lo = i + 1;
    i += step;
    step *= 2;
  }
  let hi = i < n ? i : n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Per selector, per series: where the previous step's searches ended (see seekUpper). */
export interface Cursors {
  lo: Int32Array;
  hi: Int32Array;
}

export function newCursors(n: number): Cursors {
  return { lo: new Int32Array(n), hi: new Int32Array(n) };
}

/**
 * Instant vector selection at reference time `refT`: the latest sample in (refT - lookback, refT],
 * unless it is a staleness marker. The sample's time is the step time `stepT`; `origT` keeps the
 * sample's own time (for timestamp()).
 */
export function selectInstant(
  series: readonly StoredSeries[],
  refT: number,
  stepT: number,
  lookbackMs: number,
  cursors?: Cursors,
): { samples: Sample[]; origT: number[] } {
  const samples: Sample[] = [];
  const origT: number[] = [];
  for (let k = 0; k < series.length; k++) {
    const s = series[k]!;
    let i: number;
    if (cursors) {
      const hi = seekUpper(s.t, refT, cursors.hi[k]!);
      cursors.hi[k] = hi;
      i = hi - 1;
    } else i = upperBound(s.t, refT) - 1;
    if (i < 0) continue;
    const t = s.t[i] ?? Number.NaN;
    if (!(t > refT - lookbackMs)) continue;
    if (s.stale !== null && s.stale[i] === 1) continue;
    samples.push({ metric: s.labels, t: stepT, v: s.v[i] ?? Number.NaN });
    origT.push(t);
  }
  return { samples, origT };
}

/** Stored series without their staleness markers (range selections skip them), built once per series. */
const withoutStale = new WeakMap<StoredSeries, { t: Float64Array; v: Float64Array }>();

export function freshSamples(s: StoredSeries): { t: Float64Array; v: Float64Array } {
  if (s.stale === null) return s;
  let r = withoutStale.get(s);
  if (!r) {
    const keep: number[] = [];
    for (let i = 0; i < s.t.length; i++) if (s.stale[i] !== 1) keep.push(i);
    r = { t: Float64Array.from(keep, (i) => s.t[i]!), v: Float64Array.from(keep, (i) => s.v[i]!) };
    withoutStale.set(s, r);
  }
  return r;
}

/** Range selection: every series' non-stale points in (refT - range, refT], as views; series without any are left out. */
export function selectRange(
  series: readonly StoredSeries[],
  refT: number,
  rangeMs: number,
  cursors?: Cursors,
): StepSeries[] {
  const out: StepSeries[] = [];
  for (let k = 0; k < series.length; k++) {
    const s = series[k]!;
    const f = freshSamples(s);
    let lo: number;
    let hi: number;
    if (cursors) {
      hi = seekUpper(f.t, refT, cursors.hi[k]!);
      lo = seekUpper(f.t, refT - rangeMs, cursors.lo[k]!);
      cursors.hi[k] = hi;
      cursors.lo[k] = lo;
    } else {
      hi = upperBound(f.t, refT);
      lo = upperBound(f.t, refT - rangeMs);
    }
    if (hi > lo) out.push({ metric: s.labels, points: { t: f.t.subarray(lo, hi), v: f.v.subarray(lo, hi) } });
  }
  return out;
}
