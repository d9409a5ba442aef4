/** What every HTTP ingest handler reads the same way: the Idempotency-Key, the body, the receive time. */
import type { IncomingMessage } from 'node:http';
import { MoleError } from '../lib/errors.ts';
import { decodeBody, readRawBody } from '../server/body.ts';
import { headerOf } from '../server/http-server.ts';
import type { IngestConfig } from './otlp/types.ts';
import type { RequestContext } from '../server/router.ts';
import type { IngestPayload } from '../write/wal-payload.ts';

export const MAX_IDEMPOTENCY_KEY_BYTES = 256;

export function idempotencyKeyOf(req: IncomingMessage): string {
  return checkIdempotencyKey(headerOf(req, 'idempotency-key') ?? '');
}

/** An Idempotency-Key header (or gRPC metadata) value, refused when over the size limit. */
export function checkIdempotencyKey(key: string): string {
  if (Buffer.byteLength(key) > MAX_IDEMPOTENCY_KEY_BYTES) {
    throw new MoleError(`Idempotency-Key is longer than ${MAX_IDEMPOTENCY_KEY_BYTES} bytes`, {
      code: 'MS_ERR_BAD_HEADER',
      status: 400,
      reason: 'bad_request',
    });
  }
  return key;
}

/** The decoded body (gzip/deflate per Content-Encoding, both size limits) and the request's metadata. */
export async function readIngestRequest(
  req: IncomingMessage,
  config: IngestConfig,
): Promise<{ body: Buffer; idempotencyKey: string; receivedAtMs: number; nowNs: bigint }> {
  const idempotencyKey = idempotencyKeyOf(req);
  const raw = await readRawBody(req, config.maxBodyBytes);
  const body = decodeBody(raw, headerOf(req, 'content-encoding'), config.maxDecodedBytes);
  const receivedAtMs = Date.now();
  return { body, idempotencyKey, receivedAtMs, nowNs: BigInt(receivedAtMs) * 1_000_000n };
}

/** The request as the write path takes it: its org (from the route), what the caller names, and the body read as above. */
export async function readIngestPayload(
  ctx: RequestContext,
  config: IngestConfig,
  what: Pick<IngestPayload, 'signal' | 'stream' | 'format' | 'params'>,
): Promise<IngestPayload> {
  return { org: ctx.org!.id, ...what, ...(await readIngestRequest(ctx.req, config)) };
}
