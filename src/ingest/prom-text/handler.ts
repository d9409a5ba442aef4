/**
 * Prometheus text exposition push: `POST /api/v1/import/prometheus` (and
 * `/api/{org}/prometheus/api/v1/import/prometheus`), as VictoriaMetrics accepts it: a body in the
 * text format 0.0.4, or OpenMetrics when the Content-Type says `application/openmetrics-text`;
 * `extra_label=name=value` query parameters add labels to every series. HELP/TYPE/UNIT become
 * metric metadata (as remote_write metadata does). Answers 204.
 * https://docs.victoriametrics.com/#how-to-import-data-in-prometheus-exposition-format
 */
import { headerOf } from '../../server/http-server.ts';
import type { ColumnBatch } from '../../write/column-batch.ts';
import type { SeriesRegistry } from '../../write/series-registry.ts';
import type { IngestPayload } from '../../write/wal-payload.ts';
import type { IngestConfig } from '../otlp/types.ts';
import { metricPushHandler, replaySeriesSamples, type SampleWriteDeps } from '../metric-samples.ts';
import { decodePromTextPayload, encodePromTextParams, extraLabelsOf } from './to-samples.ts';

export const replayPromTextBatch = (p: IngestPayload, registry: SeriesRegistry): ColumnBatch =>
  replaySeriesSamples(p, registry, decodePromTextPayload(p));

export const promTextImportHandler = (deps: SampleWriteDeps & { config: IngestConfig }) =>
  metricPushHandler(
    deps,
    'prom-text',
    (ctx) =>
      encodePromTextParams({
        openMetrics: /application\/openmetrics-text/i.test(headerOf(ctx.req, 'content-type') ?? ''),
        extraLabels: extraLabelsOf(ctx.query),
        scrape: false,
      }),
    decodePromTextPayload,
  );
