/**
 * Runs the metric queries of the recorded Loki conformance set (../shared/conformance/logql/)
 * through parseLogQL + evaluateMetric over an in-memory source built from its data set, and
 * compares with Loki's answers by the set's README rules: series as sets keyed by their labels,
 * equal timestamps, values within 1e-9 relative (NaN and ±Inf exactly), order only for
 * `ordered` queries; errors by status and message (or its recorded prefix).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { isLogSelector } from '../../ast.ts';
import { parseLogQL } from '../../parser/index.ts';
import { parseGoDurationNs } from '../../parser/durations.ts';
import { MemoryLogSource, type LokiPushBody } from '../memory-source.ts';
import type { MetricQueryParams, MetricResult } from '../metric-types.ts';
import type { LogSource } from '../source-types.ts';
import { evaluateMetricWith } from './evaluate.ts';
import type { MetricPipelines } from './pipelines.ts';

export interface ConformanceQuery {
  id: string;
  category: string;
  type: 'instant' | 'range';
  query: string;
  time?: string;
  start?: string;
  end?: string;
  step?: string;
  ordered?: boolean;
}

interface Expected {
  status: number;
  data?: MetricResult;
  error?: string;
  errorPrefix?: string;
}

export interface CaseResult {
  id: string;
  query: string;
  /** 'skip': not a metric query this evaluator answers (a log query, a parse or HTTP-parameter error) */
  outcome: 'pass' | 'fail' | 'skip';
  reason: string;
}

const MAX_SERIES = 100_000; // the recording's max_query_series

const rfc3339Ns = (s: string): bigint => BigInt(Date.parse(s)) * 1_000_000n;

function stepNs(step: string): bigint {
  const ns = parseGoDurationNs(step);
  if (ns !== null) return BigInt(ns);
  const secs = Number(step);
  if (!Number.isFinite(secs)) throw new Error(`bad step ${step}`);
  return BigInt(Math.round(secs * 1e9));
}

function paramsOf(q: ConformanceQuery): MetricQueryParams {
  const limits = { maxSeries: MAX_SERIES };
  if (q.type === 'instant') {
    const t = rfc3339Ns(q.time ?? '');
    return { startNs: t, endNs: t, stepNs: 0n, instant: true, limits };
  }
  return {
    startNs: rfc3339Ns(q.start ?? ''),
    endNs: rfc3339Ns(q.end ?? ''),
    stepNs: stepNs(q.step ?? ''),
    instant: false,
    limits,
  };
}

export function loadConformance(dir: string): { queries: ConformanceQuery[]; source: MemoryLogSource } {
  const queries = JSON.parse(readFileSync(join(dir, 'queries.json'), 'utf8')) as ConformanceQuery[];
  const body = JSON.parse(
    gunzipSync(readFileSync(join(dir, 'data.json.gz'))).toString('utf8'),
  ) as LokiPushBody;
  return { queries, source: new MemoryLogSource(body) };
}

function valuesAgree(a: string, b: string): boolean {
  if (a === b) return true;
  const x = Number(a);
  const y = Number(b);
  if (!Number.isFinite(x) || !Number.isFinite(y)) return false;
  return Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y));
}

type Points = [number, string][];

function seriesMap(r: MetricResult): Map<string, Points> {
  const out = new Map<string, Points>();
  if (r.resultType === 'matrix') for (const s of r.result) out.set(labelKey(s.metric), s.values);
  if (r.resultType === 'vector') for (const s of r.result) out.set(labelKey(s.metric), [s.value]);
  return out;
}

const labelKey = (m: Record<string, string>): string =>
  JSON.stringify(
    Object.keys(m)
      .sort()
      .map((k) => [k, m[k]]),
  );

/** null when equal, else what differs. */
export function compareResults(got: MetricResult, want: MetricResult, ordered: boolean): string | null {
  if (got.resultType !== want.resultType) return `resultType ${got.resultType}, want ${want.resultType}`;
  if (got.resultType === 'scalar' && want.resultType === 'scalar') {
    return valuesAgree(got.result[1], want.result[1])
      ? null
      : `scalar ${got.result[1]}, want ${want.result[1]}`;
  }
  const g = seriesMap(got);
  const w = seriesMap(want);
  for (const k of w.keys()) if (!g.has(k)) return `missing series ${k}`;
  for (const k of g.keys()) if (!w.has(k)) return `unexpected series ${k}`;
  for (const [k, wp] of w) {
    const gp = g.get(k) ?? [];
    if (gp.length !== wp.length) return `series ${k}: ${gp.length} points, want ${wp.length}`;
    for (let i = 0; i < wp.length; i++) {
      const [gt, gv] = gp[i] as [number, string];
      const [wt, wv] = wp[i] as [number, string];
      if (gt !== wt) return `series ${k}: timestamp ${gt}, want ${wt}`;
      if (!valuesAgree(gv, wv)) return `series ${k} at ${wt}: ${gv}, want ${wv}`;
    }
  }
  if (ordered && got.resultType === 'vector' && want.resultType === 'vector') {
    const gv = got.result.map((s) => s.value[1]);
    const wv = want.result.map((s) => s.value[1]);
    if (gv.some((v, i) => !valuesAgree(v, wv[i] as string)))
      return `order of values ${gv.join(',')}, want ${wv.join(',')}`;
  }
  return null;
}

export async function runCase(
  dir: string,
  q: ConformanceQuery,
  source: LogSource,
  pipelines?: MetricPipelines,
): Promise<CaseResult> {
  const base = { id: q.id, query: q.query };
  const expected = JSON.parse(readFileSync(join(dir, 'expected', `${q.id}.json`), 'utf8')) as Expected;
  let expr;
  try {
    expr = parseLogQL(q.query);
  } catch (err) {
    if (expected.status === 400)
      return { ...base, outcome: 'skip', reason: 'parse error (the parser tests it)' };
    return { ...base, outcome: 'fail', reason: `parse: ${(err as Error).message}` };
  }
  if (isLogSelector(expr)) return { ...base, outcome: 'skip', reason: 'log query' };
  if (
    expected.status === 400 &&
    expected.errorPrefix === undefined &&
    !expected.error?.startsWith('pipeline error')
  ) {
    return { ...base, outcome: 'skip', reason: `HTTP parameter error: ${expected.error ?? ''}` };
  }
  let got: MetricResult;
  try {
    got = await evaluateMetricWith(expr, source, paramsOf(q), pipelines);
  } catch (err) {
    const msg = (err as Error).message;
    if (expected.status === 400) {
      const ok = expected.errorPrefix ? msg.startsWith(expected.errorPrefix) : msg === expected.error;
      return {
        ...base,
        outcome: ok ? 'pass' : 'fail',
        reason: ok ? '' : `error "${msg}", want "${expected.error ?? ''}"`,
      };
    }
    return { ...base, outcome: 'fail', reason: `error: ${msg.split('\n')[0] ?? ''}` };
  }
  if (expected.status !== 200 || !expected.data)
    return { ...base, outcome: 'fail', reason: `answered, want error "${expected.error ?? ''}"` };
  const diff = compareResults(got, expected.data, q.ordered === true);
  return { ...base, outcome: diff === null ? 'pass' : 'fail', reason: diff ?? '' };
}
