/**
 * How the engine calls a function at one evaluation step. The engine evaluates the arguments and
 * passes them already shaped: instant vectors as samples at the step, range vectors as each
 * series' points inside the window (stale markers removed), scalars as numbers. Implementations
 * are pure: they read the arguments and return the result of this step.
 */
import type { Expr, PosRange } from '../ast.ts';
import type { Labels } from '../labels.ts';
import type { Annotation, PointArrays, Sample } from '../value.ts';

export interface WindowSeries {
  metric: Labels;
  /** points with t in (stepT - range, stepT], ascending */
  points: PointArrays;
}

export type FnArg =
  | { type: 'scalar'; v: number }
  | { type: 'string'; s: string }
  | { type: 'vector'; samples: Sample[] }
  | { type: 'matrix'; series: WindowSeries[]; rangeMs: number };

export interface FnContext {
  /** the evaluation time of this step, ms */
  t: number;
  /** the call's argument expressions (some functions inspect them, e.g. absent()) */
  argExprs: readonly Expr[];
  pos: PosRange;
  /** push warnings / info annotations here (deduplicated by the engine) */
  annotations: Annotation[];
}

export interface FunctionImpl {
  name: string;
  /** returns a vector, or a number for functions whose return type is scalar */
  call(args: FnArg[], ctx: FnContext): Sample[] | number;
}
