/**
 * remote_write samples → the write path's ColumnBatch for the org's `metrics._samples` stream.
 * Series ids come from the registry: at ingest new series are created first (async, persisted),
 * at WAL replay every series is already known (sync lookup).
 */
import { snappyDecompress } from '../../lib/snappy.ts';
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

/**
 * The samples of a WAL record's body. A `*-snappy` body is decompressed first, without a size
 * limit: it was accepted under the limit in force when it arrived, and replay must not refuse
 * acknowledged data because the limit was lowered since (the snappy preamble is a u32 anyway).
 */
export function decodeRemoteWrite(p: Pick<IngestPayload, 'format' | 'body'>): RemoteWriteBatch {
  if (p.format === 'prw-v1-snappy') return decodeRemoteWriteV1(snappyDecompress(p.body, Infinity));
  if (p.format === 'prw-v2-snappy') return decodeRemoteWriteV2(snappyDecompress(p.body, Infinity));
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
  const ids = knownSeries(registry, org, rw);
  const missing: number[] = [];
  for (let i = 0; i < rw.seriesCount; i++) if (ids[i] === 0) missing.push(i);
  if (missing.length === 0) return { ids, rejected: [] };
  const labels: Labels[] = missing.map((i) => seriesLabels(rw.labelsAt(i)));
  const r = await registry.resolve(org, labels, limits);
  missing.forEach((i, k) => {
    const id = r.ids[k]!;
    ids[i] = id;
    if (id !== 0) remember(registry, org, rw, i, id);
  });
  return { ids, rejected: r.rejected };
}

/** Per series, the id its raw label bytes are known by, 0 if none. */
function knownSeries(registry: SeriesRegistry, org: OrgId, rw: RemoteWriteBatch): Uint32Array {
  const ids = new Uint32Array(rw.seriesCount);
  const raw = registry.rawIds(org);
  const { body, rawKeyStart, rawKeyEnd } = rw;
  for (let i = 0; i < rw.seriesCount; i++) {
    const start = rawKeyStart[i]!;
    if (start >= 0) ids[i] = raw.get(body, start, rawKeyEnd[i]!);
  }
  return ids;
}

function remember(registry: SeriesRegistry, org: OrgId, rw: RemoteWriteBatch, i: number, id: number): void {
  const start = rw.rawKeyStart[i]!;
  if (start >= 0) registry.rememberRaw(org, rw.body, start, rw.rawKeyEnd[i]!, id);
}

/** WAL replay: every series is known (persisted before the WAL write): a synchronous lookup. */
function lookupSeries(registry: SeriesRegistry, org: OrgId, rw: RemoteWriteBatch): Uint32Array | null {
  const ids = knownSeries(registry, org, rw);
  for (let i = 0; i < rw.seriesCount; i++) {
    if (ids[i] !== 0) continue;
    const found = registry.lookup(org, [seriesLabels(rw.labelsAt(i))]);
    if (found === null) return null;
    ids[i] = found[0]!;
    remember(registry, org, rw, i, ids[i]!);
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
  const ids = new Uint32Array(n);
  let rows = 0;
  for (let i = 0; i < n; i++) {
    const id = seriesIds[sampleSeries[i]!]!;
    ids[i] = id;
    if (id !== 0) rows++;
  }
  const dropped = n - rows;
  // the decoder's own columns when every sample is kept (the usual case), else compacted copies
  const reuse =
    dropped === 0 &&
    timestampsMs instanceof Float64Array &&
    values instanceof Float64Array &&
    staleFlags instanceof Uint8Array;
  const ts = reuse ? timestampsMs.subarray(0, n) : new Float64Array(rows);
  const vals = reuse ? values.subarray(0, n) : new Float64Array(rows);
  const stale = reuse ? staleFlags.subarray(0, n) : new Uint8Array(rows);
  if (!reuse) {
    for (let i = 0, r = 0; i < n; i++) {
      if (ids[i] === 0) continue;
      ids[r] = ids[i]!;
      ts[r] = timestampsMs[i]!;
      vals[r] = values[i]!;
      stale[r] = staleFlags[i] === 1 ? 1 : 0;
      r++;
    }
  }
  return {
    signal: 'metrics',
    rowCount: rows,
    fixed: {},
    typed: { series_id: ids.subarray(0, rows), value: vals, stale },
    nanosFromMillis: { _timestamp: ts },
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
