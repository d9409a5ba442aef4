/**
 * remote_write samples → the write path's ColumnBatch for the org's `metrics._samples` stream.
 * Series ids come from the registry: at ingest new series are created first (async, persisted),
 * at WAL replay every series is already known (sync lookup).
 */
import type { ColumnBatch } from '../../write/column-batch.ts';
import type { Labels } from '../../promql/labels.ts';
import {
  seriesLabels,
  type Resolved,
  type SeriesLimits,
  type SeriesRegistry,
} from '../../write/series-registry.ts';
import type { OrgId } from '../../tenancy/org-id.ts';
import type { IngestPayload } from '../../write/wal-payload.ts';
import { decodeRemoteWriteV1, decodeRemoteWriteV2, type RemoteWriteBatch } from './parse.ts';

export { SAMPLES_STREAM } from '../../write/fixed-columns.ts';

export function decodeRemoteWrite(p: Pick<IngestPayload, 'format' | 'body'>): RemoteWriteBatch {
  return p.format === 'prw-v2' ? decodeRemoteWriteV2(p.body) : decodeRemoteWriteV1(p.body);
}

/**
 * Series ids of a request. Series whose exact label bytes were seen before are found without
 * decoding a label (Prometheus sends every series in every request); the others are decoded,
 * validated and resolved (new ones created), and their bytes remembered.
 */
export async function resolveSeries(
  registry: SeriesRegistry,
  org: OrgId,
  rw: RemoteWriteBatch,
  limits: SeriesLimits,
): Promise<Resolved> {
  const ids = new Uint32Array(rw.seriesCount);
  const missing: number[] = [];
  const keys: string[] = new Array<string>(rw.seriesCount);
  for (let i = 0; i < rw.seriesCount; i++) {
    const key = rw.rawKey(i);
    keys[i] = key;
    const id = key === '' ? undefined : registry.lookupRaw(org, key);
    if (id === undefined) missing.push(i);
    else ids[i] = id;
  }
  if (missing.length === 0) return { ids, rejected: [] };
  const labels: Labels[] = missing.map((i) => seriesLabels(rw.labelsAt(i)));
  const r = await registry.resolve(org, labels, limits);
  missing.forEach((i, k) => {
    const id = r.ids[k]!;
    ids[i] = id;
    if (id !== 0 && keys[i] !== '') registry.rememberRaw(org, keys[i]!, id);
  });
  return { ids, rejected: r.rejected };
}

/** WAL replay: every series is known (persisted before the WAL write): a synchronous lookup. */
function lookupSeries(registry: SeriesRegistry, org: OrgId, rw: RemoteWriteBatch): Uint32Array | null {
  const ids = new Uint32Array(rw.seriesCount);
  for (let i = 0; i < rw.seriesCount; i++) {
    const key = rw.rawKey(i);
    let id = key === '' ? undefined : registry.lookupRaw(org, key);
    if (id === undefined) {
      const found = registry.lookup(org, [seriesLabels(rw.labelsAt(i))]);
      if (found === null) return null;
      id = found[0]!;
      if (key !== '') registry.rememberRaw(org, key, id);
    }
    ids[i] = id;
  }
  return ids;
}

/** The samples of series with an id (id 0 = a series refused by a limit: its samples are dropped). */
export function samplesBatch(rw: RemoteWriteBatch, seriesIds: Uint32Array): ColumnBatch {
  return samplesColumnBatch(seriesIds, rw.sampleSeries, rw.timestampsMs, rw.values, rw.stale, rw.sampleCount);
}

/**
 * The `metrics._samples` ColumnBatch of `n` samples, shared by every metrics ingest path
 * (remote_write, OTLP metrics): per sample an index into `seriesIds` (the registry ids of the
 * request's series), a millisecond timestamp, a value and a staleness flag (1). Samples of a series
 * whose id is 0 (refused by a limit) are dropped and counted as rejected.
 */
export function samplesColumnBatch(
  seriesIds: Uint32Array,
  sampleSeries: ArrayLike<number>,
  timestampsMs: ArrayLike<number>,
  values: ArrayLike<number>,
  staleFlags: ArrayLike<number>,
  n: number,
): ColumnBatch {
  const ts = new Float64Array(n);
  const ids: number[] = [];
  const vals: number[] = [];
  const stale: boolean[] = [];
  let dropped = 0;
  for (let i = 0; i < n; i++) {
    const id = seriesIds[sampleSeries[i]!]!;
    if (id === 0) {
      dropped++;
      continue;
    }
    ts[ids.length] = timestampsMs[i]!;
    ids.push(id);
    vals.push(values[i]!);
    stale.push(staleFlags[i] === 1);
  }
  return {
    signal: 'metrics',
    rowCount: ids.length,
    fixed: { series_id: ids, value: vals, stale },
    nanosFromMillis: { _timestamp: ts.subarray(0, ids.length) },
    dynamic: [],
    rejectedCount: dropped,
    rejectedMessage: dropped > 0 ? `${dropped} samples of series over a series limit were dropped` : '',
  };
}

/** WAL replay: decode again and look the (already persisted) series up. */
export function replayMetricsBatch(p: IngestPayload, registry: SeriesRegistry): ColumnBatch {
  const rw = decodeRemoteWrite(p);
  const ids = lookupSeries(registry, p.org, rw);
  if (ids === null)
    throw new Error(
      `WAL record of org ${p.org} names a series the catalog does not know; it was not recorded before the WAL write`,
    );
  return samplesBatch(rw, ids);
}
