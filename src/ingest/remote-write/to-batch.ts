/**
 * remote_write samples → the write path's ColumnBatch for the org's `metrics._samples` stream.
 * Series ids come from the registry: at ingest new series are created first (async, persisted),
 * at WAL replay every series is already known (sync lookup).
 */
import type { ColumnBatch } from '../../write/column-batch.ts';
import type { Labels } from '../../promql/labels.ts';
import { seriesLabels, type SeriesRegistry } from '../../write/series-registry.ts';
import type { IngestPayload } from '../../write/wal-payload.ts';
import { decodeRemoteWriteV1, decodeRemoteWriteV2, type RemoteWriteBatch } from './parse.ts';

export { SAMPLES_STREAM } from '../../write/fixed-columns.ts';

export function decodeRemoteWrite(p: Pick<IngestPayload, 'format' | 'body'>): RemoteWriteBatch {
  return p.format === 'prw-v2' ? decodeRemoteWriteV2(p.body) : decodeRemoteWriteV1(p.body);
}

export const labelsOf = (rw: RemoteWriteBatch): Labels[] => rw.series.map(seriesLabels);

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
  const ts: bigint[] = [];
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
    ts.push(BigInt(timestampsMs[i]!) * 1_000_000n);
    ids.push(id);
    vals.push(values[i]!);
    stale.push(staleFlags[i] === 1);
  }
  return {
    signal: 'metrics',
    rowCount: ids.length,
    fixed: { _timestamp: ts, series_id: ids, value: vals, stale },
    dynamic: [],
    rejectedCount: dropped,
    rejectedMessage: dropped > 0 ? `${dropped} samples of series over a series limit were dropped` : '',
  };
}

/** WAL replay: decode again and look the (already persisted) series up. */
export function replayMetricsBatch(p: IngestPayload, registry: SeriesRegistry): ColumnBatch {
  const rw = decodeRemoteWrite(p);
  const ids = registry.lookup(p.org, labelsOf(rw));
  if (ids === null)
    throw new Error(
      `WAL record of org ${p.org} names a series the catalog does not know; it was not recorded before the WAL write`,
    );
  return samplesBatch(rw, ids);
}
