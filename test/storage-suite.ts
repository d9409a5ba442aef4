/**
 * The storage suite, run against each storage backend (issue 7: "the whole suite of storage
 * tests against both backends"): ingest logs, traces and metrics (OTLP, remote_write), flush,
 * query them (SQL `_search`, LogQL, PromQL, trace by id), restart with an empty disk cache and
 * query again. A backend is only the server environment it needs, so a Postgres + S3 backend
 * reuses the suite by composing env (`defineStorageSuite('pg+s3', { ...pg, ...s3 })`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { otlpJsonLogs, removeDir, startServer, tempDir, type ServerProcess } from './harness.ts';
import { remoteWrite } from './prom-write.ts';
export { s3Env } from './kits/rgw.ts';

export interface StorageBackend {
  /** why the backend cannot run here (the suite skips), or null */
  unavailable(): string | null;
  /** brings up what the backend needs (an S3 server, a database), once per suite */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** server environment (`MOLESIGNAL_*`) for a server whose data dir is `dataDir` */
  env(dataDir: string): Record<string, string>;
  /** the local directory of the disk cache (emptied before the "cold" restart), if any */
  cacheDir?(dataDir: string): string;
}

export const HOUR_NS = 3_600_000_000_000n;
/** 6 hours ago, on the hour: rows land in several hourly files */
export const BASE_NS = ((BigInt(Date.now()) * 1_000_000n) / HOUR_NS) * HOUR_NS - 6n * HOUR_NS;
export const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const HOURS = 4;
const PER_HOUR = 25;

/** POSTs and requires a 2xx answer. */
export async function ok(res: Promise<Response>, what: string): Promise<Response> {
  const r = await res;
  if (!r.ok) assert.fail(`${what}: ${r.status} ${await r.text()}`);
  return r;
}

export async function flushAll(server: ServerProcess): Promise<void> {
  for (const [stream, type] of [
    ['store', 'logs'],
    ['default', 'traces'],
    ['_samples', 'metrics'],
  ])
    await ok(
      server.fetch(`/api/default/streams/${stream}/_flush?type=${type}`, { method: 'POST' }),
      `flush ${type}/${stream}`,
    );
}

/** Logs in HOURS hourly files (stream `store`), one trace, one counter series. */
export async function ingestAll(server: ServerProcess): Promise<void> {
  for (let h = 0; h < HOURS; h++) {
    const records = Array.from({ length: PER_HOUR }, (_, i) => ({
      id: `h${h}-r${String(i).padStart(2, '0')}`,
      body: `hour ${h} line ${i} ${'x'.repeat(i)}`,
      attrs: { n: i },
    }));
    await ok(
      server.fetch('/v1/logs', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stream-name': 'store' },
        body: JSON.stringify(otlpJsonLogs(records, BASE_NS + BigInt(h) * HOUR_NS + 60_000_000_000n)),
      }),
      'OTLP logs',
    );
  }
  const t0 = BASE_NS + HOUR_NS + 5_000_000_000n;
  await ok(
    server.fetch('/v1/traces', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] },
            scopeSpans: [
              {
                spans: ['a1a2a3a4a5a6a7a8', 'b1b2b3b4b5b6b7b8'].map((spanId, i) => ({
                  traceId: TRACE_ID,
                  spanId,
                  ...(i === 1 ? { parentSpanId: 'a1a2a3a4a5a6a7a8' } : {}),
                  name: i === 0 ? 'GET /cart' : 'SELECT cart',
                  kind: i === 0 ? 2 : 3,
                  startTimeUnixNano: String(t0 + BigInt(i) * 1_000_000n),
                  endTimeUnixNano: String(t0 + 50_000_000n),
                })),
              },
            ],
          },
        ],
      }),
    }),
    'OTLP traces',
  );
  const ms = Number(BASE_NS / 1_000_000n);
  await ok(
    remoteWrite(server, [
      {
        labels: { __name__: 'orders_total', job: 'shop' },
        samples: Array.from({ length: HOURS * 12 }, (_, i) => [ms + i * 300_000, i * 10] as [number, number]),
      },
    ]),
    'remote_write',
  );
}

/** Everything the suite asks, as one comparable object. */
export async function answers(server: ServerProcess): Promise<Record<string, unknown>> {
  const sql = await server.search(
    'SELECT count(*) AS c, sum("attr.n") AS s, min("attr.rid") AS lo, max("attr.rid") AS hi FROM logs.store',
  );
  const perHour = await server.search(
    `SELECT (_timestamp // ${HOUR_NS}) - ${BASE_NS / HOUR_NS} AS h, count(*) AS c FROM logs.store GROUP BY h ORDER BY h`,
  );
  const start = BASE_NS;
  const end = BASE_NS + BigInt(HOURS) * HOUR_NS;
  const logql = (await (
    await ok(
      server.fetch(
        `/loki/api/v1/query_range?${new URLSearchParams({
          query: 'sum(count_over_time({service_name="harness"} |= "line 1" [1h]))',
          start: String(start),
          end: String(end),
          step: '3600',
        }).toString()}`,
      ),
      'LogQL',
    )
  ).json()) as { data: { result: { values: [number, string][] }[] } };
  const promql = (await (
    await ok(
      server.fetch(
        `/api/v1/query_range?${new URLSearchParams({
          query: 'max_over_time(orders_total{job="shop"}[1h])',
          start: String(Number(start / 1_000_000_000n) + 3600),
          end: String(Number(end / 1_000_000_000n)),
          step: '3600',
        }).toString()}`,
      ),
      'PromQL',
    )
  ).json()) as { data: { result: { values: [number, string][] }[] } };
  const trace = (await (await ok(server.fetch(`/api/traces/${TRACE_ID}`), 'trace by id')).json()) as {
    batches?: { scopeSpans?: { spans: { name: string }[] }[] }[];
  };
  const spans = (trace.batches ?? [])
    .flatMap((b) => b.scopeSpans ?? [])
    .flatMap((s) => s.spans.map((x) => x.name))
    .sort();
  return {
    sql: sql.hits,
    perHour: perHour.hits,
    logql: logql.data.result.map((r) => r.values),
    promql: promql.data.result.map((r) => r.values),
    spans,
  };
}

/** The fixed part of the answers (what any correct backend must return for ingestAll's data). */
export function assertExpected(a: Record<string, unknown>): void {
  const n = HOURS * PER_HOUR;
  assert.deepEqual(a.sql, [
    {
      c: n,
      s: HOURS * ((PER_HOUR * (PER_HOUR - 1)) / 2),
      lo: 'h0-r00',
      hi: `h${HOURS - 1}-r${PER_HOUR - 1}`,
    },
  ]);
  assert.deepEqual(
    a.perHour,
    Array.from({ length: HOURS }, (_, h) => ({ h, c: PER_HOUR })),
  );
  assert.deepEqual(a.spans, ['GET /cart', 'SELECT cart']);
  assert.equal((a.logql as unknown[]).length, 1, 'one LogQL series');
  assert.equal((a.promql as unknown[]).length, 1, 'one PromQL series');
}

/** `molesignal_cache_misses_total{cache="disk"}` (0 without a disk cache) */
const diskMisses = (metrics: string): number =>
  Number(/^molesignal_cache_misses_total\{cache="disk"\} (\S+)$/m.exec(metrics)?.[1] ?? 0);

export function defineStorageSuite(name: string, backend: StorageBackend): void {
  describe(`storage suite: ${name}`, { concurrency: false }, () => {
    const unavailable = backend.unavailable();
    let dataDir = '';
    let server: ServerProcess | null = null;
    let hot: Record<string, unknown> | null = null;
    const start = async () => startServer({ dataDir, env: backend.env(dataDir) });

    before(async () => {
      if (unavailable) return;
      await backend.start();
      dataDir = await tempDir('molesignal-suite-');
    });
    after(async () => {
      await server?.stop();
      if (!unavailable) await backend.stop();
      if (dataDir) await removeDir(dataDir);
    });

    test('ingest logs, traces and metrics; query from memtables and from Parquet', async (t) => {
      if (unavailable) return t.skip(unavailable);
      server = await start();
      await ingestAll(server);
      const fromMemory = await answers(server);
      assertExpected(fromMemory);
      await flushAll(server);
      hot = await answers(server);
      assert.deepEqual(hot, fromMemory, 'the same answers from Parquet');
      const files = await server.search('SELECT count(*) AS c FROM logs.store');
      assert.equal(files.stats.files_scanned, HOURS, `${HOURS} hourly log files`);
    });

    test('restart with an empty disk cache: the same answers, read from the store', async (t) => {
      if (unavailable) return t.skip(unavailable);
      if (!hot || !server) return t.skip('needs the ingest test');
      await server.stop();
      if (backend.cacheDir) await rm(backend.cacheDir(dataDir), { recursive: true, force: true });
      server = await start();
      assert.deepEqual(await answers(server), hot);
      const misses = diskMisses(await (await server.fetch('/metrics')).text());
      if (backend.cacheDir) assert.ok(misses >= 4, `${misses} objects fetched into the empty cache`);
      // and once more, now from the disk cache
      assert.deepEqual(await answers(server), hot);
      assert.equal(diskMisses(await (await server.fetch('/metrics')).text()), misses, 'all hits');
    });
  });
}

/** The local file system backend (the default). */
/** The local store (also under MOLESIGNAL_TEST_STORAGE=s3: the backend is named explicitly). */
export const localBackend: StorageBackend = {
  unavailable: () => null,
  start: async () => {},
  stop: async () => {},
  env: () => ({ MOLESIGNAL_STORAGE_BACKEND: 'local' }),
};
