/**
 * `GET /loki/api/v1/labels`, `/label/<name>/values`, `/series` (GET and form POST) and
 * `/detected_labels`: all answered from the distinct stream-label sets (series) of the org's logs
 * in the time range that the selectors match. Series carry stream labels only, as in Loki.
 */
import type { Matcher } from '../ast.ts';
import type { OrgId } from '../../tenancy/org-id.ts';
import { quoteIdent } from '../../memtable/memtable.ts';
import type { LogStore } from './log-store.ts';
import type { TimeRange } from './params.ts';

export type Series = Record<string, string>;

const seriesKey = (s: Series) =>
  JSON.stringify(
    Object.keys(s)
      .sort()
      .map((k) => [k, s[k]]),
  );

/** Distinct stream-label sets with data in the range, matched by any of the selectors (null: all). */
export async function listSeries(
  store: LogStore,
  org: OrgId,
  range: TimeRange,
  selectors: readonly (readonly Matcher[])[] | null,
): Promise<Series[]> {
  const found = new Map<string, Series>();
  await store.eachStream(org, range, selectors, async (view, run) => {
    const names = [...view.labels.keys()];
    if (names.length === 0) return;
    const cols = names.map((n, i) => `${view.labels.get(n)!} AS ${quoteIdent(`l${i}`)}`).join(', ');
    const rows = await run(`SELECT DISTINCT ${cols} FROM (${view.rows})`);
    for (const r of rows) {
      const s: Series = {};
      names.forEach((n, i) => {
        const v = r[`l${i}`];
        if (typeof v === 'string' && v !== '') s[n] = v;
      });
      if (Object.keys(s).length > 0) found.set(seriesKey(s), s);
    }
  });
  return [...found.values()];
}

export function labelNames(series: readonly Series[]): string[] {
  const names = new Set<string>();
  for (const s of series) for (const k in s) names.add(k);
  return [...names].sort();
}

export function labelValues(series: readonly Series[], name: string): string[] {
  const values = new Set<string>();
  for (const s of series) {
    const v = s[name];
    if (v !== undefined) values.add(v);
  }
  return [...values].sort();
}

/** Labels Loki always reports in detected_labels, whatever their cardinality. */
const STATIC_LABELS = new Set(['cluster', 'namespace', 'instance', 'pod']);
const MAX_DETECTED_CARDINALITY = 50;

/**
 * Loki's detected_labels: stream labels of the matching streams with their number of distinct
 * values, leaving out labels with a single value or more than 50 (not useful to break down by),
 * except the static ones (cluster, namespace, instance, pod).
 */
export function detectedLabels(series: readonly Series[]): { label: string; cardinality: number }[] {
  const values = new Map<string, Set<string>>();
  for (const s of series)
    for (const k in s) {
      let set = values.get(k);
      if (!set) values.set(k, (set = new Set()));
      set.add(s[k]!);
    }
  const out: { label: string; cardinality: number }[] = [];
  for (const [label, set] of [...values].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (label === '__stream_shard__' || label === '__aggregated_metric__') continue;
    const cardinality = set.size;
    if (STATIC_LABELS.has(label) || (cardinality > 1 && cardinality < MAX_DETECTED_CARDINALITY))
      out.push({ label, cardinality });
  }
  return out;
}
