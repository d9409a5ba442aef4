/** Calendar functions (UTC): the argument's values are Unix seconds; default vector(time()). */
import { Labels } from '../labels.ts';
import { define, derived, vectorArg } from './common.ts';
import type { FunctionImpl } from './types.ts';

/** Go's time.Unix(int64(v), 0).UTC(): truncation toward zero, whole seconds. */
function toDate(seconds: number): Date | null {
  if (!Number.isFinite(seconds)) return null;
  return new Date(Math.trunc(seconds) * 1000);
}

function dateFn(name: string, f: (d: Date) => number): FunctionImpl {
  return define(name, (args, ctx) => {
    if (args.length === 0) {
      const d = toDate(Math.trunc(ctx.t / 1000));
      return [{ metric: Labels.EMPTY, t: ctx.t, v: d === null ? NaN : f(d) }];
    }
    return vectorArg(args, 0).map((s) => {
      const d = toDate(s.v);
      // NaN/Inf/out-of-range seconds: Go's int64 conversion is undefined there; answer NaN
      return derived(s.metric, ctx.t, d === null || Number.isNaN(d.getTime()) ? NaN : f(d));
    });
  });
}

function daysInMonth(d: Date): number {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
}

function dayOfYear(d: Date): number {
  const start = Date.UTC(d.getUTCFullYear(), 0, 1);
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  return Math.round((day - start) / 86400000) + 1;
}

export const TIME_FUNCTIONS: FunctionImpl[] = [
  dateFn('day_of_month', (d) => d.getUTCDate()),
  dateFn('day_of_week', (d) => d.getUTCDay()),
  dateFn('day_of_year', dayOfYear),
  dateFn('days_in_month', daysInMonth),
  dateFn('hour', (d) => d.getUTCHours()),
  dateFn('minute', (d) => d.getUTCMinutes()),
  dateFn('month', (d) => d.getUTCMonth() + 1),
  dateFn('year', (d) => d.getUTCFullYear()),
];
