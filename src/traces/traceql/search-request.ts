/**
 * The parameters of Tempo's `GET /api/search` (q, tags, minDuration, maxDuration, limit, spss,
 * start, end), checked with Tempo's error texts, and the answer over a set of traces.
 */
import type { Query } from './ast.ts';
import { durationNs, TraceQLError } from './lexer.ts';
import { parseTraceQL } from './parser.ts';
import { legacyMatcher, traceQLMatcher, type TraceMatcher } from './search.ts';

export const DEFAULT_LIMIT = 20;
export const DEFAULT_SPSS = 3;
/** Tempo's query frontend default max_duration */
export const MAX_RANGE_S = 168 * 3600;

export class SearchParamError extends Error {}

export interface SearchRequest {
  kind: 'traceql' | 'legacy';
  query?: Query;
  tags: [string, string][];
  minDurationMs: number;
  maxDurationMs: number;
  limit: number;
  spss: number;
  /** seconds; absent: no bound */
  start?: number;
  end?: number;
}

const positiveInt = (name: string, v: string | null, dflt: number): number => {
  if (v === null || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new SearchParamError(`invalid ${name}: must be a positive number`);
  return n;
};

function seconds(name: string, v: string | null): number | undefined {
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n))
    throw new SearchParamError(
      `invalid ${name}: strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`,
    );
  return Math.trunc(n);
}

/** a Go duration (`1s`, `500ms`, `1h30m`) in ms */
function goDurationMs(name: string, v: string | null): number {
  if (v === null || v === '') return 0;
  if (!/^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/.test(v))
    throw new SearchParamError(`invalid ${name}: time: invalid duration ${JSON.stringify(v)}`);
  return Math.trunc(durationNs(v) / 1e6);
}

/** logfmt `k=v k2="v 2"` (Tempo's `tags`) */
export function parseLogfmt(s: string): [string, string][] {
  const out: [string, string][] = [];
  let i = 0;
  while (i < s.length) {
    while (s[i] === ' ' || s[i] === '\t') i++;
    if (i >= s.length) break;
    let k = '';
    while (i < s.length && s[i] !== '=' && s[i] !== ' ') k += s[i++];
    let v = '';
    if (s[i] === '=') {
      i++;
      if (s[i] === '"') {
        i++;
        let closed = false;
        while (i < s.length) {
          const c = s[i++]!;
          if (c === '\\' && i < s.length) v += s[i++];
          else if (c === '"') {
            closed = true;
            break;
          } else v += c;
        }
        if (!closed)
          throw new SearchParamError(`invalid tags: unterminated quoted value at pos ${s.length + 1}`);
      } else while (i < s.length && s[i] !== ' ') v += s[i++];
    }
    if (k === '') throw new SearchParamError(`invalid tags: unexpected '=' at pos ${i}`);
    out.push([k, v]);
  }
  return out;
}

export function parseSearchRequest(p: URLSearchParams): SearchRequest {
  const start = seconds('start', p.get('start'));
  const end = seconds('end', p.get('end'));
  if (start !== undefined && end !== undefined) {
    if (start > end)
      throw new SearchParamError(
        `http parameter start must be before end. received start=${start} end=${end}`,
      );
    if (end - start > MAX_RANGE_S)
      throw new SearchParamError(
        `range specified by start and end exceeds 168h0m0s. received start=${start} end=${end}`,
      );
  }
  const limit = positiveInt('limit', p.get('limit'), DEFAULT_LIMIT);
  const spss = positiveInt('spss', p.get('spss'), DEFAULT_SPSS);
  const q = p.get('q') ?? '';
  const base = {
    limit,
    spss,
    ...(start !== undefined ? { start } : {}),
    ...(end !== undefined ? { end } : {}),
  };
  if (q.trim() !== '') {
    let query: Query;
    try {
      query = parseTraceQL(q);
    } catch (e) {
      if (e instanceof TraceQLError) throw new SearchParamError(`invalid TraceQL query: ${e.message}`);
      throw e;
    }
    return { kind: 'traceql', query, tags: [], minDurationMs: 0, maxDurationMs: 0, ...base };
  }
  const tags = parseLogfmt(p.get('tags') ?? '');
  const minDurationMs = goDurationMs('minDuration', p.get('minDuration'));
  const maxDurationMs = goDurationMs('maxDuration', p.get('maxDuration'));
  if (maxDurationMs > 0 && minDurationMs > maxDurationMs)
    throw new SearchParamError('invalid maxDuration: must be greater than minDuration');
  return { kind: 'legacy', tags, minDurationMs, maxDurationMs, ...base };
}

/** How one trace answers the request (undefined: not a match). */
export function requestMatcher(req: SearchRequest): TraceMatcher {
  const o = {
    limit: req.limit,
    spss: req.spss,
    ...(req.start !== undefined ? { startNs: BigInt(req.start) * 1_000_000_000n } : {}),
    ...(req.end !== undefined ? { endNs: BigInt(req.end) * 1_000_000_000n } : {}),
  };
  return req.kind === 'traceql'
    ? traceQLMatcher(req.query!, o)
    : legacyMatcher({
        ...o,
        tags: req.tags,
        minDurationMs: req.minDurationMs,
        maxDurationMs: req.maxDurationMs,
      });
}
