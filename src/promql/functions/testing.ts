/** Test helpers: build windows from Prometheus `load` notation (used by the *.test.ts files only). */
import type { Expr, MatrixSelector, VectorSelector } from '../ast.ts';
import { Labels, type LabelMatcher } from '../labels.ts';
import { toPointArrays, type Annotation, type Point, type Sample } from '../value.ts';
import { FUNCTIONS } from './index.ts';
import type { FnArg, FnContext } from './types.ts';

/** Expands `0+10x3 _ 5 NaN 1-2x2` into values (null = no sample). */
export function expand(notation: string): (number | null)[] {
  const out: (number | null)[] = [];
  for (const tok of notation.trim().split(/\s+/)) {
    if (tok === '_') {
      out.push(null);
      continue;
    }
    const m = /^(-?[^+\-x]+|-?Inf|NaN)([+-])([^x]+)x(\d+)$/.exec(tok);
    if (m !== null) {
      const start = Number(m[1]);
      const step = Number(m[3]) * (m[2] === '-' ? -1 : 1);
      for (let i = 0; i <= Number(m[4]); i++) out.push(start + step * i);
      continue;
    }
    const r = /^(.+)x(\d+)$/.exec(tok);
    if (r !== null) {
      for (let i = 0; i <= Number(r[2]); i++) out.push(Number(r[1]));
      continue;
    }
    out.push(tok === 'Inf' || tok === '+Inf' ? Infinity : tok === '-Inf' ? -Infinity : Number(tok));
  }
  return out;
}

export interface Loaded {
  metric: Labels;
  points: Point[];
}

export const min = (m: number): number => m * 60_000;

/** One series of a `load <step>` block. */
export function load(labels: Record<string, string>, stepMs: number, notation: string): Loaded {
  const points: Point[] = [];
  expand(notation).forEach((v, i) => {
    if (v !== null) points.push({ t: i * stepMs, v });
  });
  return { metric: Labels.fromRecord(labels), points };
}

/** The matrix argument for `[range] offset` at step t: points in (t-offset-range, t-offset]. */
export function matrix(series: Loaded[], t: number, rangeMs: number, offsetMs = 0): FnArg {
  const end = t - offsetMs;
  return {
    type: 'matrix',
    rangeMs,
    series: series.map((s) => ({
      metric: s.metric,
      points: toPointArrays(s.points.filter((p) => p.t > end - rangeMs && p.t <= end)),
    })),
  };
}

/** The instant vector of the series at t (last sample within 5m lookback), samples at t. */
export function instant(series: Loaded[], t: number): FnArg {
  const samples: Sample[] = [];
  for (const s of series) {
    const p = s.points.filter((x) => x.t <= t && x.t > t - 300_000).at(-1);
    if (p !== undefined) samples.push({ metric: s.metric, t, v: p.v });
  }
  return { type: 'vector', samples };
}

export const scalar = (v: number): FnArg => ({ type: 'scalar', v });
export const str = (s: string): FnArg => ({ type: 'string', s });
export const vec = (samples: { labels: Record<string, string>; v: number; t?: number }[], t = 0): FnArg => ({
  type: 'vector',
  samples: samples.map((s) => ({ metric: Labels.fromRecord(s.labels), t: s.t ?? t, v: s.v })),
});

export function selector(name: string, matchers: LabelMatcher[] = [], offsetMs = 0): VectorSelector {
  return {
    type: 'VectorSelector',
    name,
    matchers: name === '' ? matchers : [{ name: '__name__', type: '=', value: name }, ...matchers],
    offsetMs,
    at: null,
    pos: { start: 0, end: 0 },
  };
}

export function matrixSelector(vs: VectorSelector, rangeMs: number): MatrixSelector {
  return { type: 'MatrixSelector', vector: vs, rangeMs, pos: { start: 0, end: 0 } };
}

export interface CallResult {
  out: Sample[] | number;
  annotations: Annotation[];
}

export function call(name: string, args: FnArg[], t: number, argExprs: Expr[] = []): CallResult {
  const f = FUNCTIONS.get(name);
  if (f === undefined) throw new Error(`no function ${name}`);
  const ctx: FnContext = { t, argExprs, pos: { start: 0, end: 0 }, annotations: [] };
  const out = f.call(args, ctx);
  return { out, annotations: ctx.annotations };
}

/** `{a="b"}`-style rendering of a result sample, with the name removed when dropName is set. */
export function render(out: Sample[] | number): Record<string, number> | number {
  if (typeof out === 'number') return out;
  const r: Record<string, number> = {};
  for (const s of out) r[(s.dropName === true ? s.metric.withoutName() : s.metric).toString()] = s.v;
  return r;
}

export function close(actual: number | undefined, expected: number, eps = 1e-9): boolean {
  if (actual === undefined) return false;
  if (Number.isNaN(expected)) return Number.isNaN(actual);
  if (!Number.isFinite(expected)) return actual === expected;
  return Math.abs(actual - expected) <= eps * Math.max(1, Math.abs(expected));
}
