/** Values of PromQL expressions (Prometheus' promql/value.go). Times in ms. */
import type { Labels } from './labels.ts';

export interface Point {
  t: number;
  v: number;
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
