/**
 * The Loki HTTP API except query/query_range (src/logql/api/query.ts): labels, label values,
 * series, index stats and volume, patterns, detected fields and labels, format_query, build info
 * and live tail. The org is the request's (X-Scope-OrgID or the credential's default org).
 */
import type { Logger } from '../../lib/logger.ts';
import type { RequestContext } from '../../server/router.ts';
import { LogStore, type LogStoreDeps } from './log-store.ts';
import { detectedLabels, labelNames, labelValues, listSeries } from './labels.ts';
import {
  badParam,
  intParam,
  loki,
  optionalSelector,
  parseLokiDuration,
  parseSelector,
  readParams,
  requiredSelector,
  sendJson,
  timeRange,
  type TimeRange,
} from './params.ts';
import { TailHub } from './tail.ts';
import { patterns } from './patterns.ts';
import { formatLogQL, parseLogQL } from '../parser/index.ts';
import { detectedFields } from './detected.ts';
import { indexStats, volume, volumeRange, type VolumeOptions } from './volume.ts';

/** The Loki release whose API and answers we reproduce (the conformance set was recorded on it). */
export const LOKI_API_VERSION = '3.4.6';

const success = (ctx: RequestContext, data: unknown) => sendJson(ctx.res, 200, { status: 'success', data });

function volumeOptions(p: URLSearchParams): VolumeOptions {
  const aggregateBy = p.get('aggregateBy') ?? 'series';
  if (aggregateBy !== 'series' && aggregateBy !== 'labels')
    throw badParam(`invalid aggregateBy: must be "series" or "labels", got "${aggregateBy.slice(0, 40)}"`);
  const target = p.get('targetLabels') ?? '';
  return {
    aggregateBy,
    targetLabels: target
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    limit: intParam(p, 'limit', 100),
  };
}

/** The live-tail hub: give its `onAppend` to the write path, call `closeAll` at shutdown. */
export function lokiTailHub(deps: { store: LogStoreDeps; log: Logger }): TailHub {
  return new TailHub({ store: new LogStore(deps.store), log: deps.log });
}

export function lokiApiHandlers(deps: { store: LogStoreDeps; log: Logger; version: string; tail: TailHub }) {
  const { log } = deps;
  const store = new LogStore(deps.store);
  const org = (ctx: RequestContext) => ctx.org!.id;
  return {
    labels: loki(async (ctx) => {
      const p = await readParams(ctx.req, ctx.query);
      const sel = optionalSelector(p);
      const series = await listSeries(store, org(ctx), timeRange(p), sel ? [sel.matchers] : null);
      success(ctx, labelNames(series));
    }, log),
    labelValues: loki(async (ctx) => {
      const p = await readParams(ctx.req, ctx.query);
      const name = ctx.params.name ?? '';
      const sel = optionalSelector(p);
      const series = await listSeries(store, org(ctx), timeRange(p), sel ? [sel.matchers] : null);
      success(ctx, labelValues(series, name));
    }, log),
    series: loki(async (ctx) => {
      const p = await readParams(ctx.req, ctx.query);
      const selectors = p.getAll('match[]').filter((m) => m.trim() !== '');
      const matchers = selectors.length ? selectors.map((m) => parseSelector(m, 'match[]').matchers) : null;
      success(ctx, await listSeries(store, org(ctx), timeRange(p), matchers));
    }, log),
    detectedLabels: loki(async (ctx) => {
      const p = await readParams(ctx.req, ctx.query);
      const sel = optionalSelector(p);
      const series = await listSeries(store, org(ctx), timeRange(p), sel ? [sel.matchers] : null);
      sendJson(ctx.res, 200, { detectedLabels: detectedLabels(series) });
    }, log),
    indexStats: loki(async (ctx) => {
      const p = await readParams(ctx.req, ctx.query);
      const sel = requiredSelector(p);
      sendJson(ctx.res, 200, await indexStats(store, org(ctx), timeRange(p), sel.matchers));
    }, log),
    volume: loki(async (ctx) => {
      const p = await readParams(ctx.req, ctx.query);
      const sel = requiredSelector(p);
      success(ctx, await volume(store, org(ctx), timeRange(p), sel.matchers, volumeOptions(p)));
    }, log),
    volumeRange: loki(async (ctx) => {
      const p = await readParams(ctx.req, ctx.query);
      const sel = requiredSelector(p);
      const range = timeRange(p);
      const stepText = p.get('step');
      const stepNs = stepText
        ? parseLokiDuration(stepText, 'step')
        : defaultStepNs(range.endNs - range.startNs);
      if (stepNs <= 0n)
        throw badParam(
          'zero or negative query resolution step widths are not accepted. Try a positive integer',
        );
      if ((range.endNs - range.startNs) / stepNs > 11_000n)
        throw badParam(
          'exceeded maximum resolution of 11,000 points per timeseries. Try increasing the value of the step parameter',
        );
      success(ctx, await volumeRange(store, org(ctx), range, sel.matchers, stepNs, volumeOptions(p)));
    }, log),
    patterns: loki(async (ctx) => {
      const p = await readParams(ctx.req, ctx.query);
      const sel = requiredSelector(p);
      const range = timeRange(p);
      const stepNs = stepParam(p, range);
      success(ctx, await patterns(store, org(ctx), range, sel.matchers, stepNs));
    }, log),
    detectedFields: loki(async (ctx) => {
      const p = await readParams(ctx.req, ctx.query);
      const sel = requiredSelector(p);
      const fieldLimit = intParam(p, 'limit', 1000);
      const lineLimit = intParam(p, 'line_limit', 100);
      const fields = await detectedFields(store, org(ctx), timeRange(p), sel, { lineLimit, fieldLimit });
      sendJson(ctx.res, 200, { fields, limit: fieldLimit });
    }, log),
    formatQuery: loki(async (ctx) => {
      const p = await readParams(ctx.req, ctx.query);
      const q = p.get('query');
      if (q === null || q.trim() === '')
        throw badParam('missing query parameter: give a LogQL query to format');
      success(ctx, formatLogQL(parseLogQL(q)));
    }, log),
    tail: deps.tail.handler(log),
    buildinfo: loki(async (ctx) => {
      sendJson(ctx.res, 200, {
        version: LOKI_API_VERSION,
        revision: `molesignal-${deps.version}`,
        branch: 'main',
        buildUser: '',
        buildDate: '',
        goVersion: '',
      });
    }, log),
  };
}

/** `step` (Go duration or float seconds), by default the range over 250 points; at most 11,000 points. */
function stepParam(p: URLSearchParams, range: TimeRange): bigint {
  const stepText = p.get('step');
  const stepNs = stepText ? parseLokiDuration(stepText, 'step') : defaultStepNs(range.endNs - range.startNs);
  if (stepNs <= 0n)
    throw badParam('zero or negative query resolution step widths are not accepted. Try a positive integer');
  if ((range.endNs - range.startNs) / stepNs > 11_000n)
    throw badParam(
      'exceeded maximum resolution of 11,000 points per timeseries. Try increasing the value of the step parameter',
    );
  return stepNs;
}

/** Loki's default step: the range over 250 points, at least 1 s. */
function defaultStepNs(rangeNs: bigint): bigint {
  const s = rangeNs / 250n / 1_000_000_000n;
  return (s > 1n ? s : 1n) * 1_000_000_000n;
}
