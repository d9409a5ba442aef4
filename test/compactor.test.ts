/**
 * Issue 7 done-when 2: 1,000 small batches (one Parquet file each) into one stream over three hour
 * buckets, the current one included; `POST /api/{org}/_compact` leaves one file per bucket, the
 * same rows (SQL and LogQL answer exactly as before, ties in push order), and a query loop running
 * during the compaction never sees a row missing or twice. After the grace period the replaced
 * objects are gone from the store.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, type ServerProcess } from './harness.ts';
import {
  HOUR_NS,
  compact,
  flush,
  hourStart,
  logqlLines,
  nowNs,
  objectsOf,
  pushBatch,
  sqlRows,
  streamStats,
} from './compactor-kit.ts';

const BATCHES = Number(process.env.COMPACTOR_TEST_BATCHES ?? 1000);
const LINES = 3;
const GRACE_MS = 1500;

describe('compactor: 1,000 small files into one per bucket', () => {
  let server: ServerProcess;
  const current = hourStart(nowNs());
  const buckets = [current - 2n * HOUR_NS, current - HOUR_NS, current];
  before(async () => {
    server = await startServer({
      env: {
        MOLESIGNAL_COMPACTOR_ENABLED: 'false',
        MOLESIGNAL_COMPACTOR_DELETE_GRACE_MS: String(GRACE_MS),
        MOLESIGNAL_LOG_LEVEL: 'warn',
      },
    });
    for (let b = 0; b < BATCHES; b++) {
      // all lines of a batch share one timestamp: their order is push order, which must survive
      const ts = buckets[b % 3]! + BigInt(b) * 1000n;
      const lines = Array.from(
        { length: LINES },
        (_, j) => `batch ${b} line ${j} ${j === 1 ? 'needle' : 'hay'}`,
      );
      await pushBatch(server, 'cmp', { app: b % 2 ? 'a' : 'b', job: 'compact' }, ts, lines);
      await flush(server, 'cmp');
    }
  });
  after(async () => {
    await server?.stop();
  });

  test('file count down to one per bucket, rows and answers unchanged, no gap or double meanwhile', async (t) => {
    const before = await streamStats(server, 'cmp');
    assert.equal(before.files, BATCHES);
    assert.equal(before.rows, BATCHES * LINES);
    const sql0 = await sqlRows(server, 'cmp');
    assert.equal(sql0.length, BATCHES * LINES);
    const start = buckets[0]!;
    const end = current + HOUR_NS;
    const q = '{job="compact"}';
    const lq0 = await logqlLines(server, q, start, end);
    const needle0 = await logqlLines(server, `${q} |= "needle"`, start, end);
    assert.equal(
      needle0.reduce((n, s) => n + s.values.length, 0),
      BATCHES,
    );

    // a query loop while the compaction runs: every answer holds every row exactly once
    let running = true;
    let loops = 0;
    const loop = (async () => {
      while (running) {
        const r = await server.search(
          'SELECT count(*) AS n, count(DISTINCT body) AS d, sum(hash(body) % 1000) AS h FROM logs.cmp',
        );
        assert.equal(r.hits[0]!.n, BATCHES * LINES, 'a row missing or twice during compaction');
        assert.equal(r.hits[0]!.d, BATCHES * LINES);
        const l = await logqlLines(server, `${q} |= "needle"`, start, end);
        assert.equal(
          l.reduce((n, s) => n + s.values.length, 0),
          BATCHES,
          'LogQL saw a gap or a double',
        );
        loops++;
      }
    })();
    let report;
    try {
      report = await compact(server);
    } finally {
      running = false;
      await loop;
    }
    assert.ok(loops >= 1);
    const merged = report.merged.filter((m) => m.stream === 'cmp');
    assert.equal(merged.length, 3);
    assert.equal(
      merged.reduce((n, m) => n + m.input_files, 0),
      BATCHES,
    );
    assert.equal(
      merged.reduce((n, m) => n + m.rows, 0),
      BATCHES * LINES,
    );
    assert.deepEqual(
      merged.map((m) => m.output_files),
      [1, 1, 1],
    );

    const after1 = await streamStats(server, 'cmp');
    assert.equal(after1.files, 3);
    assert.equal(after1.rows, BATCHES * LINES);
    assert.deepEqual(await sqlRows(server, 'cmp'), sql0);
    assert.deepEqual(await logqlLines(server, q, start, end), lq0);
    assert.deepEqual(await logqlLines(server, `${q} |= "needle"`, start, end), needle0);

    // replaced objects stay for the grace period (those of the first buckets may be due by the
    // end of the cycle), then the next cycle deletes the rest
    assert.ok((await objectsOf(server.dataDir, 'cmp')).parquet.length >= 3);
    await sleep(GRACE_MS + 100);
    const second = await compact(server);
    assert.equal(second.merged.length, 0, 'nothing left to merge');
    assert.equal(second.pending_deletes, 0);
    assert.equal(
      report.deleted_objects + second.deleted_objects,
      2 * BATCHES,
      'each replaced file and its token filter',
    );
    const objects = await objectsOf(server.dataDir, 'cmp');
    assert.equal(objects.parquet.length, 3);
    assert.equal(objects.bloom.length, 3);
    assert.deepEqual(await sqlRows(server, 'cmp'), sql0);

    const metrics = await (await server.fetch('/metrics')).text();
    const seconds = /^molesignal_compactor_cycle_seconds_total (\S+)$/m.exec(metrics)?.[1];
    t.diagnostic(`${BATCHES} files merged into 3 in one cycle; both cycles took ${seconds} s`);
    assert.match(metrics, /^molesignal_compactions_total\{signal="logs"\} 3$/m);
    assert.match(
      metrics,
      new RegExp(`^molesignal_compaction_input_files_total\\{signal="logs"\\} ${BATCHES}$`, 'm'),
    );
    assert.match(metrics, new RegExp(`^molesignal_compactor_deleted_objects_total ${2 * BATCHES}$`, 'm'));
  });

  test('compactions while batches keep arriving and flushing into the same bucket: every row once', async () => {
    const ts0 = nowNs() - 1000n;
    let pushed = 0;
    let writing = true;
    const writer = (async () => {
      for (let b = 0; writing; b++) {
        await pushBatch(server, 'live', { job: 'live' }, ts0 + BigInt(b), [`live ${b} a`, `live ${b} b`]);
        pushed += 2;
        if (b % 2 === 0) await flush(server, 'live');
      }
    })();
    try {
      for (let i = 0; i < 5; i++) {
        while (pushed < (i + 1) * 20) await sleep(20);
        await compact(server, '?stream=live');
        const r = await server.search('SELECT count(*) AS n, count(DISTINCT body) AS d FROM logs.live');
        assert.equal(r.hits[0]!.n, r.hits[0]!.d, 'a row is visible twice');
        assert.ok(Number(r.hits[0]!.n) >= (i + 1) * 20);
      }
    } finally {
      writing = false;
      await writer;
    }
    await flush(server, 'live');
    await compact(server, '?stream=live');
    const r = await server.search('SELECT count(*) AS n, count(DISTINCT body) AS d FROM logs.live');
    assert.deepEqual([r.hits[0]!.n, r.hits[0]!.d], [pushed, pushed]);
    assert.equal((await streamStats(server, 'live')).files, 1);
  });
});
