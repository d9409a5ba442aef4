/** Values of PromQL expressions (Prometheus' promql/value.go). Times in ms. */
import type { Labels } from './labels.ts';

export interface Point {
  t: number;
  v: number;
}

/**
 * Points of one series as parallel arrays (times in ms, ascending): windows of range vectors are
 * views into the stored samples, so no object is built per sample.
 */
export interface PointArrays {
  readonly t: Float64Array;
  readonly v: Float64Array;
}

export function toPointArrays(points: readonly Point[]): PointArrays {
  const t = new Float64Array(points.length);
  const v = new Float64Array(points.length);
  for (let i = 0; i < points.length; i++) {
    t[i] = points[i]!.t;
    v[i] = points[i]!.v;
  }
  return { t, v };
}

export function fromPointArrays(p: PointArrays): Point[] {
  const out: Point[] = new Array<Point>(p.t.length);
  for (let i = 0; i < p.t.length; i++) out[i] = { t: p.t[i]!, v: p.v[i]! };
  return out;
}

export interface Sample {
  metric: Labels;
  t: number;
  v: number;
  /** set by functions and operators whose result loses the metric name only at the end (Prometheus' DropName) */
  dropName?: boolean;
}

export interface Series {
  metric: Labels;
  points: Point[];
  dropName?: boolean;
}

export type Value =
  | { type: 'scalar'; t: number; v: number }
  | { type: 'string'; t: number; s: string }
  | { type: 'vector'; samples: Sample[] }
  | { type: 'matrix'; series: Series[] };

/** An annotation (Prometheus "warnings" and "info" messages of a query). */
export interface Annotation {
  level: 'warn' | 'info';
  message: string;
}

export interface QueryResult {
  value: Value;
  annotations: Annotation[];
}
