/**
 * `GET /loki/api/v1/index/stats`, `/index/volume` and `/index/volume_range`. Loki derives these
 * from its index (chunk sizes in KB, chunks prorated over the range); we count the lines and their
 * bytes exactly, per series, with one GROUP BY per logs stream; range volume spreads a series'
 * bytes over its time span as Loki's index does. The answers keep Loki's shapes and
 * quirks: volume values are strings of bytes at the end time in seconds, sorted by volume; range
 * volume puts each step's point 1 ms before the step's end (`1767226499.999`), the last at `end`;
 * `aggregateBy=labels` sums by label name, so `targetLabels=env` answers `{env=""}`.
 */
import { quoteIdent } from '../../memtable/memtable.ts';
import type { OrgId } from '../../tenancy/org-id.ts';
import type { Matcher } from '../ast.ts';
import type { LogStore } from './log-store.ts';
import type { TimeRange } from './params.ts';

interface SeriesVolume {
  labels: Record<string, string>;
  entries: number;
  bytes: number;
  /** first and last line time (ns) */
  minTs: bigint;
  maxTs: bigint;
}

/** Per series: lines, line bytes and the time span of its lines in the range. */
async function seriesVolumes(
  store: LogStore,
  org: OrgId,
  range: TimeRange,
  matchers: readonly Matcher[],
): Promise<SeriesVolume[]> {
  const all = new Map<string, SeriesVolume>();
  await store.eachStream(org, range, [matchers], async (view, run) => {
    const names = [...view.labels.keys()];
    const cols = names.map((n, i) => `${view.labels.get(n)!} AS ${quoteIdent(`l${i}`)}`);
    const rows = await run(
      `SELECT ${[
        ...cols,
        'count(*) AS __entries',
        'sum(coalesce(strlen(body), 0)) AS __bytes',
        'min(_timestamp) AS __min',
        'max(_timestamp) AS __max',
      ].join(', ')} FROM (${view.rows}) GROUP BY ALL`,
    );
    for (const r of rows) {
      const labels: Record<string, string> = {};
      names.forEach((n, i) => {
        const v = r[`l${i}`];
        if (typeof v === 'string' && v !== '') labels[n] = v;
      });
      const key = JSON.stringify(Object.entries(labels).sort());
      const min = BigInt(r.__min as bigint);
      const max = BigInt(r.__max as bigint);
      const sv = all.get(key);
      if (!sv) {
        all.set(key, {
          labels,
          entries: Number(r.__entries),
          bytes: Number(r.__bytes ?? 0),
          minTs: min,
          maxTs: max,
        });
        continue;
      }
      sv.entries += Number(r.__entries);
      sv.bytes += Number(r.__bytes ?? 0);
      if (min < sv.minTs) sv.minTs = min;
      if (max > sv.maxTs) sv.maxTs = max;
    }
  });
  return [...all.values()];
}

/**
 * A series' bytes per step, as Loki's index answers them: a chunk only knows its time span and
 * size, so its bytes are spread over the steps the span overlaps, in proportion to the overlap.
 * Every series here is one such chunk (what one push of old data gives Loki).
 */
function prorate(s: SeriesVolume, startNs: bigint, stepNs: bigint, steps: number): Map<number, number> {
  const out = new Map<number, number>();
  const span = s.maxTs - s.minTs;
  const first = Number((s.minTs - startNs) / stepNs);
  const last = Math.min(Number((s.maxTs - startNs) / stepNs), steps - 1);
  if (span === 0n || first >= last) {
    out.set(Math.min(first, steps - 1), s.bytes);
    return out;
  }
  let given = 0;
  for (let b = first; b <= last; b++) {
    const from = startNs + BigInt(b) * stepNs;
    const lo = s.minTs > from ? s.minTs : from;
    const hi = b === last ? s.maxTs : from + stepNs;
    const share = b === last ? s.bytes - given : Math.floor((s.bytes * Number(hi - lo)) / Number(span));
    given += share;
    out.set(b, share);
  }
  return out;
}

/** Loki cuts chunks at about 1.5 MB; an estimate of how many a series' bytes fill. */
const CHUNK_BYTES = 1_572_864;

export async function indexStats(
  store: LogStore,
  org: OrgId,
  range: TimeRange,
  matchers: readonly Matcher[],
) {
  const series = await seriesVolumes(store, org, range, matchers);
  let entries = 0;
  let bytes = 0;
  let chunks = 0;
  for (const s of series) {
    entries += s.entries;
    bytes += s.bytes;
    chunks += Math.max(1, Math.ceil(s.bytes / CHUNK_BYTES));
  }
  return { streams: series.length, chunks, bytes, entries };
}

export interface VolumeOptions {
  targetLabels: string[];
  aggregateBy: 'series' | 'labels';
  limit: number;
}

/**
 * The label set a series' volume is counted under. `series`: the target labels, or without them
 * the labels the selector names; `labels`: one `{name=""}` per label name the series has.
 */
function groupsOf(s: SeriesVolume, matchers: readonly Matcher[], o: VolumeOptions): Record<string, string>[] {
  const names = o.targetLabels.length > 0 ? o.targetLabels : [...new Set(matchers.map((m) => m.name))];
  if (o.aggregateBy === 'labels') {
    const present = o.targetLabels.length > 0 ? names : Object.keys(s.labels);
    return present.filter((n) => s.labels[n] !== undefined).map((n) => ({ [n]: '' }));
  }
  const g: Record<string, string> = {};
  for (const n of names) if (s.labels[n] !== undefined) g[n] = s.labels[n];
  return [g];
}

interface Group {
  metric: Record<string, string>;
  total: number;
  buckets: Map<number, number>;
}

function aggregate(
  series: SeriesVolume[],
  matchers: readonly Matcher[],
  o: VolumeOptions,
  perStep?: (s: SeriesVolume) => Map<number, number>,
): Group[] {
  const groups = new Map<string, Group>();
  for (const s of series)
    for (const metric of groupsOf(s, matchers, o)) {
      const key = JSON.stringify(Object.entries(metric).sort());
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { metric, total: 0, buckets: new Map() }));
      g.total += s.bytes;
      if (perStep) for (const [b, v] of perStep(s)) g.buckets.set(b, (g.buckets.get(b) ?? 0) + v);
    }
  return [...groups.values()]
    .filter((g) => g.total > 0)
    .sort((a, b) => b.total - a.total || JSON.stringify(a.metric).localeCompare(JSON.stringify(b.metric)))
    .slice(0, o.limit);
}

const seconds = (ns: bigint) => Number(ns / 1_000_000n) / 1000;

export async function volume(
  store: LogStore,
  org: OrgId,
  range: TimeRange,
  matchers: readonly Matcher[],
  o: VolumeOptions,
) {
  const groups = aggregate(await seriesVolumes(store, org, range, matchers), matchers, o);
  const t = seconds(range.endNs - 1n);
  return {
    resultType: 'vector',
    result: groups.map((g) => ({ metric: g.metric, value: [t, String(g.total)] })),
  };
}

export async function volumeRange(
  store: LogStore,
  org: OrgId,
  range: TimeRange,
  matchers: readonly Matcher[],
  stepNs: bigint,
  o: VolumeOptions,
) {
  const end = range.endNs - 1n;
  const steps = Number((end - range.startNs - 1n) / stepNs) + 1;
  const perStep = (s: SeriesVolume) => prorate(s, range.startNs, stepNs, steps);
  const groups = aggregate(await seriesVolumes(store, org, range, matchers), matchers, o, perStep);
  const pointTime = (bucket: number) => {
    const stepEnd = range.startNs + BigInt(bucket + 1) * stepNs;
    return stepEnd >= end ? seconds(end) : seconds(stepEnd - 1_000_000n);
  };
  return {
    resultType: 'matrix',
    result: groups.map((g) => ({
      metric: g.metric,
      values: [...g.buckets].sort(([a], [b]) => a - b).map(([b, v]) => [pointTime(b), String(v)]),
    })),
  };
}
