/** Hand-built syntax trees and a small data set for the metric tests. */
import type {
  BinaryOp,
  BinaryOpExpr,
  Grouping,
  LineFilterStage,
  Matcher,
  RangeAggregationExpr,
  RangeOp,
  SampleExpr,
  VectorAggregationExpr,
  VectorMatching,
  VectorOp,
} from '../../ast.ts';
import { MemoryLogSource, type LokiPushBody } from '../memory-source.ts';
import type { MetricQueryParams, MetricResult } from '../metric-types.ts';
import type { LogSource } from '../source-types.ts';
import { evaluateMetricWith } from './evaluate.ts';

const pos = { start: 0, end: 0 };

export const eq = (name: string, value: string): Matcher => ({ name, type: '=', value });
export const re = (name: string, value: string): Matcher => ({ name, type: '=~', value });

export const contains = (value: string): LineFilterStage => ({
  type: 'LineFilter',
  op: '|=',
  values: [{ kind: 'string', value }],
  pos,
});

export function range(
  op: RangeOp,
  matchers: Matcher[],
  rangeMs: number,
  opts: Partial<Pick<RangeAggregationExpr, 'offsetMs' | 'param' | 'grouping' | 'unwrap'>> & {
    filters?: LineFilterStage[];
  } = {},
): RangeAggregationExpr {
  return {
    type: 'RangeAggregation',
    op,
    selector: { type: 'LogSelector', matchers, pipeline: opts.filters ?? [], pos },
    unwrap: opts.unwrap ?? null,
    rangeMs,
    offsetMs: opts.offsetMs ?? 0,
    param: opts.param ?? null,
    grouping: opts.grouping ?? null,
    pos,
  };
}

export const by = (...labels: string[]): Grouping => ({ without: false, labels });
export const without = (...labels: string[]): Grouping => ({ without: true, labels });

export function agg(
  op: VectorOp,
  expr: SampleExpr,
  grouping: Grouping | null = null,
  param: number | null = null,
): VectorAggregationExpr {
  return { type: 'VectorAggregation', op, expr, grouping, param, pos };
}

export function bin(
  op: BinaryOp,
  lhs: SampleExpr,
  rhs: SampleExpr,
  opts: { returnBool?: boolean; matching?: VectorMatching } = {},
): BinaryOpExpr {
  return {
    type: 'BinaryOp',
    op,
    lhs,
    rhs,
    returnBool: opts.returnBool ?? false,
    matching: opts.matching ?? null,
    pos,
  };
}

export const lit = (value: number): SampleExpr => ({ type: 'Literal', value, pos });

/** 2026-01-01T00:00:00Z in ns */
export const T0 = 1_767_225_600_000_000_000n;
export const SEC = 1_000_000_000n;

/** Two streams of job=a (hosts h1, h2) and one of job=b; one line per listed second. */
export function smallBody(): LokiPushBody {
  const at = (s: number) => String(T0 + BigInt(s) * SEC);
  return {
    streams: [
      {
        stream: { job: 'a', host: 'h1' },
        values: [
          [at(10), 'GET /x'],
          [at(60), 'POST /y'],
          [at(61), 'GET /z'],
          [at(120), 'GET ü'],
        ],
      },
      {
        stream: { job: 'a', host: 'h2' },
        values: [
          [at(30), 'GET /x', { pod: 'p1' }],
          [at(90), 'GET /x'],
        ],
      },
      {
        stream: { job: 'b', host: 'h3' },
        values: [
          [at(5), 'error one'],
          [at(65), 'error two'],
        ],
      },
    ],
  };
}

export function instantAt(seconds: number, maxSeries = 1000): MetricQueryParams {
  const t = T0 + BigInt(seconds) * SEC;
  return { startNs: t, endNs: t, stepNs: 0n, instant: true, limits: { maxSeries } };
}

export function rangeOf(startS: number, endS: number, stepS: number, maxSeries = 1000): MetricQueryParams {
  return {
    startNs: T0 + BigInt(startS) * SEC,
    endNs: T0 + BigInt(endS) * SEC,
    stepNs: BigInt(stepS) * SEC,
    instant: false,
    limits: { maxSeries },
  };
}

/** The same source without the pushdown, so both paths can be compared. */
export function linesOnly(src: MemoryLogSource): LogSource {
  return { read: (req) => src.read(req) };
}

export function run(
  expr: SampleExpr,
  params: MetricQueryParams,
  source: LogSource = new MemoryLogSource(smallBody()),
): Promise<MetricResult> {
  return evaluateMetricWith(expr, source, params);
}

/** A vector result as `{labels-json: value}` for compact assertions. */
export function vectorMap(r: MetricResult): Record<string, string> {
  if (r.resultType !== 'vector') throw new Error(`expected a vector, got ${r.resultType}`);
  const out: Record<string, string> = {};
  for (const s of r.result) out[JSON.stringify(s.metric)] = s.value[1];
  return out;
}

/** A matrix result as `{labels-json: [[t, v], ...]}` with t in seconds after T0. */
export function matrixMap(r: MetricResult): Record<string, [number, string][]> {
  if (r.resultType !== 'matrix') throw new Error(`expected a matrix, got ${r.resultType}`);
  const t0 = Number(T0 / SEC);
  const out: Record<string, [number, string][]> = {};
  for (const s of r.result) out[JSON.stringify(s.metric)] = s.values.map(([t, v]) => [t - t0, v]);
  return out;
}
