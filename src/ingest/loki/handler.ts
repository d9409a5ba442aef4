/**
 * Loki push (`POST /loki/api/v1/push`, `/api/{org}/loki/api/v1/push`): JSON when the Content-Type
 * is application/json, otherwise snappy-compressed protobuf, as Loki decides
 * (pkg/loghttp/push/push.go). The protobuf body is snappy by definition of the protocol, so it
 * needs no Content-Encoding header (winston-loki sends none); a Content-Encoding (gzip, zstd…)
 * is undone first, and `Content-Encoding: snappy` is not applied twice. Answers 204 like Loki.
 */
import { snappyDecompress } from '../../lib/snappy.ts';
import { headerOf } from '../../server/http-server.ts';
import type { RequestContext } from '../../server/router.ts';
import type { IngestPayload } from '../../write/wal-payload.ts';
import { readIngestRequest } from '../ingest-request.ts';
import { streamOf, writeLogParts, type LogIngestDeps } from '../log-ingest.ts';
import { decodeLokiJson } from './parse-json.ts';
import { decodeLokiProto } from './parse-proto.ts';

export function lokiPushHandler(deps: LogIngestDeps) {
  return async (ctx: RequestContext): Promise<void> => {
    const ct = (headerOf(ctx.req, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const format = ct === 'application/json' ? 'loki-json' : 'loki-proto';
    const request = await readIngestRequest(ctx.req, deps.config);
    const encoding = (headerOf(ctx.req, 'content-encoding') ?? '').trim().toLowerCase();
    const body =
      format === 'loki-proto' && encoding !== 'snappy'
        ? snappyDecompress(request.body, deps.config.maxDecodedBytes)
        : request.body;
    const payload: IngestPayload = {
      org: ctx.org!.id,
      signal: 'logs',
      stream: streamOf(ctx.req),
      format,
      ...request,
      body,
    };
    const batch = format === 'loki-json' ? decodeLokiJson(payload) : decodeLokiProto(payload);
    await writeLogParts(deps, [{ payload, batch }]);
    ctx.res.writeHead(204);
    ctx.res.end();
  };
}
