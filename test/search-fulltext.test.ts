/**
 * Full-text pruning and the search API's histogram and facets, through the real server: Loki push
 * lines into three hours, flush (one Parquet file and one token-filter sidecar per hour), then
 * `_search` with `contains` reads only the file that can hold a rare trace id (stats.files_scanned),
 * still answers from memtables, and one request returns rows, a histogram and facets.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { startServer, type ServerProcess } from './harness.ts';

const HOUR_MS = 3_600_000;
const RARE = '4bf92f3577b34da6a3ce929d0e0e4736';

function files(dir: string, suffix: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith(suffix)) out.push(e.name);
    }
  };
  walk(dir);
  return out;
}

describe('full-text search: token filters, histogram, facets', () => {
  let server: ServerProcess;
  // three whole hours well in the past, 20 lines each, one minute apart
  const base = (Math.floor(Date.now() / HOUR_MS) - 5) * HOUR_MS;
  const ns = (ms: number) => `${BigInt(ms) * 1_000_000n}`;

  const search = async (body: Record<string, unknown>) => {
    const res = await server.fetch('/api/default/_search', { method: 'POST', body: JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text) as Record<string, any> };
  };

  before(async () => {
    server = await startServer();
    const values = (h: number, level: string) =>
      Array.from({ length: 20 }, (_, i) => [
        ns(base + h * HOUR_MS + i * 60_000),
        `{"level":"${level}","msg":"request ${h}-${i} done","trace_id":"${h === 1 && i === 7 ? RARE : `${h}${i}`.padStart(32, 'a')}"}`,
      ]);
    const streams = [0, 1, 2].map((h) => ({
      stream: { job: 'app', level: h === 2 ? 'error' : 'info' },
      values: values(h, h === 2 ? 'error' : 'info'),
    }));
    const res = await server.fetch('/loki/api/v1/push', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ streams }),
    });
    assert.equal(res.status, 204, await res.text());
    const f = await server.fetch('/api/default/streams/default/_flush?type=logs', { method: 'POST' });
    assert.equal(f.status, 200, await f.text());
  });
  after(async () => {
    await server?.stop();
  });

  test('the flush wrote one token-filter sidecar per Parquet file', () => {
    const parquet = files(join(server.dataDir, 'objects'), '.parquet');
    const sidecars = files(join(server.dataDir, 'objects'), '.parquet.bloom');
    assert.equal(parquet.length, 3);
    assert.deepEqual(sidecars.sort(), parquet.map((p) => `${p}.bloom`).sort());
  });

  test('a rare trace id: only the file that may hold it is read, and the row is found', async () => {
    const all = await search({ sql: 'SELECT body FROM logs."default"' });
    assert.equal(all.body.stats.files_scanned, 3);
    // a whole token (quoted) is checked exactly (~1 % false positives per slice); a bare id or a
    // part of one through its 16-character grams, trying 16 alignments (more false positives)
    for (const [needle, most] of [
      [`"${RARE}"`, 1],
      [`:"${RARE}`, 1],
      [RARE, 2],
      [RARE.slice(1), 2],
    ] as const) {
      const r = await search({ sql: 'SELECT body FROM logs."default"', contains: needle });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.total, 1, needle);
      assert.match(r.body.hits[0].body, /request 1-7 done/);
      assert.ok(
        r.body.stats.files_scanned <= most,
        `files scanned for ${needle}: ${r.body.stats.files_scanned}`,
      );
    }
    // an id that is nowhere: no file read, no row
    const none = await search({
      sql: 'SELECT body FROM logs."default"',
      contains: '"0123456789abcdef0123456789abcdef"',
    });
    assert.equal(none.body.total, 0);
    assert.equal(none.body.stats.files_scanned, 0);
    // a common short word cannot be ruled out: every file is read, and `contains` filters rows
    const common = await search({
      sql: 'SELECT count(*) AS c FROM logs."default"',
      contains: ['done', '-7 '],
    });
    assert.equal(common.body.hits[0].c, 3);
    assert.equal(common.body.stats.files_scanned, 3);
  });

  test('LogQL |= uses the token filters: fewer files read, same lines', async () => {
    const range = async (query: string) => {
      const q = new URLSearchParams({ query, start: ns(base), end: ns(base + 3 * HOUR_MS), limit: '100' });
      const res = await server.fetch(`/loki/api/v1/query_range?${q.toString()}`);
      assert.equal(res.status, 200, await res.clone().text());
      const body = (await res.json()) as {
        data: {
          result: { values: [string, string][] }[];
          stats: { querier: { store: { totalChunksDownloaded: number } } };
        };
      };
      return {
        lines: body.data.result.flatMap((r) => r.values.map((v) => v[1])),
        files: body.data.stats.querier.store.totalChunksDownloaded,
      };
    };
    assert.equal((await range('{job="app"}')).files, 3);
    const hit = await range(`{job="app"} |= "\\"${RARE}\\""`);
    assert.equal(hit.files, 1);
    assert.equal(hit.lines.length, 1);
    assert.match(hit.lines[0]!, /request 1-7 done/);
    const none = await range(
      '{job="app"} |= "\\"0123456789abcdef0123456789abcdef\\"" or "\\"fedcba9876543210fedcba9876543210\\""',
    );
    assert.deepEqual(none, { lines: [], files: 0 });
  });

  test('rows still in the memtable are searched too', async () => {
    const fresh = 'c0ffee00c0ffee00c0ffee00c0ffee00';
    const res = await server.fetch('/loki/api/v1/push', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        streams: [
          {
            stream: { job: 'app', level: 'info' },
            values: [[ns(base + HOUR_MS + 90_000), `fresh ${fresh}`]],
          },
        ],
      }),
    });
    assert.equal(res.status, 204);
    const r = await search({ sql: 'SELECT body FROM logs."default"', contains: fresh });
    assert.deepEqual(
      r.body.hits.map((h: { body: string }) => h.body),
      [`fresh ${fresh}`],
    );
  });

  test('one request: a page of rows, a histogram per interval and facets', async () => {
    const r = await search({
      sql: `SELECT _timestamp, "resource.level" AS level, body FROM logs."default" WHERE body LIKE '%"level":"%' ORDER BY _timestamp`,
      start_time: ns(base),
      end_time: ns(base + 3 * HOUR_MS),
      size: 5,
      histogram: { interval: '1h' },
      facets: ['level'],
      facet_size: 5,
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.hits.length, 5);
    assert.equal(r.body.total, 60);
    assert.deepEqual(r.body.histogram, {
      interval: '1h',
      buckets: [0, 1, 2].map((h) => ({ start: new Date(base + h * HOUR_MS).toISOString(), count: 20 })),
    });
    assert.deepEqual(r.body.facets, {
      level: [
        { value: 'info', count: 40 },
        { value: 'error', count: 20 },
      ],
    });
    // empty buckets inside the range are there, with 0
    const minutes = await search({
      sql: 'SELECT _timestamp FROM logs."default"',
      contains: RARE,
      start_time: ns(base + HOUR_MS),
      end_time: ns(base + HOUR_MS + 10 * 60_000),
      histogram: { interval: '5m' },
    });
    assert.deepEqual(
      minutes.body.histogram.buckets.map((b: { count: number }) => b.count),
      [0, 1],
    );
  });

  test('a logs file with trace ids gets Parquet bloom filters on trace_id; one without does not', async () => {
    const traceId = 'ab'.repeat(16);
    const records = Array.from({ length: 50 }, (_, i) => ({
      timeUnixNano: ns(base + i * 1000),
      body: { stringValue: `otlp record ${i}` },
      traceId: i === 3 ? traceId : `${i}`.padStart(32, '0'),
    }));
    const res = await server.fetch('/v1/logs', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stream-name': 'otlp' },
      body: JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: records }] }] }),
    });
    assert.equal(res.status, 200, await res.text());
    const f = await server.fetch('/api/default/streams/otlp/_flush?type=logs', { method: 'POST' });
    assert.equal(f.status, 200, await f.text());
    const found = await server.search(`SELECT body FROM logs.otlp WHERE trace_id = '${traceId}'`);
    assert.deepEqual(found.hits, [{ body: 'otlp record 3' }]);
    const paths = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? paths(join(dir, e.name)) : e.name.endsWith('.parquet') ? [join(dir, e.name)] : [],
      );
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
      const bloomOf = async (path: string, column: string) =>
        (
          await conn.runAndReadAll(
            `SELECT count(bloom_filter_offset) FROM parquet_metadata('${path}') WHERE path_in_schema = '${column}'`,
          )
        ).getRows()[0]![0];
      const all = paths(join(server.dataDir, 'objects'));
      const otlp = all.filter((p) => p.includes('/logs/otlp/'));
      const loki = all.filter((p) => p.includes('/logs/default/'));
      assert.equal(otlp.length, 1);
      assert.equal(await bloomOf(otlp[0]!, 'trace_id'), 1n);
      // the Loki files have an all-NULL trace_id: no dictionary option, no Parquet bloom filter
      assert.equal(await bloomOf(loki[0]!, 'body'), 0n);
    } finally {
      conn.closeSync();
    }
  });

  test('bad histogram, facets and contains requests are refused with 400 and say why', async () => {
    const sql = 'SELECT _timestamp, body FROM logs."default"';
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ sql, histogram: { interval: 'soon' } }, /histogram.interval must be a positive duration/],
      [{ sql, histogram: '1m' }, /histogram must be an object with an interval/],
      [
        { sql, histogram: { interval: '1s' }, start_time: ns(base), end_time: ns(base + 5 * HOUR_MS) },
        /more than 10000 buckets/,
      ],
      [
        { sql: 'SELECT body FROM logs."default"', histogram: { interval: '1m' } },
        /needs the column "_timestamp"/,
      ],
      [{ sql, facets: ['level'] }, /facets needs the column "level"/],
      [{ sql, facets: 'level' }, /facets must be a list/],
      [{ sql, contains: [1] }, /contains must be a string or a list/],
    ];
    for (const [body, message] of cases) {
      const r = await search(body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(String(r.body.error?.message), message);
    }
  });
});
