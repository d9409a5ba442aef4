/**
 * Prometheus' result comparison rules for test scripts (promql/promqltest/test.go): vectors are
 * sets unless `ordered`, floats compare with a relative tolerance, NaN equals NaN, range results
 * compare point by point, annotations by level with `msg:` / `regex:` matching.
 */
import type { Labels } from '../labels.ts';
import type { Annotation, Value } from '../value.ts';
import type { EvalCmd, ExpectMatcher, SeqValue } from './script.ts';

export const EPSILON = 0.000001;
const MIN_NORMAL = 2.2250738585072014e-308;

/** Prometheus' util/almost.Equal. */
export function almostEqual(a: number, b: number, epsilon = EPSILON): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < epsilon * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}

/** Prometheus' labels.Compare. */
export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.list.length, b.list.length);
  for (let i = 0; i < n; i++) {
    const x = a.list[i];
    const y = b.list[i];
    if (!x || !y) break;
    if (x.name !== y.name) return x.name < y.name ? -1 : 1;
    if (x.value !== y.value) return x.value < y.value ? -1 : 1;
  }
  return a.list.length - b.list.length;
}

export function matchesExpect(e: ExpectMatcher, s: string): boolean {
  if (e.regex) {
    e.regex.lastIndex = 0;
    return e.regex.test(s);
  }
  if (e.message !== undefined) return e.message === s;
  return true;
}

function describe(e: ExpectMatcher): string {
  return e.regex ? `pattern ${String(e.regex)}` : `message ${JSON.stringify(e.message ?? '')}`;
}

/** The annotation checks; returns an error text or null. */
export function checkAnnotations(ev: EvalCmd, annos: readonly Annotation[]): string | null {
  const warnings = annos.filter((a) => a.level === 'warn').map((a) => a.message);
  const infos = annos.filter((a) => a.level === 'info').map((a) => a.message);
  if (ev.legacyWarn && warnings.length === 0) return 'expected warnings but got none';
  if (ev.legacyInfo && infos.length === 0) return 'expected info annotations but got none';
  const check = (expected: ExpectMatcher[], actual: string[], kind: string): string | null => {
    if (expected.length === 0) return null;
    if (actual.length === 0) return `expected ${kind} annotations but none were found`;
    for (const e of expected)
      if (!actual.some((a) => matchesExpect(e, a)))
        return `expected ${kind} annotation matching ${describe(e)} but found: ${JSON.stringify(actual)}`;
    for (const a of actual)
      if (!expected.some((e) => matchesExpect(e, a)))
        return `unexpected ${kind} annotation ${JSON.stringify(a)}`;
    return null;
  };
  const w = check(ev.warn, warnings, 'warn') ?? check(ev.info, infos, 'info');
  if (w) return w;
  if (ev.noWarn && warnings.length > 0) return `unexpected warning annotations: ${JSON.stringify(warnings)}`;
  if (ev.noInfo && infos.length > 0) return `unexpected info annotations: ${JSON.stringify(infos)}`;
  return null;
}

const fmt = (v: number): string =>
  Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);

function finalLabels(metric: Labels, dropName: boolean | undefined): Labels {
  return dropName ? metric.withoutName() : metric;
}

/**
 * Compares a query result with the eval's expectation. For matrices, `startMs`/`stepMs`/`endMs`
 * give the times of the expected points. Returns an error text or null.
 */
export function compareResult(
  ev: EvalCmd,
  value: Value,
  range: { startMs: number; endMs: number; stepMs: number },
): string | null {
  const expected = new Map(ev.expected.map((e) => [e.labels.key, e]));
  switch (value.type) {
    case 'matrix': {
      if (ev.ordered) return 'expected ordered result, but query returned a matrix';
      if (ev.expectScalar !== null) return 'expected scalar result, but got matrix';
      if (ev.expectedString !== null) return 'expected string result, but got matrix';
      const series = value.series.map((s) => ({
        metric: finalLabels(s.metric, s.dropName),
        points: s.points,
      }));
      for (let i = 0; i + 1 < series.length; i++) {
        const a = series[i];
        const b = series[i + 1];
        if (a && b && compareLabels(a.metric, b.metric) > 0)
          return `matrix results should always be sorted by labels, but ${a.metric.toString()} comes before ${b.metric.toString()}`;
      }
      const seen = new Set<string>();
      for (const s of series) {
        const exp = expected.get(s.metric.key);
        if (!exp) return `unexpected metric ${s.metric.toString()} in result, has ${fmtPoints(s.points)}`;
        if (seen.has(s.metric.key)) return `duplicate series ${s.metric.toString()} in result`;
        seen.add(s.metric.key);
        const expPoints: { t: number; v: number }[] = [];
        for (let i = 0; i < exp.values.length; i++) {
          const t = range.startMs + i * range.stepMs;
          if (t > range.endMs)
            return `expected ${exp.values.length} points for ${exp.labels.toString()}, but query time range cannot return this many points`;
          const e = exp.values[i] as SeqValue;
          if (e.kind === 'histogram') return 'expected native histogram values (not supported)';
          if (e.kind === 'float') expPoints.push({ t, v: e.v });
          // stale markers in expectations are NaN values in Prometheus' parser; results never contain them
          if (e.kind === 'stale') expPoints.push({ t, v: NaN });
        }
        if (expPoints.length !== s.points.length)
          return `expected ${expPoints.length} float points for ${exp.labels.toString()}, but got ${fmtPoints(s.points)}`;
        for (let i = 0; i < expPoints.length; i++) {
          const e = expPoints[i];
          const a = s.points[i];
          if (!e || !a) continue;
          if (e.t !== a.t)
            return `expected point ${i} of ${exp.labels.toString()} at t=${e.t}, but it is at t=${a.t} (${fmtPoints(s.points)})`;
          if (!almostEqual(a.v, e.v))
            return `expected ${fmt(e.v)} at t=${e.t} for ${exp.labels.toString()}, but got ${fmt(a.v)} (${fmtPoints(s.points)})`;
        }
      }
      for (const e of ev.expected)
        if (!seen.has(e.labels.key)) return `expected metric ${e.labels.toString()} not found`;
      return null;
    }
    case 'vector': {
      if (ev.expectScalar !== null) return 'expected scalar result, but got vector';
      if (ev.expectedString !== null) return 'expected string result, but got vector';
      if (ev.expectRangeVector) return 'expected a range vector, but got an instant vector';
      const seen = new Set<string>();
      for (let pos = 0; pos < value.samples.length; pos++) {
        const smp = value.samples[pos];
        if (!smp) continue;
        const metric = finalLabels(smp.metric, smp.dropName);
        const exp = expected.get(metric.key);
        if (!exp) return `unexpected metric ${metric.toString()} in result, has value ${fmt(smp.v)}`;
        if (ev.ordered && exp.pos !== pos + 1)
          return `expected metric ${metric.toString()} at position ${exp.pos} but was at ${pos + 1}`;
        const e0 = exp.values[0];
        if (!e0) return `no expected value for ${metric.toString()}`;
        if (e0.kind === 'histogram')
          return `expected native histogram for ${metric.toString()} (not supported), got ${fmt(smp.v)}`;
        const ev0 = e0.kind === 'float' ? e0.v : NaN;
        if (!almostEqual(ev0, smp.v))
          return `expected ${fmt(ev0)} for ${metric.toString()} but got ${fmt(smp.v)}`;
        if (seen.has(metric.key)) return `vector contains the series ${metric.toString()} twice`;
        seen.add(metric.key);
      }
      for (const e of ev.expected)
        if (!seen.has(e.labels.key)) return `expected metric ${e.labels.toString()} not found`;
      return null;
    }
    case 'scalar': {
      if (ev.expectScalar === null) {
        if (ev.expectedString !== null) return `expected string, but got scalar ${fmt(value.v)}`;
        return `expected vector or matrix result, but got scalar ${fmt(value.v)}`;
      }
      if (!almostEqual(ev.expectScalar, value.v))
        return `expected scalar ${fmt(ev.expectScalar)} but got ${fmt(value.v)}`;
      return null;
    }
    case 'string': {
      const exp = ev.expectedString ?? '';
      if (exp !== value.s) return `expected string ${JSON.stringify(exp)} but got ${JSON.stringify(value.s)}`;
      return null;
    }
  }
}

function fmtPoints(points: readonly { t: number; v: number }[]): string {
  const shown = points.slice(0, 12).map((p) => `${fmt(p.v)}@${p.t}`);
  return `${points.length} point${points.length === 1 ? '' : 's'} [${shown.join(' ')}${points.length > 12 ? ' …' : ''}]`;
}
