/**
 * Every PromQL function over float samples, keyed by name. See types.ts for the calling contract
 * (one call per evaluation step).
 */
import { ABSENT_FUNCTIONS } from './absent.ts';
import { HISTOGRAM_FUNCTIONS } from './histogram.ts';
import { LABEL_FUNCTIONS } from './labels.ts';
import { MATH_FUNCTIONS } from './math.ts';
import { OVER_TIME_FUNCTIONS } from './over-time.ts';
import { RATE_FUNCTIONS } from './rate.ts';
import { SORT_FUNCTIONS } from './sort.ts';
import { TIME_FUNCTIONS } from './time.ts';
import type { FunctionImpl } from './types.ts';

export const FUNCTIONS: ReadonlyMap<string, FunctionImpl> = new Map(
  [
    ...MATH_FUNCTIONS,
    ...TIME_FUNCTIONS,
    ...OVER_TIME_FUNCTIONS,
    ...RATE_FUNCTIONS,
    ...HISTOGRAM_FUNCTIONS,
    ...LABEL_FUNCTIONS,
    ...SORT_FUNCTIONS,
    ...ABSENT_FUNCTIONS,
  ].map((f) => [f.name, f]),
);

export type { FnArg, FnContext, FunctionImpl, WindowSeries } from './types.ts';
