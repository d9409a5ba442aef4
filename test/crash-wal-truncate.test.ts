/**
 * D1, the moment after a flush: the flush commits, then the WAL drops the segments it no longer
 * needs. A record acknowledged while that flush finishes (its group was in flight when the
 * flush looked at the memtables) lives only in a memtable and in the WAL: its segment must stay.
 * Each round races one flush with one single-record request, then checks that the acknowledged
 * record is in a WAL segment on disk (it is not in Parquet: the flush froze the memtable before
 * it arrived); the test ends with kill -9 and a restart that must show every acknowledged record.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { checkExactlyOnce, Ledger, postOtlp, requestBody, Servers, sleep, waitReady } from './load.ts';

const ROUNDS = Number(process.env.CRASH_TRUNCATE_ROUNDS ?? 200);

/** Every `rid` in the WAL segments on disk. */
async function ridsInWal(dataDir: string): Promise<Set<string>> {
  const out = new Set<string>();
  const dir = join(dataDir, 'wal');
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.wal')) continue;
    const text = (await readFile(join(dir, name))).toString('latin1');
    for (const m of text.matchAll(/"key":"rid","value":\{"stringValue":"([^"]+)"\}/g)) out.add(m[1]!);
  }
  return out;
}

describe('D1: WAL truncation after a flush', () => {
  const servers = new Servers();
  after(() => servers.cleanup());

  test(
    'a record acked while a flush commits stays in the WAL until it is flushed itself',
    { timeout: 120_000 },
    async (t) => {
      const dataDir = await servers.dir();
      const ledger = new Ledger();
      let server = await servers.start({ dataDir });
      await waitReady(server);
      let outsideWal: string[] = [];
      let round = 0;
      for (; round < ROUNDS && outsideWal.length === 0; round++) {
        const ids = ledger.nextIds('logs', 1);
        const flush = server
          .fetch('/api/default/streams/default/_flush', { method: 'POST' })
          .then((r) => r.text());
        await sleep(Math.random() * 25);
        const r = await postOtlp(server, 'logs', requestBody(ledger, 'logs', ids), '');
        assert.ok(r.kind === 'status' && r.status === 200, JSON.stringify(r));
        ledger.ack('logs', ids);
        await flush;
        if ((await ridsInWal(dataDir)).has(ids[0]!)) continue;
        // not in the WAL: fine only if a flush committed it (it was applied before the flush froze the memtable)
        const where = await server.search(
          `SELECT count(*) AS c FROM logs.default WHERE "attr.rid" = '${ids[0]}'`,
        );
        if ((where.stats.memtable_rows ?? 0) > 0) outsideWal = ids;
      }
      await server.kill();
      server = await servers.start({ dataDir });
      await waitReady(server);
      await checkExactlyOnce(server, ledger, `after kill -9 (round ${round})`);
      assert.deepEqual(
        outsideWal,
        [],
        'an acknowledged record was only in a memtable: its WAL segment was deleted',
      );
      await server.stop();
      t.diagnostic(`${round} flush/ack races, ${ledger.acked.logs.acked.size} records acked`);
    },
  );
});
