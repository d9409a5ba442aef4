/** Stored metric samples read back through SQL (`metrics._samples` joined with `metrics._series`), one text row per sample. */
import type { ServerProcess } from './harness.ts';

export interface MetricRow {
  series: string;
  t: number;
  value: number | string;
  stale: boolean;
}

/** `name{a="b", c="d"}` from a series' metric name and labels JSON (`metrics._series`). */
export function seriesText(name: string, labelsJson: string): string {
  const entries = Object.entries(JSON.parse(labelsJson) as Record<string, string>);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${name}{${entries.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}}`;
}

/** Every stored sample (optionally filtered by a SQL condition on `s.metric_name`/`m.*`), ordered by series text and time. */
export async function storedSamples(
  server: ServerProcess,
  where = 'true',
  org = 'default',
): Promise<MetricRow[]> {
  const r = await server.search(
    `SELECT s.metric_name, s.labels, m._timestamp // 1000000 AS t, m.value, m.stale FROM metrics._samples m JOIN metrics._series s ON m.series_id = s.series_id WHERE ${where}`,
    { org },
  );
  const rows = r.hits.map((h) => ({
    series: seriesText(String(h.metric_name), String(h.labels)),
    t: Number(h.t),
    value: h.value as number | string,
    stale: h.stale === true,
  }));
  return rows.sort((a, b) => (a.series < b.series ? -1 : a.series > b.series ? 1 : a.t - b.t));
}

/** `series value @t` lines, for compact deep-equal assertions. */
export const rowLines = (rows: MetricRow[]): string[] =>
  rows.map((r) => `${r.series} ${r.value}${r.stale ? ' stale' : ''} @${r.t}`);
