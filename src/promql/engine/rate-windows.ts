/**
 * `rate`, `increase` and `delta` of a plain range selector (`rate(m[5m])`, no `@`), the hot path of
 * dashboards: the same answer as the generic path (selectRange → the function), computed on index
 * windows of the stored arrays. No per-step views or window objects are built; the cursors move
 * forward from step to step. Counter resets (a point below its predecessor) are found once per
 * point, as the windows reach it, into a per-series list: a window adds the values before its
 * resets from that list, in order, exactly the additions of Prometheus' loop.
 */
import type { Call, MatrixSelector } from '../ast.ts';
import { annotate, derived, metricName, unwrapParens } from '../functions/common.ts';
import { COUNTER_SUFFIXES, extrapolate, possibleNonCounterInfo } from '../functions/rate.ts';
import type { StoredSeries } from '../storage.ts';
import type { Annotation, Sample } from '../value.ts';
import { type Cursors, freshSamples, newCursors, seekUpper } from './selectors.ts';

const KINDS: ReadonlyMap<string, { isCounter: boolean; isRate: boolean }> = new Map([
  ['rate', { isCounter: true, isRate: true }],
  ['increase', { isCounter: true, isRate: false }],
  ['delta', { isCounter: false, isRate: false }],
]);

interface Prepared {
  sel: MatrixSelector;
  isCounter: boolean;
  isRate: boolean;
  series: {
    labels: StoredSeries['labels'];
    t: Float64Array;
    v: Float64Array;
    /** indices i (ascending) with v[i] < v[i - 1], found for i < `scanned`; `first`: a search hint */
    resets: Int32Array;
    found: number;
    scanned: number;
    first: number;
    /** the info annotation Prometheus adds when a counter's name has no counter suffix */
    warning: Annotation | null;
  }[];
  cursors: Cursors;
}

/** The matrix selector of a call this path evaluates, else null. */
export function rateWindowSelector(e: Call): MatrixSelector | null {
  if (!KINDS.has(e.func) || e.args.length !== 1) return null;
  const a = unwrapParens(e.args[0]);
  return a?.type === 'MatrixSelector' && a.vector.at === null ? a : null;
}

export class RateWindows {
  private readonly prepared = new Map<Call, Prepared>();

  constructor(private readonly data: (sel: MatrixSelector) => readonly StoredSeries[]) {}

  /**
   * The call's samples at step `t` and the number of points its windows hold (for the sample
   * limit), or null when this path does not apply to the call.
   */
  eval(e: Call, t: number): { samples: Sample[]; points: number; annotations: Annotation[] } | null {
    const p = this.prepare(e);
    if (p === null) return null;
    const end = t - p.sel.vector.offsetMs;
    const start = end - p.sel.rangeMs;
    const samples: Sample[] = [];
    const annotations = new Set<Annotation>();
    let points = 0;
    for (let k = 0; k < p.series.length; k++) {
      const s = p.series[k]!;
      const hi = seekUpper(s.t, end, p.cursors.hi[k]!);
      const lo = seekUpper(s.t, start, p.cursors.lo[k]!);
      p.cursors.hi[k] = hi;
      p.cursors.lo[k] = lo;
      points += hi - lo;
      if (hi - lo < 2) continue;
      const { t: ts, v: vs } = s;
      let result = vs[hi - 1]! - vs[lo]!;
      if (p.isCounter) {
        for (let i = s.scanned; i < hi; i++) if (i > 0 && vs[i]! < vs[i - 1]!) s.resets[s.found++] = i;
        if (hi > s.scanned) s.scanned = hi;
        // the first reset after lo (steps move forward; a subquery may step back)
        let j = s.first;
        while (j > 0 && s.resets[j - 1]! > lo) j--;
        while (j < s.found && s.resets[j]! <= lo) j++;
        s.first = j;
        for (; j < s.found && s.resets[j]! < hi; j++) result += vs[s.resets[j]! - 1]!;
      }
      samples.push(
        derived(s.labels, t, extrapolate(ts, vs, lo, hi, result, start, end, p.isCounter, p.isRate)),
      );
      if (s.warning !== null) annotations.add(s.warning);
    }
    return { samples, points, annotations: [...annotations] };
  }

  private prepare(e: Call): Prepared | null {
    const known = this.prepared.get(e);
    if (known) return known;
    const sel = rateWindowSelector(e);
    const kind = KINDS.get(e.func);
    if (sel === null || kind === undefined) return null;
    const stored = this.data(sel);
    const warnings = new Map<string, Annotation | null>();
    const warningOf = (name: string): Annotation | null => {
      let w = warnings.get(name);
      if (w === undefined) {
        const ctx = { t: 0, argExprs: e.args, pos: e.pos, annotations: [] as Annotation[] };
        if (name !== '' && !COUNTER_SUFFIXES.some((suf) => name.endsWith(suf)))
          annotate(ctx, 'info', possibleNonCounterInfo(name), 0);
        w = ctx.annotations[0] ?? null;
        warnings.set(name, w);
      }
      return w;
    };
    const series = stored.map((s) => {
      const f = freshSamples(s);
      const warning = kind.isCounter ? warningOf(metricName(s.labels)) : null;
      const resets = new Int32Array(kind.isCounter ? f.v.length : 0);
      return { labels: s.labels, t: f.t, v: f.v, resets, found: 0, scanned: 0, first: 0, warning };
    });
    const p: Prepared = { sel, ...kind, series, cursors: newCursors(series.length) };
    this.prepared.set(e, p);
    return p;
  }
}
