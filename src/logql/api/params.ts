/**
 * Request parameters of the Loki HTTP API (pkg/loghttp/params.go): times as Unix nanoseconds,
 * Unix seconds (≤ 10 digits, or with a fraction) or RFC 3339; durations as Go durations or float
 * seconds; `query` as a LogQL query (its stream selector and pipeline). Errors are answered as Loki does: status and the
 * message as plain text.
 */
import type { ServerResponse } from 'node:http';
import { MoleError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { parseTimeNs } from '../../lib/time.ts';
import { readParams } from '../../promql/api/params.ts';
import type { RequestContext } from '../../server/router.ts';
import type { Expr, LogSelectorExpr, Matcher, PipelineStage } from '../ast.ts';
import { parseLogQL } from '../parser/index.ts';

export { readParams };

export const badParam = (message: string) =>
  new MoleError(message, { code: 'MS_ERR_LOKI_BAD_PARAM', status: 400, reason: 'bad_request' });

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;

/** Loki's parseTimestamp: float seconds with a dot, ≤ 10 digits seconds, more digits ns, RFC 3339. */
export function parseLokiTime(value: string, name: string): bigint {
  const s = value.trim();
  if (s.includes('.') && /^[+-]?\d*\.\d*$/.test(s) && s !== '.') {
    const [int = '0', frac = ''] = s.replace(/^\+/, '').split('.');
    const neg = int.startsWith('-');
    // Loki rounds the fraction to milliseconds
    const ms = BigInt(Math.round(Number(`0.${frac || '0'}`) * 1000));
    const secs = BigInt(int === '' || int === '-' ? '0' : int);
    return neg ? secs * NS_PER_S - ms * NS_PER_MS : secs * NS_PER_S + ms * NS_PER_MS;
  }
  if (/^[+-]?\d+$/.test(s)) {
    const n = BigInt(s);
    return s.replace(/^[+-]/, '').length <= 10 ? n * NS_PER_S : n;
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(s)) {
    const ns = parseTimeNs(s);
    if (ns !== null) return ns;
  }
  throw badParam(
    `invalid ${name} time: cannot parse "${s.slice(0, 60)}": use Unix nanoseconds, Unix seconds or RFC 3339`,
  );
}

/** Go duration (`1h30m`, `500ms`) or float seconds → nanoseconds. */
export function parseLokiDuration(value: string, name: string): bigint {
  const s = value.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return BigInt(Math.round(Number(s) * 1e9));
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * units[m[2]!]!;
    matched = re.lastIndex;
  }
  if (s === '' || matched !== s.length) {
    throw badParam(`invalid ${name}: cannot parse "${s.slice(0, 60)}" to a valid duration`);
  }
  return BigInt(Math.round(total));
}

export interface TimeRange {
  startNs: bigint;
  endNs: bigint;
}

const DEFAULT_SINCE_NS = 3600n * NS_PER_S;

/**
 * `start`/`end`/`since` as Loki's metadata endpoints read them: end defaults to now, start to
 * end − since (default 1 h). Loki treats `end` as inclusive; the range returned is half-open
 * [startNs, endNs) with endNs = end + 1 ns.
 */
export function timeRange(p: URLSearchParams): TimeRange {
  const endText = p.get('end');
  const end = endText ? parseLokiTime(endText, 'end') : BigInt(Date.now()) * NS_PER_MS;
  const sinceText = p.get('since');
  const since = sinceText ? parseLokiDuration(sinceText, 'since') : DEFAULT_SINCE_NS;
  const startText = p.get('start');
  const start = startText ? parseLokiTime(startText, 'start') : end - since;
  if (end < start) throw badParam('end timestamp must not be before or equal to start time');
  return { startNs: start, endNs: end + 1n };
}

export interface SelectorQuery {
  matchers: Matcher[];
  /** the pipeline after the selector (empty for a metric query's selector) */
  pipeline: PipelineStage[];
}

/** The first log selector of an expression (a metric query's innermost one). */
function firstSelector(e: Expr): LogSelectorExpr | null {
  switch (e.type) {
    case 'LogSelector':
      return e;
    case 'RangeAggregation':
      return e.selector;
    case 'VectorAggregation':
    case 'LabelReplace':
      return firstSelector(e.expr);
    case 'BinaryOp':
      return firstSelector(e.lhs) ?? firstSelector(e.rhs);
    case 'Literal':
    case 'Vector':
      return null;
  }
}

/** A LogQL query's stream selector and pipeline; parse errors are Loki's (400, with position). */
export function parseSelector(text: string, name = 'query'): SelectorQuery {
  const sel = firstSelector(parseLogQL(text));
  if (!sel) throw badParam(`invalid ${name}: ${JSON.stringify(text.slice(0, 80))} has no stream selector`);
  return { matchers: sel.matchers, pipeline: sel.pipeline };
}

/** `query` when present and not blank, else null. */
export function optionalSelector(p: URLSearchParams, name = 'query'): SelectorQuery | null {
  const q = p.get(name);
  return q === null || q.trim() === '' ? null : parseSelector(q, name);
}

export function requiredSelector(p: URLSearchParams, name = 'query'): SelectorQuery {
  const q = p.get(name);
  if (q === null || q.trim() === '')
    throw badParam(`missing ${name} parameter: give a stream selector such as {job="api"}`);
  return parseSelector(q, name);
}

/** A positive integer parameter, `dflt` when absent. */
export function intParam(p: URLSearchParams, name: string, dflt: number): number {
  const v = p.get(name);
  if (v === null || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw badParam(`invalid ${name}: must be a positive integer, got "${v.slice(0, 20)}"`);
  return n;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Runs a handler and answers errors as Loki does: the status and the message as plain text. */
export function loki(handler: (ctx: RequestContext) => Promise<void>, log: Logger) {
  return async (ctx: RequestContext): Promise<void> => {
    try {
      await handler(ctx);
    } catch (e) {
      if (ctx.res.headersSent || ctx.upgrade) throw e;
      const err = e instanceof MoleError ? e : null;
      if (!err) log.error({ err: e }, 'Loki API request failed');
      const text = `${err ? err.message : 'internal error; see the server log'}\n`;
      ctx.res.writeHead(err ? err.status : 500, {
        'content-type': 'text/plain; charset=utf-8',
        'content-length': Buffer.byteLength(text),
      });
      ctx.res.end(text);
    }
  };
}
