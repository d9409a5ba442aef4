/**
 * The PromQL engine: evaluates an AST against a Queryable, as Prometheus' promql/engine.go does.
 * Selector data is fetched once per selector, then the expression is evaluated step by step.
 */
import type { Expr } from '../ast.ts';
import { FUNCTIONS } from '../functions/index.ts';
import type { FunctionImpl } from '../functions/types.ts';
import { Labels } from '../labels.ts';
import type { Queryable } from '../storage.ts';
import { fromPointArrays, type Point, type QueryResult, type Sample, type Series } from '../value.ts';
import { execError, PromQLExecError, PromQLTimeoutError } from './errors.ts';
import { DUPLICATE_LABELSET, type EvalSettings, Evaluator, TOO_MANY_SAMPLES, unwrapParens } from './evaluator.ts';
import { fetchSelectors, selectorRanges } from './selectors.ts';

export { PromQLExecError, PromQLTimeoutError };

export interface EngineOptions {
  /** how far back an instant vector selector looks for a sample (default 300000 = 5m) */
  lookbackDeltaMs?: number;
  /** the most samples a query may hold in memory (default 50e6) */
  maxSamples?: number;
  /** evaluation deadline, ms (default: none) */
  timeoutMs?: number;
  /** default evaluation interval of subqueries without a step (default 60000) */
  noStepSubqueryIntervalMs?: number;
  /** the function table (default: FUNCTIONS of src/promql/functions/index.ts); for tests */
  functions?: ReadonlyMap<string, FunctionImpl>;
}

const YIELD_EVERY_MS = 50;

interface Prepared {
  ev: Evaluator;
}

async function prepare(
  q: Queryable,
  expr: Expr,
  startMs: number,
  endMs: number,
  stepMs: number,
  opts: EngineOptions,
): Promise<Prepared> {
  const began = Date.now();
  const lookbackMs = opts.lookbackDeltaMs ?? 300_000;
  const bounds = { startMs, endMs };
  const data = await fetchSelectors(q, selectorRanges(expr, bounds, lookbackMs));
  const functions = opts.functions ?? FUNCTIONS;
  const settings: EvalSettings = {
    bounds,
    stepMs,
    lookbackMs,
    subqueryIntervalMs: opts.noStepSubqueryIntervalMs ?? 60_000,
    maxSamples: opts.maxSamples ?? 50e6,
    deadline: opts.timeoutMs === undefined ? Infinity : began + opts.timeoutMs,
    data,
    functions,
    isRange: startMs !== endMs,
  };
  const ev = new Evaluator(settings);
  ev.checkDeadline();
  return { ev };
}

const byLabels = (a: { metric: Labels }, b: { metric: Labels }): number =>
  a.metric.key < b.metric.key ? -1 : a.metric.key > b.metric.key ? 1 : 0;

/** Removes __name__ where marked and rejects equal label sets (Prometheus' cleanupMetricLabels). */
function cleanupVector(samples: readonly Sample[]): Sample[] {
  const seen = new Set<string>();
  const out: Sample[] = [];
  for (const s of samples) {
    const metric = s.dropName === true ? s.metric.withoutName() : s.metric;
    if (seen.has(metric.key)) throw execError(DUPLICATE_LABELSET);
    seen.add(metric.key);
    out.push({ metric, t: s.t, v: s.v });
  }
  return out;
}

/** Drops marked names, merging series that become equal unless their points overlap. */
function cleanupMatrix(series: readonly Series[]): Series[] {
  const byKey = new Map<string, Series>();
  for (const s of series) {
    const metric = s.dropName === true ? s.metric.withoutName() : s.metric;
    const prev = byKey.get(metric.key);
    if (!prev) {
      byKey.set(metric.key, { metric, points: [...s.points] });
      continue;
    }
    const times = new Set(prev.points.map((p) => p.t));
    for (const p of s.points) if (times.has(p.t)) throw execError(DUPLICATE_LABELSET);
    prev.points = [...prev.points, ...s.points].sort((a, b) => a.t - b.t);
  }
  return [...byKey.values()].sort(byLabels);
}

export async function instantQuery(q: Queryable, expr: Expr, timeMs: number, opts: EngineOptions = {}): Promise<QueryResult> {
  const { ev } = await prepare(q, expr, timeMs, timeMs, 0, opts);
  const v = ev.eval(expr, timeMs);
  ev.checkDeadline();
  const annotations = [...ev.annotations.values()];
  switch (v.type) {
    case 'scalar':
      return { value: { type: 'scalar', t: timeMs, v: v.v }, annotations };
    case 'string':
      return { value: { type: 'string', t: timeMs, s: v.s }, annotations };
    case 'vector':
      return { value: { type: 'vector', samples: cleanupVector(v.samples) }, annotations };
    case 'matrix':
      return {
        value: {
          type: 'matrix',
          series: cleanupMatrix(
            v.series.map((s) => ({
              metric: s.metric,
              points: fromPointArrays(s.points),
              ...(s.dropName === true ? { dropName: true } : {}),
            })),
          ),
        },
        annotations,
      };
  }
}

function staticType(e: Expr): 'scalar' | 'string' | 'vector' | 'matrix' | 'unknown' {
  const x = unwrapParens(e);
  if (x.type === 'MatrixSelector' || x.type === 'SubqueryExpr') return 'matrix';
  if (x.type === 'StringLiteral') return 'string';
  return 'unknown';
}

export async function rangeQuery(
  q: Queryable,
  expr: Expr,
  startMs: number,
  endMs: number,
  stepMs: number,
  opts: EngineOptions = {},
): Promise<QueryResult> {
  if (!(stepMs > 0)) throw execError('zero or negative query resolution step widths are not accepted');
  if (endMs < startMs) throw execError('end timestamp must not be before start time');
  const st = staticType(expr);
  if (st === 'matrix' || st === 'string') {
    const name = st === 'matrix' ? 'range vector' : 'string';
    throw execError(`invalid expression type "${name}" for range query, must be Scalar or instant Vector`);
  }
  const { ev } = await prepare(q, expr, startMs, endMs, stepMs, opts);
  const maxSamples = opts.maxSamples ?? 50e6;
  const series = new Map<string, Series & { points: Point[] }>();
  let total = 0;
  let lastYield = Date.now();
  for (let t = startMs; t <= endMs; t += stepMs) {
    ev.checkDeadline();
    if (Date.now() - lastYield > YIELD_EVERY_MS) {
      // long range queries let other requests run between steps
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = Date.now();
    }
    const v = ev.eval(expr, t);
    let samples: Sample[];
    if (v.type === 'scalar') samples = [{ metric: Labels.EMPTY, t, v: v.v }];
    else if (v.type === 'vector') samples = v.samples;
    else throw execError(`invalid expression type "${v.type}" for range query, must be Scalar or instant Vector`);
    for (const s of samples) {
      let out = series.get(s.metric.key);
      if (!out) {
        out = { metric: s.metric, points: [] };
        series.set(s.metric.key, out);
      }
      const last = out.points[out.points.length - 1];
      if (last !== undefined && last.t === t) throw execError(DUPLICATE_LABELSET);
      out.points.push({ t, v: s.v });
      if (s.dropName === true) out.dropName = true;
    }
    total += samples.length;
    if (total > maxSamples) throw execError(TOO_MANY_SAMPLES);
  }
  return { value: { type: 'matrix', series: cleanupMatrix([...series.values()]) }, annotations: [...ev.annotations.values()] };
}
