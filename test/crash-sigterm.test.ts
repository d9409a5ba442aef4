/**
 * RELIABILITY.md D7: SIGTERM under load. In-flight requests complete (2xx) or get 503, new
 * connections are refused, the process drains, flushes its memtables, fsyncs and closes the WAL,
 * and exits 0 within shutdown.timeoutMs (10 s). After a restart every acknowledged id is present
 * exactly once, served from Parquet, and the WAL replay applies nothing (everything acked was
 * flushed before exit).
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { ServerProcess } from './harness.ts';
import {
  checkExactlyOnce,
  findFiles,
  Ledger,
  logLines,
  requestBody,
  runLoad,
  Servers,
  SIGNALS,
  sleep,
  SMALL_FLUSH_ENV,
  waitReady,
  type Signal,
} from './load.ts';

/**
 * A request that is in flight for sure when SIGTERM arrives: its headers and the first half of
 * its body are sent first, the rest only when `release` resolves.
 */
function slowRequest(server: ServerProcess, ledger: Ledger, signal: Signal, release: Promise<void>) {
  const ids = ledger.nextIds(signal, 10);
  const bytes = Buffer.from(requestBody(ledger, signal, ids));
  const half = Math.floor(bytes.length / 2);
  let firstSent!: () => void;
  const headStarted = new Promise<void>((r) => (firstSent = r));
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes.subarray(0, half));
      firstSent();
    },
    async pull(controller) {
      await release;
      controller.enqueue(bytes.subarray(half));
      controller.close();
    },
  });
  const done = server
    .fetch(`/v1/${signal}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    })
    .then(async (res) => {
      const text = await res.text();
      if (res.ok) ledger.ack(signal, ids);
      return { status: res.status, text };
    });
  return { ids, headStarted, done };
}

/** Resolves to the error code of a fresh TCP connection attempt, or 'connected'. */
function tryConnect(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

const VARIANTS = [
  // default flush policy: no flush during the run, so every row is in a memtable at SIGTERM
  { name: 'memtables full', env: {}, flushEveryMs: 0 },
  // small thresholds and explicit flushes: SIGTERM lands while flushes run
  { name: 'flushing continuously', env: SMALL_FLUSH_ENV, flushEveryMs: 100 },
];

describe('D7: SIGTERM under load', () => {
  const servers = new Servers();
  after(() => servers.cleanup());

  for (const v of VARIANTS)
    test(
      `${v.name}: drains in-flight requests, flushes, exits 0 within 10 s; nothing acked is lost or doubled`,
      { timeout: 90_000 },
      async (t) => {
        const dataDir = await servers.dir();
        const ledger = new Ledger();
        const server = await servers.start({ dataDir, env: v.env });
        await waitReady(server);
        const load = runLoad(server, ledger, {
          lanes: 4,
          batch: 20,
          maxMs: 30_000,
          keyedEvery: 5,
          flushEveryMs: v.flushEveryMs,
          stopOnNetworkError: false,
        });
        await sleep(1_000);
        let release!: () => void;
        const released = new Promise<void>((r) => (release = r));
        const slow = SIGNALS.map((s) => slowRequest(server, ledger, s, released));
        await Promise.all(slow.map((s) => s.headStarted));
        await sleep(100); // the headers have reached the server: these requests are in flight
        const ackedAtSigterm = ledger.ackedCount;
        const sigtermAt = Date.now();
        server.proc.kill('SIGTERM');
        await sleep(300);
        // draining: the listener is closed while the slow requests are still being received
        assert.ok(server.running, 'the server waits for its in-flight requests');
        assert.equal(
          await tryConnect(server.url),
          'ECONNREFUSED',
          'new connections are refused while draining',
        );
        release();
        const slowResults = await Promise.all(slow.map((s) => s.done));
        for (const r of slowResults)
          assert.equal(r.status, 200, `an in-flight request was not completed: ${r.status} ${r.text}`);
        await server.waitExit(15_000);
        const exitMs = Date.now() - sigtermAt;
        load.stop();
        const stats = await load.done;
        assert.equal(server.exitCode, 0, server.log.slice(-3000));
        assert.ok(exitMs <= 10_000 + 1_000, `exit took ${exitMs} ms (shutdown.timeoutMs = 10 s)`);
        // bulk requests: 200, or 503 while draining; nothing else
        assert.deepEqual(
          Object.keys(stats.statuses).filter((s) => s !== '200' && s !== '503'),
          [],
          JSON.stringify(stats.statuses),
        );
        const afterSigterm = stats.trace.filter((r) => r.startedAt >= sigtermAt);
        const errorsBefore = stats.trace.filter(
          (r) => r.startedAt < sigtermAt - 50 && r.outcome.kind === 'network',
        );
        assert.deepEqual(errorsBefore.slice(0, 3), [], 'a request in flight at SIGTERM lost its connection');
        const down = logLines(server);
        assert.ok(
          down.some((l) => l.msg === 'stopped'),
          'the shutdown ran to its end',
        );
        const segments = await findFiles(join(dataDir, 'wal'), (n) => n.endsWith('.wal'));
        assert.ok(segments.length <= 1, `the next start would replay ${segments.length} segments`);

        const again = await servers.start({ dataDir, env: v.env });
        await waitReady(again);
        const replay = logLines(again).find((l) => l.msg === 'WAL replayed');
        assert.ok(replay, again.log.slice(0, 2000));
        assert.equal(
          replay.applied,
          0,
          `the WAL replay re-applied records, so the shutdown flush missed them: ${JSON.stringify(replay)}`,
        );
        // drained and flushed: the shutdown dropped the WAL segments, the start reads no record
        assert.equal(replay.records, 0, `the start replayed flushed records: ${JSON.stringify(replay)}`);
        const res = await checkExactlyOnce(again, ledger, 'after SIGTERM and restart');
        for (const s of SIGNALS) {
          const r = await again.search(`SELECT count(*) AS c FROM ${s}.default`);
          assert.ok(r.stats.files_scanned! > 0, `${s}: acked data is in Parquet`);
          assert.equal(r.stats.memtable_rows, 0, `${s}: nothing left to replay into memtables`);
        }
        await again.stop();
        assert.equal(again.exitCode, 0);
        t.diagnostic(
          `SIGTERM after ${ackedAtSigterm} acked ids; exit 0 after ${exitMs} ms; load ${JSON.stringify(stats.statuses)} ` +
            `network errors ${JSON.stringify(stats.networkErrors)} (${afterSigterm.length} requests started after SIGTERM); ` +
            `replay ${JSON.stringify({ records: replay.records, applied: replay.applied })}; ` +
            `present logs ${res.logs.present}/${res.logs.acked}, traces ${res.traces.present}/${res.traces.acked}`,
        );
      },
    );
});
