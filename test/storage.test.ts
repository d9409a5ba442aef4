/**
 * Done-when 4: a record is queryable at once (before any flush); after a flush it lives in a
 * Parquet file under `{org_id}/{stream_type}/{stream}/YYYY/MM/DD/HH/{id}.parquet` with a catalog
 * row (time range, rows, bytes, column min/max) that the planner uses to skip files.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { otlpJsonLogs, startServer, type ServerProcess } from './harness.ts';

const HOUR_NS = 3_600_000_000_000n;

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out;
}

describe('memtable → Parquet → catalog → pruning', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.stop();
  });

  const base = ((BigInt(Date.now()) * 1_000_000n) / HOUR_NS) * HOUR_NS - 5n * HOUR_NS; // 5 hours ago, on the hour
  const older = base + 60_000_000_000n; // base + 1 min
  const newer = base + 2n * HOUR_NS + 60_000_000_000n; // two hours later

  const post = async (body: unknown) => {
    const res = await server.fetch('/v1/logs', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stream-name': 'store' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.text());
  };

  test('queryable right after the acknowledgement, from the memtable', async () => {
    await post(
      otlpJsonLogs(
        [
          { id: 'old-1', attrs: { n: 1 } },
          { id: 'old-2', attrs: { n: 5 } },
        ],
        older,
      ),
    );
    const acked = performance.now();
    const r = await server.search(`SELECT count(*) AS c FROM logs.store`);
    assert.ok(performance.now() - acked < 1000);
    assert.equal(r.hits[0]!.c, 2);
    assert.equal(r.stats.files_scanned, 0);
    assert.equal(r.stats.memtable_rows, 2);
  });

  test('flush writes one Parquet file per hour under the key layout, with a catalog row', async () => {
    await post(otlpJsonLogs([{ id: 'new-1', attrs: { n: 7 } }], newer));
    const res = await server.fetch('/api/default/streams/store/_flush', { method: 'POST' });
    assert.deepEqual(await res.json(), { files: 2, rows: 3 });

    const objects = join(server.dataDir, 'objects');
    const files = listFiles(objects)
      .map((f) => relative(objects, f))
      .filter((f) => f.endsWith('.parquet'));
    assert.equal(files.length, 2);
    for (const f of files)
      assert.match(f, /^o[0-9a-f]{16}\/logs\/store\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/[0-9a-f]{21}\.parquet$/);
    const hourDir = (ns: bigint) =>
      new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 13).replace(/[-T]/g, '/');
    assert.ok(
      files.some((f) => f.includes(`/store/${hourDir(older)}/`)),
      `a file in the hour of ${hourDir(older)}: ${files.join(', ')}`,
    );
    assert.ok(files.some((f) => f.includes(`/store/${hourDir(newer)}/`)));

    const db = new Database(join(server.dataDir, 'catalog.sqlite'), { readonly: true });
    try {
      const rows = db
        .prepare(`SELECT * FROM files WHERE stream = 'store' ORDER BY min_ts`)
        .safeIntegers(true)
        .all() as Record<string, unknown>[];
      assert.equal(rows.length, 2);
      const [a, b] = rows as [Record<string, any>, Record<string, any>];
      assert.equal(a.min_ts, older);
      assert.equal(a.max_ts, older + 1n);
      assert.equal(a.rows, 2n);
      assert.equal(b.min_ts, newer);
      assert.equal(Number(a.bytes), statSync(join(objects, a.object_key)).size);
      const stats = JSON.parse(a.column_stats as string) as Record<string, [string, string]>;
      assert.deepEqual(stats['attr.n'], ['1', '5']);
      assert.deepEqual(stats['attr.rid'], ['old-1', 'old-2']);
    } finally {
      db.close();
    }
  });

  test('the planner skips files outside the time range (stats.files_scanned)', async () => {
    const all = await server.search(`SELECT count(*) AS c FROM logs.store`);
    assert.equal(all.hits[0]!.c, 3);
    assert.equal(all.stats.files_scanned, 2);
    assert.equal(all.stats.memtable_rows, 0);

    const onlyNew = await server.search(`SELECT "attr.rid" AS rid FROM logs.store`, {
      start_time: String(newer - 1000n),
      end_time: String(newer + 1000n),
    });
    assert.deepEqual(onlyNew.hits, [{ rid: 'new-1' }]);
    assert.equal(onlyNew.stats.files_scanned, 1);

    const rfc = new Date(Number(older / 1_000_000n) - 1000).toISOString();
    const onlyOld = await server.search(`SELECT count(*) AS c FROM logs.store`, {
      start_time: rfc,
      end_time: String(older + HOUR_NS / 2n),
    });
    assert.equal(onlyOld.hits[0]!.c, 2);
    assert.equal(onlyOld.stats.files_scanned, 1);

    const none = await server.search(`SELECT count(*) AS c FROM logs.store`, {
      start_time: String(base - 10n * HOUR_NS),
      end_time: String(base - 9n * HOUR_NS),
    });
    assert.equal(none.hits[0]!.c, 0);
    assert.equal(none.stats.files_scanned, 0);
  });

  test('rows survive a restart from Parquet, and new rows after it come from the memtable', async () => {
    await server.stop();
    server = await startServer({ dataDir: server.dataDir });
    await post(otlpJsonLogs([{ id: 'after-restart' }], newer + 5n));
    const r = await server.search(`SELECT count(*) AS c FROM logs.store`);
    assert.equal(r.hits[0]!.c, 4);
    assert.equal(r.stats.files_scanned, 2);
    assert.equal(r.stats.memtable_rows, 1);
  });
});
