/**
 * info(v, [selector]): enrich series with the data labels of info metrics (default target_info)
 * that share their identifying labels (instance, job), as Prometheus' experimental evalInfo.
 */
import type { Call, Expr, VectorSelector } from '../ast.ts';
import { type LabelMatcher, METRIC_NAME } from '../labels.ts';
import { compileAnchored } from '../regex.ts';
import type { Sample } from '../value.ts';
import { execError } from './errors.ts';
import { atTime, type QueryBounds } from './selectors.ts';

const IDENTIFYING = ['instance', 'job'];
const selectors = new WeakMap<Call, VectorSelector>();

/** The selector of the info series a call reads (memoized per call node). */
export function infoSelector(call: Call): VectorSelector {
  let sel = selectors.get(call);
  if (sel) return sel;
  const arg = unwrap(call.args[1]);
  const given = arg?.type === 'VectorSelector' ? arg.matchers : [];
  const names = given.filter((m) => m.name === METRIC_NAME);
  let matchers = given;
  // no name matcher: target_info; only negative ones: among the *_info metrics
  if (names.length === 0) matchers = [{ name: METRIC_NAME, type: '=', value: 'target_info' }, ...given];
  else if (!names.some((m) => m.type === '=' || m.type === '=~'))
    matchers = [{ name: METRIC_NAME, type: '=~', value: '.+_info' }, ...given];
  sel = { type: 'VectorSelector', name: '', matchers, offsetMs: 0, at: null, pos: call.pos };
  selectors.set(call, sel);
  return sel;
}

function unwrap(e: Expr | undefined): Expr | undefined {
  let x = e;
  while (x?.type === 'ParenExpr') x = x.expr;
  return x;
}

export function matchesValue(m: LabelMatcher, v: string): boolean {
  switch (m.type) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return compileAnchored(m.value).test(v);
    case '!~':
      return !compileAnchored(m.value).test(v);
  }
}

const idKey = (s: Sample): string => IDENTIFYING.map((n) => s.metric.get(n)).join('\u0000');

/**
 * Enriches `base` with the labels of `infos` (the info series' latest samples at the reference
 * time, with their sample times in `infoT`).
 */
export function enrich(call: Call, base: readonly Sample[], infos: readonly Sample[], infoT: readonly number[]): Sample[] {
  const sel = infoSelector(call);
  const nameMatchers = sel.matchers.filter((m) => m.name === METRIC_NAME);
  const hasPositive = nameMatchers.some((m) => m.type === '=' || m.type === '=~');
  const dataMatchers = sel.matchers.filter((m) => m.name !== METRIC_NAME);
  const requireMatch = dataMatchers.some((m) => !matchesValue(m, ''));
  // per identifying labels and info metric name, the series with the latest sample
  const byId = new Map<string, Map<string, { s: Sample; t: number }>>();
  infos.forEach((s, i) => {
    const k = idKey(s);
    let byName = byId.get(k);
    if (!byName) {
      byName = new Map();
      byId.set(k, byName);
    }
    const name = s.metric.get(METRIC_NAME);
    const t = infoT[i] ?? 0;
    const prev = byName.get(name);
    if (!prev || t > prev.t) byName.set(name, { s, t });
  });
  const out: Sample[] = [];
  for (const s of base) {
    const name = s.metric.get(METRIC_NAME);
    if (hasPositive && nameMatchers.every((m) => matchesValue(m, name))) {
      out.push(s); // an info metric itself
      continue;
    }
    const matches = [...(byId.get(idKey(s))?.values() ?? [])].map((x) => x.s).filter((i) => i.metric.key !== s.metric.key);
    if (matches.length === 0) {
      if (!requireMatch) out.push(s);
      continue;
    }
    const added = new Map<string, string>();
    for (const info of matches) {
      for (const l of info.metric.list) {
        if (l.name === METRIC_NAME || IDENTIFYING.includes(l.name)) continue;
        if (dataMatchers.length > 0 && !dataMatchers.some((m) => m.name === l.name)) continue;
        if (s.metric.has(l.name)) continue;
        const prev = added.get(l.name);
        if (prev !== undefined && prev !== l.value) {
          throw execError(`conflicting label: ${JSON.stringify(l.name)} has values ${JSON.stringify(prev)} and ${JSON.stringify(l.value)} in info metrics`);
        }
        added.set(l.name, l.value);
      }
    }
    let metric = s.metric;
    for (const [n, v] of added) metric = metric.with(n, v);
    out.push({ ...s, metric });
  }
  return out;
}

/**
 * The time the info series are read at for evaluation time `t`: the time the first argument's
 * samples come from, following its @ and offset modifiers (and those of subqueries inside it).
 */
export function referenceTime(e: Expr | undefined, t: number, b: QueryBounds): number {
  if (!e) return t;
  switch (e.type) {
    case 'VectorSelector':
      return (atTime(e.at, b) ?? t) - e.offsetMs;
    case 'MatrixSelector':
      return referenceTime(e.vector, t, b);
    case 'SubqueryExpr':
      return referenceTime(e.expr, (atTime(e.at, b) ?? t) - e.offsetMs, b);
    case 'ParenExpr':
    case 'UnaryExpr':
      return referenceTime(e.expr, t, b);
    case 'AggregateExpr':
      return referenceTime(e.expr, t, b);
    case 'BinaryExpr':
      return referenceTime(hasSelector(e.lhs) ? e.lhs : e.rhs, t, b);
    case 'Call':
      return referenceTime(e.args.find(hasSelector), t, b);
    case 'NumberLiteral':
    case 'StringLiteral':
      return t;
  }
}

function hasSelector(e: Expr): boolean {
  switch (e.type) {
    case 'VectorSelector':
    case 'MatrixSelector':
      return true;
    case 'NumberLiteral':
    case 'StringLiteral':
      return false;
    case 'SubqueryExpr':
    case 'ParenExpr':
    case 'UnaryExpr':
    case 'AggregateExpr':
      return hasSelector(e.expr);
    case 'BinaryExpr':
      return hasSelector(e.lhs) || hasSelector(e.rhs);
    case 'Call':
      return e.args.some(hasSelector);
  }
}
