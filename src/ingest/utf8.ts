/**
 * Text bodies must be valid UTF-8: a log line with invalid bytes is refused (400 `invalid_utf8`,
 * RELIABILITY.md L5) rather than stored with U+FFFD in place of what the sender wrote.
 */
import { isUtf8 } from 'node:buffer';
import { MoleError } from '../lib/errors.ts';

export const invalidUtf8 = (what: string) =>
  new MoleError(`${what} is not valid UTF-8; send text as UTF-8`, {
    code: 'MS_ERR_INVALID_UTF8',
    status: 400,
    reason: 'invalid_utf8',
  });

export function utf8Text(body: Uint8Array, what = 'request body'): string {
  if (!isUtf8(body)) throw invalidUtf8(what);
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
}

/** bytes [start, end) of `buf` as text, refused unless valid UTF-8. */
export function utf8Slice(buf: Buffer, start: number, end: number, what: string): string {
  if (!isUtf8(buf.subarray(start, end))) throw invalidUtf8(what);
  return buf.toString('utf8', start, end);
}
