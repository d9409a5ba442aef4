/**
 * The server with `catalog.backend: postgres` on a real PostgreSQL (test/kits/postgres.ts): logs,
 * metrics and traces ingested, flushed and queried; a SIGKILL and restart whose WAL replay skips
 * what the flushed positions stored in PostgreSQL cover; `molesignal migrate` from the SQLite
 * catalog of a real server run, after which the server on PostgreSQL answers the same queries from
 * the same data dir; and the bad inputs: wrong password, nothing listening, a bad URL, a target
 * that is not empty, a forgotten migration.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import {
  ROOT_DIR,
  otlpJsonLogs,
  removeDir,
  startServer,
  tempDir,
  type ServerProcess,
  type StartOptions,
} from './harness.ts';
import { pgUrl, postgresForFile } from './kits/postgres.ts';
import { rowLines, storedSamples } from './metric-rows.ts';

const run = promisify(execFile);
const BIN = join(ROOT_DIR, 'bin', 'molesignal.js');

const PG = postgresForFile();
const dirs: string[] = [];
let databases = 0;
after(async () => {
  for (const d of dirs) await removeDir(d);
});

const freshDatabase = () => PG.server!.createDatabase(`server_${++databases}`);
async function dataDir(): Promise<string> {
  const d = await tempDir();
  dirs.push(d);
  return d;
}
const onPostgres = (url: string, opts: StartOptions = {}) =>
  startServer({
    ...opts,
    env: { MOLESIGNAL_CATALOG_BACKEND: 'postgres', MOLESIGNAL_CATALOG_POSTGRES_URL: url, ...opts.env },
  });

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** Rows of a query on the catalog database itself. */
async function pgRows(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}

const HOUR_NS = 3_600_000_000_000n;
const BASE_NS = ((BigInt(Date.now()) * 1_000_000n) / HOUR_NS) * HOUR_NS - 3n * HOUR_NS;
const TRACE_ID = '5b8efff798038103d269b633813fc60c';

const tracesBody = (names: string[], tsNs: bigint) => ({
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'pg-test' } }] },
      scopeSpans: [
        {
          scope: { name: 'pg-test' },
          spans: names.map((name, i) => ({
            traceId: TRACE_ID,
            spanId: `eee19b7ec3c1b1${String(i).padStart(2, '0')}`,
            name,
            kind: 2,
            startTimeUnixNano: String(tsNs + BigInt(i)),
            endTimeUnixNano: String(tsNs + BigInt(i) + 1_000_000n),
          })),
        },
      ],
    },
  ],
});

/** Logs and traces (stream `default`) and metric samples of one batch. */
async function ingest(server: ServerProcess, batch: number): Promise<void> {
  const ts = BASE_NS + BigInt(batch) * 60_000_000_000n;
  const post = async (path: string, body: string, contentType: string) => {
    const res = await server.fetch(path, { method: 'POST', headers: { 'content-type': contentType }, body });
    assert.ok(res.status === 200 || res.status === 204, `${path}: ${res.status} ${await res.text()}`);
  };
  await post(
    '/v1/logs',
    JSON.stringify(otlpJsonLogs([{ id: `b${batch}-1` }, { id: `b${batch}-2`, attrs: { n: batch } }], ts)),
    'application/json',
  );
  await post('/v1/traces', JSON.stringify(tracesBody([`span-${batch}`], ts)), 'application/json');
  await post(
    '/api/default/prometheus/api/v1/import/prometheus',
    `temperature{room="r${batch}"} ${20 + batch} ${Number(ts / 1_000_000n)}\n`,
    'text/plain',
  );
}

/** Flushes the logs and traces streams `default` and the metric samples (`metrics._samples`). */
async function flush(server: ServerProcess): Promise<void> {
  for (const stream of ['default', '_samples']) {
    const res = await server.fetch(`/api/default/streams/${stream}/_flush`, { method: 'POST' });
    assert.equal(res.status, 200, await res.text());
  }
}

/** What the queries answer: log rows, spans of the trace, metric samples, a PromQL result, stream stats. */
async function answers(server: ServerProcess) {
  const logs = await server.search(`SELECT "attr.rid" AS rid FROM logs.default ORDER BY rid`);
  const spans = await server.search(`SELECT name FROM traces.default ORDER BY name`);
  const trace = await server.fetch(`/api/default/tempo/api/traces/${TRACE_ID}`, {
    headers: { accept: 'application/json' },
  });
  assert.equal(trace.status, 200);
  const traceSpans = JSON.stringify(await trace.json())
    .match(/"span-\d+"/g)
    ?.sort();
  const promql = await server.fetch(
    `/api/default/prometheus/api/v1/query?query=${encodeURIComponent('sum(last_over_time(temperature[1d]))')}&time=${Date.now() / 1000}`,
  );
  assert.equal(promql.status, 200);
  const streams = (await (await server.fetch('/api/default/streams')).json()) as {
    streams: Record<string, unknown>[];
  };
  return {
    logs: logs.hits.map((h) => h.rid),
    spans: spans.hits.map((h) => h.name),
    traceSpans,
    samples: rowLines(await storedSamples(server)),
    promql: ((await promql.json()) as { data: { result: { value: unknown[] }[] } }).data.result.map(
      (r) => r.value[1],
    ),
    streams: streams.streams,
  };
}

describe('the server on a PostgreSQL catalog', () => {
  test('ingest, flush, query; SIGKILL and restart replay only what PostgreSQL does not hold', async (t) => {
    if (!PG.server) return t.skip(PG.skip);
    const url = await freshDatabase();
    let server = await onPostgres(url);
    try {
      assert.match(server.log, /"catalog":"127\.0\.0\.1:\d+\/server_\d+ as postgres"/);
      assert.ok(!server.log.includes(PG.server.password), 'the password is never logged');
      await ingest(server, 1);
      await ingest(server, 2);
      await flush(server);
      const files = await pgRows(url, `SELECT type, rows FROM files ORDER BY type`);
      assert.deepEqual(
        files.map((f) => f.type),
        ['logs', 'metrics', 'traces'],
      );
      const flushed = await pgRows(url, `SELECT type, flushed_seq FROM streams ORDER BY type`);
      assert.ok(
        flushed.every((s) => Number(s.flushed_seq) > 0),
        JSON.stringify(flushed),
      );
      assert.ok(!existsSync(join(server.dataDir, 'catalog.sqlite')), 'no SQLite catalog is created');

      await ingest(server, 3); // acknowledged, only in the WAL and the memtables
      const before = await answers(server);
      assert.deepEqual(before.logs, ['b1-1', 'b1-2', 'b2-1', 'b2-2', 'b3-1', 'b3-2']);
      assert.deepEqual(before.spans, ['span-1', 'span-2', 'span-3']);
      assert.equal(before.samples.length, 3);

      await server.kill();
      server = await onPostgres(url, { dataDir: server.dataDir });
      // the records of batches 1 and 2 are still in the WAL, and skipped by their flushed positions
      const replay = JSON.parse(server.log.split('\n').find((l) => l.includes('"WAL replayed"'))!) as {
        records: number;
        applied: number;
      };
      assert.equal(replay.applied, 3, server.log);
      assert.ok(replay.records > replay.applied, server.log);
      assert.deepEqual(await answers(server), before);
      await flush(server);
      assert.deepEqual(await answers(server), before);
      assert.equal((await pgRows(url, `SELECT COUNT(*) AS n FROM files`))[0]!.n, '6');
    } finally {
      await server.stop();
    }
  });

  test('molesignal migrate: a SQLite catalog of a real run into PostgreSQL, then the same answers', async (t) => {
    if (!PG.server) return t.skip(PG.skip);
    const dir = await dataDir();
    let server = await startServer({ dataDir: dir });
    let expected: Awaited<ReturnType<typeof answers>>;
    try {
      await ingest(server, 1);
      await flush(server);
      await ingest(server, 2); // left in the WAL: the server on PostgreSQL replays it
      expected = await answers(server);
      await server.kill();
    } finally {
      await server.stop();
    }

    const url = await freshDatabase();
    const migrated = await cli(['migrate', '--data-dir', dir, '--postgres-url', url]);
    assert.equal(migrated.code, 0, migrated.stderr);
    assert.ok(!migrated.stdout.includes(PG.server.password));
    for (const table of ['orgs', 'users', 'streams', 'stream_fields', 'files', 'series'])
      assert.match(migrated.stdout, new RegExp(`^  ${table}: \\d+ rows$`, 'm'));
    assert.match(migrated.stdout, /row counts verified/);
    assert.match(migrated.stdout, /catalog\.backend: postgres/);
    const files = await pgRows(url, `SELECT COUNT(*) AS n FROM files`);
    assert.equal(files[0]!.n, '3');

    // a second run finds the target full
    const again = await cli(['migrate', '--data-dir', dir, '--postgres-url', url]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /is not empty: orgs \(1 rows\).*--force/);
    const forced = await cli(['migrate', '--data-dir', dir, '--postgres-url', url, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /--force: replacing the contents/);
    assert.equal((await pgRows(url, `SELECT COUNT(*) AS n FROM files`))[0]!.n, '3');

    server = await onPostgres(url, { dataDir: dir });
    try {
      assert.deepEqual(await answers(server), expected);
      await ingest(server, 3);
      await flush(server);
      assert.equal((await answers(server)).logs.length, 6);
    } finally {
      await server.stop();
    }
  });
});

describe('bad PostgreSQL settings stop the start with a message that says what to check', () => {
  const refused = async (env: Record<string, string>, dir?: string) => {
    const err = await startServer({ env, ...(dir ? { dataDir: dir } : {}) }).then(
      async (s) => {
        await s.stop();
        return null;
      },
      (e: Error) => e,
    );
    assert.ok(err, 'the server must not start');
    assert.match(err.message, /server exited \(1\) before listening/);
    return err.message;
  };

  test('a wrong password', async (t) => {
    if (!PG.server) return t.skip(PG.skip);
    const message = await refused({
      MOLESIGNAL_CATALOG_BACKEND: 'postgres',
      MOLESIGNAL_CATALOG_POSTGRES_URL: pgUrl(PG.server.port, 'not-the-password', 'molesignal'),
    });
    assert.match(
      message,
      new RegExp(
        `cannot open the PostgreSQL catalog at 127\\.0\\.0\\.1:${PG.server.port}/molesignal as postgres`,
      ),
    );
    assert.match(message, /password authentication failed.*check the user and password/);
    assert.ok(!message.includes('not-the-password'), 'the password is not shown');
  });

  test('nothing listening, a missing database, a URL that is not postgres://', async (t) => {
    if (!PG.server) return t.skip(PG.skip);
    assert.match(
      await refused({
        MOLESIGNAL_CATALOG_BACKEND: 'postgres',
        MOLESIGNAL_CATALOG_POSTGRES_URL: 'postgres://u:secret-pw@127.0.0.1:1/db',
      }),
      /at 127\.0\.0\.1:1\/db as u: connect ECONNREFUSED.*is PostgreSQL running/,
    );
    assert.match(
      await refused({
        MOLESIGNAL_CATALOG_BACKEND: 'postgres',
        MOLESIGNAL_CATALOG_POSTGRES_URL: pgUrl(PG.server.port, PG.server.password, 'no_such_db'),
      }),
      /database "no_such_db" does not exist.*createdb/,
    );
    assert.match(
      await refused({
        MOLESIGNAL_CATALOG_BACKEND: 'postgres',
        MOLESIGNAL_CATALOG_POSTGRES_URL: 'mysql://u:p@h/db',
      }),
      /MOLESIGNAL_CATALOG_POSTGRES_URL: invalid value .*use a postgres:\/\/user:password@host:port\/database URL/,
    );
    assert.match(
      await refused({ MOLESIGNAL_CATALOG_BACKEND: 'mongodb' }),
      /MOLESIGNAL_CATALOG_BACKEND: invalid value "mongodb"/,
    );
  });

  test('a first start on PostgreSQL beside a SQLite catalog asks for molesignal migrate', async (t) => {
    if (!PG.server) return t.skip(PG.skip);
    const dir = await dataDir();
    const sqliteRun = await startServer({ dataDir: dir });
    await sqliteRun.stop();
    const url = await freshDatabase();
    const message = await refused(
      { MOLESIGNAL_CATALOG_BACKEND: 'postgres', MOLESIGNAL_CATALOG_POSTGRES_URL: url },
      dir,
    );
    assert.match(
      message,
      /is empty, but .*catalog\.sqlite holds a SQLite catalog: copy it first with `molesignal migrate/,
    );
  });

  test('molesignal migrate: no SQLite catalog, a wrong password', async (t) => {
    if (!PG.server) return t.skip(PG.skip);
    const empty = await dataDir();
    const none = await cli(['migrate', '--data-dir', empty, '--postgres-url', await freshDatabase()]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no SQLite catalog at .*catalog\.sqlite: pass the server's --data-dir/);

    const dir = await dataDir();
    const s = await startServer({ dataDir: dir });
    await s.stop();
    const wrong = await cli([
      'migrate',
      '--data-dir',
      dir,
      '--postgres-url',
      pgUrl(PG.server.port, 'wrong-pw', 'molesignal'),
    ]);
    assert.equal(wrong.code, 1);
    assert.match(
      wrong.stderr,
      /cannot open the PostgreSQL catalog at .* as postgres: password authentication failed/,
    );
    assert.ok(!wrong.stderr.includes('wrong-pw'));
  });
});

describe('PostgreSQL going away while the server runs', () => {
  test('requests that need the catalog get 503 + Retry-After; after it is back all works without a restart', async (t) => {
    if (!PG.server) return t.skip(PG.skip);
    const url = await freshDatabase();
    const server = await onPostgres(url);
    try {
      await ingest(server, 1);
      await flush(server);
      await ingest(server, 2); // acknowledged: in the WAL and a memtable
      await PG.server.pause();
      try {
        const res = await server.fetch('/v1/logs', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(otlpJsonLogs([{ id: 'during' }])),
        });
        assert.equal(res.status, 503);
        assert.equal(res.headers.get('retry-after'), '1');
        assert.match(
          await res.text(),
          /PostgreSQL catalog at 127\.0\.0\.1:\d+\/server_\d+ as postgres is unreachable/,
        );
      } finally {
        await PG.server.resume();
      }
      await flush(server);
      const after = await answers(server);
      assert.deepEqual(after.logs, ['b1-1', 'b1-2', 'b2-1', 'b2-2']);
      assert.equal((await pgRows(url, `SELECT COUNT(*) AS n FROM files`))[0]!.n, '6');
    } finally {
      await server.stop();
    }
    assert.equal(server.exitCode, 0, server.log);
  });
});

describe('a flush commit reported as failed although it committed (connection lost during COMMIT)', () => {
  for (const backend of ['sqlite', 'postgres'] as const) {
    test(`${backend}: the retry finds the files catalogued and writes no row twice`, async (t) => {
      if (backend === 'postgres' && !PG.server) return t.skip(PG.skip);
      const env: Record<string, string> = {
        MOLESIGNAL_TESTING_ENABLED: 'true',
        MOLESIGNAL_TESTING_CATALOG_FAULT: 'commit-lost:1',
        ...(backend === 'postgres'
          ? { MOLESIGNAL_CATALOG_BACKEND: 'postgres', MOLESIGNAL_CATALOG_POSTGRES_URL: await freshDatabase() }
          : {}),
      };
      let server = await startServer({ env });
      try {
        const res = await server.fetch('/v1/logs', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'stream-name': 'lost' },
          body: JSON.stringify(otlpJsonLogs([{ id: 'l1' }, { id: 'l2' }], BASE_NS)),
        });
        assert.equal(res.status, 200);
        const count = async () => (await server.search(`SELECT count(*) AS c FROM logs.lost`)).hits[0]!.c;
        const first = await server.fetch('/api/default/streams/lost/_flush', { method: 'POST' });
        assert.equal(first.status, 500, await first.text());
        assert.equal(await count(), 2);
        const again = await server.fetch('/api/default/streams/lost/_flush', { method: 'POST' });
        assert.deepEqual(await again.json(), { files: 1, rows: 2 });
        const r = await server.search(`SELECT count(*) AS c FROM logs.lost`);
        assert.equal(r.hits[0]!.c, 2);
        assert.equal(r.stats.files_scanned, 1);
        assert.equal(r.stats.memtable_rows, 0);
        assert.match(server.log, /a flush commit reported as failed had committed/);
        await server.stop();
        server = await startServer({
          dataDir: server.dataDir,
          env: { ...env, MOLESIGNAL_TESTING_CATALOG_FAULT: '' },
        });
        assert.equal(await count(), 2);
      } finally {
        await server.stop();
      }
    });
  }
});
