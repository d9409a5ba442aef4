/**
 * RELIABILITY.md D1 (+ D9): SIGKILL at random moments during sustained ingest of logs and traces,
 * restart on the same data dir, and prove that every acknowledged record is queryable exactly once.
 * Small flush thresholds and small WAL segments make flushes, segment rolls and WAL truncation
 * happen inside the short cycles, so random kills land in all of them.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  checkExactlyOnce,
  logLines,
  Ledger,
  randomInt,
  retryKeyed,
  runLoad,
  Servers,
  sleep,
  SMALL_FLUSH_ENV,
  waitReady,
} from './load.ts';

const CYCLES = Number(process.env.CRASH_CYCLES ?? 20);

describe('D1: SIGKILL at random moments during sustained ingest', () => {
  const servers = new Servers();
  after(() => servers.cleanup());

  test(
    `${CYCLES} kill -9 / restart cycles: every acked log and span is present exactly once`,
    { timeout: 240_000 },
    async (t) => {
      const dataDir = await servers.dir();
      const env = { ...SMALL_FLUSH_ENV, MOLESIGNAL_WAL_SEGMENT_BYTES: String(256 * 1024) };
      const ledger = new Ledger();
      let server = await servers.start({ dataDir, env });
      await waitReady(server);
      let killedMidLoad = 0;
      for (let cycle = 1; cycle <= CYCLES; cycle++) {
        const load = runLoad(server, ledger, {
          lanes: 4,
          batch: 20,
          maxMs: 10_000,
          keyedEvery: 4,
          flushEveryMs: 150,
        });
        const delay = randomInt(100, 600);
        await sleep(delay);
        const ackedBefore = ledger.ackedCount;
        await server.kill();
        const stats = await load.done;
        assert.equal(server.exitSignal, 'SIGKILL');
        if (Object.keys(stats.networkErrors).length > 0) killedMidLoad++;
        const bad = Object.keys(stats.statuses).filter((s) => s !== '200');
        assert.deepEqual(
          bad,
          [],
          `cycle ${cycle}: unexpected answers ${JSON.stringify(stats.statuses)} ${JSON.stringify(stats.trace.find((r) => r.outcome.kind === 'status' && r.outcome.status !== 200))}`,
        );

        server = await servers.start({ dataDir, env });
        await waitReady(server);
        const replay = logLines(server).find((l) => l.msg === 'WAL replayed');
        const before = await checkExactlyOnce(server, ledger, `cycle ${cycle} (kill after ${delay} ms)`);
        const retry = await retryKeyed(server, ledger);
        const afterRetry = await checkExactlyOnce(
          server,
          ledger,
          `cycle ${cycle} after ${retry.retried} keyed retries`,
        );
        t.diagnostic(
          `cycle ${cycle}: kill at ${delay} ms, ${stats.acked}/${stats.requests} requests acked, ${stats.flushes} flushes, ` +
            `acked ids ${ackedBefore}, present logs ${before.logs.present} traces ${before.traces.present}, ` +
            `replay ${JSON.stringify({ records: replay?.records, applied: replay?.applied, tornTail: replay?.tornTail })}, ` +
            `keyed retries ${retry.retried} (${retry.acked} newly acked), after retries logs ${afterRetry.logs.present} traces ${afterRetry.traces.present}`,
        );
      }
      // the kills really landed while requests were in flight, not between runs
      assert.ok(
        killedMidLoad >= CYCLES / 2,
        `only ${killedMidLoad} of ${CYCLES} kills hit requests in flight`,
      );
      assert.ok(ledger.acked.logs.acked.size > 0 && ledger.acked.traces.acked.size > 0);
      await server.stop();
      assert.equal(server.exitCode, 0, server.log.slice(-2000));
    },
  );
});
