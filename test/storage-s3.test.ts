/**
 * The server with `storage.backend: s3` against a real S3 server (Ceph RGW, test/kits/rgw.ts):
 * the storage suite on local storage and on S3, then what only S3 has: the disk cache staying
 * under `storage.cache.maxBytes` while queries read more, the cache metrics, a wrong bucket or
 * credentials at start, and an object missing from the bucket.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { removeDir, startServer, tempDir, type ServerProcess } from './harness.ts';
import { rgwUnavailable, startRgw, type Rgw } from './kits/rgw.ts';
import {
  BASE_NS,
  HOUR_NS,
  defineStorageSuite,
  flushAll,
  ingestAll,
  localBackend,
  s3Env,
  type StorageBackend,
} from './storage-suite.ts';

const unavailable = rgwUnavailable();
let rgwStarted: Promise<Rgw> | null = null;
/** one RGW for the whole file (~12 s to start) */
const rgw = () => (rgwStarted ??= startRgw());
let prefixes = 0;

function s3Backend(): StorageBackend {
  let s3: Rgw;
  const prefix = `suite${++prefixes}/`;
  return {
    unavailable: () => unavailable,
    start: async () => {
      s3 = await rgw();
    },
    stop: async () => {},
    env: (dataDir) => s3Env(s3, dataDir, prefix),
    cacheDir: (dataDir) => join(dataDir, 'cache'),
  };
}

defineStorageSuite('local', localBackend);
defineStorageSuite('s3', s3Backend());

/** bytes of the cached copies (staging excluded) */
async function cachedBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || e.parentPath.includes('_staging')) continue;
    total += (await stat(join(e.parentPath, e.name))).size;
  }
  return total;
}

function metric(text: string, name: string, cache: string): number {
  const m = new RegExp(`^${name}\\{cache="${cache}"\\} (\\S+)$`, 'm').exec(text);
  assert.ok(m, `${name}{cache="${cache}"} on /metrics`);
  return Number(m[1]);
}

describe('S3 only', { concurrency: false }, () => {
  let s3: Rgw;
  const dirs: string[] = [];
  const servers: ServerProcess[] = [];
  before(async () => {
    if (unavailable) return;
    s3 = await rgw();
  });
  after(async () => {
    for (const s of servers) await s.stop();
    for (const d of dirs) await removeDir(d);
    await (await rgwStarted)?.stop();
  });
  const start = async (prefix: string, cacheMaxBytes?: number, dataDir?: string) => {
    const dir = dataDir ?? (await tempDir('molesignal-s3-'));
    dirs.push(dir);
    const server = await startServer({ dataDir: dir, env: s3Env(s3, dir, prefix, cacheMaxBytes) });
    servers.push(server);
    return server;
  };

  test('the disk cache stays under storage.cache.maxBytes while queries read more; metrics count it', async (t) => {
    if (unavailable) return t.skip(unavailable);
    const MAX = 12_000;
    const server = await start('bounded/', MAX);
    await ingestAll(server);
    await flushAll(server);
    const cacheDir = join(server.dataDir, 'cache');
    assert.ok((await cachedBytes(cacheDir)) <= MAX, 'write-through keeps the bound');
    // every hourly file, twice: more bytes than the cache holds
    let read = 0;
    for (let round = 0; round < 2; round++) {
      for (let h = 0n; h < 4n; h++) {
        const lo = BASE_NS + h * HOUR_NS;
        const r = await server.search(
          `SELECT count(*) AS c FROM logs.store WHERE _timestamp >= ${lo} AND _timestamp < ${lo + HOUR_NS}`,
        );
        assert.equal(r.hits[0]!.c, 25);
        read += r.stats.bytes_read!;
        const onDisk = await cachedBytes(cacheDir);
        assert.ok(onDisk <= MAX, `${onDisk} bytes cached after a query, bound ${MAX}`);
      }
    }
    assert.ok(read > MAX, `queries read ${read} bytes, more than the ${MAX} cached`);
    const text = await (await server.fetch('/metrics')).text();
    assert.ok(metric(text, 'molesignal_cache_misses_total', 'disk') > 0);
    assert.ok(metric(text, 'molesignal_cache_evictions_total', 'disk') > 0);
    assert.ok(metric(text, 'molesignal_cache_bytes', 'disk') <= MAX);
    assert.ok(metric(text, 'molesignal_cache_hits_total', 'file_list') > 0);
    assert.ok(metric(text, 'molesignal_cache_misses_total', 'file_list') > 0);
    for (const c of ['token_filter', 'samples']) metric(text, 'molesignal_cache_bytes', c);
  });

  test('an object missing from the bucket: a query error naming it, and the server keeps serving', async (t) => {
    if (unavailable) return t.skip(unavailable);
    const server = await start('missing/');
    await ingestAll(server);
    await flushAll(server);
    await server.stop();
    const client = s3.client();
    const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'missing/' }));
    const victim = (listed.Contents ?? [])
      .map((o) => o.Key!)
      .find((k) => /\/logs\/store\/.*\.parquet$/.test(k));
    assert.ok(victim, 'a logs file in the bucket');
    await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: victim }));
    client.destroy();
    await rm(join(server.dataDir, 'cache'), { recursive: true, force: true });
    const again = await start('missing/', undefined, server.dataDir);
    const res = await again.fetch('/api/default/_search', {
      method: 'POST',
      body: JSON.stringify({ sql: 'SELECT count(*) AS c FROM logs.store' }),
    });
    const body = await res.text();
    assert.equal(res.status, 500, body);
    assert.match(body, /S3 read failed/);
    assert.match(body, new RegExp(victim.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.match(body, /does not hold/);
    assert.equal((await again.fetch('/healthz')).status, 200);
    // the rest of the data is still there
    const other = await again.search(
      `SELECT count(*) AS c FROM traces.default WHERE _timestamp >= ${BASE_NS}`,
    );
    assert.equal(other.hits[0]!.c, 2);
  });

  test('a crash between upload and catalog commit: the next start deletes the orphan from the bucket, WAL replay restores the rows', async (t) => {
    if (unavailable) return t.skip(unavailable);
    const dir = await tempDir('molesignal-s3-');
    dirs.push(dir);
    const env = s3Env(s3, dir, 'crash/');
    const crashing = await startServer({
      dataDir: dir,
      env,
      crashpoint: 'flush.after-parquet-before-catalog:1',
    });
    servers.push(crashing);
    await ingestAll(crashing);
    await crashing
      .fetch('/api/default/streams/store/_flush?type=logs', { method: 'POST' })
      .catch(() => undefined);
    await crashing.waitExit();
    assert.notEqual(crashing.exitCode, 0, 'the crash point ended the process');
    const keys = async () => {
      const client = s3.client();
      try {
        const r = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'crash/' }));
        return (r.Contents ?? []).map((o) => o.Key!).filter((k) => k.endsWith('.parquet'));
      } finally {
        client.destroy();
      }
    };
    const orphans = await keys();
    assert.ok(orphans.length >= 1, 'the uploaded, uncommitted file is in the bucket');
    const again = await startServer({ dataDir: dir, env });
    servers.push(again);
    assert.match(again.log, /removed files left by an interrupted flush/);
    assert.deepEqual(await keys(), [], 'the orphans are gone from the bucket');
    const r = await again.search('SELECT count(*) AS c FROM logs.store');
    assert.equal(r.hits[0]!.c, 100, 'every acknowledged row, from the WAL');
    await flushAll(again);
    assert.equal(
      (await keys()).filter((k) => k.includes('/logs/store/')).length,
      4,
      'flushed again: one file per hour',
    );
    assert.equal((await again.search('SELECT count(*) AS c FROM logs.store')).hits[0]!.c, 100);
  });

  test('a wrong bucket or wrong credentials at start: a clear error, and the process exits', async (t) => {
    if (unavailable) return t.skip(unavailable);
    for (const [over, want] of [
      [{ bucket: 'no-such-bucket' }, /bucket "no-such-bucket".*does not exist.*storage\.s3\.bucket/],
      [{ secretAccessKey: 'wrong' }, /credentials were refused.*storage\.s3\.secretAccessKey/],
    ] as const) {
      const dir = await tempDir('molesignal-s3-');
      dirs.push(dir);
      await assert.rejects(
        startServer({ dataDir: dir, env: s3Env({ ...s3, ...over }, dir, 'bad/') }),
        (e: Error) => {
          assert.match(e.message, /server exited \(1\) before listening/);
          assert.match(e.message, want);
          return true;
        },
      );
    }
    const dir = await tempDir('molesignal-s3-');
    dirs.push(dir);
    await assert.rejects(
      startServer({ dataDir: dir, env: { ...s3Env(s3, dir, ''), MOLESIGNAL_STORAGE_S3_BUCKET: '' } }),
      /storage\.s3\.bucket: required with storage\.backend: s3/,
    );
  });
});
