/**
 * A Prometheus text body → series + samples + metric metadata: the decoder of wire format
 * `prom-text`, used for pushes and at WAL replay, and for what the scraper writes. Everything it
 * needs besides the body is in the payload's params: `om=1` (OpenMetrics timestamps in seconds),
 * `extra_label` (labels added to every series, overriding the sent ones, as VictoriaMetrics'
 * `extra_label` does) and `scrape=1` (lines after a `# STALE` comment are staleness markers:
 * only the scraper writes that param). A sample without a timestamp gets the receive time.
 */
import type { MetricMetadataRow } from '../../catalog/catalog.ts';
import { badRequest } from '../../lib/errors.ts';
import { seriesLabels, type SeriesInput } from '../../write/series-registry.ts';
import type { IngestPayload } from '../../write/wal-payload.ts';
import { SeriesSamplesBuilder, checkTimestamp, type SeriesSamples } from '../metric-samples.ts';
import { decodeUtf8Lines } from '../text-lines.ts';
import { parsePromText } from './parse.ts';

/** The comment after which the scraper's staleness markers follow (only with `scrape=1`). */
export const STALE_SECTION = 'STALE';

export interface PromTextParams {
  openMetrics: boolean;
  extraLabels: SeriesInput[];
  scrape: boolean;
}

export function encodePromTextParams(p: PromTextParams): Record<string, string> {
  const out: Record<string, string> = {};
  if (p.openMetrics) out.om = '1';
  if (p.extraLabels.length > 0) out.extra_label = JSON.stringify(p.extraLabels.map((l) => [l.name, l.value]));
  if (p.scrape) out.scrape = '1';
  return out;
}

function decodeParams(params: IngestPayload['params']): PromTextParams {
  const extra = params?.extra_label ? (JSON.parse(params.extra_label) as [string, string][]) : [];
  return {
    openMetrics: params?.om === '1',
    extraLabels: extra.map(([name, value]) => ({ name, value })),
    scrape: params?.scrape === '1',
  };
}

/** `extra_label=name=value` query parameters (repeatable). */
export function extraLabelsOf(query: URLSearchParams): SeriesInput[] {
  return query.getAll('extra_label').map((kv) => {
    const eq = kv.indexOf('=');
    const name = eq < 0 ? '' : kv.slice(0, eq);
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name) || name === '__name__')
      throw badRequest(
        `extra_label ${JSON.stringify(kv.slice(0, 60))} is not name=value with a valid label name`,
        'MS_ERR_BAD_PARAM',
      );
    return { name, value: kv.slice(eq + 1) };
  });
}

const TYPE_OF: Record<string, string> = { untyped: 'unknown' };

export function decodePromTextPayload(
  p: Pick<IngestPayload, 'body' | 'params' | 'receivedAtMs'>,
): SeriesSamples {
  const params = decodeParams(p.params);
  const b = new SeriesSamplesBuilder();
  const metadata = new Map<string, MetricMetadataRow>();
  const defaultTs = Math.floor(p.receivedAtMs);
  const extraNames = new Set(params.extraLabels.map((l) => l.name));
  let staleSection = false;
  parsePromText(decodeUtf8Lines(p.body), params.openMetrics, {
    sample(name, labels, series, value, timestampMs, lineNo) {
      const t = timestampMs ?? defaultTs;
      checkTimestamp(t, p.receivedAtMs, `line ${lineNo}`);
      let i = b.indexOfRaw(series);
      if (i < 0) {
        const input: SeriesInput[] = [{ name: '__name__', value: name }];
        for (const l of labels) if (!extraNames.has(l.name)) input.push(l);
        input.push(...params.extraLabels);
        try {
          i = b.addSeries(series, seriesLabels(input));
        } catch (e) {
          throw badRequest(`line ${lineNo}: ${(e as Error).message}`, 'MS_ERR_BAD_LINE');
        }
      }
      if (staleSection) b.push(i, t, NaN, 1);
      else b.push(i, t, value);
    },
    metadata(family, kind, value) {
      let row = metadata.get(family);
      if (!row) metadata.set(family, (row = { metricFamily: family, type: 'unknown', help: '', unit: '' }));
      if (kind === 'type') row.type = TYPE_OF[value] ?? value;
      else row[kind] = value;
    },
    comment(text) {
      if (params.scrape && text === STALE_SECTION) staleSection = true;
    },
  });
  b.out.metadata = [...metadata.values()];
  return b.out;
}
