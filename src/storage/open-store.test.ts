/** `storage.*` settings: bad values are refused with a message that says what to fix. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/config.ts';
import { MoleError } from '../lib/errors.ts';
import { LocalObjectStore } from './object-store.ts';
import { openObjectStore } from './open-store.ts';

const refused = (env: Record<string, string>, want: RegExp) =>
  assert.throws(
    () => loadConfig({ env }),
    (e: unknown) => e instanceof MoleError && e.code === 'MS_ERR_CONFIG' && want.test(e.message),
  );

test('storage keys: bad backend, bad prefix, bad cache bound are configuration errors', () => {
  refused({ MOLESIGNAL_STORAGE_BACKEND: 'gcs' }, /storage\.backend/);
  refused({ MOLESIGNAL_STORAGE_S3_PREFIX: 'no-slash' }, /storage\.s3\.prefix.*ending in `\/`/);
  refused({ MOLESIGNAL_STORAGE_S3_PREFIX: '../up/' }, /storage\.s3\.prefix/);
  refused({ MOLESIGNAL_STORAGE_CACHE_MAX_BYTES: '0' }, /storage\.cache\.maxBytes/);
  refused({ MOLESIGNAL_STORAGE_S3_FORCE_PATH_STYLE: 'maybe' }, /storage\.s3\.forcePathStyle/);
  const ok = loadConfig({
    env: { MOLESIGNAL_STORAGE_S3_PREFIX: 'a/b-c.d/', MOLESIGNAL_STORAGE_S3_FORCE_PATH_STYLE: 'true' },
  });
  assert.equal(ok.storage.s3.prefix, 'a/b-c.d/');
  assert.equal(ok.storage.s3.forcePathStyle, true);
  assert.equal(ok.storage.backend, 'local');
});

test('openObjectStore: local by default; s3 without a bucket or with half the keys is refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'open-store-'));
  try {
    const local = await openObjectStore(loadConfig({}), dir);
    assert.ok(local.store instanceof LocalObjectStore);
    assert.equal(local.diskCache, null);
    await assert.rejects(
      openObjectStore(loadConfig({ env: { MOLESIGNAL_STORAGE_BACKEND: 's3' } }), dir),
      /storage\.s3\.bucket: required with storage\.backend: s3/,
    );
    await assert.rejects(
      openObjectStore(
        loadConfig({
          env: {
            MOLESIGNAL_STORAGE_BACKEND: 's3',
            MOLESIGNAL_STORAGE_S3_BUCKET: 'b',
            MOLESIGNAL_STORAGE_S3_ACCESS_KEY_ID: 'AK',
          },
        }),
        dir,
      ),
      /set both, or neither/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
