/** Helpers shared by the function implementations (not part of the engine contract). */
import { MoleError } from '../../lib/errors.ts';
import type { AtModifier, Expr } from '../ast.ts';
import { METRIC_NAME, type Labels } from '../labels.ts';
import type { Sample } from '../value.ts';
import type { FnArg, FnContext, FunctionImpl, WindowSeries } from './types.ts';

/** An evaluation error of a query (Prometheus panics with an error; the query fails with HTTP 422). */
export function execError(message: string): MoleError {
  return new MoleError(message, { code: 'MS_ERR_PROMQL_EXEC', status: 422, reason: 'query_failed' });
}

export function scalarArg(args: FnArg[], i: number, fallback = NaN): number {
  const a = args[i];
  if (a === undefined) return fallback;
  if (a.type === 'scalar') return a.v;
  // tolerate a one-sample vector in a scalar position (Prometheus passes scalars as vectors)
  if (a.type === 'vector') return a.samples[0]?.v ?? fallback;
  return fallback;
}

export function stringArg(args: FnArg[], i: number): string {
  const a = args[i];
  if (a?.type === 'string') return a.s;
  throw execError(`expected a string argument at position ${i + 1}`);
}

export function vectorArg(args: FnArg[], i: number): Sample[] {
  const a = args[i];
  if (a?.type === 'vector') return a.samples;
  if (a === undefined) return [];
  throw execError(`expected an instant vector argument at position ${i + 1}`);
}

export function matrixArg(args: FnArg[], i: number): { series: WindowSeries[]; rangeMs: number } {
  const a = args[i];
  if (a?.type === 'matrix') return a;
  if (a === undefined) return { series: [], rangeMs: 0 };
  throw execError(`expected a range vector argument at position ${i + 1}`);
}

export const metricName = (l: Labels): string => l.get(METRIC_NAME);

/** Kahan-Babuska (Neumaier) increment, as Prometheus' kahansum.Inc: returns [sum, compensation]. */
export function kahanInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (t === Infinity || t === -Infinity) return [t, 0];
  if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  return [t, c];
}

/**
 * The end (inclusive) of the range window of the matrix argument at `argIndex`, in ms: the `@` time
 * (or the step time) minus the selector's offset. `@ start()`/`@ end()` use the query bounds when
 * the engine's context carries them (`startMs`/`endMs`, beyond the FnContext contract), else the step.
 */
export function windowEnd(ctx: FnContext, argIndex = 0): number {
  const e = unwrapParens(ctx.argExprs[argIndex]);
  let offset = 0;
  let at: AtModifier = null;
  if (e?.type === 'MatrixSelector') {
    offset = e.vector.offsetMs;
    at = e.vector.at;
  } else if (e?.type === 'SubqueryExpr') {
    offset = e.offsetMs;
    at = e.at;
  }
  const bounds = ctx as FnContext & { startMs?: number; endMs?: number };
  let ref = ctx.t;
  if (at?.kind === 'time') ref = at.timeMs;
  else if (at?.kind === 'start' && bounds.startMs !== undefined) ref = bounds.startMs;
  else if (at?.kind === 'end' && bounds.endMs !== undefined) ref = bounds.endMs;
  return ref - offset;
}

export function unwrapParens(e: Expr | undefined): Expr | undefined {
  while (e?.type === 'ParenExpr') e = e.expr;
  return e;
}

/** A derived sample at the step: same labels, name to be dropped. */
export const derived = (metric: Labels, t: number, v: number): Sample => ({ metric, t, v, dropName: true });

/** Go's %g formatting of a float64 (shortest representation). */
export function formatG(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mant = '0', expStr = '0'] = v.toExponential().split('e');
  const exp = Number(expStr);
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? '-' : '+';
    const abs = Math.abs(exp);
    return `${mant}e${sign}${abs < 10 ? '0' : ''}${abs}`;
  }
  return String(v);
}

/** Go's %f formatting (6 decimals). */
export function formatF(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return v.toFixed(6);
}

export function define(
  name: string,
  call: (args: FnArg[], ctx: FnContext) => Sample[] | number,
): FunctionImpl {
  return { name, call };
}

/**
 * Pushes an annotation with Prometheus' position suffix: ` (line:column)` of the argument expression
 * the annotation is about (the engine formats single-line queries as line 1, column start+1).
 */
export function annotate(ctx: FnContext, level: 'warn' | 'info', message: string, argIndex: number): void {
  const pos = ctx.argExprs[argIndex]?.pos;
  ctx.annotations.push({ level, message: pos === undefined ? message : `${message} (1:${pos.start + 1})` });
}
