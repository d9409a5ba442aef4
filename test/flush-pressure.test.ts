/**
 * Flush under memory pressure: when all memtables together pass `memtable.maxTotalBytes`, the
 * largest stream is flushed first, and only as many streams as it takes to get back under it (a
 * small stream keeps its rows in memory until its own triggers fire).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { otlpJsonLogs, removeDir, startServer, type ServerProcess } from './harness.ts';

describe('flush under memory pressure', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer({
      env: {
        MOLESIGNAL_MEMTABLE_MAX_TOTAL_BYTES: '20000',
        // no other trigger fires during the test
        MOLESIGNAL_MEMTABLE_MAX_AGE_MS: '3600000',
        MOLESIGNAL_MEMTABLE_CHECK_INTERVAL_MS: '100',
      },
    });
  });
  after(async () => {
    await server?.stop();
    if (server) await removeDir(server.dataDir);
  });

  const send = (stream: string, n: number, body: string) =>
    server.fetch('/v1/logs', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stream-name': stream },
      body: JSON.stringify(
        otlpJsonLogs(Array.from({ length: n }, (_, i) => ({ id: `${stream}-${i}`, body }))),
      ),
    });
  const memtableRows = async (stream: string): Promise<number> => {
    const rows = (await server.search(`SELECT count(*) AS c FROM logs.${stream}`)).stats.memtable_rows;
    assert.equal(typeof rows, 'number', 'the search reports its memtable rows');
    return rows!;
  };

  test('the largest memtable is flushed, the small one stays', async () => {
    assert.equal((await send('small', 2, 'tiny')).status, 200);
    assert.equal(
      (await send('large', 20, 'x'.repeat(1500))).status,
      200,
      'takes the total past 20,000 bytes',
    );
    const deadline = Date.now() + 20_000;
    while ((await memtableRows('large')) > 0) {
      assert.ok(Date.now() < deadline, 'the large stream was flushed within 20 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const all = await server.search(`SELECT count(*) AS c FROM logs.large`);
    assert.equal(all.hits[0]!.c, 20, 'every row of the large stream is in its files');
    assert.equal(
      await memtableRows('small'),
      2,
      'the small stream was not flushed: the total is under the limit',
    );
    const metrics = await (await server.fetch('/metrics')).text();
    assert.match(metrics, /^molesignal_flushes_total\{signal="logs"\} 1$/m);
  });
});
