/**
 * Values during evaluation. Every expression is evaluated at all steps at once: a vector
 * expression gives one vector (a list of samples) per step, a scalar expression one number per
 * step. Step i is at `grid.startNs + i * grid.stepNs`.
 */
import type { LabelSet } from './labels.ts';

export interface Sample {
  labels: LabelSet;
  value: number;
}

export type StepValues = { kind: 'vector'; steps: Sample[][] } | { kind: 'scalar'; steps: number[] };

export interface StepGrid {
  startNs: bigint;
  /** 0n for an instant query */
  stepNs: bigint;
  count: number;
  instant: boolean;
}

export function stepTimeNs(grid: StepGrid, i: number): bigint {
  return grid.startNs + BigInt(i) * grid.stepNs;
}

/** Loki's wire timestamp: Unix seconds, truncated to milliseconds. */
export function stepTimeSeconds(grid: StepGrid, i: number): number {
  return Number(stepTimeNs(grid, i) / 1_000_000n) / 1000;
}
