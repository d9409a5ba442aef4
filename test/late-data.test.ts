/**
 * Late data (issue 7, rotation): records days old, within `ingest.maxAgeMs`, are accepted and land
 * in the Parquet file of their own hour bucket — one flush of a memtable holding rows of several
 * days writes one file per hour, each with the catalog's min/max of its rows — and queries over
 * those old ranges find them (SQL and LogQL). Older than `ingest.maxAgeMs`: 400 `too_old`, nothing
 * of the request stored.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogRows, removeDir, startServer, type ServerProcess } from './harness.ts';

const HOUR_NS = 3_600_000_000_000n;
const DAY_NS = 24n * HOUR_NS;
const WEEK_MS = 7 * 24 * 3_600_000;

describe('late data lands in its own hour bucket', () => {
  let server: ServerProcess;
  // hour-aligned so that the expected buckets do not depend on when the test runs
  const nowHour = ((BigInt(Date.now()) * 1_000_000n) / HOUR_NS) * HOUR_NS;
  const at = (agoNs: bigint, plusNs: bigint) => nowHour - agoNs + plusNs;
  // [timestamp, id]: two rows in one hour 3 days ago, the next hour, 2 days ago, 26 h ago, now
  const lines: [bigint, string][] = [
    [at(3n * DAY_NS, 5n * 60_000_000_000n), 'd3-a'],
    [at(3n * DAY_NS, 40n * 60_000_000_000n), 'd3-b'],
    [at(3n * DAY_NS, HOUR_NS + 1n), 'd3-next-hour'],
    [at(2n * DAY_NS, 17n), 'd2'],
    [at(26n * HOUR_NS, 123n), 'h26'],
    [BigInt(Date.now()) * 1_000_000n, 'now'],
  ];

  before(async () => {
    server = await startServer({
      env: {
        // Loki's reject_old_samples_max_age default (1 week)
        MOLESIGNAL_INGEST_MAX_AGE_MS: String(WEEK_MS),
        MOLESIGNAL_MEMTABLE_MAX_AGE_MS: '3600000',
      },
    });
  });
  after(async () => {
    await server?.stop();
    if (server) await removeDir(server.dataDir);
  });

  const push = (values: [bigint, string][]) =>
    server.fetch('/loki/api/v1/push', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stream-name': 'late' },
      body: JSON.stringify({
        streams: [{ stream: { job: 'late' }, values: values.map(([ts, id]) => [String(ts), `line ${id}`]) }],
      }),
    });

  test('older than ingest.maxAgeMs: 400 too_old, nothing stored', async () => {
    const res = await push([[BigInt(Date.now() - WEEK_MS - 3_600_000) * 1_000_000n, 'too-old']]);
    assert.equal(res.status, 400);
    const body = await res.text();
    assert.match(body, /too_old/, body);
  });

  test('a flush of rows from several days writes one file per hour with exact min/max', async () => {
    // in two requests, out of order: the memtable holds all of them when it is flushed
    assert.equal((await push(lines.slice(3))).status, 204);
    assert.equal((await push(lines.slice(0, 3))).status, 204);
    const flushed = await server.fetch('/api/default/streams/late/_flush?type=logs', { method: 'POST' });
    const text = await flushed.text();
    assert.equal(flushed.status, 200, text);
    assert.deepEqual(JSON.parse(text), { files: 5, rows: lines.length });

    const byHour = new Map<bigint, bigint[]>();
    for (const [ts] of lines) {
      const h = (ts / HOUR_NS) * HOUR_NS;
      byHour.set(h, [...(byHour.get(h) ?? []), ts]);
    }
    {
      const rows = (await catalogRows(
        server.dataDir,
        `SELECT object_key, min_ts, max_ts, rows FROM files WHERE stream = 'late' ORDER BY min_ts`,
      )) as { object_key: string; min_ts: bigint; max_ts: bigint; rows: bigint }[];
      assert.equal(rows.length, byHour.size, 'one file per hour bucket');
      for (const r of rows) {
        const hour = (r.min_ts / HOUR_NS) * HOUR_NS;
        const ts = byHour.get(hour);
        assert.ok(ts, `a file for the hour of ${r.min_ts}`);
        assert.equal(
          r.min_ts,
          ts.reduce((a, b) => (a < b ? a : b)),
        );
        assert.equal(
          r.max_ts,
          ts.reduce((a, b) => (a > b ? a : b)),
        );
        assert.equal(r.rows, BigInt(ts.length));
        assert.ok(r.max_ts < hour + HOUR_NS, 'no file spans two hours');
        const dir = new Date(Number(hour / 1_000_000n)).toISOString().slice(0, 13).replace(/[-T]/g, '/');
        assert.ok(r.object_key.includes(`/logs/late/${dir}/`), `${r.object_key} is under its hour ${dir}`);
      }
    }
  });

  test('queries over the old ranges find the late rows (SQL and LogQL)', async () => {
    const d3 = await server.search(`SELECT body FROM logs.late ORDER BY _timestamp`, {
      start_time: String(at(3n * DAY_NS, 0n)),
      end_time: String(at(3n * DAY_NS, 2n * HOUR_NS)),
    });
    assert.deepEqual(
      d3.hits.map((h) => h.body),
      ['line d3-a', 'line d3-b', 'line d3-next-hour'],
    );
    assert.equal(d3.stats.files_scanned, 2, 'only the two files of those hours are read');

    const q = new URLSearchParams({
      query: '{job="late"}',
      start: String(at(2n * DAY_NS, 0n)),
      end: String(at(26n * HOUR_NS, HOUR_NS)),
      direction: 'forward',
      limit: '100',
    });
    const res = await server.fetch(`/loki/api/v1/query_range?${q.toString()}`, {
      headers: { 'x-scope-orgid': 'default' },
    });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { data: { result: { values: [string, string][] }[] } };
    const got = body.data.result.flatMap((s) => s.values.map((v) => v[1])).sort();
    assert.deepEqual(got, ['line d2', 'line h26']);

    const all = await server.search(`SELECT body FROM logs.late ORDER BY _timestamp`);
    assert.deepEqual(
      all.hits.map((h) => h.body),
      lines.map(([, id]) => `line ${id}`),
      'every accepted line once, nothing of the refused (too old) request',
    );
  });
});
