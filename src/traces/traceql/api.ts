/**
 * Tempo's `GET /api/search`: TraceQL (`q`) and legacy tag search (`tags`, `minDuration`,
 * `maxDuration`) over the org's traces streams. The time range is read through the span reader
 * (spans starting in it, their traces whole; for a simple TraceQL spanset only the traces with a
 * span satisfying its necessary condition, pushdown.ts); traces are then matched in memory
 * (eval.ts). Errors
 * are Tempo's: status and plain text (`invalid TraceQL query: parse error at …`).
 */
import { badRequest } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { loki, sendJson } from '../../logql/api/params.ts';
import type { QuerySlots } from '../../logql/api/query.ts';
import type { RequestContext } from '../../server/router.ts';
import type { OrgId } from '../../tenancy/org-id.ts';
import type { SpanReader } from '../span-reader.ts';
import type { TraceSearchMetadata } from './search.ts';
import { pushdownWhere } from './pushdown.ts';
import { parseSearchRequest, runSearch, SearchParamError, type SearchRequest } from './search-request.ts';

const NS = 1_000_000_000n;
/**
 * A trace overlaps [start, end] when any of its spans does; spans are read by start time, so the
 * read starts this much earlier (a span that began before `start` and runs into the range) and
 * takes each candidate trace whole within this window.
 */
export const TRACE_SLACK_NS = 3600n * NS;
/** no `start`/`end`: Tempo searches recent data only; we search this far back */
const DEFAULT_LOOKBACK_NS = 3600n * NS;
/** `query.traceSearchMaxSpans`' default, for callers without a configuration */
const DEFAULT_MAX_SPANS = 300_000;

/**
 * One search as `/api/search` runs it (the window defaulting to the last hour): the traces with a
 * span starting in the window, read whole, then matched (correlation runs its TraceQL here too).
 */
export async function searchTraces(
  deps: { reader: SpanReader; slots: QuerySlots; maxSpans?: number },
  org: OrgId,
  req: SearchRequest,
): Promise<{ found: TraceSearchMetadata[]; inspected: number }> {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const endNs = req.end !== undefined ? BigInt(req.end) * NS + NS : nowNs;
  const startNs = req.start !== undefined ? BigInt(req.start) * NS : endNs - DEFAULT_LOOKBACK_NS;
  const maxSpans = deps.maxSpans ?? DEFAULT_MAX_SPANS;
  const release = await deps.slots.acquireSlot();
  let traces;
  try {
    const readStart = startNs - TRACE_SLACK_NS;
    // a necessary condition of the query in SQL: only the traces with a span satisfying it are
    // read (and counted against the limit); otherwise every span of the window
    const where = req.kind === 'traceql' ? pushdownWhere(req.query!) : undefined;
    const wide = { startNs: readStart - TRACE_SLACK_NS, endNs: endNs + TRACE_SLACK_NS };
    const inWindow = `_timestamp >= ${readStart} AND _timestamp < ${endNs}`;
    const counts = await deps.reader.scan(
      org,
      where ? wide : { startNs: readStart, endNs },
      async (view, rows, sql) => {
        const cond = where ? where(view) : 'TRUE';
        if (cond === null) return 0;
        const q = where
          ? `SELECT count(*) AS n FROM (${rows(inWindow)}) WHERE trace_id IN (SELECT trace_id FROM (${rows(cond)}))`
          : `SELECT count(*) AS n FROM (${rows('TRUE')})`;
        return Number((await sql(q))[0]?.n ?? 0);
      },
    );
    const spans = counts.reduce((a, b) => a + b, 0);
    if (spans > maxSpans)
      throw badRequest(
        `the search window holds ${spans} spans, more than query.traceSearchMaxSpans (${maxSpans}) a search may read: narrow start/end`,
        'MS_ERR_TRACE_SEARCH_TOO_WIDE',
      );
    if (where) {
      // the traces with a span in the window, read whole within TRACE_SLACK_NS of it (as below),
      // of which one span anywhere there satisfies the condition
      traces = (await deps.reader.readSpans(org, { startNs: wide.startNs, endNs: wide.endNs, where })).filter(
        (t) => t.spans.some((s) => s.startNs >= readStart && s.startNs < endNs),
      );
    } else {
      traces = await deps.reader.readSpans(org, {
        startNs: readStart,
        endNs,
        traceWindowNs: TRACE_SLACK_NS,
      });
    }
  } finally {
    release();
  }
  return {
    found: runSearch(
      { ...req, start: req.start ?? Number(startNs / NS), end: req.end ?? Number(endNs / NS) },
      traces.map((t) => t.spans),
    ),
    inspected: traces.length,
  };
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
    const { found, inspected } = await searchTraces(deps, ctx.org!.id, req);
    sendJson(ctx.res, 200, {
      traces: found,
      metrics: { inspectedTraces: inspected, completedJobs: 1, totalJobs: 1 },
    });
  }, deps.log);
}
