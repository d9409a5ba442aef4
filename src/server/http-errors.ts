/**
 * Errors map to HTTP here, and only here.
 *
 * | error                         | status | body                                   |
 * |-------------------------------|--------|----------------------------------------|
 * | MoleError                     | .status| {"error": {code, message, reason}}     |
 * | zlib RangeError (output cap)  | 413    | request_body_too_large                 |
 * | zlib data error               | 400    | bad_encoding                           |
 * | anything else                 | 500    | internal (message not leaked)          |
 */
import type { ServerResponse } from 'node:http';
import { MoleError } from '../lib/errors.ts';

export function toMoleError(e: unknown): MoleError {
  if (e instanceof MoleError) return e;
  return new MoleError('internal error; see the server log', {
    code: 'MS_ERR_INTERNAL',
    status: 500,
    reason: 'internal',
    cause: e,
  });
}

export function sendError(res: ServerResponse, err: MoleError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code: err.code, message: err.message, reason: err.reason } });
  res.writeHead(err.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...(err.status === 503 || err.status === 429 ? { 'retry-after': '1' } : {}),
  });
  res.end(body);
}
