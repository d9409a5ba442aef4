/**
 * Runs PromQL test scripts against the parser and engine: loads into an in-memory storage, runs
 * each eval (instant or range), and compares with Prometheus' rules (./compare.ts). Instant evals
 * also get Prometheus' step-invariance checks: the query re-run with `@ <time>` on every selector
 * at other evaluation times, and each instant query re-run as a range query around its time.
 */
import type { Expr, VectorSelector } from '../ast.ts';
import type { Labels } from '../labels.ts';
import type { QueryResult, Sample, Value } from '../value.ts';
import { checkAnnotations, compareLabels, compareResult, matchesExpect } from './compare.ts';
import { TEST_ENGINE_OPTS as BASE_ENGINE_OPTS, type EngineApi } from './engine-api.ts';
import { MemoryStorage, matcherPredicate } from './memory-storage.ts';
import { parseScript, type Command, type EvalCmd } from './script.ts';

export interface CaseResult {
  /** `<file>:<line>` */
  id: string;
  file: string;
  line: number;
  query: string;
  ok: boolean;
  /** why it failed ('' when it passed) */
  reason: string;
  /** the eval touches native histograms (loaded or expected) */
  needsHistograms: boolean;
}

export interface RunOptions {
  /** per query, ms (async hangs; the isolated runner also guards synchronous hangs) */
  timeoutMs?: number;
  /** run the `@` step-invariance and range-mode checks of instant evals (default true) */
  stepInvariance?: boolean;
  /** evals at or before this line are skipped (a restart after a hang) */
  skipThroughLine?: number;
  /** called before each eval runs */
  onStart?: (ev: EvalCmd, needsHistograms: boolean) => void;
  /** called with each result */
  onResult?: (r: CaseResult) => void;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

/** Functions whose result depends on the evaluation time although their arguments do not. */
const AT_UNSAFE_FUNCTIONS = new Set([
  'days_in_month',
  'day_of_month',
  'day_of_week',
  'day_of_year',
  'hour',
  'minute',
  'month',
  'year',
  'predict_linear',
  'time',
  'timestamp',
  // query-context functions: their value is the query's start/end/range/step, not the `@` time
  'start',
  'end',
  'range',
  'step',
]);

const RE_QUERY_CONTEXT_FUNCS = /(start|end|range|step)\(\)/;

class QueryTimeout extends Error {}

const NATIVE_ERRORS: unknown[] = [TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError];

async function withTimeout<T>(p: Promise<T> | T, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      Promise.resolve(p),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new QueryTimeout(`timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sets `@ timeMs` on every selector and subquery without one (not inside subqueries with `@`). */
export function withAtModifiers(expr: Expr, timeMs: number): { expr: Expr; unsafe: boolean } {
  const copy = structuredClone(expr);
  let unsafe = false;
  const visit = (e: Expr): void => {
    switch (e.type) {
      case 'VectorSelector':
        e.at ??= { kind: 'time', timeMs };
        return;
      case 'MatrixSelector':
        e.vector.at ??= { kind: 'time', timeMs };
        return;
      case 'SubqueryExpr':
        // the selectors inside keep their times (relative to the subquery's steps)
        if (e.at === null) {
          e.at = { kind: 'time', timeMs };
        }
        // Prometheus does not look inside (not even for at-unsafe functions)
        return;
      case 'Call':
        if (AT_UNSAFE_FUNCTIONS.has(e.func)) unsafe = true;
        e.args.forEach(visit);
        return;
      case 'ParenExpr':
      case 'UnaryExpr':
        visit(e.expr);
        return;
      case 'BinaryExpr':
        visit(e.lhs);
        visit(e.rhs);
        return;
      case 'AggregateExpr':
        visit(e.expr);
        if (e.param) visit(e.param);
        return;
      case 'NumberLiteral':
      case 'StringLiteral':
        return;
    }
  };
  visit(copy);
  return { expr: copy, unsafe };
}

const IDENT_CHAR = /[a-zA-Z0-9_:]/;

function mentions(query: string, name: string): boolean {
  let i = query.indexOf(name);
  while (i >= 0) {
    const before = query[i - 1];
    const after = query[i + name.length];
    if ((!before || !IDENT_CHAR.test(before)) && (!after || !IDENT_CHAR.test(after))) return true;
    i = query.indexOf(name, i + 1);
  }
  return false;
}

/** Whether a selector of the query matches a series with native histograms; null if it does not parse. */
function selectsHistograms(
  query: string,
  engine: EngineApi | null,
  series: readonly Labels[],
): boolean | null {
  if (series.length === 0) return false;
  if (!engine) return null;
  let expr: Expr;
  try {
    expr = engine.parseExpr(query);
  } catch {
    return null;
  }
  const selectors: VectorSelector[] = [];
  const walk = (e: Expr): void => {
    switch (e.type) {
      case 'VectorSelector':
        selectors.push(e);
        return;
      case 'MatrixSelector':
        selectors.push(e.vector);
        return;
      case 'SubqueryExpr':
      case 'ParenExpr':
      case 'UnaryExpr':
        walk(e.expr);
        return;
      case 'BinaryExpr':
        walk(e.lhs);
        walk(e.rhs);
        return;
      case 'AggregateExpr':
        walk(e.expr);
        if (e.param) walk(e.param);
        return;
      case 'Call':
        e.args.forEach(walk);
        return;
      case 'NumberLiteral':
      case 'StringLiteral':
        return;
    }
  };
  walk(expr);
  return selectors.some((sel) => {
    const preds = sel.matchers.map((m) => ({ name: m.name, test: matcherPredicate(m) }));
    return series.some((l) => preds.every((p) => p.test(l.get(p.name))));
  });
}

/** Runs one script's commands; returns one result per eval. */
export async function runCommands(
  cmds: readonly Command[],
  file: string,
  engine: EngineApi | string,
  opts: RunOptions = {},
): Promise<CaseResult[]> {
  const storage = new MemoryStorage();
  const histogramNames = new Set<string>();
  /** label sets of the series holding native histogram samples (incl. converted classic ones) */
  const histogramSeries: Labels[] = [];
  const results: CaseResult[] = [];
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  for (const cmd of cmds) {
    if (cmd.kind === 'clear') {
      storage.clear();
      histogramNames.clear();
      histogramSeries.length = 0;
      continue;
    }
    if (cmd.kind === 'load') {
      for (const s of cmd.series) {
        storage.add(
          s.labels,
          s.t.map((t, i) => ({ t, v: s.v[i] ?? NaN, stale: s.stale[i] ?? false })),
        );
        const name = s.labels.get('__name__');
        if (s.hasHistograms) {
          histogramSeries.push(s.labels);
          if (name) histogramNames.add(name);
        }
        if (cmd.withNhcb && name) {
          const m = /^(.*)_(bucket|count|sum)$/.exec(name);
          if (m?.[1]) {
            histogramNames.add(m[1]);
            histogramSeries.push(s.labels.without(['le']).with('__name__', m[1]));
          }
        }
      }
      continue;
    }
    if (opts.skipThroughLine !== undefined && cmd.line <= opts.skipThroughLine) continue;
    const needsHistograms =
      cmd.expectsHistograms ||
      (selectsHistograms(cmd.expr, typeof engine === 'string' ? null : engine, histogramSeries) ??
        [...histogramNames].some((n) => mentions(cmd.expr, n)));
    opts.onStart?.(cmd, needsHistograms);
    let reason: string | null;
    if (typeof engine === 'string') reason = engine;
    else {
      try {
        reason = await runEval(cmd, engine, storage, timeoutMs, opts.stepInvariance ?? true);
      } catch (e) {
        reason = `runner error: ${(e as Error).message}`;
      }
    }
    const r: CaseResult = {
      id: cmd.id,
      file,
      line: cmd.line,
      query: cmd.expr,
      ok: reason === null,
      reason: reason ?? '',
      needsHistograms,
    };
    results.push(r);
    opts.onResult?.(r);
  }
  return results;
}

/** Parses and runs one script text. A script that does not parse yields no results (and throws). */
export async function runScript(
  text: string,
  file: string,
  engine: EngineApi | string,
  opts: RunOptions = {},
): Promise<CaseResult[]> {
  return runCommands(parseScript(text, file), file, engine, opts);
}

type Outcome = { ok: true; res: QueryResult } | { ok: false; error: Error };

function errText(e: Error): string {
  return e.message;
}

/** Runs one eval; returns null when it passes, else the reason. */
export async function runEval(
  ev: EvalCmd,
  engine: EngineApi,
  storage: MemoryStorage,
  timeoutMs: number,
  stepInvariance: boolean,
): Promise<string | null> {
  if (ev.defError) return `invalid eval: ${ev.defError}`;
  const TEST_ENGINE_OPTS = { ...BASE_ENGINE_OPTS, timeoutMs };
  const run = async (f: () => Promise<QueryResult> | QueryResult): Promise<Outcome> => {
    try {
      return { ok: true, res: await withTimeout(f(), timeoutMs) };
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e : new Error(String(e)) };
    }
  };
  // any deliberate error counts (Prometheus accepts any error); timeouts and JavaScript's own
  // errors (a TypeError from a bug, a stack overflow) do not
  const isPromqlError = (e: Error): boolean =>
    !(e instanceof QueryTimeout) &&
    (engine.errorClasses.some((c) => e instanceof c) || !NATIVE_ERRORS.some((c) => e.constructor === c));
  const checkFailure = (e: Error): string | null => {
    if (!isPromqlError(e)) return `expected a PromQL error, got ${e.name}: ${errText(e)}`;
    if (ev.fail && !matchesExpect(ev.fail, errText(e)))
      return `expected error matching ${ev.fail.regex ? String(ev.fail.regex) : JSON.stringify(ev.fail.message)}, got: ${errText(e)}`;
    return null;
  };

  let expr: Expr;
  try {
    expr = engine.parseExpr(ev.expr);
  } catch (e) {
    // Prometheus' harness parses every eval's query first: one that does not parse is never a pass,
    // not even with `expect fail` (those expect errors of the evaluation)
    const err = e instanceof Error ? e : new Error(String(e));
    return `parse error: ${errText(err)}`;
  }

  if (ev.isRange) {
    const o = await run(() =>
      engine.rangeQuery(storage, expr, ev.startMs, ev.endMs, ev.stepMs, TEST_ENGINE_OPTS),
    );
    if (!o.ok) return ev.fail ? checkFailure(o.error) : `error: ${errText(o.error)}`;
    if (ev.fail) return 'expected an error but got none';
    return (
      checkAnnotations(ev, o.res.annotations) ??
      compareResult(ev, o.res.value, { startMs: ev.startMs, endMs: ev.endMs, stepMs: ev.stepMs })
    );
  }

  const variants: { expr: Expr; timeMs: number; label: string }[] = [{ expr, timeMs: ev.evalMs, label: '' }];
  if (stepInvariance) {
    const { expr: atExpr, unsafe } = withAtModifiers(expr, ev.evalMs);
    if (!unsafe) {
      const ts = ev.evalMs;
      const times = ts === 0 ? [-1000, 0, 1000] : [-10 * ts, 0, Math.trunc(ts / 5), ts, 10 * ts];
      for (const t of times)
        variants.push({
          expr: atExpr,
          timeMs: t,
          label: ` (with @ ${ts / 1000}, evaluated at ${t / 1000}s)`,
        });
    }
  }
  const matrixRange = { startMs: ev.startMs, endMs: ev.endMs, stepMs: ev.stepMs };
  for (const variant of variants) {
    const o = await run(() => engine.instantQuery(storage, variant.expr, variant.timeMs, TEST_ENGINE_OPTS));
    if (!o.ok) {
      if (ev.fail) {
        const f = checkFailure(o.error);
        if (f) return f + variant.label;
        continue;
      }
      return `error${variant.label}: ${errText(o.error)}`;
    }
    if (ev.fail) return `expected an error but got none${variant.label}`;
    const a = checkAnnotations(ev, o.res.annotations);
    if (a) return a + variant.label;
    const c = compareResult(ev, o.res.value, matrixRange);
    if (c) return c + variant.label;

    if (!stepInvariance || ev.expectRangeVector || ev.expectedString !== null) continue;
    if (RE_QUERY_CONTEXT_FUNCS.test(ev.expr)) continue;
    const t = variant.timeMs;
    const r = await run(() =>
      engine.rangeQuery(storage, variant.expr, t - 60_000, t + 60_000, 60_000, TEST_ENGINE_OPTS),
    );
    if (!r.ok) return `error in range mode${variant.label}: ${errText(r.error)}`;
    if (ev.ordered) continue;
    if (r.res.value.type !== 'matrix')
      return `range mode${variant.label}: a range query returned a ${r.res.value.type}`;
    const series = r.res.value.series;
    for (let i = 0; i + 1 < series.length; i++) {
      const x = series[i];
      const y = series[i + 1];
      if (x && y && compareLabels(x.metric, y.metric) > 0)
        return `range mode${variant.label}: matrix results should always be sorted by labels`;
    }
    const samples: Sample[] = [];
    for (const s of series) {
      const p = s.points.find((x) => x.t === t);
      if (p) samples.push({ metric: s.dropName ? s.metric.withoutName() : s.metric, t, v: p.v });
    }
    let asInstant: Value;
    if (o.res.value.type === 'scalar') {
      const first = samples[0];
      if (!first) return `range mode${variant.label}: no point at t=${t}`;
      asInstant = { type: 'scalar', t, v: first.v };
    } else asInstant = { type: 'vector', samples };
    const rc = compareResult(ev, asInstant, matrixRange);
    if (rc) return `range mode${variant.label}: ${rc}`;
  }
  return null;
}
