/**
 * `GET|POST /api/v1/export` (and `/api/{org}/prometheus/api/v1/export`): the series matching
 * `match[]` with their samples in [`start`, `end`], streamed as VictoriaMetrics JSON lines (one
 * series per line, the format `/api/v1/import` takes back). Samples come from the same store
 * PromQL reads (Parquet files + memtables); staleness markers are not exported.
 * `start` defaults to 0, `end` to now (plus the accepted clock skew); times are Unix seconds or RFC 3339.
 * https://docs.victoriametrics.com/#how-to-export-data-in-json-line-format
 */
import { MAX_FUTURE_MS } from '../../ingest/metric-samples.ts';
import { formatVmJsonLine } from '../../ingest/vm-import/parse.ts';
import { MetricsQueryable, type MetricsStoreDeps } from '../../query/metrics-store.ts';
import type { RequestContext } from '../../server/router.ts';
import { METRIC_NAME, type Labels } from '../labels.ts';
import { matchSelectors } from './handlers.ts';
import { badData, readParams, timeParam } from './params.ts';

function exportLabels(labels: Labels): Record<string, string> {
  const out: Record<string, string> = { [METRIC_NAME]: labels.get(METRIC_NAME) };
  for (const l of labels.list) if (l.name !== METRIC_NAME) out[l.name] = l.value;
  return out;
}

export function vmExportHandler(store: MetricsStoreDeps) {
  return async (ctx: RequestContext): Promise<void> => {
    const p = await readParams(ctx.req, ctx.query);
    const selectors = matchSelectors(p, true)!;
    const start = timeParam(p, 'start', 0);
    const end = timeParam(p, 'end', Date.now() + MAX_FUTURE_MS);
    if (end < start) throw badData('end timestamp must not be before start time');
    const seen = new Set<string>();
    const q = new MetricsQueryable(store, ctx.org!.id);
    let started = false;
    for (const s of selectors) {
      const series = await q.select(s.matchers, start, end);
      if (!started) {
        ctx.res.writeHead(200, { 'content-type': 'application/stream+json' });
        started = true;
      }
      for (const one of series) {
        if (seen.has(one.labels.key)) continue;
        seen.add(one.labels.key);
        let n = one.t.length;
        let t: ArrayLike<number> = one.t;
        let v: ArrayLike<number> = one.v;
        if (one.stale) {
          const ts: number[] = [];
          const vs: number[] = [];
          for (let k = 0; k < one.t.length; k++) {
            if (one.stale[k] === 1) continue;
            ts.push(one.t[k]!);
            vs.push(one.v[k]!);
          }
          t = ts;
          v = vs;
          n = ts.length;
        }
        if (n === 0) continue;
        if (!ctx.res.write(formatVmJsonLine(exportLabels(one.labels), v, t)))
          await new Promise((resolve) => ctx.res.once('drain', resolve));
      }
    }
    ctx.res.end();
  };
}
