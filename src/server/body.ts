/**
 * Request bodies: read with a cap on the wire size, then decode by Content-Encoding with a cap on
 * the decoded size enforced while decoding (zlib's maxOutputLength stops inflating at the cap,
 * zstd stops after the block that passes it, snappy checks its declared length before
 * allocating), so a small bomb never grows the heap past it.
 */
import type { IncomingMessage } from 'node:http';
import { gunzipSync, inflateSync } from 'node:zlib';
import { MoleError, badRequest } from '../lib/errors.ts';
import { snappyDecompress } from '../lib/snappy.ts';
import { zstdDecompress } from '../lib/zstd.ts';

export const tooLarge = (message: string) =>
  new MoleError(message, { code: 'MS_ERR_BODY_TOO_LARGE', status: 413, reason: 'request_body_too_large' });

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MiB`;

export async function readRawBody(req: IncomingMessage, maxBodyBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBodyBytes) {
    throw tooLarge(
      `request body is ${mib(declared)}, over ingest.maxBodyBytes=${mib(maxBodyBytes)}; send smaller batches`,
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes) {
      throw tooLarge(`request body is over ingest.maxBodyBytes=${mib(maxBodyBytes)}; send smaller batches`);
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

export function decodeBody(
  raw: Buffer,
  contentEncoding: string | undefined,
  maxDecodedBytes: number,
): Buffer {
  const enc = (contentEncoding ?? 'identity').trim().toLowerCase();
  if (enc === 'identity' || enc === '') return raw;
  const overLimit = () =>
    tooLarge(
      `decompressed body is over ingest.maxDecodedBytes=${mib(maxDecodedBytes)}; send smaller batches`,
    );
  // snappy: the block format (no framing), as Prometheus and Loki use it.
  if (enc === 'snappy') {
    const out = snappyDecompress(raw, maxDecodedBytes);
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  }
  if (enc === 'zstd') return zstdDecompress(raw, maxDecodedBytes, overLimit);
  if (enc !== 'gzip' && enc !== 'x-gzip' && enc !== 'deflate') {
    throw new MoleError(
      `Content-Encoding "${enc.slice(0, 40)}" is not supported here; use gzip, deflate, zstd, snappy or none`,
      {
        code: 'MS_ERR_UNSUPPORTED_ENCODING',
        status: 415,
        reason: 'bad_encoding',
      },
    );
  }
  try {
    const opts = { maxOutputLength: maxDecodedBytes };
    return enc === 'deflate' ? inflateSync(raw, opts) : gunzipSync(raw, opts);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw overLimit();
    }
    throw badRequest(
      `body is not valid ${enc} data: ${(e as Error).message}`,
      'MS_ERR_BAD_ENCODING',
      'bad_encoding',
    );
  }
}
