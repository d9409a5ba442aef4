/**
 * `POST /api/{org}/{stream}/_json` (a JSON array of objects) and `/_multi` (NDJSON): our own
 * plain-JSON log APIs, as OpenObserve has them. Answers 200 `{"code":200,"status":[{"name":
 * stream,"successful":n,"failed":0}]}`.
 */
import { sendJson } from '../../server/http-server.ts';
import type { RequestContext } from '../../server/router.ts';
import { checkStreamName } from '../../write/streams.ts';
import type { IngestPayload } from '../../write/wal-payload.ts';
import { readIngestRequest } from '../ingest-request.ts';
import { streamOf, writeLogParts, type LogIngestDeps } from '../log-ingest.ts';
import { decodeJsonArray, decodeNdjson } from './parse.ts';

export function jsonDocsHandler(format: 'json-array' | 'ndjson', deps: LogIngestDeps) {
  const decode = format === 'json-array' ? decodeJsonArray : decodeNdjson;
  return async (ctx: RequestContext): Promise<void> => {
    const stream = streamOf(ctx.req, checkStreamName(ctx.params.stream ?? ''));
    const payload: IngestPayload = {
      org: ctx.org!.id,
      signal: 'logs',
      stream,
      format,
      ...(await readIngestRequest(ctx.req, deps.config)),
    };
    const batch = decode(payload);
    const rows = await writeLogParts(deps, [{ payload, batch }]);
    sendJson(ctx.res, 200, { code: 200, status: [{ name: stream, successful: rows, failed: 0 }] });
  };
}
