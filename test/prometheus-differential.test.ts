/**
 * Differential test against the real Prometheus (issue 3, Done-when 2).
 *
 * Debian's Prometheus 2.42 is started on 127.0.0.1; it scrapes itself and a tiny in-test target
 * (counters, a counter that resets once, gauges, NaN/±Inf/1e300/1e-300, a series that comes and
 * goes, classic histograms, a summary) every second and remote-writes everything into MoleSignal.
 * After ~28 s the raw samples of every series are checked equal through both APIs; then a fixed
 * 12 s window that ended before the last scrape is queried through both Prometheus HTTP APIs with
 * the same PromQL (instant queries at three times, a range query with a 2 s step) and the answers
 * are compared: same series (label sets), same timestamps, values equal within 1e-9 relative
 * (NaN == NaN, ±Inf equal), same order for sort/sort_desc, same error type when both fail.
 *
 * Version gap. MoleSignal follows Prometheus 3 semantics; Debian ships 2.42. The differences
 * (checked against the Prometheus 3.0 migration guide, docs/migration.md of prometheus/prometheus,
 * and the PRs named; details in docs/prometheus-compatibility.md), each asserted by a test below:
 *
 * | #  | Prometheus 2.42                            | Prometheus 3 (and MoleSignal)                | In this test |
 * |----|--------------------------------------------|----------------------------------------------|--------------|
 * | 1  | range selectors and lookback closed:       | left-open `(t-r, t]`: a sample exactly on    | query times sit at a ms phase no sample has; |
 * |    | `[t-r, t]`                                 | the left boundary is excluded                | an aligned case asserts 6 vs 5 samples |
 * | 2  | subquery `x[4s:1s]` at a whole second      | 4 points (the step on the left boundary      | asserted |
 * |    | has 5 points                               | is excluded)                                 | |
 * | 3  | `holt_winters`                             | renamed `double_exponential_smoothing`       | both names sent, results equal |
 * | 4  | regex `.` does not match `\n`              | `.` matches `\n` (matchers, label_replace)   | asserted; MoleSignal's matchers are a known bug |
 * | 5  | `le`/`quantile` as exposed (`le="1"`)      | normalised at scrape (`le="1.0"`)            | both show what 2.42 remote-wrote; asserted |
 * | 6  | rate/increase: zero-point limit applied    | half-interval rule first, then the zero      | both formulas computed here and asserted |
 * |    | before the half-interval rule              | point (prometheus#13725)                     | |
 * | 7  | avg_over_time: incremental mean            | Kahan sum / count (prometheus#14413)         | both formulas computed here and asserted |
 * | 8* | function output with duplicate label sets  | same in 3.x by default; MoleSignal removes   | asserted (* a MoleSignal choice, not 2→3: |
 * |    | fails even under an aggregation            | `__name__` late, as promql-delayed-name-     | Prometheus' own test suite expects it) |
 * |    |                                            | removal does                                 | |
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT_PASSWORD, ROOT_USER, removeDir, startServer, tempDir, type ServerProcess } from './harness.ts';
import { freePort } from './peers.ts';

// ---------------------------------------------------------------------------------------------
// Prometheus binary

function findPrometheus(): string | null {
  try {
    const p = execFileSync('which', ['prometheus'], { encoding: 'utf8' }).trim();
    if (p) return p;
  } catch {
    // not on PATH
  }
  return existsSync('/usr/bin/prometheus') ? '/usr/bin/prometheus' : null;
}
const PROMETHEUS = findPrometheus();
const SKIP_MSG = 'prometheus not installed (apt-get install prometheus)';
if (!PROMETHEUS && process.env.CI === 'true')
  throw new Error(`${SKIP_MSG}: CI=true requires it (.ci/run installs it)`);

// ---------------------------------------------------------------------------------------------
// The in-test scrape target: deterministic, evolving values, a function of the scrape number n.

const HIST_LE = ['0.005', '0.01', '0.1', '1', '10', '+Inf'];
const HIST_WEIGHTS: Record<string, number[]> = {
  a: [1, 3, 6, 8, 9, 10],
  b: [0, 0, 2, 5, 5, 7],
};

function exposition(n: number): string {
  const fmt = (v: number) =>
    Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);
  const lines: string[] = [];
  const fam = (name: string, type: string, help: string) =>
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  const s = (name: string, labels: Record<string, string>, v: number) => {
    const l = Object.entries(labels)
      .map(([k, x]) => `${k}="${x.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`)
      .join(',');
    lines.push(`${name}${l ? `{${l}}` : ''} ${fmt(v)}`);
  };
  fam('ms_requests_total', 'counter', 'Requests served.');
  s('ms_requests_total', { path: '/a', code: '200' }, 10 * n);
  s('ms_requests_total', { path: '/a', code: '500' }, Math.floor((n * n) / 7));
  s('ms_requests_total', { path: '/b', code: '200' }, 1e9 + 0.25 * n);
  s('ms_requests_total', { path: '/b', code: '404' }, 0.001 * n);
  fam('ms_resets_total', 'counter', 'A counter that resets once.');
  s('ms_resets_total', { kind: 'once' }, n < 12 ? 7 * n + 3 : 3 * (n - 12));
  s('ms_resets_total', { kind: 'never' }, 2 * n + 5);
  fam('ms_temperature_celsius', 'gauge', 'Temperatures.');
  s('ms_temperature_celsius', { room: 'kitchen' }, Math.round((20 + 5 * Math.sin(n / 3)) * 1000) / 1000);
  s('ms_temperature_celsius', { room: 'cellar' }, -3.25 + 0.125 * n);
  s('ms_temperature_celsius', { room: 'attic' }, (n % 5) * 2.5);
  fam('ms_special', 'gauge', 'Special float values.');
  s('ms_special', { kind: 'nan' }, NaN);
  s('ms_special', { kind: 'inf' }, Infinity);
  s('ms_special', { kind: 'ninf' }, -Infinity);
  s('ms_special', { kind: 'big' }, 1.5e300 + n * 1e285);
  s('ms_special', { kind: 'tiny' }, 2.5e-300 * (n + 1));
  s('ms_special', { kind: 'neg' }, -42 - n);
  // present on two scrapes out of four: Prometheus writes staleness markers in between
  if (n % 4 < 2) {
    fam('ms_flaky', 'gauge', 'Comes and goes.');
    s('ms_flaky', { phase: 'on' }, n);
  }
  fam('ms_latency_seconds', 'histogram', 'Latency.');
  for (const [handler, w] of Object.entries(HIST_WEIGHTS)) {
    HIST_LE.forEach((le, i) => s('ms_latency_seconds_bucket', { handler, le }, Math.floor(n * w[i]!)));
    s('ms_latency_seconds_sum', { handler }, n * (handler === 'a' ? 1.234 : 5.5));
    s('ms_latency_seconds_count', { handler }, n * w[w.length - 1]!);
  }
  // bucket counts that are not monotonic in le (histogram_quantile's monotonicity fix)
  fam('ms_broken', 'histogram', 'Non-monotonic buckets.');
  s('ms_broken_bucket', { le: '1' }, 10 + n);
  s('ms_broken_bucket', { le: '2' }, 8 + n);
  s('ms_broken_bucket', { le: '4' }, 20 + 2 * n);
  s('ms_broken_bucket', { le: '+Inf' }, 20 + 2 * n);
  s('ms_broken_sum', {}, 30 * n);
  s('ms_broken_count', {}, 20 + 2 * n);
  fam('ms_rpc_duration_seconds', 'summary', 'RPC latency.');
  for (const [q, base] of [
    ['0.5', 0.05],
    ['0.9', 0.2],
    ['0.99', 0.7],
  ] as const)
    s('ms_rpc_duration_seconds', { service: 'x', quantile: q }, base + 0.001 * (n % 10));
  s('ms_rpc_duration_seconds_sum', { service: 'x' }, 0.1 * n);
  s('ms_rpc_duration_seconds_count', { service: 'x' }, n);
  fam('ms_info', 'gauge', 'Info with odd label values.');
  s('ms_info', { desc: 'line1\nline2', version: '1.2.3' }, 1);
  s('ms_info', { desc: 'plain', version: '2.0.0' }, 1);
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Result comparison

type PromSample = [number, string];
interface PromData {
  resultType: 'vector' | 'matrix' | 'scalar' | 'string';
  result: any;
}

function num(s: string): number {
  if (s === 'NaN') return NaN;
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

export function floatsEqual(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

const labelKey = (m: Record<string, string>) =>
  JSON.stringify(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** Returns null when equal, else a description of the first differences. */
function compareData(prom: PromData, mole: PromData, ordered: boolean): string | null {
  if (prom.resultType !== mole.resultType)
    return `resultType: prometheus ${prom.resultType}, molesignal ${mole.resultType}`;
  const cmpPoints = (p: PromSample[], m: PromSample[], where: string): string | null => {
    if (p.length !== m.length) return `${where}: ${p.length} points in prometheus, ${m.length} in molesignal`;
    for (let i = 0; i < p.length; i++) {
      const [pt, pv] = p[i]!;
      const [mt, mv] = m[i]!;
      if (pt !== mt) return `${where}: point ${i} at t=${pt} (prometheus) vs t=${mt} (molesignal)`;
      if (!floatsEqual(num(pv), num(mv))) return `${where}: at t=${pt}: prometheus ${pv}, molesignal ${mv}`;
    }
    return null;
  };
  switch (prom.resultType) {
    case 'scalar':
    case 'string':
      if (prom.resultType === 'string')
        return prom.result[1] === mole.result[1] ? null : `string ${prom.result[1]} vs ${mole.result[1]}`;
      return cmpPoints([prom.result], [mole.result], 'scalar');
    case 'vector':
    case 'matrix': {
      const pts = (s: any): PromSample[] => (prom.resultType === 'vector' ? [s.value] : s.values);
      const pm = new Map<string, any>(prom.result.map((s: any) => [labelKey(s.metric), s]));
      const mm = new Map<string, any>(mole.result.map((s: any) => [labelKey(s.metric), s]));
      const problems: string[] = [];
      for (const k of pm.keys()) if (!mm.has(k)) problems.push(`series ${k} only in prometheus`);
      for (const k of mm.keys()) if (!pm.has(k)) problems.push(`series ${k} only in molesignal`);
      for (const [k, s] of pm) {
        const m = mm.get(k);
        if (!m) continue;
        const d = cmpPoints(pts(s), pts(m), `series ${k}`);
        if (d) problems.push(d);
      }
      if (ordered && problems.length === 0) {
        const po = prom.result.map((s: any) => labelKey(s.metric)).join(' ');
        const mo = mole.result.map((s: any) => labelKey(s.metric)).join(' ');
        if (po !== mo) problems.push(`order differs:\n  prometheus ${po}\n  molesignal ${mo}`);
      }
      if (problems.length === 0) return null;
      return problems.slice(0, 8).join('\n') + (problems.length > 8 ? `\n… ${problems.length - 8} more` : '');
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The queries

interface Window {
  /** ms; start and end of the range queries, at a millisecond phase no sample timestamp has */
  start: number;
  end: number;
  /** ms; the instant-query times (start, a middle one, end) */
  instants: number[];
  /** ms, the middle instant time */
  mid: number;
}

interface QuerySpec {
  q: string | ((w: Window) => string);
  /** the query sent to MoleSignal when it must differ (a renamed function) */
  mole?: string;
  /** range vectors and strings cannot be range-queried */
  instantOnly?: boolean;
  /** compare the series order of instant results (sort, sort_desc) */
  ordered?: boolean;
  /** a MoleSignal bug (not a 2→3 difference): reported as an expected failure, still counted */
  knownBug?: string;
  /**
   * ranges evaluated inside a subquery end on whole seconds: if a scrape happened to land exactly
   * on a whole second (about 1 run in 100), 2.42 and 3.x legitimately differ (#1) and the query is
   * skipped
   */
  rangesOnSubquerySteps?: boolean;
}

const sec = (ms: number) => (ms / 1000).toFixed(3);

const QUERIES: QuerySpec[] = [
  // selectors and matchers
  { q: 'ms_requests_total' },
  { q: 'ms_requests_total{path="/a"}' },
  { q: 'ms_requests_total{code!="200"}' },
  { q: 'ms_requests_total{path=~"/a|/b",code!~"5.."}' },
  { q: '{__name__=~"ms_temp.*",room!="attic"}' },
  { q: 'up' },
  { q: 'ms_special' },
  { q: 'ms_flaky' },
  { q: 'ms_info{desc!="plain"}' },
  { q: 'ms_requests_total offset 3s' },
  { q: 'ms_temperature_celsius offset -2s' },
  { q: (w) => `ms_temperature_celsius @ ${sec(w.mid)}` },
  { q: 'ms_requests_total{path="/a",code="200"}[5s]', instantOnly: true },
  { q: 'ms_flaky[6s]', instantOnly: true },
  { q: 'ms_latency_seconds_bucket{le="1"}' },
  { q: 'ms_rpc_duration_seconds{quantile="0.9"}' },
  // rate family
  { q: 'rate(ms_requests_total[5s])' },
  { q: 'rate(ms_requests_total[10s] offset 2s)' },
  { q: 'irate(ms_requests_total[5s])' },
  { q: 'increase(ms_resets_total[10s])' },
  { q: 'rate(ms_resets_total[10s])' },
  { q: 'resets(ms_resets_total[1m])' },
  { q: 'changes(ms_temperature_celsius[10s])' },
  { q: 'delta(ms_temperature_celsius[6s])' },
  { q: 'idelta(ms_temperature_celsius[6s])' },
  { q: 'deriv(ms_temperature_celsius[10s])' },
  { q: 'predict_linear(ms_temperature_celsius[10s], 60)' },
  {
    q: 'holt_winters(ms_temperature_celsius[10s], 0.5, 0.3)',
    mole: 'double_exponential_smoothing(ms_temperature_celsius[10s], 0.5, 0.3)',
  },
  { q: 'rate(ms_latency_seconds_count[1m])' },
  // *_over_time
  { q: 'avg_over_time(ms_temperature_celsius[10s])' },
  { q: 'sum_over_time(ms_special{kind=~"big|tiny|neg"}[5s])' },
  { q: 'min_over_time(ms_temperature_celsius[7s])' },
  { q: 'max_over_time(ms_special[5s])' },
  { q: 'count_over_time(ms_flaky[5s])' },
  { q: 'last_over_time(ms_flaky[3s])' },
  { q: 'present_over_time(ms_flaky[3s])' },
  { q: 'absent_over_time(ms_flaky[1500ms])' },
  { q: 'stddev_over_time(ms_temperature_celsius[10s])' },
  { q: 'stdvar_over_time(ms_requests_total[10s])' },
  { q: 'quantile_over_time(0.75, ms_temperature_celsius[10s])' },
  // aggregations
  { q: 'sum(rate(ms_requests_total[5s]))' },
  { q: 'sum by (path) (ms_requests_total)' },
  { q: 'avg without (code) (ms_requests_total)' },
  { q: 'min by (kind) (ms_special)' },
  { q: 'max(ms_temperature_celsius)' },
  { q: 'count by (job) (up)' },
  { q: 'stddev(ms_temperature_celsius)' },
  { q: 'stdvar by (path) (rate(ms_requests_total[5s]))' },
  { q: 'topk(2, ms_requests_total)' },
  { q: 'bottomk(1, ms_temperature_celsius)' },
  { q: 'topk by (path) (1, ms_requests_total)' },
  { q: 'quantile(0.3, ms_temperature_celsius)' },
  { q: 'count_values("value", ms_resets_total)' },
  { q: 'group by (path) (ms_requests_total)' },
  { q: 'sum(ms_special)' },
  { q: 'count by (job) ({__name__=~".+"})' },
  // duplicate label sets after the name is dropped: an execution error in Prometheus
  { q: 'count_over_time({__name__=~"ms_latency_seconds_sum|ms_latency_seconds_count"}[5s])' },
  // binary operators
  { q: 'ms_requests_total{code="200"} / on (path) group_left sum by (path) (ms_requests_total)' },
  { q: 'ms_requests_total / ignoring (code) group_left sum without (code) (ms_requests_total)' },
  { q: 'sum by (path) (ms_requests_total) / on (path) group_right ms_requests_total' },
  { q: 'rate(ms_requests_total[5s]) * 60 + 1' },
  { q: 'ms_temperature_celsius > 10' },
  { q: 'ms_temperature_celsius > bool 10' },
  { q: 'ms_temperature_celsius <= ms_temperature_celsius offset 2s' },
  { q: 'ms_temperature_celsius != bool ms_temperature_celsius offset 1s' },
  { q: '2 ^ ms_temperature_celsius{room="cellar"} - ms_temperature_celsius % 3' },
  { q: 'ms_special * 2 / -1' },
  { q: 'ms_special > bool 0' },
  { q: 'ms_requests_total and ms_requests_total{code="200"}' },
  { q: 'ms_requests_total or ms_resets_total' },
  { q: 'ms_requests_total unless on (path) ms_requests_total{code="404"}' },
  { q: 'ms_flaky or vector(0)' },
  { q: 'ms_temperature_celsius{room="kitchen"} atan2 on () ms_temperature_celsius{room="cellar"}' },
  // histograms and summaries
  { q: 'histogram_quantile(0.9, rate(ms_latency_seconds_bucket[10s]))' },
  { q: 'histogram_quantile(0.5, sum by (le) (rate(ms_latency_seconds_bucket[10s])))' },
  { q: 'histogram_quantile(0.99, sum by (le, handler) (ms_latency_seconds_bucket))' },
  { q: 'histogram_quantile(0.9, sum by (le) (rate(prometheus_http_request_duration_seconds_bucket[10s])))' },
  { q: 'rate(ms_latency_seconds_sum[10s]) / rate(ms_latency_seconds_count[10s])' },
  { q: 'sum by (quantile) (ms_rpc_duration_seconds)' },
  // labels
  { q: 'label_replace(ms_requests_total, "p", "$1", "path", "/(.*)")' },
  { q: 'label_join(ms_requests_total, "pc", "-", "path", "code")' },
  { q: 'label_replace(up, "port", "$2", "instance", "(.*):(.*)")' },
  // absent
  { q: 'absent(nonexistent_metric)' },
  { q: 'absent(ms_requests_total)' },
  { q: 'absent(nonexistent_metric{job="x",a=~"b"})' },
  // sort
  { q: 'sort(ms_temperature_celsius)', ordered: true },
  { q: 'sort_desc(sum by (path) (ms_requests_total))', ordered: true },
  // time functions
  { q: 'time()' },
  { q: 'timestamp(ms_temperature_celsius)' },
  { q: 'minute(timestamp(up))' },
  { q: 'hour() + day_of_week() + day_of_month() + month() + year() + days_in_month()' },
  { q: 'day_of_year(vector(1700000000))' },
  // subqueries
  { q: 'max_over_time(rate(ms_requests_total[5s])[10s:1s])', rangesOnSubquerySteps: true },
  { q: 'avg_over_time(ms_temperature_celsius[10s:2s])' },
  { q: 'rate(ms_resets_total[8s:1s])' },
  { q: 'min_over_time(sum(ms_requests_total)[6s:500ms] offset 1s)' },
  // scalar, vector, literals, math
  { q: 'scalar(sum(ms_resets_total))' },
  { q: 'vector(scalar(count(up)))' },
  { q: '1 + 2 * 3 ^ 2 % 5' },
  { q: '"hello"', instantOnly: true },
  { q: 'abs(ms_temperature_celsius) + ceil(ms_temperature_celsius) + floor(ms_temperature_celsius)' },
  { q: 'round(ms_temperature_celsius, 0.5)' },
  { q: 'sqrt(abs(ms_temperature_celsius)) * ln(ms_requests_total)' },
  { q: 'log2(ms_requests_total) - log10(ms_requests_total)' },
  { q: 'exp(ms_temperature_celsius{room="cellar"})' },
  { q: 'clamp(ms_temperature_celsius, 0, 20) + clamp_min(ms_special, 0) * 0' },
  { q: 'clamp_max(ms_temperature_celsius, 5)' },
  { q: 'sgn(ms_temperature_celsius) * sin(ms_temperature_celsius) + cos(pi())' },
  { q: 'deg(ms_temperature_celsius) - rad(ms_temperature_celsius)' },
  // @ modifier
  { q: (w) => `ms_requests_total @ ${sec(w.start)}` },
  { q: 'rate(ms_requests_total[5s] @ end())' },
  { q: 'sum(ms_resets_total @ start())' },
  // Prometheus' own metrics
  { q: 'rate(prometheus_http_requests_total[10s])' },
  { q: 'sum by (job) (rate(scrape_samples_scraped[5s]))' },
  { q: 'topk(3, prometheus_tsdb_head_series)' },
  // NaN, ±Inf and overflow in aggregations and sorting
  { q: 'sort(ms_special)', ordered: true },
  { q: 'sort_desc(ms_special)', ordered: true },
  { q: 'max(ms_special)' },
  { q: 'min(ms_special)' },
  { q: 'sum(ms_special{kind=~"inf|ninf"})' },
  { q: 'count_values("v", ms_special)' },
  { q: 'stddev(ms_special{kind=~"big|neg|tiny"})' },
  {
    q: 'avg(ms_special{kind="big"} * 1e8 or label_replace(ms_special{kind="big"} * 1.1e8, "kind", "big2", "", ""))',
  },
  { q: 'quantile(2, ms_temperature_celsius) + quantile(-1, ms_temperature_celsius)' },
  { q: 'quantile(0.5, ms_special)' },
  { q: 'topk(scalar(count(ms_flaky)) + 1, ms_temperature_celsius)' },
  // float summation: naive (2.42) vs Kahan-compensated (newer) sums
  { q: 'sum(ms_requests_total{path="/b"}) - 1e9' },
  { q: 'sum_over_time((ms_requests_total{code="404"} + 1e9)[5s:1s]) - 5e9' },
  // duplicate series after a function drops the name: an execution error in both
  // a classic histogram with a non-monotonic bucket
  { q: 'histogram_quantile(0.7, ms_broken_bucket)' },
  // more staleness and time
  { q: 'timestamp(ms_flaky)' },
  { q: 'irate(ms_resets_total[3s])' },
  { q: 'delta(ms_resets_total[4s])' },
  { q: 'changes(ms_flaky[10s])' },
  // errors: both must fail with the same errorType
  { q: 'rate(ms_requests_total)' },
  { q: 'sum(ms_requests_total' },
  { q: 'label_replace(up, "a", "b", "c", "(")' },
  { q: 'ms_requests_total + on (path) ms_requests_total' },
  { q: 'histogram_quantile(0.5, rate(ms_latency_seconds_bucket{le!="+Inf"}[10s]))' },
];

// ---------------------------------------------------------------------------------------------

const KNOWN_BUG_REGEX_MATCHER_NEWLINE =
  'label matchers (=~, !~) compile `.` without the s flag (src/promql/regex.ts: "`.` matches ' +
  'newlines only under (?s)"); Prometheus 3 anchors matchers as ^(?s:re)$, so `.` matches \\n';

/**
 * increase() of a counter over [rangeStart, rangeEnd] (ms) as Prometheus computes it
 * (promql/functions.go extrapolatedRate), in 2.42's order of the two start limits and in 3.x's.
 */
function extrapolatedIncrease(
  pts: [number, number][],
  rangeStart: number,
  rangeEnd: number,
  version: '2.42' | '3',
): number {
  const first = pts[0]!;
  const last = pts.at(-1)!;
  let result = last[1] - first[1];
  let prev = 0;
  for (const [, v] of pts) {
    if (v < prev) result += prev;
    prev = v;
  }
  let toStart = (first[0] - rangeStart) / 1000;
  let toEnd = (rangeEnd - last[0]) / 1000;
  const sampled = (last[0] - first[0]) / 1000;
  const avg = sampled / (pts.length - 1);
  const threshold = avg * 1.1;
  const toZero = result > 0 && first[1] >= 0 ? sampled * (first[1] / result) : Infinity;
  if (version === '2.42') {
    toStart = Math.min(toStart, toZero);
    if (toStart >= threshold) toStart = avg / 2;
  } else {
    if (toStart >= threshold) toStart = avg / 2;
    toStart = Math.min(toStart, toZero);
  }
  if (toEnd >= threshold) toEnd = avg / 2;
  return result * ((sampled + toStart + toEnd) / sampled);
}

/** Prometheus' kahanSumInc (Neumaier's variant). */
function kahanSumInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (!Number.isFinite(t)) return [t, 0];
  return [t, Math.abs(sum) >= Math.abs(inc) ? c + (sum - t + inc) : c + (inc - t + sum)];
}
/** avg_over_time in 2.42: an incremental mean, Kahan-compensated. */
function avgIncremental(vals: number[]): number {
  let mean = 0;
  let c = 0;
  vals.forEach((v, i) => ([mean, c] = kahanSumInc(v / (i + 1) - mean / (i + 1), mean, c)));
  return mean + c;
}
/** avg_over_time in 3.x without overflow: a Kahan sum divided by the count. */
function avgKahan(vals: number[]): number {
  let sum = 0;
  let c = 0;
  for (const v of vals) [sum, c] = kahanSumInc(v, sum, c);
  return sum / vals.length + c / vals.length;
}

async function fetchJson(url: string, init: RequestInit = {}, timeoutMs = 15_000): Promise<any> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${url}: HTTP ${res.status}: ${text.slice(0, 500)}`);
  }
}

describe(
  'differential: MoleSignal vs Prometheus 2.42 over the same remote-written data',
  { skip: PROMETHEUS ? false : SKIP_MSG },
  () => {
    let server: ServerProcess;
    let prom: ChildProcess | undefined;
    let promExited: Promise<void> = Promise.resolve();
    const promOut: string[] = [];
    let promUrl = '';
    let target: Server | undefined;
    let dir = '';
    let scrapes = 0;
    let win: Window;
    let scrapeOnWholeSecond = false;
    const knownBugFailures: string[] = [];
    const stats = { queries: 0, evaluations: 0, agree: 0 };

    const promQuery = (path: string, params: Record<string, string>) =>
      fetchJson(`${promUrl}${path}?${new URLSearchParams(params).toString()}`);
    const moleQuery = async (path: string, params: Record<string, string>) => {
      const res = await server.fetch(`${path}?${new URLSearchParams(params).toString()}`, {
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      try {
        return JSON.parse(text);
      } catch {
        throw new Error(`molesignal ${path}: HTTP ${res.status}: ${text.slice(0, 500)}`);
      }
    };

    before(
      async () => {
        dir = await tempDir('molesignal-promdiff-');
        server = await startServer();
        target = createServer((req, res) => {
          if (req.url !== '/metrics') {
            res.writeHead(404).end();
            return;
          }
          const body = exposition(scrapes++);
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
        });
        await new Promise<void>((resolve) => target!.listen(0, '127.0.0.1', resolve));
        const targetAddr = target.address();
        if (!targetAddr || typeof targetAddr === 'string') throw new Error('no target port');
        const promPort = await freePort();
        promUrl = `http://127.0.0.1:${promPort}`;
        const config = {
          global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
          scrape_configs: [
            { job_name: 'prometheus', static_configs: [{ targets: [`127.0.0.1:${promPort}`] }] },
            { job_name: 'target', static_configs: [{ targets: [`127.0.0.1:${targetAddr.port}`] }] },
          ],
          remote_write: [
            {
              url: `${server.url}/api/v1/write`,
              basic_auth: { username: ROOT_USER, password: ROOT_PASSWORD },
              queue_config: { batch_send_deadline: '1s', max_samples_per_send: 2000 },
              metadata_config: { send_interval: '1s' },
            },
          ],
        };
        // JSON is YAML
        await writeFile(join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2));
        prom = spawn(
          PROMETHEUS!,
          [
            `--config.file=${join(dir, 'prometheus.yml')}`,
            `--storage.tsdb.path=${join(dir, 'data')}`,
            `--web.listen-address=127.0.0.1:${promPort}`,
            '--log.level=warn',
          ],
          { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        const p = prom;
        promExited = new Promise((resolve) => p.once('exit', () => resolve()));
        p.stdout!.on('data', (b: Buffer) => promOut.push(b.toString()));
        p.stderr!.on('data', (b: Buffer) => promOut.push(b.toString()));

        // ready, then the first scrape of the target
        const deadline = Date.now() + 20_000;
        for (;;) {
          if (p.exitCode !== null) throw new Error(`prometheus exited:\n${promOut.join('')}`);
          if (Date.now() > deadline) throw new Error(`prometheus not ready:\n${promOut.join('')}`);
          const ok = await fetch(`${promUrl}/-/ready`).then(
            (r) => r.ok,
            () => false,
          );
          if (ok && scrapes > 0) break;
          await sleep(200);
        }
        // ~28 s of 1 s scrapes; the window is the last 12 s of it minus a margin, so ranges of up to
        // ~12 s at the window start lie after the first scrape (#6 needs a range reaching before it)
        await sleep(28_000);

        // Every sample of a scrape shares its timestamp: `up` gives all sample timestamps.
        const ups = await promQuery('/api/v1/query', { query: 'up[1m]', time: sec(Date.now()) });
        const jobs: any[] = ups.data.result;
        assert.equal(jobs.length, 2, JSON.stringify(ups));
        const tss = jobs.flatMap((s: any) => s.values.map(([t]: [number]) => Math.round(t * 1000)));
        // the window must end before the last scrape of every job, with margin
        const lastCommon = Math.min(...jobs.map((s: any) => Math.round(s.values.at(-1)[0] * 1000)));
        // A millisecond phase that no sample has (nor 0, the phase of subquery steps), as far from
        // them as possible: no range or lookback boundary then falls on a sample (difference #1).
        scrapeOnWholeSecond = tss.some((t) => t % 1000 === 0);
        const phases = [...tss.map((t) => t % 1000), 0];
        let phase = 500;
        let best = -1;
        for (let p2 = 0; p2 < 1000; p2++) {
          const d = Math.min(...phases.map((x) => Math.min(Math.abs(x - p2), 1000 - Math.abs(x - p2))));
          if (d > best) [best, phase] = [d, p2];
        }
        const endCand = lastCommon - 2000;
        const end = Math.floor((endCand - phase) / 1000) * 1000 + phase;
        const start = end - 12_000;
        const mid = start + 5_000;
        win = { start, end, mid, instants: [start, mid, end] };
        console.log(
          `window ${new Date(start).toISOString()} .. ${new Date(end).toISOString()}, phase ${phase} ms ` +
            `(nearest sample phase ${best} ms away), ${scrapes} target scrapes`,
        );

        // MoleSignal must hold every sample Prometheus holds up to the window end: the raw samples of
        // every series over the last 2 minutes must be equal (remote_write lags up to ~1 s).
        const raw = { query: '{__name__=~".+"}[2m]', time: sec(end) };
        const want = await promQuery('/api/v1/query', raw);
        assert.equal(want.status, 'success', JSON.stringify(want).slice(0, 500));
        const until = Date.now() + 20_000;
        for (;;) {
          const got = await moleQuery('/api/v1/query', raw);
          const diff =
            got.status === 'success' ? compareData(want.data, got.data, false) : JSON.stringify(got);
          if (diff === null) break;
          if (Date.now() > until)
            throw new Error(
              `MoleSignal never received every sample Prometheus scraped (${want.data.result.length} series):\n${diff}\n` +
                promOut.join('').slice(-3000),
            );
          await sleep(500);
        }
        console.log(`raw data equal: ${want.data.result.length} series`);
      },
      { timeout: 90_000 },
    );

    after(
      async () => {
        if (knownBugFailures.length)
          console.log(
            `known MoleSignal bugs (expected failures, ${knownBugFailures.length}):\n` +
              knownBugFailures.join('\n'),
          );
        console.log(
          `differential: ${stats.queries} queries, ${stats.evaluations} evaluations per server, ${stats.agree} agree`,
        );
        if (prom && prom.exitCode === null && prom.signalCode === null) {
          prom.kill('SIGTERM');
          let timer: NodeJS.Timeout | undefined;
          const killed = await Promise.race([
            promExited.then(() => false),
            new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), 10_000))),
          ]);
          clearTimeout(timer);
          if (killed) {
            prom.kill('SIGKILL');
            await promExited;
          }
        }
        if (target) await new Promise<void>((resolve) => target!.close(() => resolve()));
        target?.closeAllConnections();
        if (server) await server.stop();
        if (dir) await removeDir(dir);
        if (server) await removeDir(server.dataDir);
      },
      { timeout: 30_000 },
    );

    /** Runs one query on both servers; returns the differences (empty when they agree). */
    async function differences(spec: QuerySpec): Promise<string[]> {
      const q = typeof spec.q === 'function' ? spec.q(win) : spec.q;
      const mq = spec.mole ?? q;
      const runs: { path: string; params: Record<string, string>; what: string }[] = win.instants.map(
        (t) => ({
          path: '/api/v1/query',
          params: { time: sec(t) },
          what: `instant @${sec(t)}`,
        }),
      );
      if (!spec.instantOnly)
        runs.push({
          path: '/api/v1/query_range',
          params: { start: sec(win.start), end: sec(win.end), step: '2' },
          what: `range ${sec(win.start)}..${sec(win.end)} step 2s`,
        });
      const out: string[] = [];
      stats.queries++;
      for (const r of runs) {
        stats.evaluations++;
        const [p, m] = await Promise.all([
          promQuery(r.path, { query: q, ...r.params }),
          moleQuery(r.path, { query: mq, ...r.params }),
        ]);
        let diff: string | null;
        if (p.status !== 'success' || m.status !== 'success')
          diff =
            p.status === m.status && p.errorType === m.errorType
              ? null
              : `status: prometheus ${p.status} ${p.error ?? ''}, molesignal ${m.status} ${m.error ?? ''}`;
        else diff = compareData(p.data, m.data, !!spec.ordered && r.path === '/api/v1/query');
        if (!diff) {
          stats.agree++;
          continue;
        }
        const show = (x: any) => {
          const s = JSON.stringify(x.data ?? x);
          return s.length > 1500 ? s.slice(0, 1500) + '…' : s;
        };
        out.push(
          `${r.what}: ${q}${mq !== q ? `  (molesignal: ${mq})` : ''}\n${diff}\n  prometheus: ${show(p)}\n  molesignal: ${show(m)}`,
        );
      }
      return out;
    }

    test('at least 60 queries', () => {
      assert.ok(QUERIES.length >= 60, String(QUERIES.length));
    });

    for (const spec of QUERIES) {
      const name = typeof spec.q === 'function' ? spec.q({ start: 0, end: 0, mid: 0, instants: [] }) : spec.q;
      test(
        name,
        { ...(spec.knownBug ? { todo: `known MoleSignal bug: ${spec.knownBug}` } : {}) },
        async (t) => {
          if (spec.rangesOnSubquerySteps && scrapeOnWholeSecond) {
            t.skip('a scrape landed on a whole second, where the subquery steps put range boundaries');
            return;
          }
          const diffs = await differences(spec);
          if (diffs.length && spec.knownBug)
            knownBugFailures.push(`- ${name}: ${spec.knownBug}\n${diffs.join('\n')}`);
          if (!diffs.length && spec.knownBug)
            console.log(`knownBug query now agrees, remove the mark: ${name}`);
          assert.equal(diffs.length, 0, diffs.join('\n\n'));
        },
      );
    }

    // --- documented 2.42 → 3 differences, asserted ------------------------------------------

    const instant = async (q: string, t: number, mq = q) => {
      const [p, m] = await Promise.all([
        promQuery('/api/v1/query', { query: q, time: sec(t) }),
        moleQuery('/api/v1/query', { query: mq, time: sec(t) }),
      ]);
      assert.equal(p.status, 'success', JSON.stringify(p));
      assert.equal(m.status, 'success', JSON.stringify(m));
      return { p: p.data.result as any[], m: m.data.result as any[] };
    };

    test('2→3 #1: a range whose left boundary hits a sample: 2.42 includes it, MoleSignal (3.x) does not', async () => {
      const sel = 'ms_requests_total{path="/a",code="200"}';
      const r = await promQuery('/api/v1/query', { query: `${sel}[30s]`, time: sec(win.end) });
      const ts: number[] = r.data.result[0].values.map(([t]: [number]) => Math.round(t * 1000));
      assert.ok(ts.length >= 7, JSON.stringify(r));
      const t = ts.at(-1)!;
      const range = t - ts.at(-6)!; // exactly five scrape intervals, in ms
      const { p, m } = await instant(`count_over_time(${sel}[${range}ms])`, t);
      console.log(
        `count_over_time([${range}ms]) at a sample time: prometheus ${p[0]?.value[1]}, molesignal ${m[0]?.value[1]}`,
      );
      assert.equal(p[0]?.value[1], '6', 'Prometheus 2.42: closed [t-r, t]');
      assert.equal(m[0]?.value[1], '5', 'Prometheus 3: left-open (t-r, t]');
    });

    test('2→3 #2: subquery steps on the left boundary: x[4s:1s] at a whole second has 5 points in 2.42, 4 in 3.x', async () => {
      const t = Math.floor(win.mid / 1000) * 1000;
      const { p, m } = await instant('count_over_time(ms_temperature_celsius{room="cellar"}[4s:1s])', t);
      assert.equal(p[0]?.value[1], '5');
      assert.equal(m[0]?.value[1], '4');
    });

    test('2→3 #3: holt_winters (2.42) = double_exponential_smoothing (3.x)', async () => {
      const q = 'holt_winters(ms_temperature_celsius[10s], 0.3, 0.6)';
      const { p, m } = await instant(
        q,
        win.end,
        'double_exponential_smoothing(ms_temperature_celsius[10s], 0.3, 0.6)',
      );
      assert.equal(
        compareData({ resultType: 'vector', result: p }, { resultType: 'vector', result: m }, false),
        null,
      );
      assert.equal(p.length, 3);
      // MoleSignal also accepts the old name
      const old = await moleQuery('/api/v1/query', { query: q, time: sec(win.end) });
      console.log(`molesignal on holt_winters(): ${old.status} ${old.error ?? ''}`);
    });

    test("2→3 #4a: a regex matcher's . matches a newline in 3.x, not in 2.42", async () => {
      const { p, m } = await instant('ms_info{desc=~"line1.line2"}', win.end);
      assert.equal(p.length, 0, `2.42 must not match: ${JSON.stringify(p)}`);
      if (m.length !== 1)
        knownBugFailures.push(
          `- ms_info{desc=~"line1.line2"}: ${KNOWN_BUG_REGEX_MATCHER_NEWLINE}\n  prometheus 2.42 (expected: none): ${JSON.stringify(p)}\n  molesignal (expected: the series, as Prometheus 3): ${JSON.stringify(m)}`,
        );
      assert.equal(m.length, 1, `MoleSignal (Prometheus 3 semantics) must match: ${JSON.stringify(m)}`);
      assert.equal(m[0].metric.desc, 'line1\nline2');
    });

    test("2→3 #4b: label_replace's . matches a newline in 3.x, not in 2.42", async () => {
      const lr = await instant('label_replace(ms_info, "first", "$1", "desc", "(.*)2")', win.end);
      const firsts = (x: any[]) => x.map((s) => String(s.metric.first ?? '-')).sort();
      assert.deepEqual(firsts(lr.p), ['-', '-'], '2.42: (.*)2 does not match across the newline');
      assert.deepEqual(firsts(lr.m), ['-', 'line1\nline'].sort(), JSON.stringify(lr.m));
    });

    test('2→3 #5: le stays "1" as exposed (2.42 text format); MoleSignal stores what remote_write sent', async () => {
      const { p, m } = await instant('count by (le) (ms_latency_seconds_bucket)', win.end);
      const les = (x: any[]) => x.map((s) => s.metric.le as string).sort();
      assert.deepEqual(les(p), [...HIST_LE].sort());
      assert.deepEqual(les(m), les(p));
    });

    test('2→3 #6: rate/increase zero-point limit applies after the half-interval rule in 3.x (PR #13725)', async () => {
      // A 1m range at the window end reaches before the first scrape; the counter reset once, so
      // the extrapolated zero point lies between half an interval and 1.1 intervals before the
      // first sample: 2.42 extrapolates to it, 3.x only half an interval.
      const sel = 'ms_resets_total{kind="once"}';
      const t = win.end;
      const raw = await promQuery('/api/v1/query', { query: `${sel}[1m]`, time: sec(t) });
      const pts: [number, number][] = raw.data.result[0].values.map(([ts, v]: [number, string]) => [
        Math.round(ts * 1000),
        num(v),
      ]);
      const want2 = extrapolatedIncrease(pts, t - 60_000, t, '2.42');
      const want3 = extrapolatedIncrease(pts, t - 60_000, t, '3');
      const { p, m } = await instant(`increase(${sel}[1m])`, t);
      console.log(
        `increase(${sel}[1m]): prometheus ${p[0]?.value[1]} (2.42 formula ${want2}), molesignal ${m[0]?.value[1]} (3.x formula ${want3})`,
      );
      assert.ok(floatsEqual(num(p[0]?.value[1]), want2), 'Prometheus 2.42 follows the 2.42 formula');
      assert.ok(floatsEqual(num(m[0]?.value[1]), want3), 'MoleSignal follows the 3.x formula');
      assert.ok(!floatsEqual(want2, want3), 'the data exercise the difference');
    });

    test('2→3 #7: avg_over_time: Kahan sum then divide in 3.x, incremental mean in 2.42 (PR #14413)', async () => {
      // 1e9 + 0.1·n is not exact in float64 (ulp 1.2e-7): the two algorithms round differently
      // at about half of the times; subtracting 1e9 makes the last bit visible beyond 1e-9.
      const inner = '(ms_requests_total{code="404"} * 100 + 1e9)[10s:1s]';
      const q = `avg_over_time(${inner}) - 1e9`;
      let differ = 0;
      for (let t = win.start; t <= win.end; t += 1000) {
        const raw = await promQuery('/api/v1/query', { query: inner, time: sec(t) });
        const vals: number[] = raw.data.result[0].values.map(([, v]: [number, string]) => num(v));
        const want2 = avgIncremental(vals) - 1e9;
        const want3 = avgKahan(vals) - 1e9;
        const { p, m } = await instant(q, t);
        const pv = num(p[0]?.value[1]);
        const mv = num(m[0]?.value[1]);
        const at = `${q} @${sec(t)}: prometheus ${pv} (2.42 formula ${want2}), molesignal ${mv} (3.x formula ${want3})`;
        assert.ok(floatsEqual(pv, want2), `Prometheus 2.42 computes an incremental mean: ${at}`);
        assert.ok(floatsEqual(mv, want3), `MoleSignal (3.x) divides a Kahan sum: ${at}`);
        if (!floatsEqual(want2, want3)) differ++;
      }
      console.log(`${q}: the 2.42 and 3.x results differ at ${differ} of 13 times`);
      assert.ok(differ > 0, 'the data exercise the difference');
    });

    test('#8 (not a 2→3 difference): delayed __name__ removal lets aggregations merge what a function would duplicate', async () => {
      // count_over_time drops __name__, so _sum and _count of one histogram share a label set.
      // Prometheus (2.42, and 3.x by default) fails the query; MoleSignal removes __name__ only at
      // the end, as Prometheus 3 does with --enable-feature=promql-delayed-name-removal and as
      // Prometheus' own test suite (name_label_dropping.test) expects.
      const q =
        'sum by (job) (count_over_time({__name__=~"ms_latency_seconds_sum|ms_latency_seconds_count"}[5s]))';
      const [p, m] = await Promise.all([
        promQuery('/api/v1/query', { query: q, time: sec(win.end) }),
        moleQuery('/api/v1/query', { query: q, time: sec(win.end) }),
      ]);
      assert.equal(p.status, 'error', JSON.stringify(p));
      assert.match(p.error, /same labelset/);
      assert.equal(m.status, 'success', JSON.stringify(m));
      assert.deepEqual(m.data.result[0].metric, { job: 'target' });
      assert.equal(m.data.result[0].value[1], '20'); // 2 handlers × 2 series × 5 samples
    });
  },
);
