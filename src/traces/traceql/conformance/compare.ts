/**
 * Comparison of a `/api/search` answer with a recorded Tempo answer, by the rules of the
 * conformance README: equal status; for errors the text (its prefix up to the first `: ` at least);
 * traces in order with their metadata and service stats; span sets matched by their attributes;
 * spans as sets when all matched spans are shown, else `min(matched, spss)` spans of which those
 * Tempo also showed are equal; attribute order never matters.
 */

export interface Expected {
  id: string;
  request: { method: string; path: string; params: Record<string, string> };
  status: number;
  contentType: string;
  body: unknown;
}

export interface Actual {
  status: number;
  body: unknown;
  text: string;
}

type J = Record<string, unknown>;

const canon = (v: unknown): string => {
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canon((v as J)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
};

/** a list of {key, value} compared as a set */
const attrSet = (v: unknown): string => (Array.isArray(v) ? v.map(canon).sort().join(',') : '');

function compareSpan(e: J, a: J | undefined, where: string): string | null {
  if (!a) return `${where}: span ${String(e.spanID)} missing`;
  for (const k of ['name', 'startTimeUnixNano', 'durationNanos'])
    if (canon(e[k]) !== canon(a[k]))
      return `${where} span ${String(e.spanID)}: ${k} ${canon(a[k])}, want ${canon(e[k])}`;
  if (attrSet(e.attributes) !== attrSet(a.attributes))
    return `${where} span ${String(e.spanID)}: attributes ${attrSet(a.attributes)}, want ${attrSet(e.attributes)}`;
  return null;
}

function compareSpanset(e: J, a: J, spss: number, where: string): string | null {
  if (e.matched !== a.matched) return `${where}: matched ${String(a.matched)}, want ${String(e.matched)}`;
  const es = (e.spans ?? []) as J[];
  const as = (a.spans ?? []) as J[];
  const matched = Number(e.matched);
  if (as.length !== Math.min(matched, spss))
    return `${where}: ${as.length} spans shown, want ${Math.min(matched, spss)}`;
  const byId = new Map(as.map((s) => [s.spanID, s]));
  for (const s of es) {
    if (matched > spss && !byId.has(s.spanID)) continue;
    const d = compareSpan(s, byId.get(s.spanID), where);
    if (d) return d;
  }
  return null;
}

function compareTrace(e: J, a: J, spss: number): string | null {
  const where = `trace ${String(e.traceID)}`;
  for (const k of ['traceID', 'rootServiceName', 'rootTraceName', 'startTimeUnixNano', 'durationMs'])
    if (canon(e[k]) !== canon(a[k])) return `${where}: ${k} ${canon(a[k])}, want ${canon(e[k])}`;
  if (canon(e.serviceStats) !== canon(a.serviceStats))
    return `${where}: serviceStats ${canon(a.serviceStats)}, want ${canon(e.serviceStats)}`;
  const esets = (e.spanSets ?? []) as J[];
  const asets = [...((a.spanSets ?? []) as J[])];
  if (esets.length !== asets.length) return `${where}: ${asets.length} span sets, want ${esets.length}`;
  if ((e.spanSet === undefined) !== (a.spanSet === undefined))
    return `${where}: spanSet ${a.spanSet === undefined ? 'missing' : 'unexpected'}`;
  for (const es of esets) {
    const key = attrSet(es.attributes);
    const i = asets.findIndex((x) => attrSet(x.attributes) === key && x.matched === es.matched);
    const j = i >= 0 ? i : asets.findIndex((x) => attrSet(x.attributes) === key);
    if (j < 0)
      return `${where}: no span set with attributes ${key}; got ${asets.map((x) => attrSet(x.attributes)).join(' | ')}`;
    const d = compareSpanset(es, asets[j]!, spss, `${where} span set ${key}`);
    if (d) return d;
    asets.splice(j, 1);
  }
  return null;
}

/** null when the answer conforms, else what differs */
export function compareAnswer(expected: Expected, actual: Actual): string | null {
  if (expected.status !== actual.status)
    return `status ${actual.status}, want ${expected.status}${actual.status >= 400 ? ` (${actual.text.slice(0, 200)})` : ''}`;
  if (expected.status !== 200) {
    const want = String(expected.body).trim();
    const got = actual.text.trim();
    if (got === want) return null;
    const cut = want.indexOf(': ');
    const prefix = cut >= 0 ? want.slice(0, cut + 2) : want;
    return got.startsWith(prefix) ? null : `error text ${JSON.stringify(got)}, want ${JSON.stringify(want)}`;
  }
  const spss = Number(expected.request.params.spss ?? 3);
  const et = ((expected.body as J).traces ?? []) as J[];
  const at = ((actual.body as J | null)?.traces ?? null) as J[] | null;
  if (!Array.isArray(at)) return `no traces array in ${actual.text.slice(0, 200)}`;
  if (et.length !== at.length)
    return `${at.length} traces, want ${et.length} (missing: ${et
      .filter((t) => !at.some((x) => x.traceID === t.traceID))
      .slice(0, 3)
      .map((t) => String(t.traceID))
      .join(', ')}; extra: ${at
      .filter((t) => !et.some((x) => x.traceID === t.traceID))
      .slice(0, 3)
      .map((t) => String(t.traceID))
      .join(', ')})`;
  for (let i = 0; i < et.length; i++) {
    const d = compareTrace(et[i]!, at[i]!, spss);
    if (d) return `#${i} ${d}`;
  }
  return null;
}

/** whether an error answer matched only by its prefix (the text differs) */
export const inexactError = (expected: Expected, actual: Actual): boolean =>
  expected.status !== 200 &&
  expected.status === actual.status &&
  actual.text.trim() !== String(expected.body).trim();
