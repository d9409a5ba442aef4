/**
 * Loki's `GET|POST /loki/api/v1/query` and `/loki/api/v1/query_range`
 * (https://grafana.com/docs/loki/latest/reference/loki-http-api/), with Loki's parameter rules
 * (pkg/loghttp/params.go): times as RFC 3339, Unix seconds with a fraction, or Unix nanoseconds;
 * `end` defaults to now and `start` to `end - 1h`; `limit` 100; `direction` backward; `step` as
 * float seconds or a Prometheus duration, by default `max(floor(range / 250 s), 1) s`.
 * Answers: `{"status":"success","data":{"resultType","result","stats"}}`; errors are Loki's plain
 * text body with the status (400 for bad input), which Grafana shows as the message.
 */
import type { ServerResponse } from 'node:http';
import { MoleError, badRequest } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { RequestContext } from '../../server/router.ts';
import { readParams } from '../../promql/api/params.ts';
import type { QueryExecutor } from '../../query/executor.ts';
import { emptyStats, runLogQL, type LogQLLimits, type LogQLQuery, type LogQLStats } from '../engine/index.ts';
import { StorageLogSource, type LogSourceDeps } from '../engine/source.ts';
import { queryTimeoutError, storageRegexpError } from './errors.ts';

/** A slot of the server's query concurrency limit (QueryExecutor's). */
export type QuerySlots = Pick<QueryExecutor, 'acquireSlot'>;

export interface LokiQueryConfig extends LogQLLimits {
  /** longest `end - start` of a query (Loki's `max_query_length`) */
  maxQueryLengthMs: number;
  /** a query running longer is stopped */
  timeoutMs: number;
  /** most points per series of a range query */
  maxPointsPerSeries: number;
  /** metric pushdown into SQL (logql.pushdown) */
  pushdown: boolean;
}

const bad = (message: string) => badRequest(message, 'MS_ERR_LOKI_BAD_PARAM');

const NS_PER_S = 1_000_000_000n;
const NS_PER_MS = 1_000_000n;
const DEFAULT_SINCE_NS = 3600n * NS_PER_S;
const DEFAULT_LIMIT = 100;

/** Loki's parseTimestamp: float seconds (ms precision) when it has a dot, Unix s/ns, RFC 3339. */
export function parseLokiTime(value: string, name: string): bigint {
  if (value.includes('.') && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value)) {
    const t = Number(value);
    const s = Math.trunc(t);
    const ms = Math.round((t - s) * 1000);
    return BigInt(s) * NS_PER_S + BigInt(ms) * NS_PER_MS;
  }
  if (/^[+-]?\d+$/.test(value)) {
    const n = BigInt(value);
    if (n >= -(1n << 63n) && n < 1n << 63n) return value.replace(/^[+-]/, '').length <= 10 ? n * NS_PER_S : n;
  }
  const ns = parseRfc3339Ns(value);
  if (ns !== null) return ns;
  throw bad(`invalid ${name}: cannot parse "${value.slice(0, 60)}" to a valid timestamp`);
}

/** RFC 3339 with an optional fraction of up to 9 digits, to nanoseconds. */
function parseRfc3339Ns(value: string): bigint | null {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(value);
  if (!m) return null;
  const ms = Date.parse(`${m[1]}${m[3]!.toUpperCase()}`);
  if (Number.isNaN(ms)) return null;
  return BigInt(ms) * NS_PER_MS + BigInt((m[2] ?? '').padEnd(9, '0') || '0');
}

/** Prometheus' model.ParseDuration (`1h30m`, `500ms`, `2d`), to ms; null when it is not one. */
function parsePromDurationMs(s: string): number | null {
  if (!/^(\d+(y|w|d|h|ms|m|s))+$/.test(s)) return null;
  const unit: Record<string, number> = {
    y: 31_536_000_000,
    w: 604_800_000,
    d: 86_400_000,
    h: 3_600_000,
    m: 60_000,
    s: 1000,
    ms: 1,
  };
  let ms = 0;
  for (const [, n, u] of s.matchAll(/(\d+)(y|w|d|h|ms|m|s)/g)) ms += Number(n) * unit[u!]!;
  return ms;
}

/** Loki's parseSecondsOrDuration, to ns. */
export function parseLokiStep(value: string): bigint {
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value)) return BigInt(Math.round(Number(value) * 1e9));
  const ms = parsePromDurationMs(value);
  if (ms !== null) return BigInt(ms) * NS_PER_MS;
  throw bad(`cannot parse "${value.slice(0, 60)}" to a valid duration`);
}

/** A duration as Go's time.Duration.String() prints it (`721h0m0s`, `1.5s`). */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  let n = neg ? -ns : ns;
  let out: string;
  if (n < NS_PER_S) {
    const [unit, div] = n < 1000n ? ['ns', 1n] : n < NS_PER_MS ? ['µs', 1000n] : ['ms', NS_PER_MS];
    out = `${trimFraction(n, div)}${unit}`;
  } else {
    const h = n / (3600n * NS_PER_S);
    n -= h * 3600n * NS_PER_S;
    const m = n / (60n * NS_PER_S);
    n -= m * 60n * NS_PER_S;
    out = `${h > 0n ? `${h}h` : ''}${h > 0n || m > 0n ? `${m}m` : ''}${trimFraction(n, NS_PER_S)}s`;
  }
  return neg ? `-${out}` : out;
}

const trimFraction = (n: bigint, div: bigint): string => {
  const whole = n / div;
  const frac = n % div;
  if (frac === 0n) return whole.toString();
  const digits = div.toString().length - 1;
  return `${whole}.${frac.toString().padStart(digits, '0').replace(/0+$/, '')}`;
};

function limitParam(p: URLSearchParams): number {
  const v = p.get('limit');
  if (v === null || v === '') return DEFAULT_LIMIT;
  if (!/^[+-]?\d+$/.test(v)) throw bad(`invalid limit: cannot parse "${v.slice(0, 20)}" as an integer`);
  const n = Number(v);
  if (n <= 0) throw bad('limit must be a positive value');
  return n;
}

function directionParam(p: URLSearchParams): 'forward' | 'backward' {
  const v = (p.get('direction') ?? '').toLowerCase();
  if (v === '' || v === 'backward') return 'backward';
  if (v === 'forward') return 'forward';
  throw bad(`invalid direction "${v.slice(0, 20)}": use forward or backward`);
}

const queryParam = (p: URLSearchParams): string => {
  const q = p.get('query');
  if (q === null || q.trim() === '')
    throw bad('query parameter is required: pass the LogQL query as "query"');
  return q;
};

/** query_range's parameters, checked in Loki's order (bounds, limit, direction, step, points). */
export function parseRangeParams(p: URLSearchParams, nowNs: bigint, maxPointsPerSeries: number): LogQLQuery {
  const query = queryParam(p);
  const end = p.get('end');
  const endNs = end === null || end === '' ? nowNs : parseLokiTime(end, 'end');
  const start = p.get('start');
  const sinceText = p.get('since');
  const since = sinceText ? parseLokiStep(sinceText) : DEFAULT_SINCE_NS;
  const startNs = start === null || start === '' ? endNs - since : parseLokiTime(start, 'start');
  if (endNs <= startNs) throw bad('end timestamp must not be before or equal to start time');
  const limit = limitParam(p);
  const direction = directionParam(p);
  const step = p.get('step');
  const stepNs =
    step === null || step === ''
      ? BigInt(Math.max(Math.floor(Number(endNs - startNs) / 1e9 / 250), 1)) * NS_PER_S
      : parseLokiStep(step);
  if (stepNs <= 0n)
    throw bad('zero or negative query resolution step widths are not accepted. Try a positive integer');
  if ((endNs - startNs) / stepNs > BigInt(maxPointsPerSeries))
    throw bad(
      `exceeded maximum resolution of ${maxPointsPerSeries.toLocaleString('en-US')} points per timeseries. Try increasing the value of the step parameter`,
    );
  return { query, startNs, endNs, stepNs, instant: false, limit, direction };
}

export function parseInstantParams(p: URLSearchParams, nowNs: bigint): LogQLQuery {
  const query = queryParam(p);
  const time = p.get('time');
  const t = time === null || time === '' ? nowNs : parseLokiTime(time, 'time');
  return {
    query,
    startNs: t,
    endNs: t,
    stepNs: 0n,
    instant: true,
    limit: limitParam(p),
    direction: directionParam(p),
  };
}

function sendText(res: ServerResponse, status: number, message: string): void {
  const body = `${message}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function sendJson(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** The request asks for categorized labels (Grafana sends this header on every data request). */
export function wantsCategorizedLabels(header: string | string[] | undefined): boolean {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  return text.split(',').some((f) => f.trim() === CATEGORIZE_LABELS);
}

const CATEGORIZE_LABELS = 'categorize-labels';

/** Loki's `stats.summary` (and the querier part Grafana's inspector shows) from what the query counted. */
function statsJson(stats: LogQLStats, execS: number, queueS: number, filesScanned: number) {
  const perSecond = (n: number) => (execS > 0 ? Math.round(n / execS) : 0);
  return {
    summary: {
      bytesProcessedPerSecond: perSecond(stats.bytesProcessed),
      linesProcessedPerSecond: perSecond(stats.linesProcessed),
      totalBytesProcessed: stats.bytesProcessed,
      totalLinesProcessed: stats.linesProcessed,
      execTime: execS,
      queueTime: queueS,
      subqueries: 0,
      totalEntriesReturned: stats.entriesReturned,
      splits: 0,
      shards: 0,
      totalPostFilterLines: stats.entriesReturned,
      totalStructuredMetadataBytesProcessed: 0,
    },
    querier: {
      store: { totalChunksRef: 0, totalChunksDownloaded: filesScanned, chunksDownloadTime: 0 },
    },
  };
}

export interface LokiQueryDeps {
  source: LogSourceDeps;
  config: LokiQueryConfig;
  /** the query concurrency limit shared with SQL search (`query.maxConcurrent`) */
  slots: QuerySlots;
  log: Logger;
}

export function lokiQueryHandlers(deps: LokiQueryDeps) {
  const { config, log } = deps;
  const handle = (instant: boolean) => async (ctx: RequestContext) => {
    const controller = new AbortController();
    const onClose = () => {
      if (!ctx.res.writableEnded) controller.abort();
    };
    ctx.res.once('close', onClose);
    let timer: NodeJS.Timeout | undefined;
    let release: (() => void) | undefined;
    try {
      const p = await readParams(ctx.req, ctx.query);
      const nowNs = BigInt(Date.now()) * NS_PER_MS;
      const q = instant
        ? parseInstantParams(p, nowNs)
        : parseRangeParams(p, nowNs, config.maxPointsPerSeries);
      const lengthNs = q.endNs - q.startNs;
      if (lengthNs > BigInt(config.maxQueryLengthMs) * NS_PER_MS)
        throw bad(
          `the query time range exceeds the limit (query length: ${formatGoDuration(lengthNs)}, limit: ${formatGoDuration(BigInt(config.maxQueryLengthMs) * NS_PER_MS)})`,
        );
      const queued = performance.now();
      release = await deps.slots.acquireSlot();
      const started = performance.now();
      timer = setTimeout(() => controller.abort(queryTimeoutError(config.timeoutMs)), config.timeoutMs);
      const categorizeLabels = wantsCategorizedLabels(ctx.req.headers['x-loki-response-encoding-flags']);
      const source = new StorageLogSource(deps.source, ctx.org!.id, { pushdown: config.pushdown });
      const stats = emptyStats();
      const data = await runLogQL(
        source,
        { ...q, limits: config, signal: controller.signal, categorizeLabels },
        stats,
      );
      const execS = (performance.now() - started) / 1000;
      sendJson(ctx.res, {
        status: 'success',
        data: {
          resultType: data.resultType,
          // Loki echoes the flag for every result type (pkg/util/marshal encodeData)
          ...(categorizeLabels ? { encodingFlags: [CATEGORIZE_LABELS] } : {}),
          result: data.result,
          stats: statsJson(stats, execS, (started - queued) / 1000, source.stats.files_scanned),
        },
      });
    } catch (e) {
      const err =
        controller.signal.aborted && controller.signal.reason instanceof MoleError
          ? controller.signal.reason
          : (storageRegexpError(e) ?? e);
      if (err instanceof MoleError) {
        sendText(ctx.res, err.status, err.message);
      } else {
        log.error({ err }, 'LogQL query failed');
        sendText(ctx.res, 500, 'internal error; see the server log');
      }
    } finally {
      clearTimeout(timer);
      release?.();
      ctx.res.off('close', onClose);
    }
  };
  return { query: handle(true), queryRange: handle(false) };
}
