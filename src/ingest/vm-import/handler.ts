/**
 * VictoriaMetrics JSON lines import: `POST /api/v1/import` (and
 * `/api/{org}/prometheus/api/v1/import`), one series per line (parse.ts), `extra_label=name=value`
 * query parameters as VictoriaMetrics takes them. Answers 204. The way back is `/api/v1/export`
 * (src/promql/api/export.ts).
 */
import type { ColumnBatch } from '../../write/column-batch.ts';
import type { SeriesRegistry } from '../../write/series-registry.ts';
import type { IngestPayload } from '../../write/wal-payload.ts';
import type { IngestConfig } from '../otlp/types.ts';
import {
  replaySeriesSamples,
  metricPushHandler,
  type SampleWriteDeps,
  type SeriesSamples,
} from '../metric-samples.ts';
import { encodePromTextParams, extraLabelsOf } from '../prom-text/to-samples.ts';
import { parseVmJsonLines } from './parse.ts';

export function decodeVmImportPayload(p: IngestPayload): SeriesSamples {
  const extra = p.params?.extra_label ? (JSON.parse(p.params.extra_label) as [string, string][]) : [];
  return parseVmJsonLines(
    p.body,
    extra.map(([name, value]) => ({ name, value })),
    p.receivedAtMs,
  );
}

export const replayVmImportBatch = (p: IngestPayload, registry: SeriesRegistry): ColumnBatch =>
  replaySeriesSamples(p, registry, decodeVmImportPayload(p));

export const vmImportHandler = (deps: SampleWriteDeps & { config: IngestConfig }) =>
  metricPushHandler(
    deps,
    'vm-json-lines',
    (ctx) =>
      encodePromTextParams({ openMetrics: false, extraLabels: extraLabelsOf(ctx.query), scrape: false }),
    decodeVmImportPayload,
  );
