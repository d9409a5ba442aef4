/**
 * Series + samples of one request, the shape every text metric protocol decodes into (Influx line
 * protocol, Prometheus text, VictoriaMetrics JSON lines, scrapes), and the one way they are stored:
 * series resolved through the series registry (persisted before the WAL write, with its limits),
 * samples written as the org's `metrics._samples` batch (the same `samplesColumnBatch` as
 * remote_write and OTLP). WAL replay decodes the body again and looks the series up.
 * Invariant: a decoder is a pure function of (body, params, receivedAtMs), so replay finds the
 * same series and rebuilds the same rows.
 */
import type { Catalog, MetricMetadataRow } from '../catalog/catalog.ts';
import type { RequestContext } from '../server/router.ts';
import { SAMPLES_STREAM } from '../write/fixed-columns.ts';
import type { WireFormat } from '../write/wal-payload.ts';
import { readIngestPayload } from './ingest-request.ts';
import type { IngestConfig } from './otlp/types.ts';
import { badRequest } from '../lib/errors.ts';
import type { Labels } from '../promql/labels.ts';
import type { ColumnBatch } from '../write/column-batch.ts';
import type { SeriesLimits, SeriesRegistry } from '../write/series-registry.ts';
import type { IngestPayload } from '../write/wal-payload.ts';
import type { WritePath } from '../write/write-path.ts';
import { seriesLimitError } from './remote-write/handler.ts';
import { samplesColumnBatch } from './remote-write/to-batch.ts';

export interface SeriesSamples {
  /** distinct series of the request */
  series: Labels[];
  sampleCount: number;
  /** per sample: index into `series` */
  sampleSeries: number[];
  timestampsMs: number[];
  values: number[];
  /** 1 for a staleness marker */
  stale: number[];
  metadata: MetricMetadataRow[];
}

/**
 * Samples with a timestamp further ahead of the receive time than this are refused (clock skew of
 * a few minutes is normal; an hour ahead is a unit mistake such as seconds sent as nanoseconds).
 */
export const MAX_FUTURE_MS = 10 * 60 * 1000;

export function checkTimestamp(tMs: number, receivedAtMs: number, where: string): void {
  if (!Number.isFinite(tMs) || Math.abs(tMs) > 8.64e15)
    throw badRequest(`${where}: timestamp is out of range`, 'MS_ERR_BAD_TIMESTAMP');
  if (tMs > receivedAtMs + MAX_FUTURE_MS) {
    throw badRequest(
      `${where}: timestamp ${new Date(tMs).toISOString()} is more than ${MAX_FUTURE_MS / 60_000} minutes ahead of the server clock; check the timestamp unit (precision)`,
      'MS_ERR_TIMESTAMP_IN_FUTURE',
    );
  }
}

/** Collects series (deduplicated by a sender's raw key, then by label set) and their samples. */
export class SeriesSamplesBuilder {
  readonly out: SeriesSamples = {
    series: [],
    sampleCount: 0,
    sampleSeries: [],
    timestampsMs: [],
    values: [],
    stale: [],
    metadata: [],
  };
  private readonly byRaw = new Map<string, number>();
  private readonly byLabels = new Map<string, number>();

  /** The index of the series a raw key was seen with, or -1. */
  indexOfRaw(rawKey: string): number {
    return this.byRaw.get(rawKey) ?? -1;
  }

  addSeries(rawKey: string, labels: Labels): number {
    let i = this.byLabels.get(labels.key);
    if (i === undefined) {
      i = this.out.series.length;
      this.out.series.push(labels);
      this.byLabels.set(labels.key, i);
    }
    if (rawKey !== '') this.byRaw.set(rawKey, i);
    return i;
  }

  push(series: number, timestampMs: number, value: number, stale = 0): void {
    const o = this.out;
    o.sampleSeries.push(series);
    o.timestampsMs.push(timestampMs);
    o.values.push(value);
    o.stale.push(stale);
    o.sampleCount++;
  }
}

export interface SampleWriteDeps {
  writePath: WritePath;
  registry: SeriesRegistry;
  catalog: Catalog;
  limits: SeriesLimits;
}

/**
 * Registers the series (new ones persisted first), keeps the metadata, writes the samples. Samples
 * of series refused by a limit are dropped and the request answers 429 naming the limit (the
 * others are stored), as remote_write does.
 */
export async function writeSeriesSamples(
  deps: SampleWriteDeps,
  payload: IngestPayload,
  s: SeriesSamples,
): Promise<void> {
  const { ids, rejected } = await deps.registry.resolve(payload.org, s.series, deps.limits);
  if (s.metadata.length > 0) await deps.catalog.upsertMetricMetadata(payload.org, s.metadata);
  if (s.sampleCount > 0) await deps.writePath.write(payload, samplesBatchOf(s, ids));
  if (rejected.length > 0) throw seriesLimitError(deps.registry, payload.org, rejected, deps.limits);
}

export const samplesBatchOf = (s: SeriesSamples, ids: Uint32Array): ColumnBatch =>
  samplesColumnBatch(ids, s.sampleSeries, s.timestampsMs, s.values, s.stale, s.sampleCount);

/** WAL replay: the series are known (a series refused by a limit was never persisted: id 0, its samples dropped). */
export function replaySeriesSamples(
  p: IngestPayload,
  registry: SeriesRegistry,
  s: SeriesSamples,
): ColumnBatch {
  const ids = new Uint32Array(s.series.length);
  s.series.forEach((labels, i) => {
    ids[i] = registry.lookup(p.org, [labels])?.[0] ?? 0;
  });
  return samplesBatchOf(s, ids);
}

/**
 * The handler of a text metric push route: the body (Content-Encoding, size limits), the params
 * the decoder needs (kept in the WAL payload for replay), decode, register, write, answer 204.
 */
export function metricPushHandler(
  deps: SampleWriteDeps & { config: IngestConfig },
  format: WireFormat,
  paramsOf: (ctx: RequestContext) => Record<string, string>,
  decode: (p: IngestPayload) => SeriesSamples,
  headers: Record<string, string> = {},
) {
  return async (ctx: RequestContext): Promise<void> => {
    const payload = await readIngestPayload(ctx, deps.config, {
      signal: 'metrics',
      stream: SAMPLES_STREAM,
      format,
      params: paramsOf(ctx),
    });
    await writeSeriesSamples(deps, payload, decode(payload));
    ctx.res.writeHead(204, headers);
    ctx.res.end();
  };
}
