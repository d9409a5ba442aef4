/** Timing LogQL and SQL queries of a benchmark server: one answer kept, the median of the rest. */
import type { ServerProcess } from '../../test/harness.ts';

export interface LokiAnswer {
  status: string;
  error?: unknown;
  data?: {
    resultType: string;
    result: {
      stream?: Record<string, string>;
      metric?: Record<string, string>;
      values: [unknown, string][];
    }[];
  };
}

export interface Timed {
  medianMs: number;
  runs: number;
  /** what the first answer held, comparable with the truth */
  got?: number;
  error?: string;
  detail?: string;
}

export const fmtInt = (n: number) => Math.round(n).toLocaleString('en');
export const fmtMs = (n: number) =>
  Number.isNaN(n) ? 'n/a' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0);
export const fmtMiB = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;

export async function lokiQuery(
  server: ServerProcess,
  path: string,
  params: Record<string, string>,
): Promise<LokiAnswer> {
  const r = await server.fetch(`${path}?${new URLSearchParams(params).toString()}`, {
    signal: AbortSignal.timeout(120_000),
  });
  const text = await r.text();
  let body: LokiAnswer;
  try {
    body = JSON.parse(text) as LokiAnswer;
  } catch {
    throw new Error(`HTTP ${r.status}: ${text.slice(0, 200)}`);
  }
  if (!r.ok || body.status !== 'success') {
    const e = body.error as string | { message?: string } | undefined;
    throw new Error(`HTTP ${r.status}: ${typeof e === 'string' ? e : (e?.message ?? text.slice(0, 200))}`);
  }
  return body;
}

export async function searchJson(
  server: ServerProcess,
  body: Record<string, unknown>,
): Promise<{ hits: unknown[]; stats: Record<string, number> }> {
  const r = await server.fetch('/api/default/_search', { method: 'POST', body: JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`HTTP ${r.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as { hits: unknown[]; stats: Record<string, number> };
}

export function measure(answer: LokiAnswer, kind: 'sum' | 'series' | 'lines'): number {
  const result = answer.data?.result ?? [];
  if (kind === 'series') return result.length;
  if (kind === 'lines') return result.reduce((n, s) => n + s.values.length, 0);
  let sum = 0;
  for (const s of result) for (const [, v] of s.values) sum += Number(v);
  return sum;
}

/** Median of `runs` timed calls after one warm-up (whose answer is kept), within a 90 s budget. */
export async function timed<T>(runs: number, call: () => Promise<T>, judge: (first: T) => number): Promise<Timed> {
  const began = performance.now();
  let got: number;
  try {
    got = judge(await call());
  } catch (e) {
    return { medianMs: NaN, runs: 0, error: (e as Error).message.slice(0, 200) };
  }
  const times: number[] = [];
  try {
    while (times.length < runs && (times.length === 0 || performance.now() - began < 90_000)) {
      const s = performance.now();
      await call();
      times.push(performance.now() - s);
    }
  } catch (e) {
    return { medianMs: NaN, runs: times.length, got, error: (e as Error).message.slice(0, 200) };
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  return {
    medianMs: times.length % 2 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2,
    runs: times.length,
    got,
  };
}
