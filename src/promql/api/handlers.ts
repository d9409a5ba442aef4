/**
 * The Prometheus HTTP API over MoleSignal's metrics (what Grafana's Prometheus data source calls):
 * query, query_range, series, labels, label values, metadata, query_exemplars, format_query,
 * status/buildinfo and a VictoriaMetrics-style status/tsdb cardinality report. Answers use the
 * `{status, data, errorType, error, warnings, infos}` envelope; values are strings, times seconds.
 */
import type { ServerResponse } from 'node:http';
import { MoleError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import {
  MAX_TIME_MS,
  MetricsQueryable,
  MIN_TIME_MS,
  type MetricsStoreDeps,
} from '../../query/metrics-store.ts';
import type { RequestContext } from '../../server/router.ts';
import type { ExemplarStore, StoredExemplar } from '../../ingest/exemplar-store.ts';
import { instantQuery, rangeQuery } from '../engine/index.ts';
import { Labels, METRIC_NAME } from '../labels.ts';
import { formatExpr, parseExpr } from '../parser/index.ts';
import type { VectorSelector } from '../ast.ts';
import type { QueryResult } from '../value.ts';
import { badData, durationParam, formatValue, limitParam, readParams, timeParam } from './params.ts';

export interface PromApiConfig {
  timeoutMs: number;
  maxSamples: number;
  maxPointsPerSeries: number;
  lookbackDeltaMs: number;
}

const ERROR_TYPES: Record<number, string> = {
  400: 'bad_data',
  422: 'execution',
  503: 'timeout',
  500: 'internal',
};

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const success = (res: ServerResponse, data: unknown, extra: Record<string, unknown> = {}) =>
  send(res, 200, { status: 'success', data, ...extra });

/** Runs a handler and answers errors in Prometheus' envelope. */
function prom(handler: (ctx: RequestContext) => Promise<void>, log: Logger) {
  return async (ctx: RequestContext): Promise<void> => {
    try {
      await handler(ctx);
    } catch (e) {
      const err = e instanceof MoleError ? e : null;
      const status = err ? err.status : 500;
      if (!err) log.error({ err: e }, 'PromQL API request failed');
      const errorType =
        err?.reason === 'query_timeout'
          ? 'timeout'
          : (ERROR_TYPES[status] ?? (status >= 500 ? 'internal' : 'bad_data'));
      send(ctx.res, status, {
        status: 'error',
        errorType,
        error: err ? err.message : 'internal error; see the server log',
      });
    }
  };
}

const labelsJson = (l: Labels) => l.toRecord();

function resultJson(r: QueryResult): { data: unknown; extra: Record<string, unknown> } {
  const v = r.value;
  let data: unknown;
  switch (v.type) {
    case 'scalar':
      data = { resultType: 'scalar', result: [v.t / 1000, formatValue(v.v)] };
      break;
    case 'string':
      data = { resultType: 'string', result: [v.t / 1000, v.s] };
      break;
    case 'vector':
      data = {
        resultType: 'vector',
        result: v.samples.map((s) => ({
          metric: labelsJson(s.metric),
          value: [s.t / 1000, formatValue(s.v)],
        })),
      };
      break;
    case 'matrix':
      data = {
        resultType: 'matrix',
        result: v.series.map((s) => ({
          metric: labelsJson(s.metric),
          values: s.points.map((p) => [p.t / 1000, formatValue(p.v)]),
        })),
      };
      break;
  }
  const warnings = r.annotations.filter((a) => a.level === 'warn').map((a) => a.message);
  const infos = r.annotations.filter((a) => a.level === 'info').map((a) => a.message);
  return { data, extra: { ...(warnings.length ? { warnings } : {}), ...(infos.length ? { infos } : {}) } };
}

/** Every vector selector of an expression (query_exemplars answers for all of them). */
function vectorSelectors(e: unknown, out: VectorSelector[] = []): VectorSelector[] {
  if (e === null || typeof e !== 'object') return out;
  if ((e as { type?: string }).type === 'VectorSelector') out.push(e as VectorSelector);
  else for (const v of Object.values(e)) vectorSelectors(v, out);
  return out;
}

/** `match[]` selectors → their matchers (each must be a plain vector selector). */
export function matchSelectors(p: URLSearchParams, required: boolean): VectorSelector[] | null {
  const raw = p.getAll('match[]');
  if (raw.length === 0) {
    if (required) throw badData('no match[] parameter provided');
    return null;
  }
  return raw.map((m) => {
    const e = parseExpr(m);
    if (e.type !== 'VectorSelector')
      throw badData(
        `invalid parameter "match[]": ${JSON.stringify(m.slice(0, 80))} is not a series selector`,
      );
    return e;
  });
}

export function promApiHandlers(deps: {
  store: MetricsStoreDeps;
  config: PromApiConfig;
  log: Logger;
  version: string;
  exemplars?: ExemplarStore;
}) {
  const { store, config, log } = deps;
  const queryable = (ctx: RequestContext) => new MetricsQueryable(store, ctx.org!.id);
  const engineOpts = (p: URLSearchParams) => {
    const timeout = durationParam(p, 'timeout');
    return {
      timeoutMs: timeout === null ? config.timeoutMs : Math.min(timeout, config.timeoutMs),
      maxSamples: config.maxSamples,
      lookbackDeltaMs: config.lookbackDeltaMs,
    };
  };
  /**
   * The series the selectors match (all series without selectors), restricted to those with
   * samples in [start, end] when the request gives either bound (Prometheus' defaults: all time).
   */
  const seriesIds = async (
    ctx: RequestContext,
    p: URLSearchParams,
    selectors: VectorSelector[] | null,
  ): Promise<number[] | undefined> => {
    let ids: number[] | undefined;
    if (selectors) {
      const set = new Set<number>();
      for (const s of selectors) for (const id of store.registry.select(ctx.org!.id, s.matchers)) set.add(id);
      ids = [...set].sort((a, b) => a - b);
    }
    if (p.get('start') === null && p.get('end') === null) return ids;
    const start = timeParam(p, 'start', MIN_TIME_MS);
    const end = timeParam(p, 'end', MAX_TIME_MS);
    if (end < start) throw badData('end timestamp must not be before start time');
    const active = await queryable(ctx).seriesWithSamples(start, end);
    if (ids) return ids.filter((id) => active.has(id));
    return [...active].sort((a, b) => a - b);
  };
  const limited = <T>(list: T[], limit: number) =>
    limit > 0 && list.length > limit
      ? { data: list.slice(0, limit), warnings: ['results truncated due to limit'] }
      : { data: list };

  return {
    query: prom(async (ctx) => {
      const p = await readParams(ctx.req, ctx.query);
      const q = p.get('query');
      if (!q) throw badData('invalid parameter "query": no query given');
      const expr = parseExpr(q);
      const r = await instantQuery(queryable(ctx), expr, timeParam(p, 'time', Date.now()), engineOpts(p));
      const { data, extra } = resultJson(r);
      success(ctx.res, data, extra);
    }, log),
    queryRange: prom(async (ctx) => {
      const p = await readParams(ctx.req, ctx.query);
      const q = p.get('query');
      if (!q) throw badData('invalid parameter "query": no query given');
      if (p.get('start') === null) throw badData('invalid parameter "start": missing');
      if (p.get('end') === null) throw badData('invalid parameter "end": missing');
      const start = timeParam(p, 'start', 0);
      const end = timeParam(p, 'end', 0);
      const step = durationParam(p, 'step');
      if (step === null) throw badData('invalid parameter "step": missing');
      if (end < start) throw badData('end timestamp must not be before start time');
      if (step <= 0)
        throw badData(
          'zero or negative query resolution step widths are not accepted. Try a positive integer',
        );
      if ((end - start) / step > config.maxPointsPerSeries) {
        throw badData(
          `exceeded maximum resolution of ${config.maxPointsPerSeries} points per timeseries. Try decreasing the query resolution (?step=XX)`,
        );
      }
      const expr = parseExpr(q);
      const r = await rangeQuery(queryable(ctx), expr, start, end, step, engineOpts(p));
      const { data, extra } = resultJson(r);
      success(ctx.res, data, extra);
    }, log),
    series: prom(async (ctx) => {
      const p = await readParams(ctx.req, ctx.query);
      const ids = (await seriesIds(ctx, p, matchSelectors(p, true)))!;
      const list = ids.map((id) => store.registry.labels(ctx.org!.id, id)!.toRecord());
      const { data, warnings } = limited(list, limitParam(p));
      success(ctx.res, data, warnings ? { warnings } : {});
    }, log),
    labels: prom(async (ctx) => {
      const p = await readParams(ctx.req, ctx.query);
      const names = store.registry.labelNames(ctx.org!.id, await seriesIds(ctx, p, matchSelectors(p, false)));
      const { data, warnings } = limited(names, limitParam(p));
      success(ctx.res, data, warnings ? { warnings } : {});
    }, log),
    labelValues: prom(async (ctx) => {
      const p = await readParams(ctx.req, ctx.query);
      let name = ctx.params.name ?? '';
      // Prometheus 3: `U__` escapes UTF-8 label names in the path
      if (name.startsWith('U__'))
        name = name
          .slice(3)
          .replace(/_([0-9a-fA-F]+)_/g, (_m, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
          .replace(/__/g, '_');
      const values = store.registry.labelValues(
        ctx.org!.id,
        name,
        await seriesIds(ctx, p, matchSelectors(p, false)),
      );
      const { data, warnings } = limited(values, limitParam(p));
      success(ctx.res, data, warnings ? { warnings } : {});
    }, log),
    metadata: prom(async (ctx) => {
      const p = await readParams(ctx.req, ctx.query);
      const metric = p.get('metric');
      const limit = limitParam(p);
      const rows = (await store.catalog.listMetricMetadata(ctx.org!.id)).filter(
        (m) => !metric || m.metricFamily === metric,
      );
      const data: Record<string, { type: string; help: string; unit: string }[]> = {};
      for (const m of limit > 0 ? rows.slice(0, limit) : rows)
        data[m.metricFamily] = [{ type: m.type, help: m.help, unit: m.unit }];
      success(ctx.res, data);
    }, log),
    /** Prometheus' answer shape: per series its labels and exemplars (value a string, time in seconds). */
    queryExemplars: prom(async (ctx) => {
      const p = await readParams(ctx.req, ctx.query);
      const q = p.get('query');
      if (!q) throw badData('invalid parameter "query": no query given');
      const selectors = vectorSelectors(parseExpr(q));
      const start = timeParam(p, 'start', MIN_TIME_MS);
      const end = timeParam(p, 'end', MAX_TIME_MS);
      if (end < start) throw badData('invalid parameter "end": end timestamp must not be before start time');
      const org = ctx.org!.id;
      const ids = new Set(selectors.flatMap((v) => store.registry.select(org, v.matchers)));
      const found = deps.exemplars?.select(org, ids, start, end) ?? new Map<number, StoredExemplar[]>();
      const data = [...found].map(([id, list]) => ({
        seriesLabels: Object.fromEntries(
          (store.registry.labels(org, id)?.list ?? []).map((l) => [l.name, l.value]),
        ),
        exemplars: list.map((e) => ({
          labels: Object.fromEntries(e.labels.list.map((l) => [l.name, l.value])),
          value: formatValue(e.value),
          timestamp: e.timestampMs / 1000,
        })),
      }));
      success(ctx.res, data);
    }, log),
    formatQuery: prom(async (ctx) => {
      const p = await readParams(ctx.req, ctx.query);
      const q = p.get('query');
      if (!q) throw badData('invalid parameter "query": no query given');
      success(ctx.res, formatExpr(parseExpr(q)));
    }, log),
    /** No recording or alerting rules exist yet: an empty list, as Prometheus answers without rules. */
    rules: prom(async (ctx) => {
      success(ctx.res, { groups: [] });
    }, log),
    alerts: prom(async (ctx) => {
      success(ctx.res, { alerts: [] });
    }, log),
    buildinfo: prom(async (ctx) => {
      success(ctx.res, {
        version: '3.0.0',
        revision: `molesignal-${deps.version}`,
        branch: 'main',
        buildUser: 'molesignal',
        buildDate: '',
        goVersion: '',
      });
    }, log),
    tsdbStatus: prom(async (ctx) => {
      const p = await readParams(ctx.req, ctx.query);
      const topN = Math.min(Number(p.get('topN') ?? 10) || 10, 1000);
      const org = ctx.org!.id;
      const all = store.registry.select(org, [{ name: METRIC_NAME, type: '=~', value: '.+' }]);
      const byMetric = new Map<string, number>();
      const byName = new Map<string, Set<string>>();
      const byPair = new Map<string, number>();
      const seriesByName = new Map<string, number>();
      for (const id of all) {
        const labels = store.registry.labels(org, id)!;
        const name = labels.get(METRIC_NAME);
        byMetric.set(name, (byMetric.get(name) ?? 0) + 1);
        for (const l of labels.list) {
          let vals = byName.get(l.name);
          if (!vals) byName.set(l.name, (vals = new Set()));
          vals.add(l.value);
          seriesByName.set(l.name, (seriesByName.get(l.name) ?? 0) + 1);
          const pair = `${l.name}=${l.value}`;
          byPair.set(pair, (byPair.get(pair) ?? 0) + 1);
        }
      }
      const top = (m: Map<string, number>) =>
        [...m]
          .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
          .slice(0, topN)
          .map(([name, value]) => ({ name, value }));
      success(ctx.res, {
        totalSeries: all.length,
        totalLabelValuePairs: byPair.size,
        seriesCountByMetricName: top(byMetric),
        seriesCountByLabelName: top(seriesByName),
        labelValueCountByLabelName: top(new Map([...byName].map(([k, v]) => [k, v.size]))),
        seriesCountByLabelValuePair: top(byPair),
      });
    }, log),
  };
}
