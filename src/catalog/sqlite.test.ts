import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { FileRow } from './catalog.ts';
import { SqliteCatalog } from './sqlite.ts';
import { newOrgId } from '../tenancy/org-id.ts';

const file = (org: FileRow['org'], key: string): FileRow => ({
  id: key,
  org,
  type: 'logs',
  stream: 's',
  key,
  minTs: 1n,
  maxTs: 2n,
  rows: 3,
  bytes: 4,
  columnStats: {},
  createdAtMs: 5,
});

test('replaceFiles swaps file rows and records pending deletes in one transaction', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'catalog-'));
  try {
    const c = new SqliteCatalog(join(dir, 'c.sqlite'));
    const org = newOrgId();
    await c.createOrg(org, 'o');
    await c.upsertStream(org, 'logs', 's', { retentionDays: 0, maxFields: 10 });
    await c.commitFlush(org, 'logs', 's', [file(org, 'a'), file(org, 'b')], 1, []);
    const keys = async () => (await c.listFiles(org, 'logs', 's', null, null)).map((f) => f.key);
    const pending = [
      { key: 'a', org, dueAtMs: 10 },
      { key: 'b', org, dueAtMs: 20 },
    ];
    assert.equal(await c.replaceFiles(org, 'logs', 's', ['a', 'b'], [file(org, 'c')], pending), true);
    assert.deepEqual(await keys(), ['c']);
    assert.deepEqual(
      (await c.listPendingDeletes(15)).map((p) => p.key),
      ['a'],
    );
    assert.deepEqual(
      (await c.listPendingDeletes(null)).map((p) => p.key),
      ['a', 'b'],
    );
    // a key that is gone: nothing changes
    assert.equal(await c.replaceFiles(org, 'logs', 's', ['c', 'a'], [file(org, 'd')], []), false);
    assert.deepEqual(await keys(), ['c']);
    await c.removePendingDeletes(['a', 'b']);
    assert.deepEqual(await c.listPendingDeletes(null), []);
    assert.deepEqual(await c.getOrgSettings(org), { defaultRetentionDays: null });
    await c.setOrgSettings(org, { defaultRetentionDays: 7 });
    assert.deepEqual(await c.getOrgSettings(org), { defaultRetentionDays: 7 });
    await c.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
