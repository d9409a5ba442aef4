/**
 * Compares our answer to a query with Loki's recorded one, by the rules of the conformance set's
 * README: streams and series as sets keyed by their full label set; lines within a stream in
 * exactly the recorded order; sample timestamps equal and values within 1e-9 relative (`NaN`,
 * `±Inf` only equal themselves); `ordered` results in the recorded sequence of values; errors by
 * status and message, or by status and `errorPrefix`.
 */

export interface Expected {
  status: number;
  data?: { resultType: string; result: unknown };
  error?: string;
  errorPrefix?: string;
}

export interface Actual {
  status: number;
  /** the response body, parsed when it is JSON */
  body: unknown;
  text: string;
}

type Labels = Record<string, string>;
type Point = [number, string];

const labelKey = (l: Labels): string =>
  JSON.stringify(
    Object.keys(l)
      .sort()
      .map((k) => [k, l[k]]),
  );

const clip = (s: string, n = 160) => (s.length > n ? `${s.slice(0, n)}…` : s);

export function sameValue(a: string, b: string): boolean {
  if (a === b) return true;
  const x = Number(a);
  const y = Number(b);
  if (!Number.isFinite(x) || !Number.isFinite(y)) return false;
  return Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y));
}

const samePoint = (a: Point, b: Point): boolean => a[0] === b[0] && sameValue(a[1], b[1]);

/** Series or streams by label key; a duplicate key is itself a difference. */
function byKey<T extends { metric?: Labels; stream?: Labels }>(
  list: T[],
  what: string,
): Map<string, T> | string {
  const m = new Map<string, T>();
  for (const s of list) {
    const k = labelKey(s.metric ?? s.stream ?? {});
    if (m.has(k)) return `${what}: the label set ${k} appears twice`;
    m.set(k, s);
  }
  return m;
}

function compareSets<T extends { metric?: Labels; stream?: Labels }>(
  exp: T[],
  act: T[],
  same: (e: T, a: T) => string | null,
): string | null {
  const e = byKey(exp, 'expected');
  const a = byKey(act, 'ours');
  if (typeof e === 'string') return e;
  if (typeof a === 'string') return a;
  const missing = [...e.keys()].filter((k) => !a.has(k));
  const extra = [...a.keys()].filter((k) => !e.has(k));
  if (missing.length > 0 || extra.length > 0) {
    const parts = [`${exp.length} expected, ${act.length} ours`];
    if (missing.length > 0) parts.push(`missing ${missing.length}, e.g. ${clip(missing[0]!)}`);
    if (extra.length > 0) parts.push(`extra ${extra.length}, e.g. ${clip(extra[0]!)}`);
    return parts.join('; ');
  }
  for (const [k, ev] of e) {
    const d = same(ev, a.get(k)!);
    if (d) return `${clip(k, 100)}: ${d}`;
  }
  return null;
}

function comparePoints(exp: Point[], act: Point[]): string | null {
  if (exp.length !== act.length) return `${exp.length} points expected, ${act.length} ours`;
  for (let i = 0; i < exp.length; i++) {
    if (!samePoint(exp[i]!, act[i]!))
      return `point ${i}: expected ${JSON.stringify(exp[i])}, ours ${JSON.stringify(act[i])}`;
  }
  return null;
}

function compareLines(exp: [string, string][], act: [string, string][]): string | null {
  const n = Math.min(exp.length, act.length);
  for (let i = 0; i < n; i++) {
    const [et, el] = exp[i]!;
    const [at, al] = act[i]!;
    if (et !== at || el !== al)
      return `line ${i}: expected [${et}, ${JSON.stringify(clip(el, 80))}], ours [${at}, ${JSON.stringify(clip(al, 80))}]`;
  }
  if (exp.length !== act.length) return `${exp.length} lines expected, ${act.length} ours`;
  return null;
}

/** null when the answers agree, else what differs first. */
export function compareAnswer(exp: Expected, act: Actual, ordered: boolean): string | null {
  if (exp.status !== act.status) {
    const why = exp.status === 200 ? '' : ` (expected error ${JSON.stringify(clip(exp.error ?? '', 100))})`;
    return `status ${act.status}, expected ${exp.status}${why}; ours: ${clip(act.text.trim(), 200)}`;
  }
  if (exp.status !== 200) {
    const msg = errorMessage(act);
    if (exp.errorPrefix !== undefined) {
      return msg.startsWith(exp.errorPrefix)
        ? null
        : `error ${JSON.stringify(clip(msg, 200))} lacks the prefix ${JSON.stringify(exp.errorPrefix)}`;
    }
    return msg === exp.error
      ? null
      : `error ${JSON.stringify(clip(msg, 200))}, expected ${JSON.stringify(exp.error)}`;
  }
  const body = act.body as { status?: string; data?: { resultType?: string; result?: unknown } } | null;
  const data = body?.data;
  if (body?.status !== 'success' || !data) return `not a success body: ${clip(act.text, 200)}`;
  const want = exp.data!;
  if (data.resultType !== want.resultType)
    return `resultType ${data.resultType}, expected ${want.resultType}`;
  switch (want.resultType) {
    case 'streams':
      return compareSets(
        want.result as { stream: Labels; values: [string, string][] }[],
        data.result as { stream: Labels; values: [string, string][] }[],
        (e, a) => compareLines(e.values, a.values),
      );
    case 'matrix':
      return compareSets(
        want.result as { metric: Labels; values: Point[] }[],
        data.result as { metric: Labels; values: Point[] }[],
        (e, a) => comparePoints(e.values, a.values),
      );
    case 'vector': {
      const e = want.result as { metric: Labels; value: Point }[];
      const a = data.result as { metric: Labels; value: Point }[];
      const d = compareSets(e, a, (x, y) =>
        samePoint(x.value, y.value)
          ? null
          : `expected ${JSON.stringify(x.value)}, ours ${JSON.stringify(y.value)}`,
      );
      if (d || !ordered) return d;
      for (let i = 0; i < e.length; i++) {
        if (!sameValue(e[i]!.value[1], a[i]!.value[1]))
          return `order: value ${i} is ${a[i]!.value[1]}, expected ${e[i]!.value[1]}`;
      }
      return null;
    }
    case 'scalar':
      return samePoint(want.result as Point, data.result as Point)
        ? null
        : `expected ${JSON.stringify(want.result)}, ours ${JSON.stringify(data.result)}`;
    default:
      return `unknown resultType ${want.resultType}`;
  }
}

/** The error text of an answer: Loki's plain-text body, or `error`/`message` of a JSON one. */
function errorMessage(act: Actual): string {
  const b = act.body as { error?: unknown; message?: unknown } | null;
  if (b && typeof b === 'object') {
    if (typeof b.error === 'string') return b.error;
    if (typeof b.message === 'string') return b.message;
  }
  return act.text.trim();
}
