/** sort, sort_desc (NaN last) and sort_by_label(_desc) (natural order, then the full label set). */
import type { Labels } from '../labels.ts';
import type { Sample } from '../value.ts';
import { define, stringArg, vectorArg } from './common.ts';
import type { FnArg, FunctionImpl } from './types.ts';

function chunks(s: string): string[] {
  return s.match(/\d+|\D+/g) ?? [];
}

/** facette/natsort's Compare: true when a sorts before b. */
export function natLess(a: string, b: string): boolean {
  const ca = chunks(a);
  const cb = chunks(b);
  for (let i = 0; i < ca.length; i++) {
    if (i >= cb.length) return false;
    const x = ca[i] as string;
    const y = cb[i] as string;
    const xi = /^\d+$/.test(x) ? Number(x) : NaN;
    const yi = /^\d+$/.test(y) ? Number(y) : NaN;
    if (!Number.isNaN(xi) && !Number.isNaN(yi)) {
      if (xi === yi) {
        if (i === ca.length - 1) return true;
        if (i === cb.length - 1) return false;
        continue;
      }
      return xi < yi;
    }
    if (x === y) {
      if (i === ca.length - 1) return true;
      if (i === cb.length - 1) return false;
      continue;
    }
    return x < y;
  }
  return false;
}

/** Prometheus' labels.Compare: by names, then values, then length. */
export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.list.length, b.list.length);
  for (let i = 0; i < n; i++) {
    const x = a.list[i];
    const y = b.list[i];
    if (x === undefined || y === undefined) break;
    if (x.name !== y.name) return x.name < y.name ? -1 : 1;
    if (x.value !== y.value) return x.value < y.value ? -1 : 1;
  }
  return a.list.length - b.list.length;
}

function byValue(desc: boolean) {
  return (a: Sample, b: Sample): number => {
    const an = Number.isNaN(a.v);
    const bn = Number.isNaN(b.v);
    if (an || bn) return an === bn ? 0 : an ? 1 : -1;
    if (a.v === b.v) return 0;
    return (a.v < b.v ? -1 : 1) * (desc ? -1 : 1);
  };
}

function byLabels(args: FnArg[], desc: boolean) {
  const names: string[] = [];
  for (let k = 1; k < args.length; k++) names.push(stringArg(args, k));
  const sign = desc ? -1 : 1;
  return (a: Sample, b: Sample): number => {
    for (const n of names) {
      const x = a.metric.get(n);
      const y = b.metric.get(n);
      if (x === y) continue;
      return (natLess(x, y) ? -1 : 1) * sign;
    }
    return compareLabels(a.metric, b.metric) * sign;
  };
}

export const SORT_FUNCTIONS: FunctionImpl[] = [
  define('sort', (args) => [...vectorArg(args, 0)].sort(byValue(false))),
  define('sort_desc', (args) => [...vectorArg(args, 0)].sort(byValue(true))),
  define('sort_by_label', (args) => [...vectorArg(args, 0)].sort(byLabels(args, false))),
  define('sort_by_label_desc', (args) => [...vectorArg(args, 0)].sort(byLabels(args, true))),
];
