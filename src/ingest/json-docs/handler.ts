/**
 * `POST /api/{org}/{stream}/_json` (a JSON array of objects) and `/_multi` (NDJSON): our own
 * plain-JSON log APIs, as OpenObserve has them. Answers 200 `{"code":200,"status":[{"name":
 * stream,"successful":n,"failed":0}]}`.
 */
import { sendJson } from '../../server/http-server.ts';
import type { RequestContext } from '../../server/router.ts';
import { checkStreamName } from '../../write/streams.ts';
import { readIngestPayload } from '../ingest-request.ts';
import { streamOf, writeLogParts, type LogIngestDeps } from '../log-ingest.ts';
import { decodeJsonArray, decodeNdjson } from './parse.ts';

export function jsonDocsHandler(format: 'json-array' | 'ndjson', deps: LogIngestDeps) {
  const decode = format === 'json-array' ? decodeJsonArray : decodeNdjson;
  return async (ctx: RequestContext): Promise<void> => {
    const stream = streamOf(ctx.req, checkStreamName(ctx.params.stream ?? ''));
    const payload = await readIngestPayload(ctx, deps.config, { signal: 'logs', stream, format });
    const batch = decode(payload);
    const rows = await writeLogParts(deps, [{ payload, batch }]);
    sendJson(ctx.res, 200, { code: 200, status: [{ name: stream, successful: rows, failed: 0 }] });
  };
}
