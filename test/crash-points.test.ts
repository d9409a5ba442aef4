/**
 * RELIABILITY.md D2 (+ D9): for each named crash point on the write and flush paths, ingest logs and
 * traces until the server kills itself there, restart without the crash point, and prove: every
 * acknowledged id present exactly once, no `*.tmp` left under the data dir, no Parquet file on
 * disk that the catalog does not list (files on disk == files queries scan), and keyed retries
 * across the crash create no duplicates.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  checkExactlyOnce,
  findFiles,
  Ledger,
  logLines,
  retryKeyed,
  runLoad,
  Servers,
  SIGNALS,
  SMALL_FLUSH_ENV,
  waitReady,
} from './load.ts';
import type { ServerProcess } from './harness.ts';

const CASES: { point: string; n: number; flushes: boolean }[] = [
  { point: 'wal.after-write-before-fsync', n: 30, flushes: true },
  { point: 'wal.after-fsync-before-ack', n: 30, flushes: true },
  { point: 'flush.after-parquet-before-catalog', n: 3, flushes: true },
  { point: 'flush.after-catalog-before-wal-truncate', n: 3, flushes: true },
];

/** Files the catalog lists for the stream, as a query over all of it scans them. */
async function catalogFiles(server: ServerProcess): Promise<number> {
  let n = 0;
  for (const signal of SIGNALS) {
    const r = await server.search(`SELECT count(*) AS c FROM ${signal}.default`);
    n += r.stats.files_scanned ?? 0;
  }
  return n;
}

/** Rows visible to queries == distinct ids visible (no row is visible twice, e.g. from an uncatalogued file). */
async function rowsEqualIds(server: ServerProcess, label: string): Promise<void> {
  for (const signal of SIGNALS) {
    const r = await server.search(
      `SELECT count(*) AS n, count(DISTINCT "attr.rid") AS d FROM ${signal}.default`,
    );
    const row = r.hits[0]!;
    assert.equal(
      Number(row.n),
      Number(row.d),
      `${label}: ${signal} rows ${String(row.n)} != distinct ids ${String(row.d)}`,
    );
  }
}

describe('D2: deterministic crash points', () => {
  const servers = new Servers();
  after(() => servers.cleanup());

  for (const c of CASES) {
    test(
      `${c.point}:${c.n} — crash, restart, every acked id exactly once, no temp or orphan files`,
      { timeout: 90_000 },
      async (t) => {
        const dataDir = await servers.dir();
        const env = { ...SMALL_FLUSH_ENV };
        const ledger = new Ledger();
        const crashing = await servers.start({ dataDir, env, crashpoint: `${c.point}:${c.n}` });
        await waitReady(crashing);
        const load = runLoad(crashing, ledger, {
          lanes: 4,
          batch: 25,
          maxMs: 30_000,
          keyedEvery: 3,
          flushEveryMs: c.flushes ? 100 : 0,
        });
        const stats = await load.done;
        // the load stops at the first network error: the process must be dying by itself
        await crashing.waitExit(15_000);
        assert.equal(
          crashing.exitSignal,
          'SIGKILL',
          `expected death by SIGKILL at ${c.point}, got ${crashing.exitCode ?? crashing.exitSignal}:\n${crashing.log.slice(-2000)}`,
        );
        assert.deepEqual(
          Object.keys(stats.statuses).filter((s) => s !== '200'),
          [],
          JSON.stringify(stats.statuses),
        );
        assert.ok(stats.acked > 0, 'some requests were acknowledged before the crash');
        const parquetAtCrash = (await findFiles(dataDir, (n) => n.endsWith('.parquet'))).length;

        const server = await servers.start({ dataDir, env });
        await waitReady(server);
        const res = await checkExactlyOnce(server, ledger, `after crash at ${c.point}`);
        const tmp = await findFiles(dataDir, (n) => n.endsWith('.tmp'));
        assert.deepEqual(tmp, [], 'temp files left after the restart');
        const onDisk = (await findFiles(dataDir, (n) => n.endsWith('.parquet'))).length;
        assert.equal(
          onDisk,
          await catalogFiles(server),
          'Parquet files on disk that the catalog does not list',
        );
        await rowsEqualIds(server, `after crash at ${c.point}`);
        // token-filter sidecars (docs/format/token-filter.md) only beside committed files
        const parquet = new Set(await findFiles(dataDir, (n) => n.endsWith('.parquet')));
        const sidecars = await findFiles(dataDir, (n) => n.endsWith('.parquet.bloom'));
        assert.deepEqual(
          sidecars.filter((p) => !parquet.has(p.slice(0, -'.bloom'.length))),
          [],
          'token-filter sidecars without their Parquet file',
        );
        if (c.point === 'flush.after-parquet-before-catalog') {
          // the crash left a written but uncommitted file: the start removed it
          const removed = logLines(server).find(
            (l) => l.msg === 'removed files left by an interrupted flush',
          );
          assert.ok(
            removed && Number(removed.removed) >= 1,
            `no orphan removed at start:\n${server.log.slice(0, 3000)}`,
          );
          assert.ok(
            parquetAtCrash > onDisk,
            `the crash left ${parquetAtCrash} files, ${onDisk} after the start`,
          );
        }
        if (c.point === 'flush.after-catalog-before-wal-truncate') {
          // the committed file is there and replay skipped its records (no duplicates: checked above)
          assert.ok(onDisk >= 1);
        }

        // D9: keyed requests retried with the same key after the crash are stored once
        const retry = await retryKeyed(server, ledger, 20);
        await checkExactlyOnce(server, ledger, `after keyed retries (${c.point})`);
        // the restarted server writes and flushes normally
        const more = await runLoad(server, ledger, { lanes: 2, batch: 25, maxRequests: 20, flushEveryMs: 0 })
          .done;
        assert.equal(more.acked, 20);
        const flush = await server.fetch('/api/default/streams/default/_flush', { method: 'POST' });
        assert.equal(flush.status, 200, await flush.text());
        await checkExactlyOnce(server, ledger, `after more load (${c.point})`);
        await rowsEqualIds(server, `after more load (${c.point})`);
        await server.stop();
        assert.equal(server.exitCode, 0);
        const replay = logLines(server).find((l) => l.msg === 'WAL replayed');
        t.diagnostic(
          `${c.point}:${c.n}: ${stats.acked}/${stats.requests} acked before the crash, ${stats.flushes} flushes, ` +
            `parquet at crash ${parquetAtCrash}, after start ${onDisk}; replay ${JSON.stringify(replay)}; ` +
            `present logs ${res.logs.present}/${res.logs.acked} acked, traces ${res.traces.present}/${res.traces.acked}; ` +
            `keyed retries ${retry.retried} (${retry.acked} newly acked)`,
        );
      },
    );
  }
});
