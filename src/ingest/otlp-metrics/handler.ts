/**
 * OTLP/HTTP metrics (`POST /v1/metrics`, `/api/{org}/v1/metrics`, and Prometheus' OTLP receiver
 * path `/api/v1/otlp/v1/metrics`): protobuf or JSON, optionally gzip/deflate. The request is
 * translated to Prometheus series (translate.ts), the series are registered (persisted before the
 * WAL write, like remote_write), metadata kept, and the samples written to the org's
 * `metrics._samples` stream. Answers ExportMetricsServiceResponse in the request's encoding, with
 * `partial_success.rejected_data_points` for points not (fully) stored.
 * Spec: https://opentelemetry.io/docs/specs/otlp/#otlphttp
 */
import { readIngestRequest } from '../ingest-request.ts';
import type { Catalog } from '../../catalog/catalog.ts';
import { MoleError } from '../../lib/errors.ts';
import { varint } from '../../lib/varint.ts';
import { headerOf } from '../../server/http-server.ts';
import type { RequestContext } from '../../server/router.ts';
import type { ColumnBatch } from '../../write/column-batch.ts';
import type { SeriesLimits, SeriesRegistry } from '../../write/series-registry.ts';
import type { IngestPayload } from '../../write/wal-payload.ts';
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

/** WAL replay: translate again and look the series up (a series refused by a limit was never persisted: id 0, dropped). */
export function replayOtlpMetricsBatch(p: IngestPayload, registry: SeriesRegistry): ColumnBatch {
  return replaySeriesSamples(p, registry, translateOtlpMetrics(p));
}

/** ExportMetricsServiceResponse { partial_success = 1 { rejected_data_points = 1; error_message = 2 } }. */
function protoResponse(rejected: number, message: string): Buffer {
  if (rejected === 0) return Buffer.alloc(0);
  const msg = Buffer.from(message, 'utf8');
  const inner = Buffer.concat([Buffer.from([0x08, ...varint(rejected), 0x12, ...varint(msg.length)]), msg]);
  return Buffer.concat([Buffer.from([0x0a, ...varint(inner.length)]), inner]);
}

function jsonResponse(rejected: number, message: string): string {
  if (rejected === 0) return '{}';
  return JSON.stringify({ partialSuccess: { rejectedDataPoints: String(rejected), errorMessage: message } });
}

export function otlpMetricsHandler(deps: {
  writePath: WritePath;
  registry: SeriesRegistry;
  catalog: Catalog;
  config: IngestConfig;
  limits: SeriesLimits;
}) {
  return async (ctx: RequestContext): Promise<void> => {
    const { req, res } = ctx;
    const org = ctx.org!.id;
    const format = formatOf(headerOf(req, 'content-type'));
    const payload: IngestPayload = {
      org,
      signal: 'metrics',
      stream: SAMPLES_STREAM,
      format,
      ...(await readIngestRequest(req, deps.config)),
    };
    const t = translateOtlpMetrics(payload);
    const { ids, rejected: refusedSeries } = await deps.registry.resolve(org, t.series, deps.limits);
    if (t.metadata.length > 0) await deps.catalog.upsertMetricMetadata(org, t.metadata);
    let rejected = t.rejected;
    const messages = t.rejectedMessage === '' ? [] : [t.rejectedMessage];
    if (t.sampleCount > 0) {
      const batch = samplesBatchOf(t, ids);
      const result = await deps.writePath.write(payload, batch);
      if (result.rejected > 0 && refusedSeries.length > 0) {
        rejected += result.rejected;
        messages.push(seriesLimitError(deps.registry, org, refusedSeries, deps.limits).message);
      }
    }
    const message = messages.join('; ');
    if (format === 'otlp-metrics-proto') {
      const out = protoResponse(rejected, message);
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': out.length });
      res.end(out);
    } else {
      const out = jsonResponse(rejected, message);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    }
  };
}
