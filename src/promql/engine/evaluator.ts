/**
 * The step evaluator: evaluates an expression at one time (Prometheus' rangeEval does the same
 * step by step). Selector data is fetched beforehand (see selectors.ts); subquery steps are
 * memoized per node, since evaluating any expression at a time depends only on that time.
 */
import type { AggregateExpr, BinaryExpr, Call, Expr, SubqueryExpr, VectorMatching, VectorSelector } from '../ast.ts';
import type { FnArg, FnContext, FunctionImpl } from '../functions/types.ts';
import { Labels } from '../labels.ts';
import type { StoredSeries } from '../storage.ts';
import type { Annotation, Sample } from '../value.ts';
import { aggregate } from './aggregate.ts';
import {
  isSetOp,
  scalarScalar,
  vectorAnd,
  vectorBinop,
  vectorOr,
  vectorScalar,
  vectorUnless,
} from './binary.ts';
import { MoleError } from '../../lib/errors.ts';
import { execError, PromQLExecError, PromQLTimeoutError } from './errors.ts';
import { posString } from './format.ts';
import { enrich, infoSelector, referenceTime } from './info.ts';
import { RateWindows } from './rate-windows.ts';
import { atTime, type Cursors, newCursors, type QueryBounds, selectInstant, selectRange } from './selectors.ts';
import type { MatrixValue, StepSeries, StepValue, VectorValue } from './types.ts';

export type FunctionTable = ReadonlyMap<string, FunctionImpl>;

export interface EvalSettings {
  bounds: QueryBounds;
  /** the range query's step (0 for instant queries) */
  stepMs: number;
  lookbackMs: number;
  subqueryIntervalMs: number;
  maxSamples: number;
  /** Date.now() deadline, or Infinity */
  deadline: number;
  data: Map<VectorSelector, StoredSeries[]>;
  functions: FunctionTable;
  /** true for range queries: duplicate output series are checked at every step */
  isRange: boolean;
}

/** The FnContext plus what some functions (step(), range()) may need beyond the contract. */
export interface EngineFnContext extends FnContext {
  stepMs: number;
  startMs: number;
  endMs: number;
}

const SORT_FUNCS = new Set(['sort', 'sort_desc', 'sort_by_label', 'sort_by_label_desc']);

export const TOO_MANY_SAMPLES = 'query processing would load too many samples into memory in query execution';
export const DUPLICATE_LABELSET = 'vector cannot contain metrics with the same labelset';

const DEFAULT_MATCHINGS = new Map<VectorMatching['card'], VectorMatching>(
  (['one-to-one', 'many-to-many'] as const).map((card) => [card, { card, on: false, labels: [], include: [] }]),
);
const DEFAULT_MATCHING = (card: VectorMatching['card']): VectorMatching => DEFAULT_MATCHINGS.get(card)!;

export function unwrapParens(e: Expr): Expr {
  let x = e;
  while (x.type === 'ParenExpr') x = x.expr;
  return x;
}

export class Evaluator {
  readonly annotations = new Map<string, Annotation>();
  private readonly subqueryCache = new Map<SubqueryExpr, Map<number, StepValue>>();
  private readonly cursorsBySelector = new Map<VectorSelector, Cursors>();
  private readonly rateWindows = new RateWindows((sel) => this.s.data.get(sel.vector) ?? []);

  constructor(private readonly s: EvalSettings) {}

  checkDeadline(): void {
    if (Date.now() > this.s.deadline) throw new PromQLTimeoutError();
  }

  addAnnotations(list: readonly Annotation[]): void {
    for (const a of list) this.annotations.set(`${a.level}\u0000${a.message}`, a);
  }

  eval(e: Expr, t: number): StepValue {
    switch (e.type) {
      case 'NumberLiteral':
        return { type: 'scalar', v: e.val };
      case 'StringLiteral':
        return { type: 'string', s: e.val };
      case 'ParenExpr':
        return this.eval(e.expr, t);
      case 'UnaryExpr': {
        const v = this.eval(e.expr, t);
        if (e.op === '+') return v;
        if (v.type === 'scalar') return { type: 'scalar', v: -v.v };
        if (v.type === 'vector') {
          return { type: 'vector', samples: v.samples.map((s) => ({ metric: s.metric, t: s.t, v: -s.v, dropName: true })) };
        }
        throw execError(`unary expression only allowed on expressions of type scalar or instant vector, got ${v.type}`);
      }
      case 'VectorSelector': {
        const samples = this.selectVector(e, t).samples;
        if (samples.length > this.s.maxSamples) throw execError(TOO_MANY_SAMPLES);
        return { type: 'vector', samples };
      }
      case 'MatrixSelector': {
        const vs = e.vector;
        const ref = (atTime(vs.at, this.s.bounds) ?? t) - vs.offsetMs;
        const data = this.s.data.get(vs) ?? [];
        const series = selectRange(data, ref, e.rangeMs, this.cursors(vs, data.length));
        this.checkPoints(series);
        return { type: 'matrix', series, rangeMs: e.rangeMs };
      }
      case 'SubqueryExpr':
        return this.evalSubquery(e, t);
      case 'BinaryExpr':
        return this.evalBinary(e, t);
      case 'AggregateExpr':
        return this.evalAggregate(e, t);
      case 'Call':
        return this.evalCall(e, t);
    }
  }

  private selectVector(e: VectorSelector, t: number): { samples: Sample[]; origT: number[] } {
    const ref = (atTime(e.at, this.s.bounds) ?? t) - e.offsetMs;
    const data = this.s.data.get(e) ?? [];
    return selectInstant(data, ref, t, this.s.lookbackMs, this.cursors(e, data.length));
  }

  /** Search positions of a selector's series, kept from step to step. */
  private cursors(sel: VectorSelector, n: number): Cursors {
    let c = this.cursorsBySelector.get(sel);
    if (!c) {
      c = newCursors(n);
      this.cursorsBySelector.set(sel, c);
    }
    return c;
  }

  private checkPoints(series: readonly StepSeries[]): void {
    let n = 0;
    for (const x of series) n += x.points.t.length;
    if (n > this.s.maxSamples) throw execError(TOO_MANY_SAMPLES);
  }

  private evalVector(e: Expr, t: number): Sample[] {
    const v = this.eval(e, t);
    if (v.type !== 'vector') throw execError(`expected instant vector, got ${v.type}`);
    return v.samples;
  }

  private evalSubquery(e: SubqueryExpr, t: number): MatrixValue {
    const interval = e.stepMs > 0 ? e.stepMs : this.s.subqueryIntervalMs;
    const ref = (atTime(e.at, this.s.bounds) ?? t) - e.offsetMs;
    let cache = this.subqueryCache.get(e);
    if (!cache) {
      cache = new Map();
      this.subqueryCache.set(e, cache);
    }
    const first = Math.floor((ref - e.rangeMs) / interval) * interval + interval;
    // steps move forward, so results before this window are not needed again (bounded memory)
    for (const ts of cache.keys()) {
      if (ts >= first) break;
      cache.delete(ts);
    }
    const byKey = new Map<string, { metric: Labels; t: number[]; v: number[]; dropName?: boolean }>();
    let total = 0;
    for (let ts = first; ts <= ref; ts += interval) {
      let v = cache.get(ts);
      if (v === undefined) {
        this.checkDeadline();
        v = this.eval(e.expr, ts);
        cache.set(ts, v);
      }
      const samples: Sample[] =
        v.type === 'scalar'
          ? [{ metric: Labels.EMPTY, t: ts, v: v.v }]
          : v.type === 'vector'
            ? v.samples
            : [];
      for (const s of samples) {
        let series = byKey.get(s.metric.key);
        if (!series) {
          series = { metric: s.metric, t: [], v: [] };
          byKey.set(s.metric.key, series);
        }
        if (series.t[series.t.length - 1] === ts) throw execError(DUPLICATE_LABELSET);
        series.t.push(ts);
        series.v.push(s.v);
        if (s.dropName === true) series.dropName = true;
        total++;
      }
      if (total > this.s.maxSamples) throw execError(TOO_MANY_SAMPLES);
    }
    const series: StepSeries[] = [];
    for (const x of byKey.values()) {
      const points = { t: Float64Array.from(x.t), v: Float64Array.from(x.v) };
      series.push(x.dropName === true ? { metric: x.metric, points, dropName: true } : { metric: x.metric, points });
    }
    return { type: 'matrix', series, rangeMs: e.rangeMs };
  }

  private evalBinary(e: BinaryExpr, t: number): StepValue {
    // both sides always evaluate (as in Prometheus), so their errors and annotations surface
    const l = this.eval(e.lhs, t);
    const r = this.eval(e.rhs, t);
    if (l.type === 'scalar' && r.type === 'scalar') {
      return { type: 'scalar', v: scalarScalar(e.op, l.v, r.v, e.returnBool) };
    }
    if (l.type === 'vector' && r.type === 'scalar') {
      return { type: 'vector', samples: vectorScalar(e.op, l.samples, r.v, false, e.returnBool) };
    }
    if (l.type === 'scalar' && r.type === 'vector') {
      return { type: 'vector', samples: vectorScalar(e.op, r.samples, l.v, true, e.returnBool) };
    }
    if (l.type === 'vector' && r.type === 'vector') {
      const setOp = isSetOp(e.op);
      const matching = e.matching ?? DEFAULT_MATCHING(setOp ? 'many-to-many' : 'one-to-one');
      if (e.op === 'and') return { type: 'vector', samples: vectorAnd(l.samples, r.samples, matching) };
      if (e.op === 'or') return { type: 'vector', samples: vectorOr(l.samples, r.samples, matching) };
      if (e.op === 'unless') return { type: 'vector', samples: vectorUnless(l.samples, r.samples, matching) };
      return { type: 'vector', samples: vectorBinop(e.op, l.samples, r.samples, matching, e.returnBool) };
    }
    throw execError(`binary operator "${e.op}" not allowed between ${l.type} and ${r.type}`);
  }

  private evalAggregate(e: AggregateExpr, t: number): VectorValue {
    let param: number | string | null = null;
    if (e.param) {
      const p = this.eval(e.param, t);
      if (p.type === 'scalar') param = p.v;
      else if (p.type === 'string') param = p.s;
      else throw execError(`expected scalar or string parameter of ${e.op}, got ${p.type}`);
    }
    const samples = this.evalVector(e.expr, t);
    const annotations: Annotation[] = [];
    const out = aggregate({ e, samples, param, t, annotations });
    this.addAnnotations(annotations);
    return { type: 'vector', samples: out };
  }

  /** Prometheus' duration-expression functions, which read the query's bounds. */
  private durationFunction(e: Call, t: number): number | null {
    const { startMs, endMs } = this.s.bounds;
    switch (e.func) {
      case 'step':
        return this.s.stepMs / 1000;
      case 'range':
        return (endMs - startMs) / 1000;
      case 'start':
        return startMs / 1000;
      case 'end':
        return endMs / 1000;
      case 'min_of':
      case 'max_of': {
        const [a, b] = e.args.map((x) => this.eval(x, t));
        if (a?.type !== 'scalar' || b?.type !== 'scalar') throw execError(`${e.func}() expects two scalars`);
        if (Number.isNaN(a.v) || Number.isNaN(b.v)) return Number.NaN;
        return e.func === 'min_of' ? Math.min(a.v, b.v) : Math.max(a.v, b.v);
      }
      default:
        return null;
    }
  }

  private evalCall(e: Call, t: number): StepValue {
    if (e.func === 'info' && e.args[0]) {
      const base = this.evalVector(e.args[0], t);
      const ref = referenceTime(e.args[0], t, this.s.bounds);
      const infos = this.selectVector(infoSelector(e), ref);
      return { type: 'vector', samples: enrich(e, base, infos.samples, infos.origT) };
    }
    const fn = this.s.functions.get(e.func);
    if (!fn) {
      const d = this.durationFunction(e, t);
      if (d !== null) return { type: 'scalar', v: d };
    }
    if (!fn) throw execError(`function "${e.func}" is not available`);
    const fast = this.rateWindows.eval(e, t);
    if (fast !== null) {
      if (fast.points > this.s.maxSamples) throw execError(TOO_MANY_SAMPLES);
      this.addAnnotations(fast.annotations);
      return { type: 'vector', samples: fast.samples };
    }
    const args: FnArg[] = e.args.map((a) => this.fnArg(e, a, t));
    const ctx: EngineFnContext = {
      t,
      argExprs: e.args,
      pos: e.pos,
      annotations: [],
      stepMs: this.s.stepMs,
      startMs: this.s.bounds.startMs,
      endMs: this.s.bounds.endMs,
    };
    let res: Sample[] | number;
    try {
      res = fn.call(args, ctx);
    } catch (err) {
      // a function's failure is an execution error of the query
      if (err instanceof MoleError && !(err instanceof PromQLExecError) && !(err instanceof PromQLTimeoutError)) {
        throw new PromQLExecError(err.message, err);
      }
      throw err;
    }
    this.addAnnotations(ctx.annotations);
    if (this.s.isRange && SORT_FUNCS.has(e.func)) {
      this.addAnnotations([
        {
          level: 'warn',
          message: `PromQL warning: sort is ineffective for range queries since results are always ordered by labels ${posString(e.pos)}`,
        },
      ]);
    }
    if (typeof res === 'number') return { type: 'scalar', v: res };
    let samples = res;
    for (const s of res) {
      if (s.t === t) continue;
      samples = res.map((x) => (x.t === t ? x : { ...x, t }));
      break;
    }
    if (this.s.isRange && samples.length > 1) {
      const seen = new Set<string>();
      for (const s of samples) {
        if (seen.has(s.metric.key)) throw execError(DUPLICATE_LABELSET);
        seen.add(s.metric.key);
      }
    }
    return { type: 'vector', samples };
  }

  private fnArg(call: Call, a: Expr, t: number): FnArg {
    const inner = unwrapParens(a);
    if (call.func === 'timestamp' && inner.type === 'VectorSelector') {
      const { samples, origT } = this.selectVector(inner, t);
      return { type: 'vector', samples: samples.map((s, i) => ({ ...s, t: origT[i] ?? s.t })) };
    }
    const v = this.eval(a, t);
    switch (v.type) {
      case 'scalar':
        return { type: 'scalar', v: v.v };
      case 'string':
        return { type: 'string', s: v.s };
      case 'vector':
        return { type: 'vector', samples: v.samples };
      case 'matrix':
        return {
          type: 'matrix',
          rangeMs: v.rangeMs,
          // selector windows come non-empty and without dropName: passed as they are
          series:
            inner.type === 'MatrixSelector'
              ? v.series
              : v.series
                  .filter((x) => x.points.t.length > 0)
                  .map((x) => ({ metric: x.dropName === true ? x.metric.withoutName() : x.metric, points: x.points })),
        };
    }
  }
}
