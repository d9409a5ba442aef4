/** Element-wise math functions, clamp, round, and the scalar/vector conversions. */
import { Labels } from '../labels.ts';
import type { Sample } from '../value.ts';
import { define, derived, scalarArg, vectorArg } from './common.ts';
import type { FnArg, FnContext, FunctionImpl } from './types.ts';

/** Applies f to every sample; the result drops the metric name (at the end of the query). */
function simple(name: string, f: (v: number) => number): FunctionImpl {
  return define(name, (args, ctx) => vectorArg(args, 0).map((s) => derived(s.metric, ctx.t, f(s.v))));
}

const sgn = (v: number): number => (v < 0 ? -1 : v > 0 ? 1 : v);

function clampImpl(args: FnArg[], ctx: FnContext, min: number, max: number): Sample[] {
  if (max < min) return [];
  return vectorArg(args, 0).map((s) => derived(s.metric, ctx.t, Math.max(min, Math.min(max, s.v))));
}

export const MATH_FUNCTIONS: FunctionImpl[] = [
  simple('abs', Math.abs),
  simple('ceil', Math.ceil),
  simple('floor', Math.floor),
  simple('exp', Math.exp),
  simple('sqrt', Math.sqrt),
  simple('ln', Math.log),
  simple('log2', Math.log2),
  simple('log10', Math.log10),
  simple('sgn', sgn),
  simple('sin', Math.sin),
  simple('cos', Math.cos),
  simple('tan', Math.tan),
  simple('asin', Math.asin),
  simple('acos', Math.acos),
  simple('atan', Math.atan),
  simple('sinh', Math.sinh),
  simple('cosh', Math.cosh),
  simple('tanh', Math.tanh),
  simple('asinh', Math.asinh),
  simple('acosh', Math.acosh),
  simple('atanh', Math.atanh),
  simple('rad', (v) => (v * Math.PI) / 180),
  simple('deg', (v) => (v * 180) / Math.PI),
  define('round', (args, ctx) => {
    const toNearest = args.length >= 2 ? scalarArg(args, 1) : 1;
    // Prometheus inverts first (fewer floating point accuracy issues); ties round up
    const inv = 1 / toNearest;
    return vectorArg(args, 0).map((s) => derived(s.metric, ctx.t, Math.floor(s.v * inv + 0.5) / inv));
  }),
  define('clamp', (args, ctx) => clampImpl(args, ctx, scalarArg(args, 1), scalarArg(args, 2))),
  define('clamp_min', (args, ctx) => clampImpl(args, ctx, scalarArg(args, 1), Infinity)),
  define('clamp_max', (args, ctx) => clampImpl(args, ctx, -Infinity, scalarArg(args, 1))),
  define('pi', () => Math.PI),
  define('time', (_args, ctx) => ctx.t / 1000),
  // the engine passes each sample's own timestamp in Sample.t for timestamp()
  define('timestamp', (args, ctx) => vectorArg(args, 0).map((s) => derived(s.metric, ctx.t, s.t / 1000))),
  define('vector', (args, ctx) => [{ metric: Labels.EMPTY, t: ctx.t, v: scalarArg(args, 0) }]),
  define('scalar', (args) => {
    const samples = vectorArg(args, 0);
    return samples.length === 1 ? (samples[0]?.v ?? NaN) : NaN;
  }),
];
