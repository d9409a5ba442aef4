/**
 * The S3-compatible object store (AWS S3, Ceph RGW, MinIO, ...). Objects are read through the
 * local disk cache (disk-cache.ts): DuckDB reads local files, so `readablePath` downloads a
 * missing object into the cache first. Writes are write-through: `putFile` uploads the flushed
 * file, then moves it into the cache.
 *
 * Checksums are computed only when an operation requires them (`WHEN_REQUIRED`): with the SDK's
 * default, a streamed PUT is sent as aws-chunked with a trailing CRC32, which Ceph RGW refuses
 * and some servers store verbatim (../shared/notes/ecosystem.md §8).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import type { Agent } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Config } from '../config/config.ts';
import { MoleError } from '../lib/errors.ts';
import type { DiskCache } from './disk-cache.ts';
import type { ObjectStore } from './object-store.ts';

/** `storage.s3.*` (empty endpoint: AWS; empty region: the AWS environment's, else us-east-1; empty keys: the AWS credential chain), plus tuning for tests */
export type S3StoreOptions = Config['storage']['s3'] & {
  /** attempts per request, the SDK's standard retry mode (exponential backoff with jitter) */
  maxAttempts?: number;
  /** files at or above this size are uploaded in parts of this size */
  multipartBytes?: number;
  /** the HTTP agent (tests: one that resolves virtual-host bucket names) */
  httpAgent?: Agent;
};

/** Files from 16 MiB on go up as multipart uploads of 16 MiB parts (S3 allows 5 MiB to 5 GiB). */
export const MULTIPART_BYTES = 16 * 1024 * 1024;
const DOWNLOAD_ATTEMPTS = 3;

interface S3Failure {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

export class S3ObjectStore implements ObjectStore {
  readonly client: S3Client;
  readonly bucket: string;
  private readonly prefix: string;
  private readonly where: string;
  private readonly multipartBytes: number;

  constructor(
    opts: S3StoreOptions,
    readonly cache: DiskCache,
  ) {
    const config: S3ClientConfig = {
      // the standard AWS environment, as the SDK's own chain reads it (credentials likewise)
      // eslint-disable-next-line no-restricted-properties
      region: opts.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1',
      forcePathStyle: opts.forcePathStyle,
      maxAttempts: opts.maxAttempts ?? 5,
      retryMode: 'standard',
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: 5_000,
        requestTimeout: 60_000,
        ...(opts.httpAgent ? { httpAgent: opts.httpAgent } : {}),
      },
    };
    if (opts.endpoint) config.endpoint = opts.endpoint;
    if (opts.accessKeyId)
      config.credentials = { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey };
    this.client = new S3Client(config);
    this.bucket = opts.bucket;
    this.prefix = opts.prefix;
    this.multipartBytes = opts.multipartBytes ?? MULTIPART_BYTES;
    this.where = `bucket "${opts.bucket}"${opts.endpoint ? ` at ${opts.endpoint}` : ''}`;
  }

  /** At start: the bucket exists and the credentials may use it; else an error saying what to check. */
  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      throw this.failure(e, 'open', null);
    }
  }

  private objectKey(key: string): string {
    if (key.includes('..') || key.startsWith('/')) throw new Error(`bad object key ${key}`);
    return this.prefix + key;
  }

  localPath(key: string): string {
    return this.cache.pathOf(key);
  }

  stagingDir(prefix: string): string {
    return join(this.cache.pathOf(prefix), '_staging');
  }

  async putFile(key: string, localFile: string): Promise<void> {
    const size = (await stat(localFile)).size;
    const Key = this.objectKey(key);
    try {
      if (size >= this.multipartBytes) {
        const upload = new Upload({
          client: this.client,
          params: { Bucket: this.bucket, Key, Body: createReadStream(localFile) },
          partSize: this.multipartBytes,
          queueSize: 2,
          leavePartsOnError: false,
        });
        await upload.done();
      } else {
        // a buffer, not a stream: the SDK's retries resend the same body
        await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key, Body: await readFile(localFile) }),
        );
      }
    } catch (e) {
      throw this.failure(e, 'upload', key);
    }
    await this.cache.adopt(key, localFile);
  }

  async readablePath(key: string): Promise<string> {
    return this.cache.get(key, (temp) => this.download(key, temp));
  }

  async get(key: string): Promise<Uint8Array> {
    return readFile(await this.readablePath(key));
  }

  /**
   * Bytes of one object without the cache: `{ suffix: n }` the last n bytes (a Parquet footer),
   * `{ start, end }` an inclusive range.
   */
  async getRange(
    key: string,
    range: { suffix: number } | { start: number; end: number },
  ): Promise<Uint8Array> {
    const Range = 'suffix' in range ? `bytes=-${range.suffix}` : `bytes=${range.start}-${range.end}`;
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key), Range }),
      );
      return await r.Body!.transformToByteArray();
    } catch (e) {
      throw this.failure(e, 'read', key);
    }
  }

  /** One GET streamed to `temp`; a connection cut mid-body is retried (the SDK retries the request itself). */
  private async download(key: string, temp: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await this.client.send(
          new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
        );
        await pipeline(r.Body as Readable, createWriteStream(temp));
        const got = (await stat(temp)).size;
        if (r.ContentLength !== undefined && got !== r.ContentLength)
          throw Object.assign(new Error(`short read: ${got} of ${r.ContentLength} bytes`), {
            name: 'ShortRead',
          });
        return;
      } catch (e) {
        const status = (e as S3Failure).$metadata?.httpStatusCode;
        const transient = status === undefined || status >= 500;
        if (!transient || attempt >= DOWNLOAD_ATTEMPTS) throw this.failure(e, 'read', key);
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    try {
      do {
        const r = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.objectKey(prefix),
            ContinuationToken: token,
          }),
        );
        for (const o of r.Contents ?? []) if (o.Key) out.push(o.Key.slice(this.prefix.length));
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
    } catch (e) {
      throw this.failure(e, 'list', prefix);
    }
    return out.sort();
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
    } catch (e) {
      throw this.failure(e, 'delete', key);
    }
    await this.cache.remove(key);
  }

  close(): void {
    this.client.destroy();
  }

  /** An error that names the bucket and key and says what to check. */
  private failure(
    e: unknown,
    op: 'open' | 'upload' | 'read' | 'list' | 'delete',
    key: string | null,
  ): MoleError {
    const f = e as S3Failure;
    const name = f.name ?? f.code ?? 'Error';
    const status = f.$metadata?.httpStatusCode;
    const what = key === null ? this.where : `object "${this.prefix}${key}" in ${this.where}`;
    let hint: string;
    let code = 'MS_ERR_STORAGE';
    if (name === 'NoSuchKey' || (op === 'read' && status === 404)) {
      code = 'MS_ERR_OBJECT_MISSING';
      hint =
        'the catalog names an object the bucket does not hold: it was deleted outside MoleSignal, or the bucket or prefix changed';
    } else if (name === 'NoSuchBucket' || (op === 'open' && status === 404) || name === 'NotFound') {
      hint = 'the bucket does not exist: create it, or fix storage.s3.bucket / storage.s3.endpoint';
    } else if (
      [
        'InvalidAccessKeyId',
        'SignatureDoesNotMatch',
        'AccessDenied',
        'Forbidden',
        'CredentialsProviderError',
      ].includes(name) ||
      status === 403
    ) {
      hint =
        'the credentials were refused: check storage.s3.accessKeyId / storage.s3.secretAccessKey (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_PROFILE) and the bucket policy';
    } else if (status === 301 || name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed') {
      hint = 'the bucket lives in another region: set storage.s3.region';
    } else if (status === undefined) {
      hint = `the S3 endpoint did not answer (${f.message ?? name}): check storage.s3.endpoint and the network`;
    } else {
      hint = `the S3 server answered ${status} ${name}; retried, still failing`;
    }
    return new MoleError(`S3 ${op} failed for ${what}: ${hint}`, {
      code,
      status: code === 'MS_ERR_OBJECT_MISSING' ? 500 : 503,
      reason: code === 'MS_ERR_OBJECT_MISSING' ? 'corruption' : 'unavailable',
      retryable: code !== 'MS_ERR_OBJECT_MISSING',
      cause: e,
    });
  }
}
