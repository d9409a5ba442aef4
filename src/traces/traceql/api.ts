/**
 * Tempo's `GET /api/search`: TraceQL (`q`) and legacy tag search (`tags`, `minDuration`,
 * `maxDuration`) over the org's traces streams.
 *
 * A search runs in chunks, in Tempo's block order (ascending trace id), and stops at `limit`
 * matches: SQL lists the candidate trace ids with their span counts (the traces with a span
 * starting in the window that satisfy the query's necessary condition, pushdown.ts), a page at a
 * time; a chunk of candidates (at most `query.traceSearchMaxSpans` spans) is read whole through the
 * span reader and matched in memory (eval.ts). Memory is bounded by a chunk for any window; time by
 * `query.timeoutMs`. Errors are Tempo's: status and plain text (`invalid TraceQL query: parse error
 * at …`).
 */
import { badRequest, MoleError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { loki, sendJson } from '../../logql/api/params.ts';
import type { QuerySlots } from '../../logql/api/query.ts';
import type { RequestContext } from '../../server/router.ts';
import type { OrgId } from '../../tenancy/org-id.ts';
import type { Candidate, ColumnPicker, SpanReader, SpanStreamView, TraceSpans } from '../span-reader.ts';
import { needColumns, searchNeeds } from './projection.ts';
import { newestFirst, type TraceSearchMetadata } from './search.ts';
import { traceCondition, traceCondSql } from './pushdown.ts';
import {
  parseSearchRequest,
  requestMatcher,
  SearchParamError,
  type SearchRequest,
} from './search-request.ts';

const NS = 1_000_000_000n;
/**
 * A trace overlaps [start, end] when any of its spans does; spans are listed by start time, so the
 * window starts this much earlier (a trace that began before `start` and runs into the range) and
 * each candidate trace is read whole within this much more on both sides; a trace whose root span
 * is not there is read again without a time bound (its spans may have started long before).
 */
export const TRACE_SLACK_NS = 3600n * NS;
/** no `start`/`end`: Tempo searches recent data only; we search this far back */
const DEFAULT_LOOKBACK_NS = 3600n * NS;
/** `query.traceSearchMaxSpans`' default, for callers without a configuration */
export const DEFAULT_MAX_SPANS = 300_000;
/** candidate trace ids listed per SQL page */
const ID_PAGE = 10_000;
/** each chunk takes this many times more traces than the last (the first: `limit`) */
const CHUNK_GROWTH = 4;

export interface SearchOutcome {
  /** newest first */
  found: TraceSearchMetadata[];
  /** traces read and matched */
  inspectedTraces: number;
  /** spans read */
  inspectedSpans: number;
}

/** Candidate trace ids in ascending order, a SQL page at a time. */
export class CandidatePages {
  private page: Candidate[] = [];
  private at = 0;
  private done = false;
  private after: string | undefined;
  /** `next(after)`: at most `pageSize` candidates after that trace id, ascending */
  constructor(
    private readonly next: (after: string | undefined) => Promise<Candidate[]>,
    private readonly pageSize = ID_PAGE,
  ) {}

  /** the next candidate, or undefined when there is none */
  async peek(): Promise<Candidate | undefined> {
    if (this.at < this.page.length) return this.page[this.at];
    if (this.done) return undefined;
    this.page = await this.next(this.after);
    this.at = 0;
    if (this.page.length < this.pageSize) this.done = true;
    this.after = this.page[this.page.length - 1]?.traceId;
    return this.page[0];
  }

  take(): void {
    this.at++;
  }

  /** a list known in full, as pages */
  static of(list: Candidate[]): CandidatePages {
    return new CandidatePages(async () => list, Infinity);
  }
}

/**
 * The next chunk of candidates to read: at most `maxTraces` traces and `maxSpans` spans (counted
 * in the search window); [] when none is left. A trace alone over `maxSpans` is a 400.
 */
export async function nextChunk(
  pages: CandidatePages,
  maxTraces: number,
  maxSpans: number,
): Promise<string[]> {
  const ids: string[] = [];
  let spans = 0;
  for (let c = await pages.peek(); c && ids.length < maxTraces; c = await pages.peek()) {
    if (c.spans > maxSpans)
      throw badRequest(
        `trace ${c.traceId} has ${c.spans} spans in the search window, more than query.traceSearchMaxSpans (${maxSpans}) a search holds in memory at once: narrow start/end or raise the limit`,
        'MS_ERR_TRACE_SEARCH_TOO_WIDE',
      );
    if (spans + c.spans > maxSpans) break;
    ids.push(c.traceId);
    spans += c.spans;
    pages.take();
  }
  return ids;
}

/**
 * One search as `/api/search` runs it (the window defaulting to the last hour): the first `limit`
 * traces in trace-id order that overlap the window and match, newest first (correlation runs its
 * TraceQL here too).
 */
export async function searchTraces(
  deps: { reader: SpanReader; slots: QuerySlots; maxSpans?: number },
  org: OrgId,
  req: SearchRequest,
): Promise<SearchOutcome> {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const endNs = req.end !== undefined ? BigInt(req.end) * NS + NS : nowNs;
  const startNs = req.start !== undefined ? BigInt(req.start) * NS : endNs - DEFAULT_LOOKBACK_NS;
  const maxSpans = deps.maxSpans ?? DEFAULT_MAX_SPANS;
  const { reader } = deps;
  const match = requestMatcher({
    ...req,
    start: req.start ?? Number(startNs / NS),
    end: req.end ?? Number(endNs / NS),
  });
  // the traces with a span starting here are candidates; they are read whole within `wide`
  const window = { startNs: startNs - TRACE_SLACK_NS, endNs };
  const wide = { startNs: window.startNs - TRACE_SLACK_NS, endNs: endNs + TRACE_SLACK_NS };
  const tc = req.kind === 'traceql' ? traceCondition(req.query!) : undefined;
  const needs = searchNeeds(req);
  const columns = (v: SpanStreamView) => needColumns(needs, v);
  const pages = new CandidatePages((after) =>
    reader.candidateTraces(org, {
      ...window,
      condRange: wide,
      ...(tc ? { traceCond: (anySpan) => traceCondSql(tc, anySpan) } : {}),
      ...(after !== undefined ? { after } : {}),
      limit: ID_PAGE,
    }),
  );
  const out: SearchOutcome = { found: [], inspectedTraces: 0, inspectedSpans: 0 };
  const release = await deps.slots.acquireSlot();
  const deadline = reader.timeoutMs > 0 ? Date.now() + reader.timeoutMs : Infinity;
  try {
    let chunkTraces = req.limit;
    while (out.found.length < req.limit) {
      const ids = await nextChunk(pages, chunkTraces, maxSpans);
      if (ids.length === 0) break;
      chunkTraces *= CHUNK_GROWTH;
      for (const t of await readWhole(reader, org, ids, wide, columns)) {
        out.inspectedTraces++;
        out.inspectedSpans += t.spans.length;
        const m = match(t.spans);
        if (m && out.found.push(m) >= req.limit) break;
      }
      if (out.found.length < req.limit && Date.now() > deadline)
        throw new MoleError(
          `the trace search took longer than query.timeoutMs (${reader.timeoutMs} ms) and was stopped after ${out.inspectedTraces} traces: narrow start/end or the query`,
          { code: 'MS_ERR_QUERY_TIMEOUT', status: 504, reason: 'query_timeout' },
        );
    }
  } finally {
    release();
  }
  out.found.sort(newestFirst);
  return out;
}

/**
 * The spans of these traces within `range`, and those of a trace whose root span is not among
 * them without a time bound (a long trace may have started before the range).
 */
async function readWhole(
  reader: SpanReader,
  org: OrgId,
  ids: string[],
  range: { startNs: bigint; endNs: bigint },
  columns: ColumnPicker,
): Promise<TraceSpans[]> {
  const traces = await reader.readTraceIds(org, ids, range, { columns });
  const rootless = traces.filter((t) => !t.spans.some((s) => s.parentSpanId === '')).map((t) => t.traceId);
  if (rootless.length === 0) return traces;
  const again = new Map(
    (await reader.readTraceIds(org, rootless, {}, { columns })).map((t) => [t.traceId, t]),
  );
  return traces.map((t) => again.get(t.traceId) ?? t);
}

export function traceSearchHandler(deps: {
  reader: SpanReader;
  slots: QuerySlots;
  log: Logger;
  maxSpans?: number;
}) {
  return loki(async (ctx: RequestContext) => {
    let req: SearchRequest;
    try {
      req = parseSearchRequest(ctx.query);
    } catch (e) {
      if (e instanceof SearchParamError) throw badRequest(e.message);
      throw e;
    }
    const { found, inspectedTraces, inspectedSpans } = await searchTraces(deps, ctx.org!.id, req);
    sendJson(ctx.res, 200, {
      traces: found,
      metrics: { inspectedTraces, inspectedSpans, completedJobs: 1, totalJobs: 1 },
    });
  }, deps.log);
}
