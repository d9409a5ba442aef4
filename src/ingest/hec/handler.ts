/**
 * Splunk HTTP Event Collector routes: `/services/collector`, `/services/collector/event`,
 * `/services/collector/event/1.0`, `/api/{org}/_hec` (events), `/services/collector/raw` (lines)
 * and `/services/collector/health`. Authenticated by `Authorization: Splunk <api key>` (or
 * Basic/Bearer); the API key's org is the org. Any Content-Type is read as the body it is
 * (splunk-logging labels its JSON application/x-www-form-urlencoded). Answers
 * `{"text":"Success","code":0}`; errors in HEC's `{"text","code"}` shape (http-errors.ts).
 *
 * The stream: the `stream-name` header, else each event's `index` (as a stream name, see
 * indexToStream), else `default`. A request whose events name several indexes is written as one
 * WAL record per stream, each holding that stream's events, so replay decodes each alone.
 */
import { sendJson } from '../../server/http-server.ts';
import { headerOf } from '../../server/http-server.ts';
import type { RequestContext } from '../../server/router.ts';
import { readIngestRequest, readIngestPayload } from '../ingest-request.ts';
import { indexToStream, partsByStream, streamOf, writeLogParts, type LogIngestDeps } from '../log-ingest.ts';
import { decodeHecRaw, hecEventRows, parseHecEvents } from './parse.ts';

const SUCCESS = { text: 'Success', code: 0 };

export function hecEventHandler(deps: LogIngestDeps) {
  return async (ctx: RequestContext): Promise<void> => {
    const request = await readIngestRequest(ctx.req, deps.config);
    const events = parseHecEvents(request.body);
    const header = headerOf(ctx.req, 'stream-name');
    const parts = partsByStream(
      { org: ctx.org!.id, signal: 'logs', format: 'hec-event', ...request },
      events,
      (ev) => (header ? streamOf(ctx.req) : indexToStream(ev.index ?? '')),
      (list) => hecEventRows(list, request.nowNs),
    );
    await writeLogParts(deps, parts);
    sendJson(ctx.res, 200, SUCCESS);
  };
}

const RAW_PARAMS = ['host', 'source', 'sourcetype', 'time'] as const;

export function hecRawHandler(deps: LogIngestDeps) {
  return async (ctx: RequestContext): Promise<void> => {
    const params: Record<string, string> = {};
    for (const k of RAW_PARAMS) {
      const v = ctx.query.get(k);
      if (v !== null && v !== '') params[k] = v;
    }
    const index = ctx.query.get('index');
    const payload = await readIngestPayload(ctx, deps.config, {
      signal: 'logs',
      stream: streamOf(ctx.req, index ? indexToStream(index) : undefined),
      format: 'hec-raw',
      params,
    });
    await writeLogParts(deps, [{ payload, batch: decodeHecRaw(payload) }]);
    sendJson(ctx.res, 200, SUCCESS);
  };
}

export function hecHealthHandler(isReady: () => boolean) {
  return async (ctx: RequestContext): Promise<void> => {
    if (isReady()) sendJson(ctx.res, 200, { text: 'HEC is healthy', code: 17 });
    else sendJson(ctx.res, 503, { text: 'HEC is unhealthy, queues are full', code: 18 });
  };
}
