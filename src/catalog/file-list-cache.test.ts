/** The file-list cache in front of the real SQLite catalog. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Catalog, FileRow } from './catalog.ts';
import { FileListCache, withFileListCache } from './file-list-cache.ts';
import { SqliteCatalog } from './sqlite.ts';
import { newOrgId, type OrgId } from '../tenancy/org-id.ts';

const file = (org: OrgId, stream: string, id: string, minTs: bigint, maxTs: bigint): FileRow => ({
  id,
  org,
  type: 'logs',
  stream,
  key: `${org}/logs/${stream}/${id}.parquet`,
  minTs,
  maxTs,
  rows: 1,
  bytes: 10,
  columnStats: {},
  createdAtMs: 0,
});

async function withCatalog(fn: (catalog: Catalog, cache: FileListCache, org: OrgId) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'file-list-cache-'));
  const inner = new SqliteCatalog(join(dir, 'catalog.sqlite'));
  const cache = new FileListCache();
  const catalog = withFileListCache(inner, cache);
  const org = newOrgId();
  await catalog.createOrg(org, 'o1');
  for (const s of ['a', 'b']) await catalog.upsertStream(org, 'logs', s, { retentionDays: 0 } as never);
  try {
    await fn(catalog, cache, org);
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const ids = (files: FileRow[]) => files.map((f) => f.id);

test('answers ranges from the cached whole list, like the catalog does', async () => {
  await withCatalog(async (catalog, cache, org) => {
    await catalog.commitFlush(
      org,
      'logs',
      'a',
      [file(org, 'a', 'f1', 0n, 9n), file(org, 'a', 'f2', 10n, 19n)],
      1,
      [],
    );
    assert.deepEqual(ids(await catalog.listFiles(org, 'logs', 'a', null, null)), ['f1', 'f2']);
    assert.deepEqual(ids(await catalog.listFiles(org, 'logs', 'a', 12n, null)), ['f2']);
    assert.deepEqual(ids(await catalog.listFiles(org, 'logs', 'a', null, 9n)), ['f1']);
    assert.deepEqual(ids(await catalog.listFiles(org, 'logs', 'a', 9n, 10n)), ['f1', 'f2']);
    assert.deepEqual(ids(await catalog.listFiles(org, 'logs', 'a', 20n, 30n)), []);
    assert.deepEqual([cache.hits, cache.misses], [4, 1]);
    assert.ok(cache.bytes > 0);
  });
});

test('a commit drops its stream list only; the next read sees the new files', async () => {
  await withCatalog(async (catalog, cache, org) => {
    await catalog.listFiles(org, 'logs', 'a', null, null);
    await catalog.listFiles(org, 'logs', 'b', null, null);
    await catalog.commitFlush(org, 'logs', 'a', [file(org, 'a', 'f3', 0n, 1n)], 2, []);
    assert.deepEqual(ids(await catalog.listFiles(org, 'logs', 'a', null, null)), ['f3']);
    await catalog.listFiles(org, 'logs', 'b', null, null);
    assert.deepEqual([cache.hits, cache.misses], [1, 3], 'a was read again, b was not');
  });
});

test('an unknown catalog change drops every list; invalidate() does too', async () => {
  await withCatalog(async (catalog, cache, org) => {
    await catalog.listFiles(org, 'logs', 'a', null, null);
    await catalog.streamStats(org); // a read: keeps the lists
    await catalog.listFiles(org, 'logs', 'a', null, null);
    assert.equal(cache.hits, 1);
    // a method the cache does not know (as compaction and retention add): treated as a file change
    const proxied = catalog as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const inner = Object.getPrototypeOf(catalog) as Record<string, unknown>;
    inner.dropAllFilesForTest = async function () {};
    await proxied.dropAllFilesForTest!();
    await catalog.listFiles(org, 'logs', 'a', null, null);
    assert.equal(cache.misses, 2);
    delete inner.dropAllFilesForTest;
    cache.invalidate();
    await catalog.listFiles(org, 'logs', 'a', null, null);
    assert.equal(cache.misses, 3);
  });
});

test('a list read that overlaps a commit is not cached (no stale list)', async () => {
  await withCatalog(async (catalog, cache, org) => {
    // the list read starts, the commit runs before it resolves
    const reading = catalog.listFiles(org, 'logs', 'a', null, null);
    await catalog.commitFlush(org, 'logs', 'a', [file(org, 'a', 'f4', 0n, 1n)], 3, []);
    await reading;
    assert.deepEqual(ids(await catalog.listFiles(org, 'logs', 'a', null, null)), ['f4']);
    assert.equal(cache.misses, 2);
  });
});
