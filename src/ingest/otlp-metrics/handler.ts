/**
 * OTLP/HTTP metrics (`POST /v1/metrics`, `/api/{org}/v1/metrics`, and Prometheus' OTLP receiver
 * path `/api/v1/otlp/v1/metrics`): protobuf or JSON, optionally gzip/deflate. The request is
 * translated to Prometheus series (translate.ts), the series are registered (persisted before the
 * WAL write, like remote_write), metadata kept, and the samples written to the org's
 * `metrics._samples` stream. Answers ExportMetricsServiceResponse in the request's encoding, with
 * `partial_success.rejected_data_points` for points not (fully) stored.
 * Spec: https://opentelemetry.io/docs/specs/otlp/#otlphttp
 */
import { readIngestPayload } from '../ingest-request.ts';
import type { Catalog } from '../../catalog/catalog.ts';
import { MoleError } from '../../lib/errors.ts';
import { partialSuccessProto } from '../otlp/handler.ts';
import { headerOf } from '../../server/http-server.ts';
import type { RequestContext } from '../../server/router.ts';
import type { ColumnBatch } from '../../write/column-batch.ts';
import type { SeriesLimits, SeriesRegistry } from '../../write/series-registry.ts';
import type { IngestPayload, PayloadExemplar } from '../../write/wal-payload.ts';
import type { WritePath } from '../../write/write-path.ts';
import type { IngestConfig } from '../otlp/types.ts';
import { seriesLimitError } from '../remote-write/handler.ts';
import { SAMPLES_STREAM } from '../remote-write/to-batch.ts';
import { replaySeriesSamples, samplesBatchOf } from '../metric-samples.ts';
import { decodeMetricsJson, decodeMetricsProto } from './parse.ts';
import { translateMetrics, type TranslatedMetrics } from './translate.ts';

export type OtlpMetricsFormat = 'otlp-metrics-proto' | 'otlp-metrics-json';

function formatOf(contentType: string | undefined): OtlpMetricsFormat {
  const ct = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (ct === 'application/x-protobuf' || ct === 'application/protobuf') return 'otlp-metrics-proto';
  if (ct === 'application/json') return 'otlp-metrics-json';
  throw new MoleError(
    `Content-Type "${ct.slice(0, 60)}" is not OTLP: use application/x-protobuf or application/json`,
    { code: 'MS_ERR_UNSUPPORTED_MEDIA_TYPE', status: 415, reason: 'bad_request' },
  );
}

const utf8 = new TextDecoder();

/** Decode and translate a payload: the one function both ingest and WAL replay call. */
export function translateOtlpMetrics(
  p: Pick<IngestPayload, 'format' | 'body' | 'receivedAtMs'>,
): TranslatedMetrics {
  const req =
    p.format === 'otlp-metrics-proto' ? decodeMetricsProto(p.body) : decodeMetricsJson(utf8.decode(p.body));
  return translateMetrics(req, Math.floor(p.receivedAtMs));
}

/** The translated exemplars by series labels (the exemplar store looks their ids up). */
export const payloadExemplars = (t: TranslatedMetrics): PayloadExemplar[] =>
  t.exemplars.map((e) => ({
    series: t.series[e.series]!.list,
    labels: e.labels,
    value: e.value,
    timestampMs: e.timestampMs,
  }));

/** WAL replay: translate again and look the series up (a series refused by a limit was never persisted: id 0, dropped). */
export function replayOtlpMetricsBatch(p: IngestPayload, registry: SeriesRegistry): ColumnBatch {
  return replaySeriesSamples(p, registry, translateOtlpMetrics(p));
}

function jsonResponse(rejected: number, message: string): string {
  if (rejected === 0) return '{}';
  return JSON.stringify({ partialSuccess: { rejectedDataPoints: String(rejected), errorMessage: message } });
}

export interface OtlpMetricsDeps {
  writePath: WritePath;
  registry: SeriesRegistry;
  catalog: Catalog;
  config: IngestConfig;
  limits: SeriesLimits;
}

/**
 * Translates an OTLP metrics payload, registers its series, keeps metadata and writes the samples:
 * the one path of OTLP/HTTP and OTLP/gRPC. Returns the points not (fully) stored.
 */
export async function ingestOtlpMetrics(
  deps: OtlpMetricsDeps,
  payload: IngestPayload,
): Promise<{ rejected: number; message: string }> {
  const org = payload.org;
  const t = translateOtlpMetrics(payload);
  const { ids, rejected: refusedSeries } = await deps.registry.resolve(org, t.series, deps.limits);
  if (t.metadata.length > 0) await deps.catalog.upsertMetricMetadata(org, t.metadata);
  let rejected = t.rejected;
  const messages = t.rejectedMessage === '' ? [] : [t.rejectedMessage];
  if (t.sampleCount > 0) {
    payload.exemplars = payloadExemplars(t);
    const result = await deps.writePath.write(payload, samplesBatchOf(t, ids));
    if (result.rejected > 0 && refusedSeries.length > 0) {
      rejected += result.rejected;
      messages.push(seriesLimitError(deps.registry, org, refusedSeries, deps.limits).message);
    }
  }
  return { rejected, message: messages.join('; ') };
}

export function otlpMetricsHandler(deps: OtlpMetricsDeps) {
  return async (ctx: RequestContext): Promise<void> => {
    const { req, res } = ctx;
    const format = formatOf(headerOf(req, 'content-type'));
    const payload = await readIngestPayload(ctx, deps.config, {
      signal: 'metrics',
      stream: SAMPLES_STREAM,
      format,
    });
    const { rejected, message } = await ingestOtlpMetrics(deps, payload);
    if (format === 'otlp-metrics-proto') {
      const out = partialSuccessProto(rejected, message);
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': out.length });
      res.end(out);
    } else {
      const out = jsonResponse(rejected, message);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    }
  };
}
