/** Values the evaluator passes around inside one evaluation step. */
import type { Labels } from '../labels.ts';
import type { PointArrays, Sample } from '../value.ts';

export interface StepSeries {
  metric: Labels;
  /** points in the window, ascending, stale markers removed */
  points: PointArrays;
  dropName?: boolean;
}

export type StepValue =
  | { type: 'scalar'; v: number }
  | { type: 'string'; s: string }
  | { type: 'vector'; samples: Sample[] }
  | { type: 'matrix'; series: StepSeries[]; rangeMs: number };

export type VectorValue = Extract<StepValue, { type: 'vector' }>;
export type MatrixValue = Extract<StepValue, { type: 'matrix' }>;
