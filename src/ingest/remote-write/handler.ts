/**
 * Prometheus remote_write receiver (`POST /api/v1/write`, `/api/{org}/prometheus/api/v1/write`):
 * 1.0 and 2.0, snappy-compressed protobuf. Series are validated and registered, metadata kept,
 * samples handed to the write path as the org's `metrics._samples` stream. Answers 204; a 2.0
 * request also gets the X-Prometheus-Remote-Write-*-Written headers.
 * Spec: https://prometheus.io/docs/specs/prw/remote_write_spec_2_0/
 */
import { idempotencyKeyOf } from '../ingest-request.ts';
import type { Catalog } from '../../catalog/catalog.ts';
import { MoleError } from '../../lib/errors.ts';
import { snappyDecompress } from '../../lib/snappy.ts';
import { readRawBody } from '../../server/body.ts';
import { headerOf } from '../../server/http-server.ts';
import type { RequestContext } from '../../server/router.ts';
import type { SeriesLimits, SeriesRegistry } from '../../write/series-registry.ts';
import type { Labels } from '../../promql/labels.ts';
import type { OrgId } from '../../tenancy/org-id.ts';
import type { IngestPayload } from '../../write/wal-payload.ts';
import type { WritePath } from '../../write/write-path.ts';
import type { IngestConfig } from '../otlp/types.ts';
import { SAMPLES_STREAM, decodeRemoteWrite, resolveSeries, samplesBatch } from './to-batch.ts';

/**
 * 429 naming the limit, the metric and the label driving its growth (samples of known series in
 * the same request were stored).
 */
export function seriesLimitError(
  registry: SeriesRegistry,
  org: OrgId,
  rejected: Labels[],
  limits: SeriesLimits,
): MoleError {
  const metric = rejected[0]!.get('__name__');
  const perMetric = registry.select(org, [{ name: '__name__', type: '=', value: metric }]).length;
  const growth = registry.growthLabel(org, metric);
  const which =
    perMetric >= limits.maxSeriesPerMetric
      ? `limits.maxSeriesPerMetric=${limits.maxSeriesPerMetric} for metric "${metric}"`
      : `limits.maxSeriesPerOrg=${limits.maxSeriesPerOrg} (metric "${metric}" has ${perMetric} series)`;
  const driver = growth ? `; its label "${growth.name}" has ${growth.values} distinct values` : '';
  return new MoleError(
    `${rejected.length} new series refused: over ${which}${driver}. Drop or aggregate that label before sending, or raise the limit`,
    { code: 'MS_ERR_SERIES_LIMIT', status: 429, reason: 'series_limit', retryable: false },
  );
}

function versionOf(ctx: RequestContext): 'prw-v1' | 'prw-v2' {
  const ct = (headerOf(ctx.req, 'content-type') ?? '').toLowerCase();
  const header = headerOf(ctx.req, 'x-prometheus-remote-write-version') ?? '';
  if (ct.includes('io.prometheus.write.v2.request') || header.startsWith('2.')) return 'prw-v2';
  return 'prw-v1';
}

export function remoteWriteHandler(deps: {
  writePath: WritePath;
  registry: SeriesRegistry;
  catalog: Catalog;
  config: IngestConfig;
  limits: SeriesLimits;
}) {
  return async (ctx: RequestContext): Promise<void> => {
    const org = ctx.org!.id;
    const format = versionOf(ctx);
    const raw = await readRawBody(ctx.req, deps.config.maxBodyBytes);
    const enc = (headerOf(ctx.req, 'content-encoding') ?? 'snappy').trim().toLowerCase();
    if (enc !== 'snappy' && enc !== 'identity') {
      throw new MoleError(
        `Content-Encoding "${enc.slice(0, 40)}" is not supported for remote_write; use snappy`,
        {
          code: 'MS_ERR_UNSUPPORTED_ENCODING',
          status: 415,
          reason: 'bad_encoding',
        },
      );
    }
    const body = enc === 'snappy' ? snappyDecompress(raw, deps.config.maxDecodedBytes) : raw;
    const rw = decodeRemoteWrite({ format, body });
    const { ids, rejected } = await resolveSeries(deps.registry, org, rw, deps.limits);
    if (rw.metadata.length > 0)
      await deps.catalog.upsertMetricMetadata(
        org,
        rw.metadata.filter((m) => m.metricFamily !== ''),
      );
    if (rw.sampleCount > 0) {
      const now = Date.now();
      // the WAL keeps the snappy block as it came (replay decompresses it again)
      const payload: IngestPayload = {
        org,
        signal: 'metrics',
        stream: SAMPLES_STREAM,
        format: enc === 'snappy' ? `${format}-snappy` : format,
        idempotencyKey: idempotencyKeyOf(ctx.req),
        receivedAtMs: now,
        nowNs: BigInt(now) * 1_000_000n,
        body: raw,
        decodedBytes: body.length,
        hasExemplars: rw.exemplarCount > 0,
      };
      await deps.writePath.write(payload, samplesBatch(rw, ids));
    }
    if (rejected.length > 0) throw seriesLimitError(deps.registry, org, rejected, deps.limits);
    const headers: Record<string, string | number> = { 'content-length': 0 };
    if (format === 'prw-v2') {
      headers['x-prometheus-remote-write-samples-written'] = rw.sampleCount;
      headers['x-prometheus-remote-write-histograms-written'] = 0;
      headers['x-prometheus-remote-write-exemplars-written'] = rw.exemplarCount;
    }
    ctx.res.writeHead(204, headers);
    ctx.res.end();
  };
}
