/**
 * The parameters of `GET /api/v1/web/correlation/{from_kind}/{to_kind}`: the two kinds, the time
 * window (`start`, `end`: RFC 3339 or Unix ns; default the last hour), the selection (`query`,
 * `trace_id`, `stream` + `timestamp`, `service`, `host`) and `limit`. Pure: no storage.
 */
import { badRequest } from '../lib/errors.ts';
import { parseTimeNs } from '../lib/time.ts';
import { checkStreamName } from '../write/streams.ts';

export const KINDS = ['metric', 'trace', 'log', 'host'] as const;
export type Kind = (typeof KINDS)[number];

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 1000;
const NS_PER_S = 1_000_000_000n;
export const DEFAULT_WINDOW_NS = 3600n * NS_PER_S;
/** longest window a request may name (a week, Tempo's max search range) */
export const MAX_WINDOW_NS = 7n * 24n * 3600n * NS_PER_S;

/** What the caller picked as the starting point. */
export type Selection =
  | { by: 'query'; query: string }
  | { by: 'trace_id'; traceId: string }
  | { by: 'log_row'; stream: string; timestampNs: bigint }
  | { by: 'service'; service: string }
  | { by: 'host'; host: string };

export interface CorrelationRequest {
  from: Kind;
  to: Kind;
  selection: Selection;
  /** [startNs, endNs); `explicit` when the caller gave `start` or `end` */
  startNs: bigint;
  endNs: bigint;
  explicitWindow: boolean;
  limit: number;
}

const bad = (message: string) => badRequest(message, 'MS_ERR_CORRELATION_BAD_PARAM');

function kind(name: string, v: string | undefined): Kind {
  if (v !== undefined && (KINDS as readonly string[]).includes(v)) return v as Kind;
  throw bad(`unknown ${name} ${JSON.stringify((v ?? '').slice(0, 40))}: use one of ${KINDS.join(', ')}`);
}

function time(p: URLSearchParams, name: string): bigint | null {
  const v = p.get(name);
  if (v === null || v === '') return null;
  const ns = parseTimeNs(v);
  if (ns === null || ns < 0n)
    throw bad(`invalid ${name} ${JSON.stringify(v.slice(0, 60))}: use an RFC 3339 time or Unix nanoseconds`);
  return ns;
}

function selection(from: Kind, p: URLSearchParams): Selection {
  const get = (k: string) => {
    const v = p.get(k);
    return v === null || v.trim() === '' ? undefined : v.trim();
  };
  const query = get('query');
  const traceId = get('trace_id');
  const stream = get('stream');
  const ts = get('timestamp');
  const service = get('service');
  const host = get('host');
  if (from === 'metric' && query !== undefined) return { by: 'query', query };
  if (from === 'trace' && traceId !== undefined) {
    const id = traceId.toLowerCase();
    if (!/^[0-9a-f]{1,32}$/.test(id))
      throw bad(`invalid trace_id ${JSON.stringify(traceId.slice(0, 40))}: use up to 32 hex digits`);
    return { by: 'trace_id', traceId: id.padStart(32, '0') };
  }
  if (from === 'log' && (stream !== undefined || ts !== undefined)) {
    if (stream === undefined || ts === undefined)
      throw bad('a log row is selected by both stream and timestamp (RFC 3339 or Unix ns)');
    checkStreamName(stream);
    const timestampNs = time(p, 'timestamp')!;
    return { by: 'log_row', stream, timestampNs };
  }
  if (from === 'host' && host !== undefined) return { by: 'host', host };
  if (service !== undefined) return { by: 'service', service };
  if (host !== undefined) return { by: 'host', host };
  const own: Record<Kind, string> = {
    metric: 'query (a PromQL series selector)',
    trace: 'trace_id',
    log: 'stream and timestamp',
    host: 'host',
  };
  throw bad(`no selection: from ${from} needs ${own[from]}, or service or host`);
}

export function parseCorrelationRequest(
  params: { from?: string; to?: string },
  p: URLSearchParams,
  nowNs: bigint,
): CorrelationRequest {
  const from = kind('from kind', params.from);
  const to = kind('to kind', params.to);
  const start = time(p, 'start');
  const end = time(p, 'end');
  const endNs = end ?? (start !== null ? start + DEFAULT_WINDOW_NS : nowNs);
  const startNs = start ?? endNs - DEFAULT_WINDOW_NS;
  if (endNs <= startNs) throw bad(`end must be after start (start=${startNs}, end=${endNs} ns)`);
  if (endNs - startNs > MAX_WINDOW_NS)
    throw bad(`the window from start to end is over ${MAX_WINDOW_NS / NS_PER_S / 3600n}h; narrow it`);
  const rawLimit = p.get('limit');
  let limit = DEFAULT_LIMIT;
  if (rawLimit !== null && rawLimit !== '') {
    limit = Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
      throw bad(
        `invalid limit ${JSON.stringify(rawLimit.slice(0, 20))}: use an integer from 1 to ${MAX_LIMIT}`,
      );
  }
  return {
    from,
    to,
    selection: selection(from, p),
    startNs,
    endNs,
    explicitWindow: start !== null || end !== null,
    limit,
  };
}
