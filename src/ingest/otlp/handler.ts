/**
 * OTLP/HTTP routes for logs and traces (`/v1/logs`, `/api/{org}/v1/traces`, …): protobuf or JSON,
 * optionally gzip/deflate. Decodes, hands the batch to the write path, answers in the request's
 * encoding with `partial_success` when records were refused.
 * Spec: https://opentelemetry.io/docs/specs/otlp/#otlphttp
 */
import type { IngestConfig } from './types.ts';
import { MoleError } from '../../lib/errors.ts';
import type { RequestContext } from '../../server/router.ts';
import { headerOf } from '../../server/http-server.ts';
import type { SignalType } from '../../write/column-batch.ts';
import { checkStreamName } from '../../write/streams.ts';
import type { IngestPayload, WireFormat } from '../../write/wal-payload.ts';
import type { IngestResult, WritePath } from '../../write/write-path.ts';
import { decodeOtlp } from './decode.ts';
import { readIngestPayload } from '../ingest-request.ts';
import { varint } from '../../lib/varint.ts';

const unsupportedType = (ct: string) =>
  new MoleError(
    `Content-Type "${ct.slice(0, 60)}" is not OTLP: use application/x-protobuf or application/json`,
    {
      code: 'MS_ERR_UNSUPPORTED_MEDIA_TYPE',
      status: 415,
      reason: 'bad_request',
    },
  );

function formatOf(contentType: string | undefined): WireFormat {
  const ct = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (ct === 'application/x-protobuf' || ct === 'application/protobuf') return 'otlp-proto';
  if (ct === 'application/json') return 'otlp-json';
  throw unsupportedType(ct);
}

/**
 * Export{Logs,Trace,Metrics}ServiceResponse, hand-encoded: all three are field 1 partial_success
 * {1: rejected int64, 2: error_message}, empty when nothing was rejected. OTLP/HTTP and OTLP/gRPC
 * answer with the same bytes.
 */
export function partialSuccessProto(rejected: number, message: string): Buffer {
  if (rejected === 0) return Buffer.alloc(0);
  const msg = Buffer.from(message, 'utf8');
  const inner: number[] = [0x08, ...varint(rejected), 0x12, ...varint(msg.length)];
  const innerBuf = Buffer.concat([Buffer.from(inner), msg]);
  return Buffer.concat([Buffer.from([0x0a, ...varint(innerBuf.length)]), innerBuf]);
}

/** Decodes an OTLP logs/traces payload and writes it: the one path of OTLP/HTTP and OTLP/gRPC. */
export async function ingestOtlp(writePath: WritePath, payload: IngestPayload): Promise<IngestResult> {
  return writePath.write(payload, decodeOtlp(payload));
}

function jsonResponse(signal: SignalType, r: IngestResult): string {
  if (r.rejected === 0) return '{}';
  const field = signal === 'logs' ? 'rejectedLogRecords' : 'rejectedSpans';
  return JSON.stringify({ partialSuccess: { [field]: String(r.rejected), errorMessage: r.rejectedMessage } });
}

export function otlpHandler(signal: SignalType, deps: { writePath: WritePath; config: IngestConfig }) {
  return async (ctx: RequestContext): Promise<void> => {
    const { req, res } = ctx;
    const format = formatOf(headerOf(req, 'content-type'));
    const stream = checkStreamName(headerOf(req, 'stream-name') ?? 'default');
    const payload = await readIngestPayload(ctx, deps.config, { signal, stream, format });
    const result = await ingestOtlp(deps.writePath, payload);
    if (format === 'otlp-proto') {
      const out = partialSuccessProto(result.rejected, result.rejectedMessage);
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': out.length });
      res.end(out);
    } else {
      const out = jsonResponse(signal, result);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    }
  };
}
