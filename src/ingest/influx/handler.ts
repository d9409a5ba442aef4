/**
 * InfluxDB line protocol writes: v1 `POST /write?db=&precision=` and v2
 * `POST /api/v2/write?org=&bucket=&precision=` (plus `/api/{org}/influx/write` and
 * `/api/{org}/influx/api/v2/write`). The body (gzip/deflate per Content-Encoding) is parsed whole
 * (parse.ts), the series registered and the samples written to the org's `metrics._samples`
 * stream; precision and db travel in the WAL payload's params so replay decodes the same rows.
 * Answers 204 like InfluxDB; errors use InfluxDB's JSON shape (http-errors.ts). Influx's `org`
 * parameter is not our org: that comes from the path, X-Scope-OrgID or the credential.
 * https://docs.influxdata.com/influxdb/v2/api/#operation/PostWrite
 */
import type { RequestContext } from '../../server/router.ts';
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
import { influxPrecision, parseInfluxLines } from './parse.ts';

/** What `/ping` reports: InfluxDB 1.8's API, which is what these routes speak. */
export const INFLUX_COMPAT_VERSION = '1.8.10';

export function decodeInfluxPayload(p: IngestPayload): SeriesSamples {
  const precision = influxPrecision(p.params?.precision ?? null);
  return parseInfluxLines(p.body, { precision, db: p.params?.db ?? '' }, p.receivedAtMs);
}

export const replayInfluxBatch = (p: IngestPayload, registry: SeriesRegistry): ColumnBatch =>
  replaySeriesSamples(p, registry, decodeInfluxPayload(p));

export const influxWriteHandler = (api: 'v1' | 'v2', deps: SampleWriteDeps & { config: IngestConfig }) =>
  metricPushHandler(
    deps,
    'influx-line',
    (ctx): Record<string, string> => {
      const precision = influxPrecision(ctx.query.get('precision'));
      const db = ctx.query.get(api === 'v1' ? 'db' : 'bucket') ?? '';
      return db === '' ? { precision } : { precision, db };
    },
    decodeInfluxPayload,
    { 'x-influxdb-version': INFLUX_COMPAT_VERSION },
  );

/** `GET|HEAD /ping`: what InfluxDB clients and Telegraf probe before writing. */
export async function influxPing(ctx: RequestContext): Promise<void> {
  ctx.res.writeHead(204, { 'x-influxdb-version': INFLUX_COMPAT_VERSION, 'x-influxdb-build': 'OSS' });
  ctx.res.end();
}
