/**
 * JIT warm-up of the PromQL engine. V8 compiles a function to optimized code only after it has run
 * hot for a while, so the first few evaluations of a query shape run several times slower than the
 * later ones (measured: a 240-step, five-selector query takes 12–20 ms on its first runs, 2 ms
 * once warm). At start the server evaluates a fixed set of common query shapes over a small
 * synthetic data set in memory — never the org's data, never the sample cache — a few times, in
 * short slices that yield to requests, so the engine is warm before the first real query.
 */
import { parseExpr } from '../parser/index.ts';
import type { TestSeries } from './memory-queryable.ts';
import { MemoryQueryable } from './memory-queryable.ts';
import { instantQuery, rangeQuery } from './index.ts';

const STEP_MS = 10_000;
const POINTS = 720;
const HOSTS = 8;

/** Query shapes covering the common paths: selectors, range functions, aggregations, binary and set operators, label functions. */
const QUERIES = [
  'max(max_over_time(w_cpu{host="h1"}[1m]))',
  'label_replace(max(max_over_time(w_cpu{host="h1"}[1m])), "field", "cpu", "", "") or label_replace(max(max_over_time(w_mem{host="h1"}[1m])), "field", "mem", "", "")',
  'avg by (host) (avg_over_time(w_cpu[1h]))',
  'sum by (region) (rate(w_requests_total[5m]))',
  'sum(increase(w_requests_total[5m])) / sum(rate(w_requests_total[1m]))',
  'count(w_cpu > 50)',
  'topk(3, max by (host) (max_over_time(w_cpu[1h])))',
  'histogram_quantile(0.9, sum by (le) (rate(w_latency_bucket[5m])))',
  'w_cpu * on (host) group_left (region) w_info',
  'min_over_time(w_mem[5m]) unless w_cpu < 10',
  'sum_over_time(w_mem[2m]) - avg_over_time(w_mem[2m]) + stddev_over_time(w_mem[2m])',
  'quantile_over_time(0.5, w_cpu[5m])',
  'delta(w_mem[5m]) + deriv(w_mem[5m]) + irate(w_requests_total[5m])',
  'abs(round(w_cpu)) and changes(w_cpu[5m]) > 0',
  'count_over_time(w_cpu[10m]) + last_over_time(w_cpu[10m])',
];

function syntheticSeries(): TestSeries[] {
  const out: TestSeries[] = [];
  let seed = 42;
  const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
  const series = (labels: Record<string, string>, next: (i: number, prev: number) => number) => {
    const points: [number, number][] = [];
    let v = 0;
    for (let i = 0; i < POINTS; i++) {
      v = next(i, v);
      points.push([i * STEP_MS, v]);
    }
    out.push({ labels, points });
  };
  for (let h = 0; h < HOSTS; h++) {
    const host = `h${h}`;
    const region = `r${h % 3}`;
    series({ __name__: 'w_cpu', host, region }, (_i, prev) => Math.max(0, Math.min(100, prev + (rand() - 0.5) * 10)));
    series({ __name__: 'w_mem', host, region }, () => 100 + rand() * 20);
    series({ __name__: 'w_requests_total', host, region }, (_i, prev) => prev + Math.floor(rand() * 10));
    series({ __name__: 'w_info', host, region }, () => 1);
    for (const le of ['0.1', '1', '+Inf'])
      series({ __name__: 'w_latency_bucket', host, region, le }, (_i, prev) => prev + (le === '+Inf' ? 10 : le === '1' ? 8 : 3));
  }
  return out;
}

/**
 * Evaluates the query shapes `rounds` times, yielding to the event loop between queries.
 * Returns how many evaluations ran; stops early when `stopped()` says so (shutdown).
 */
export async function warmUpEngine(rounds = 12, stopped: () => boolean = () => false): Promise<number> {
  const q = new MemoryQueryable(syntheticSeries());
  const exprs = QUERIES.map((s) => parseExpr(s));
  const endMs = (POINTS - 1) * STEP_MS;
  const startMs = endMs - 2 * 3_600_000 + STEP_MS;
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    for (const e of exprs) {
      if (stopped()) return n;
      await rangeQuery(q, e, Math.max(0, startMs), endMs, 60_000);
      await instantQuery(q, e, endMs);
      n += 2;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return n;
}
