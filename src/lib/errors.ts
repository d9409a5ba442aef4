/**
 * One base error for everything a user can cause or see. Every error carries a stable `code`,
 * the HTTP `status` it maps to (mapping happens once, in src/server/http-errors.ts), a `reason`
 * used as the metric label, and whether a retry can succeed.
 */
export type ErrorReason =
  | 'bad_request'
  | 'bad_protobuf'
  | 'bad_json'
  | 'bad_encoding'
  | 'request_body_too_large'
  | 'unauthorized'
  | 'not_found'
  | 'forbidden'
  | 'sql_rejected'
  | 'query_failed'
  | 'config_invalid'
  | 'corruption'
  | 'unavailable'
  | 'conflict'
  | 'query_timeout'
  | 'query_queue_full'
  | 'series_limit'
  | 'backpressure'
  | 'invalid_utf8'
  | 'line_too_long'
  | 'too_far_in_future'
  | 'too_old'
  | 'internal';

export interface MoleErrorOptions {
  code: string;
  status: number;
  reason: ErrorReason;
  retryable?: boolean;
  /** for 429/503: the Retry-After delay (seconds) to send; default 1 */
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class MoleError extends Error {
  readonly code: string;
  readonly status: number;
  readonly reason: ErrorReason;
  readonly retryable: boolean;
  readonly retryAfterSeconds: number | undefined;

  constructor(message: string, opts: MoleErrorOptions) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'MoleError';
    this.code = opts.code;
    this.status = opts.status;
    this.reason = opts.reason;
    this.retryable = opts.retryable ?? false;
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

export const badRequest = (
  message: string,
  code = 'MS_ERR_BAD_REQUEST',
  reason: ErrorReason = 'bad_request',
) => new MoleError(message, { code, status: 400, reason });

/** The same answer for "does not exist" and "you may not see it": no existence oracle. */
export const notFoundOrDenied = (what: string) =>
  new MoleError(`${what} not found or not accessible`, {
    code: 'MS_ERR_NOT_FOUND',
    status: 404,
    reason: 'not_found',
  });

/** A log or WAL file is damaged at a known place. */
export class CorruptionError extends MoleError {
  readonly segment: string;
  readonly offset: number;
  constructor(message: string, segment: string, offset: number) {
    super(`${message} (segment ${segment}, offset ${offset})`, {
      code: 'MS_ERR_CORRUPTION',
      status: 500,
      reason: 'corruption',
    });
    this.segment = segment;
    this.offset = offset;
  }
}

export const isMoleError = (e: unknown): e is MoleError => e instanceof MoleError;
