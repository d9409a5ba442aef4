/** The disk cache with plain files as the "remote" side (the S3 side is in s3-store.test.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskCache } from './disk-cache.ts';
import { withReadLease } from './object-store.ts';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'disk-cache-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** a fetch that writes `bytes` bytes naming the key, and counts its calls */
const source = (bytes: number) => {
  const calls: string[] = [];
  const fetchOf = (key: string) => async (temp: string) => {
    calls.push(key);
    await writeFile(temp, Buffer.alloc(bytes, key.length % 250));
  };
  return { calls, fetchOf };
};

test('LRU by bytes: the least recently used copies go first, the total stays under maxBytes', async () => {
  await withDir(async (dir) => {
    const cache = await DiskCache.open(join(dir, 'c'), 3000);
    const src = source(1000);
    for (const k of ['o/a', 'o/b', 'o/c']) await cache.get(k, src.fetchOf(k));
    await cache.get('o/a', src.fetchOf('o/a')); // a is now the most recent: b goes next
    await cache.get('o/d', src.fetchOf('o/d'));
    assert.equal(cache.has('o/b'), false);
    assert.equal(existsSync(cache.pathOf('o/b')), false, 'the evicted copy is deleted');
    for (const k of ['o/a', 'o/c', 'o/d']) assert.equal(cache.has(k), true, k);
    assert.equal(cache.bytes, 3000);
    assert.deepEqual([cache.hits, cache.misses, cache.evictions], [1, 4, 1]);
    assert.deepEqual(src.calls, ['o/a', 'o/b', 'o/c', 'o/d']);
  });
});

test('concurrent misses of one key download once', async () => {
  await withDir(async (dir) => {
    const cache = await DiskCache.open(join(dir, 'c'), 10_000);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const slow = async (temp: string) => {
      calls++;
      await gate;
      await writeFile(temp, 'hello');
    };
    const waiting = Array.from({ length: 10 }, () => cache.get('o/k', slow));
    release();
    const paths = await Promise.all(waiting);
    assert.equal(calls, 1);
    assert.equal(cache.downloadsStarted, 1);
    assert.equal(new Set(paths).size, 1);
    assert.equal(await readFile(paths[0]!, 'utf8'), 'hello');
  });
});

test('a partial download is never visible, and a failed one leaves nothing behind', async () => {
  await withDir(async (dir) => {
    const cache = await DiskCache.open(join(dir, 'c'), 10_000);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let written!: () => void;
    const halfWritten = new Promise<void>((r) => (written = r));
    const failing = async (temp: string) => {
      await writeFile(temp, 'half of it');
      written();
      await gate;
      throw new Error('connection reset');
    };
    const pending = cache.get('o/x', failing);
    await halfWritten;
    assert.equal(existsSync(cache.pathOf('o/x')), false, 'not at its path while downloading');
    release();
    await assert.rejects(pending, /connection reset/);
    assert.equal(cache.has('o/x'), false);
    assert.deepEqual(await readdir(join(dir, 'c', 'o')), [], 'the temp file is removed');
    // the next reader downloads again, successfully
    const src = source(10);
    assert.equal((await readFile(await cache.get('o/x', src.fetchOf('o/x')))).length, 10);
  });
});

test('a copy in use by a read lease is not evicted under it; released, the cache shrinks', async () => {
  await withDir(async (dir) => {
    const cache = await DiskCache.open(join(dir, 'c'), 2500);
    const src = source(1000);
    let inQuery!: () => void;
    const queryStarted = new Promise<void>((r) => (inQuery = r));
    let finish!: () => void;
    const queryDone = new Promise<void>((r) => (finish = r));
    const query = withReadLease(async () => {
      const p = await cache.get('o/pinned', src.fetchOf('o/pinned'));
      inQuery();
      await queryDone;
      return readFile(p); // still there
    });
    await queryStarted;
    for (const k of ['o/1', 'o/2', 'o/3', 'o/4']) await cache.get(k, src.fetchOf(k));
    assert.equal(cache.has('o/pinned'), true, 'pinned: kept though it is the least recently used');
    assert.equal(cache.pinsOf('o/pinned'), 1);
    assert.ok(cache.bytes <= 2500);
    finish();
    assert.equal((await query).length, 1000);
    assert.equal(cache.pinsOf('o/pinned'), 0);
    // all pinned: the cache goes over its bound while the pins last, and back under after
    await withReadLease(async () => {
      for (const k of ['o/5', 'o/6', 'o/7']) await cache.get(k, src.fetchOf(k));
      assert.ok(cache.bytes >= 3000, `${cache.bytes} bytes while 3 copies of 1000 are pinned`);
    });
    await new Promise((r) => setImmediate(r));
    assert.ok(cache.bytes <= 2500, `${cache.bytes} bytes after the lease`);
  });
});

test('survives a restart: the index is rebuilt from the directory, temp leftovers removed, staging ignored', async () => {
  await withDir(async (dir) => {
    const root = join(dir, 'c');
    const first = await DiskCache.open(root, 10_000);
    const src = source(100);
    for (const k of ['org/logs/s/a.parquet', 'org/logs/s/b.parquet']) await first.get(k, src.fetchOf(k));
    await writeFile(join(root, 'org', 'logs', 's', 'c.parquet.1234.dl-tmp'), 'cut short');
    await mkdir(join(root, 'org', '_staging'), { recursive: true });
    await writeFile(join(root, 'org', '_staging', 'x.parquet.tmp'), 'a flush in progress');

    const second = await DiskCache.open(root, 10_000);
    assert.equal(second.has('org/logs/s/a.parquet'), true);
    assert.equal(second.has('org/logs/s/b.parquet'), true);
    assert.equal(second.bytes, 200);
    assert.equal(existsSync(join(root, 'org', 'logs', 's', 'c.parquet.1234.dl-tmp')), false);
    assert.equal(
      existsSync(join(root, 'org', '_staging', 'x.parquet.tmp')),
      true,
      'staging is not the cache',
    );
    const again = source(100);
    await second.get('org/logs/s/a.parquet', again.fetchOf('org/logs/s/a.parquet'));
    assert.deepEqual(again.calls, [], 'a hit after the restart');

    // reopened with a smaller bound: the oldest copies go at once
    const third = await DiskCache.open(root, 150);
    assert.equal(third.bytes, 100);
    assert.equal(third.has('org/logs/s/a.parquet'), true, 'a was used last (its mtime was refreshed)');
  });
});

test('adopt moves a written file in (write-through); remove forgets and deletes it', async () => {
  await withDir(async (dir) => {
    const cache = await DiskCache.open(join(dir, 'c'), 10_000);
    const f = join(dir, 'new.parquet');
    await writeFile(f, 'abc');
    await cache.adopt('o/t/new.parquet', f);
    assert.equal(existsSync(f), false);
    assert.equal(await readFile(cache.pathOf('o/t/new.parquet'), 'utf8'), 'abc');
    assert.equal(cache.bytes, 3);
    await cache.remove('o/t/new.parquet');
    assert.equal(cache.has('o/t/new.parquet'), false);
    assert.equal(existsSync(cache.pathOf('o/t/new.parquet')), false);
    assert.equal(cache.bytes, 0);
  });
});

test('a copy deleted behind the cache is downloaded again', async () => {
  await withDir(async (dir) => {
    const cache = await DiskCache.open(join(dir, 'c'), 10_000);
    const src = source(10);
    await cache.get('o/gone', src.fetchOf('o/gone'));
    await rm(cache.pathOf('o/gone'));
    const p = await cache.get('o/gone', src.fetchOf('o/gone'));
    assert.equal((await readFile(p)).length, 10);
    assert.deepEqual(src.calls, ['o/gone', 'o/gone']);
    assert.equal(cache.bytes, 10);
  });
});

test('keys that could leave the cache directory are refused', async () => {
  await withDir(async (dir) => {
    const cache = await DiskCache.open(join(dir, 'c'), 10_000);
    for (const bad of ['../x', '/etc/passwd', 'o/../../x', 'o/_staging/x', ''])
      assert.throws(() => cache.pathOf(bad), /bad object key/);
  });
});
