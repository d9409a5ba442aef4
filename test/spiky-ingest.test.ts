/**
 * Done-when 4 of issue 7: a spike of 10× the sustainable ingest rate for 30 s. The server answers
 * 429 (with Retry-After) instead of growing, its RSS (sampled from /proc/<pid>/status every
 * 250 ms) stays under `memory.budgetBytes`, every acknowledged record is stored exactly once, and
 * afterwards it catches up: 429s stop, memtables are flushed, the WAL is truncated, queries answer.
 *
 * Senders: one Loki push, the others OTLP/JSON logs. The sustainable rate is measured first (a calibration phase against the same server, senders
 * waiting for each answer), so the test scales with the machine. Senders are open-loop (a request
 * is due every 1/rate, whatever the answers), bounded in concurrency, count and time.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { otlpJsonLogs, removeDir, startServer, type ServerProcess } from './harness.ts';

const MiB = 1024 * 1024;
const BUDGET = 768 * MiB;
const RECORDS_PER_REQUEST = 200;
const SENDERS = 4;
/** requests a sender may have in flight; a request due while at this bound is not sent (counted) */
const MAX_IN_FLIGHT = 16;
const CALIBRATION_MS = 4000;
const SPIKE_MS = 30_000;
const SPIKE_FACTOR = 10;

/** The 64-bit mask of the ids of each bucket `id >> 6`: compares id sets exactly and compactly. */
function masksOf(ids: Iterable<number>): Map<number, bigint> {
  const out = new Map<number, bigint>();
  for (const id of ids) {
    const b = Math.floor(id / 64);
    out.set(b, (out.get(b) ?? 0n) | (1n << BigInt(id % 64)));
  }
  return out;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

function metricValue(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(name + ' ') || line.startsWith(name + '{'))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

describe('spiky ingest: 10× the sustainable rate for 30 s', () => {
  let server: ServerProcess;
  let nextId = 0;
  const acked: number[] = [];
  const pad = 'x'.repeat(150);

  before(async () => {
    server = await startServer({
      env: {
        MOLESIGNAL_MEMORY_BUDGET_BYTES: String(BUDGET),
        // the derived backlog limit (20 % of the budget) would take minutes to fill on a slow
        // machine; a smaller one shows the refusals within the spike
        MOLESIGNAL_MEMTABLE_REFUSE_ABOVE_BYTES: String(24 * MiB),
        MOLESIGNAL_MEMTABLE_MAX_TOTAL_BYTES: String(12 * MiB),
        MOLESIGNAL_MEMTABLE_MAX_AGE_MS: '2000',
        MOLESIGNAL_MEMTABLE_CHECK_INTERVAL_MS: '250',
        MOLESIGNAL_WAL_SEGMENT_BYTES: String(4 * MiB),
        MOLESIGNAL_LOG_LEVEL: 'warn',
      },
      // the Node heap's share of the budget (docs/operations.md#memory-rotation-backpressure-late-data-and-metrics)
      nodeArgs: ['--max-old-space-size=300'],
    });
  });
  after(async () => {
    await server?.stop();
    if (server) await removeDir(server.dataDir);
  });

  /**
   * One request of RECORDS_PER_REQUEST fresh ids, OTLP/JSON (stream `default`) or Loki push (stream
   * `loki`); every line is `spike record <id> …`. The ids count as acknowledged only on a 2xx.
   */
  async function sendOne(
    protocol: 'otlp' | 'loki' = 'otlp',
  ): Promise<{ status: number; retryAfter: string | null }> {
    const first = nextId;
    nextId += RECORDS_PER_REQUEST;
    const ids = Array.from({ length: RECORDS_PER_REQUEST }, (_, i) => first + i);
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const body =
      protocol === 'otlp'
        ? otlpJsonLogs(ids.map((id) => ({ id: String(id), body: `spike record ${id} ${pad}` })))
        : {
            streams: [
              {
                stream: { job: 'spike' },
                values: ids.map((id, i) => [String(nowNs + BigInt(i)), `spike record ${id} ${pad}`]),
              },
            ],
          };
    const res = await server.fetch(protocol === 'otlp' ? '/v1/logs' : '/loki/api/v1/push', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(protocol === 'loki' ? { 'stream-name': 'loki' } : {}),
      },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (res.ok) acked.push(...ids);
    else if (res.status !== 429) throw new Error(`unexpected ${res.status}: ${text}`);
    else assert.match(text, /memtable\.refuseAboveBytes/, 'a 429 says why');
    return { status: res.status, retryAfter: res.headers.get('retry-after') };
  }

  test('refuses with 429, stays under the memory budget, loses nothing, catches up', async () => {
    const pid = server.proc.pid!;
    let peakRss = rssBytes(pid);
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssBytes(pid));
    }, 250);
    try {
      // calibration: closed loop, each sender waits for its answer
      const calStart = performance.now();
      let calAcked = 0;
      await Promise.all(
        Array.from({ length: SENDERS }, async (_, s) => {
          while (performance.now() - calStart < CALIBRATION_MS) {
            const r = await sendOne(s === 0 ? 'loki' : 'otlp');
            if (r.status < 300) calAcked += RECORDS_PER_REQUEST;
          }
        }),
      );
      const sustainable = calAcked / ((performance.now() - calStart) / 1000);
      assert.ok(sustainable > 0, 'the calibration acknowledged records');

      // the spike: open loop at 10× that rate, split over the senders
      const requestsPerSecond = (SPIKE_FACTOR * sustainable) / RECORDS_PER_REQUEST;
      const intervalMs = (1000 * SENDERS) / requestsPerSecond;
      const counts = { sent: 0, ok: 0, refused: 0, notSent: 0 };
      const retryAfters = new Set<string>();
      const spikeStart = performance.now();
      const ackedBefore = acked.length;
      await Promise.all(
        Array.from({ length: SENDERS }, async (_, s) => {
          const running = new Set<Promise<void>>();
          let due = spikeStart + (s * intervalMs) / SENDERS;
          while (due - spikeStart < SPIKE_MS) {
            const wait = due - performance.now();
            if (wait > 0) await new Promise((r) => setTimeout(r, wait));
            due += intervalMs;
            if (running.size >= MAX_IN_FLIGHT) {
              counts.notSent++;
              continue;
            }
            counts.sent++;
            const p: Promise<void> = sendOne(s === 0 ? 'loki' : 'otlp').then((r) => {
              if (r.status < 300) counts.ok++;
              else {
                counts.refused++;
                if (r.retryAfter) retryAfters.add(r.retryAfter);
              }
            });
            running.add(p);
            void p.finally(() => running.delete(p));
          }
          await Promise.all(running);
        }),
      );
      const spikeSeconds = (performance.now() - spikeStart) / 1000;
      const spikeRss = peakRss;
      const figures = {
        sustainableRecordsPerSecond: Math.round(sustainable),
        offeredRecordsPerSecond: Math.round(requestsPerSecond * RECORDS_PER_REQUEST),
        spikeAckedRecordsPerSecond: Math.round((acked.length - ackedBefore) / spikeSeconds),
        ...counts,
        refusedShare: Number((counts.refused / Math.max(1, counts.sent)).toFixed(3)),
        retryAfterSeconds: [...retryAfters].sort(),
        peakRssMiB: Math.round(spikeRss / MiB),
        budgetMiB: BUDGET / MiB,
      };
      console.log(`spiky-ingest figures: ${JSON.stringify(figures)}`);
      assert.ok(counts.refused > 0, `the server refused part of the spike: ${JSON.stringify(figures)}`);
      for (const ra of retryAfters) assert.match(ra, /^[1-9]\d*$/, 'Retry-After is whole seconds');
      assert.ok(spikeRss < BUDGET, `peak RSS ${spikeRss} stays under the budget ${BUDGET}`);

      // catching up: memtables flushed, the WAL truncated to its active segment, ingest accepted
      const deadline = Date.now() + 40_000;
      let metrics = '';
      for (;;) {
        metrics = await (await server.fetch('/metrics')).text();
        const held = metricValue(metrics, 'molesignal_memtable_total_bytes');
        const segments = metricValue(metrics, 'molesignal_wal_segments');
        if (held === 0 && segments <= 1) break;
        assert.ok(Date.now() < deadline, `caught up within 40 s (held ${held}, WAL segments ${segments})`);
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.ok(metricValue(metrics, 'molesignal_memtable_refusals_total') >= counts.refused);
      assert.ok(metricValue(metrics, 'molesignal_flush_duration_seconds_count') > 0);
      assert.equal((await sendOne()).status, 200, 'accepted again after the spike');
      assert.ok(peakRss < BUDGET, `peak RSS ${peakRss} stays under the budget ${BUDGET} throughout`);
    } finally {
      clearInterval(sampler);
    }

    // every acknowledged id exactly once: per bucket of 64 ids, the mask of ids present and the
    // row count (a doubled id shows as more rows than mask bits), over both streams
    const want = masksOf(acked);
    const got = new Map<number, bigint>();
    let rows = 0;
    for (const stream of ['"default"', 'loki']) {
      const res = await server.search(
        `SELECT n // 64 AS b, count(*) AS c, bit_or(1::UBIGINT << (n % 64)::UBIGINT)::VARCHAR AS m
         FROM (SELECT CAST(split_part(body, ' ', 3) AS BIGINT) AS n FROM logs.${stream}) GROUP BY b ORDER BY b`,
      );
      assert.ok(res.hits.length > 0, `rows in stream ${stream}`);
      for (const h of res.hits) {
        got.set(Number(h.b), (got.get(Number(h.b)) ?? 0n) | BigInt(h.m as string));
        rows += Number(h.c);
      }
    }
    assert.equal(rows, acked.length, 'as many rows as acknowledged records (none lost, none doubled)');
    const differ: number[] = [];
    for (const [b, mask] of want) if (got.get(b) !== mask) differ.push(b);
    assert.deepEqual(differ, [], 'the id set stored is exactly the acknowledged one');
    assert.equal(got.size, want.size, 'no stored ids beyond the acknowledged ones');
  });
});
