/**
 * A memtable that DuckDB refuses rows for (here: dropped behind the server's back, possible only
 * in the test-only unvalidated SQL mode) must not lose acknowledged rows: the server exits and
 * WAL replay restores them.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { otlpJsonLogs, removeDir, startServer, type ServerProcess } from './harness.ts';

describe('a failed memtable append', () => {
  let server: ServerProcess | undefined;
  after(async () => {
    if (server) {
      await server.kill();
      await removeDir(server.dataDir);
    }
  });

  test('crashes the process, and replay restores every acknowledged row', async () => {
    server = await startServer({ disableSqlValidator: true });
    const post = (id: string) =>
      server!.fetch('/v1/logs', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stream-name': 'af' },
        body: JSON.stringify(otlpJsonLogs([{ id }])),
      });
    assert.equal((await post('a1')).status, 200);
    assert.equal((await post('a2')).status, 200);
    const q = (sql: string) =>
      server!.fetch('/api/default/_search', { method: 'POST', body: JSON.stringify({ sql }) });
    const active = await q(
      `SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'mem_logs_af_g%' ORDER BY table_name DESC LIMIT 1`,
    );
    const table = ((await active.json()) as { hits: { table_name: string }[] }).hits[0]!.table_name;
    const drop = await q(`DROP TABLE "${table}"`);
    assert.equal(drop.status, 200, await drop.text());
    const acked: string[] = ['a1', 'a2'];
    for (const id of ['b1', 'b2', 'b3']) {
      try {
        const res = await post(id);
        if (res.status === 200) acked.push(id);
      } catch {
        break; // the server went away
      }
    }
    try {
      await server.fetch('/api/default/_search', {
        method: 'POST',
        body: JSON.stringify({ sql: 'SELECT 1' }),
      });
    } catch {
      /* already gone */
    }
    await server.waitExit(15_000);
    assert.equal(server.exitCode, 1, server.log);
    assert.match(server.log, /memtable append failed/);

    server = await startServer({ dataDir: server.dataDir });
    const hits = (await server.search(`SELECT "attr.rid" AS rid FROM logs.af ORDER BY 1`)).hits.map(
      (h) => h.rid as string,
    );
    for (const id of acked)
      assert.ok(hits.includes(id), `acknowledged ${id} is back after replay: ${hits.join(',')}`);
    assert.equal(new Set(hits).size, hits.length, 'no duplicates');
  });
});
