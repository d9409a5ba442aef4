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
 *
 * Splunk HEC routes answer `{"text": message, "code": N}` with HEC's codes
 * (https://docs.splunk.com/Documentation/Splunk/latest/Data/TroubleshootHTTPEventCollector):
 *
 * | error                                   | HEC code                    |
 * |-----------------------------------------|-----------------------------|
 * | HecError (no data, bad format, event…)  | its own (5, 6, 12, 13)      |
 * | 401 without an Authorization header     | 2 Token is required         |
 * | 401 / 403 / 404 otherwise               | 4 Invalid token             |
 * | other 4xx                               | 6 Invalid data format       |
 * | 429 / 503                               | 9 Server is busy            |
 * | other 5xx                               | 8 Internal server error     |
 *
 * Elasticsearch routes answer `{"error":{"root_cause":[…],"type","reason"},"status"}` with the
 * `X-Elastic-Product: Elasticsearch` header the official clients insist on.
 *
 * Influx write routes answer InfluxDB's `{"code":"invalid","message":...}` with an
 * `X-Influxdb-Error` header, which its clients show
 * (https://docs.influxdata.com/influxdb/v2/api/#section/Errors).
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

const lenField = (tag: number, body: Buffer) =>
  Buffer.concat([Buffer.from([tag, ...varint(body.length)]), body]);

/** The Retry-After delay of a retryable refusal (429, or a retryable 503), else undefined. */
export const retryDelayOf = (err: MoleError): number | undefined =>
  err.status === 429 || (err.status === 503 && err.retryable)
    ? Math.max(1, Math.ceil(err.retryAfterSeconds ?? 1))
    : undefined;

/**
 * google.rpc.Status {code = 1; message = 2; details = 3}, as OTLP/HTTP asks for protobuf requests
 * and gRPC carries in `grpc-status-details-bin`. A retryable refusal carries a google.rpc.RetryInfo
 * detail: OTLP clients retry RESOURCE_EXHAUSTED only when it is there.
 */
export function statusProto(err: MoleError): Buffer {
  const msg = Buffer.from(err.message, 'utf8');
  const parts = [Buffer.from([0x08, ...varint(grpcCode(err.status))]), lenField(0x12, msg)];
  const delay = retryDelayOf(err);
  if (delay !== undefined && err.retryable) {
    const duration = Buffer.from([0x08, ...varint(delay)]); // google.protobuf.Duration.seconds
    const retryInfo = lenField(0x0a, duration); // RetryInfo.retry_delay
    const any = Buffer.concat([
      lenField(0x0a, Buffer.from('type.googleapis.com/google.rpc.RetryInfo')),
      lenField(0x12, retryInfo),
    ]);
    parts.push(lenField(0x1a, any));
  }
  return Buffer.concat(parts);
}

/** A Splunk HEC error with its own HEC code (and the 0-based number of the event at fault). */
export class HecError extends MoleError {
  constructor(
    message: string,
    readonly hecCode: number,
    readonly invalidEventNumber?: number,
  ) {
    super(message, { code: `MS_ERR_HEC_${hecCode}`, status: 400, reason: 'bad_request' });
  }
}

function hecCode(err: MoleError, authMissing: boolean): number {
  if (err instanceof HecError) return err.hecCode;
  if (err.status === 401 && authMissing) return 2;
  if (err.status === 401 || err.status === 403 || err.status === 404) return 4;
  if (err.status === 429 || err.status === 503) return 9;
  return err.status >= 500 ? 8 : 6;
}

function hecBody(err: MoleError, authMissing: boolean): string {
  return JSON.stringify({
    text: err.message,
    code: hecCode(err, authMissing),
    ...(err instanceof HecError && err.invalidEventNumber !== undefined
      ? { 'invalid-event-number': err.invalidEventNumber }
      : {}),
  });
}

/** Elasticsearch's error type names for our statuses. */
function elasticType(err: MoleError): string {
  if (err.status === 401) return 'security_exception';
  if (err.status === 403) return 'security_exception';
  if (err.status === 404) return 'resource_not_found_exception';
  if (err.status === 413) return 'content_too_long_exception';
  if (err.status === 429 || err.status === 503) return 'es_rejected_execution_exception';
  if (err.status >= 500) return 'exception';
  return err.reason === 'bad_json' ? 'parse_exception' : 'illegal_argument_exception';
}

export function elasticErrorBody(err: MoleError): string {
  const cause = { type: elasticType(err), reason: err.message };
  return JSON.stringify({ error: { root_cause: [cause], ...cause }, status: err.status });
}

/** InfluxDB's error codes (platform/errors.go) by HTTP status. */
function influxCode(status: number): string {
  if (status === 400 || status === 415) return 'invalid';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not found';
  if (status === 413) return 'request too large';
  if (status === 429) return 'too many requests';
  if (status === 503) return 'unavailable';
  return 'internal error';
}

export function sendError(
  res: ServerResponse,
  err: MoleError,
  format: 'json' | 'protobuf' | 'hec' | 'elastic' | 'influx' = 'json',
  opts: { authMissing?: boolean } = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body =
    format === 'protobuf'
      ? statusProto(err)
      : format === 'hec'
        ? hecBody(err, opts.authMissing ?? false)
        : format === 'elastic'
          ? elasticErrorBody(err)
          : format === 'influx'
            ? JSON.stringify({ code: influxCode(err.status), message: err.message })
            : JSON.stringify({ error: { code: err.code, message: err.message, reason: err.reason } });
  res.writeHead(err.status, {
    'content-type': format === 'protobuf' ? 'application/x-protobuf' : 'application/json',
    'content-length': Buffer.byteLength(body),
    ...(err.status === 503 || err.status === 429 ? { 'retry-after': String(retryDelayOf(err) ?? 1) } : {}),
    ...(format === 'elastic' ? { 'x-elastic-product': 'Elasticsearch' } : {}),
    ...(format === 'hec' && err.status === 401 ? { 'www-authenticate': 'Splunk' } : {}),
    ...(format === 'influx'
      ? { 'x-influxdb-error': err.message.slice(0, 500).replace(/[^\x20-\x7e]/g, '?') }
      : {}),
  });
  res.end(body);
}
