/**
 * Zipkin v2 span ingest: `POST /api/v2/spans` (org from X-Scope-OrgID or the credential) and
 * `POST /api/{org}/zipkin/api/v2/spans`. JSON (`application/json`, format `zipkin-json`) or protobuf
 * (`application/x-protobuf`, format `zipkin-proto`), optionally gzip/deflate. Answers 202 with an
 * empty body, as a Zipkin server does. Stream: `stream-name` header, else `default`.
 */
import { MoleError } from '../../lib/errors.ts';
import { headerOf } from '../../server/http-server.ts';
import type { RequestContext } from '../../server/router.ts';
import type { ColumnBatch } from '../../write/column-batch.ts';
import { checkStreamName } from '../../write/streams.ts';
import type { IngestPayload, WireFormat } from '../../write/wal-payload.ts';
import type { WritePath } from '../../write/write-path.ts';
import { readIngestPayload } from '../ingest-request.ts';
import type { IngestConfig } from '../otlp/types.ts';
import { decodeZipkinJson } from './parse-json.ts';
import { decodeZipkinProto } from './parse-proto.ts';

const utf8 = new TextDecoder();

/** The one decoder of both Zipkin formats, for ingest and WAL replay. */
export function decodeZipkin(p: IngestPayload): ColumnBatch {
  return p.format === 'zipkin-proto'
    ? decodeZipkinProto(p.body, p.nowNs)
    : decodeZipkinJson(utf8.decode(p.body), p.nowNs);
}

function formatOf(contentType: string | undefined): WireFormat {
  const ct = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (ct === 'application/json' || ct === '') return 'zipkin-json';
  if (ct === 'application/x-protobuf' || ct === 'application/protobuf') return 'zipkin-proto';
  throw new MoleError(
    `Content-Type "${ct.slice(0, 60)}" is not Zipkin v2: use application/json or application/x-protobuf`,
    { code: 'MS_ERR_UNSUPPORTED_MEDIA_TYPE', status: 415, reason: 'bad_request' },
  );
}

export function zipkinHandler(deps: { writePath: WritePath; config: IngestConfig }) {
  return async (ctx: RequestContext): Promise<void> => {
    const { req, res } = ctx;
    const format = formatOf(headerOf(req, 'content-type'));
    const stream = checkStreamName(headerOf(req, 'stream-name') ?? 'default');
    const payload = await readIngestPayload(ctx, deps.config, { signal: 'traces', stream, format });
    await deps.writePath.write(payload, decodeZipkin(payload));
    res.writeHead(202, { 'content-length': 0 });
    res.end();
  };
}
