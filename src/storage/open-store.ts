/**
 * The object store the config names: `local` (Parquet files under `<dataDir>/objects`) or `s3`
 * (an S3-compatible bucket read through the disk cache). An S3 bucket that cannot be used stops
 * the start with an error that names the bucket and what to check.
 */
import { join } from 'node:path';
import { configError, type Config } from '../config/config.ts';
import { DiskCache } from './disk-cache.ts';
import { LocalObjectStore, type ObjectStore } from './object-store.ts';
import { S3ObjectStore } from './s3-store.ts';

export interface OpenedStore {
  store: ObjectStore;
  /** the disk cache of the S3 store (null with the local store) */
  diskCache: DiskCache | null;
  close(): void;
}

export async function openObjectStore(config: Config, dataDir: string): Promise<OpenedStore> {
  const { storage } = config;
  if (storage.backend === 'local') {
    return { store: new LocalObjectStore(join(dataDir, 'objects')), diskCache: null, close: () => {} };
  }
  if (storage.s3.bucket === '')
    throw configError(['storage.s3.bucket: required with storage.backend: s3 (the bucket must exist)']);
  if ((storage.s3.accessKeyId === '') !== (storage.s3.secretAccessKey === ''))
    throw configError([
      'storage.s3.accessKeyId and storage.s3.secretAccessKey: set both, or neither (the AWS credential chain)',
    ]);
  const cache = await DiskCache.open(storage.cache.dir || join(dataDir, 'cache'), storage.cache.maxBytes);
  const store = new S3ObjectStore(storage.s3, cache);
  try {
    await store.check();
  } catch (e) {
    store.close();
    throw e;
  }
  return { store, diskCache: cache, close: () => store.close() };
}
