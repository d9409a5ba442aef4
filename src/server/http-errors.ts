/**
 * Errors map to HTTP here, and only here.
 *
 * | error                         | status | body                                   |
 * |-------------------------------|--------|----------------------------------------|
 * | MoleError                     | .status| {"error": {code, message, reason}}     |
 * | zlib RangeError (output cap)  | 413    | request_body_too_large                 |
 * | zlib data error               | 400    | bad_encoding                           |
 * | anything else                 | 500    | internal (message not leaked)          |
 *
 * OTLP routes answer a protobuf request with a google.rpc.Status body instead of JSON
 * (https://opentelemetry.io/docs/specs/otlp/#failures-1).
 */
import type { ServerResponse } from 'node:http';
import { MoleError } from '../lib/errors.ts';
import { varint } from '../lib/varint.ts';

export function toMoleError(e: unknown): MoleError {
  if (e instanceof MoleError) return e;
  return new MoleError('internal error; see the server log', {
    code: 'MS_ERR_INTERNAL',
    status: 500,
    reason: 'internal',
    cause: e,
  });
}

/**
 * gRPC status codes, for google.rpc.Status bodies (OTLP/HTTP protobuf errors) and for the gRPC
 * listener (grpc-server.ts): 400/415 INVALID_ARGUMENT, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED,
 * 404 NOT_FOUND, 413/429 RESOURCE_EXHAUSTED, 503 UNAVAILABLE, else INTERNAL.
 */
export function grpcCode(status: number): number {
  if (status === 400 || status === 415) return 3; // INVALID_ARGUMENT
  if (status === 401) return 16; // UNAUTHENTICATED
  if (status === 403) return 7; // PERMISSION_DENIED
  if (status === 404) return 5; // NOT_FOUND
  if (status === 413 || status === 429) return 8; // RESOURCE_EXHAUSTED
  if (status === 503) return 14; // UNAVAILABLE
  return 13; // INTERNAL
}

/** google.rpc.Status {code = 1; message = 2}, as OTLP/HTTP asks for protobuf requests. */
export function statusProto(err: MoleError): Buffer {
  const msg = Buffer.from(err.message, 'utf8');
  return Buffer.concat([
    Buffer.from([0x08, ...varint(grpcCode(err.status)), 0x12, ...varint(msg.length)]),
    msg,
  ]);
}

export function sendError(res: ServerResponse, err: MoleError, format: 'json' | 'protobuf' = 'json'): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body =
    format === 'protobuf'
      ? statusProto(err)
      : JSON.stringify({ error: { code: err.code, message: err.message, reason: err.reason } });
  res.writeHead(err.status, {
    'content-type': format === 'protobuf' ? 'application/x-protobuf' : 'application/json',
    'content-length': Buffer.byteLength(body),
    ...(err.status === 503 || err.status === 429 ? { 'retry-after': '1' } : {}),
  });
  res.end(body);
}
