/**
 * Jaeger ingest, three ways (the mapping is jaeger-span.ts):
 * - HTTP `POST /api/traces` (org from X-Scope-OrgID or the credential) and
 *   `POST /api/{org}/jaeger/api/traces`: a binary-Thrift `Batch`, `Content-Type:
 *   application/x-thrift` (format `jaeger-thrift-binary`), as jaeger-client's HTTP sender and the
 *   Jaeger collector's port 14268 speak it. Answers 202, as the Jaeger collector does.
 * - gRPC `jaeger.api_v2.CollectorService/PostSpans` on the gRPC port (format `jaeger-proto`).
 * - UDP agent datagrams (udp.ts): formats `jaeger-thrift-compact`, and `jaeger-thrift-binary`
 *   with params `{envelope: "agent"}`.
 * Stream: `stream-name` header/metadata, else `default`.
 */
import { MoleError } from '../../lib/errors.ts';
import type { GrpcIngestMethod } from '../../server/grpc-server.ts';
import { headerOf } from '../../server/http-server.ts';
import type { RequestContext } from '../../server/router.ts';
import type { ColumnBatch } from '../../write/column-batch.ts';
import { checkStreamName } from '../../write/streams.ts';
import type { IngestPayload } from '../../write/wal-payload.ts';
import type { WritePath } from '../../write/write-path.ts';
import { readIngestPayload } from '../ingest-request.ts';
import { grpcPayload } from '../otlp-grpc/methods.ts';
import type { IngestConfig } from '../otlp/types.ts';
import { decodeJaegerProto } from './parse-proto.ts';
import { decodeJaegerAgentMessage, decodeJaegerThriftBatch } from './parse-thrift.ts';

export const JAEGER_POST_SPANS = '/jaeger.api_v2.CollectorService/PostSpans';

/** The one decoder of the Jaeger formats, for ingest and WAL replay. */
export function decodeJaeger(p: IngestPayload): ColumnBatch {
  if (p.format === 'jaeger-proto') return decodeJaegerProto(p.body);
  if (p.format === 'jaeger-thrift-compact') return decodeJaegerAgentMessage(p.body, true);
  return p.params?.envelope === 'agent'
    ? decodeJaegerAgentMessage(p.body, false)
    : decodeJaegerThriftBatch(p.body);
}

const THRIFT_TYPES = new Set(['application/x-thrift', 'application/vnd.apache.thrift.binary']);

export function jaegerThriftHandler(deps: { writePath: WritePath; config: IngestConfig }) {
  return async (ctx: RequestContext): Promise<void> => {
    const { req, res } = ctx;
    const ct = (headerOf(req, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!THRIFT_TYPES.has(ct)) {
      throw new MoleError(
        `Content-Type "${ct.slice(0, 60)}" is not Jaeger Thrift: send a binary-protocol Batch as application/x-thrift`,
        { code: 'MS_ERR_UNSUPPORTED_MEDIA_TYPE', status: 415, reason: 'bad_request' },
      );
    }
    const payload = await readIngestPayload(ctx, deps.config, {
      signal: 'traces',
      stream: checkStreamName(headerOf(req, 'stream-name') ?? 'default'),
      format: 'jaeger-thrift-binary',
    });
    await deps.writePath.write(payload, decodeJaeger(payload));
    res.writeHead(202, { 'content-length': 0 });
    res.end();
  };
}

/** `PostSpans`: answers an empty PostSpansResponse. */
export function jaegerGrpcMethod(writePath: WritePath): GrpcIngestMethod {
  return {
    path: JAEGER_POST_SPANS,
    handle: async (call) => {
      const payload = grpcPayload(call, 'traces', 'jaeger-proto');
      await writePath.write(payload, decodeJaeger(payload));
      return Buffer.alloc(0);
    },
  };
}
